"""Options every study command shares, declared once as parent parsers with typed validators.

A validator turns the option's text into its value or raises
``argparse.ArgumentTypeError`` with what is allowed; argparse then reports one
line naming the option (exit code 2). Long inputs are cut in messages.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

from experiments.engine.executor import BACKENDS
from experiments.engine.limits import shown
from experiments.engine.seeds import DEFAULT_MASTER_SEED, SEED_MAX
from model.parameters import get_parameter


def integer(least: int, most: int) -> Callable[[str], int]:
    """A validator of integers in [least, most] (written like 24, 2_000 or 1e3)."""

    def parse(text: str) -> int:
        try:
            value = int(text.replace("_", ""))
        except ValueError:
            try:
                number = float(text)
            except ValueError:
                number = float("nan")
            if not number.is_integer():
                raise argparse.ArgumentTypeError(
                    f"got {shown(text)}; allowed: an integer from {least:,} to {most:,}"
                ) from None
            value = int(number)
        if not least <= value <= most:
            raise argparse.ArgumentTypeError(
                f"got {value:,}; allowed: an integer from {least:,} to {most:,}")
        return value

    parse.__name__ = "integer"
    return parse


def number(least: float, most: float, *, open_low: bool = False) -> Callable[[str], float]:
    """A validator of finite numbers in [least, most] (or (least, most] with ``open_low``)."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            value = float("nan")
        low_ok = value > least if open_low else value >= least
        if not (low_ok and value <= most):
            bracket = "(" if open_low else "["
            raise argparse.ArgumentTypeError(
                f"got {shown(text)}; allowed: a number in {bracket}{least:g}, {most:g}]")
        return value

    parse.__name__ = "number"
    return parse


seed_value = integer(0, SEED_MAX)
seed_value.__name__ = "seed"

_steps = get_parameter("steps")
steps_value = integer(int(_steps.minimum or 1), int(_steps.maximum or 10**6))


def model_options() -> argparse.ArgumentParser:
    """``--steps`` and ``--set NAME=VALUE``: the model's parameters."""
    p = argparse.ArgumentParser(add_help=False)
    p.add_argument("--steps", type=steps_value, default=None,
                   help="months to run (default: declared)")
    p.add_argument("--set", dest="assignments", action="append", default=[],
                   metavar="NAME=VALUE",
                   help="override a declared parameter (repeatable; see cisim params)")
    return p


def executor_options(default_jobs: int | None = None,
                     default_jobs_text: str = "all cores") -> argparse.ArgumentParser:
    """Where runs are computed: ``--jobs``, ``--backend`` and ``--scheduler``, and ``--out``."""
    p = argparse.ArgumentParser(add_help=False)
    p.add_argument("--jobs", type=integer(1, 10**6), default=default_jobs, metavar="N",
                   help=f"worker processes (default: {default_jobs_text}; more than the "
                        "cores is capped)")
    p.add_argument("--backend", choices=BACKENDS, default="loky",
                   help="joblib loky processes on this machine (default) or Dask distributed")
    p.add_argument("--scheduler", metavar="ADDRESS", default=None,
                   help="Dask scheduler address, e.g. tcp://10.0.0.5:8786 (default with "
                        "--backend dask: a local cluster of --jobs workers)")
    p.add_argument("--out", required=True, metavar="DIR",
                   help="result folder (created; a rerun of the same command resumes it)")
    return p


def study_options(default_jobs_text: str = "all cores") -> argparse.ArgumentParser:
    """Seeds, workers, backend, progress and dry runs of a study on the engine."""
    p = argparse.ArgumentParser(add_help=False,
                                parents=[executor_options(None, default_jobs_text)])
    p.add_argument("--seed", type=seed_value, default=None,
                   help=f"master seed every run's seed is spawned from, 0 to 2**63-1 "
                        f"(default {DEFAULT_MASTER_SEED}); results do not depend on --jobs")
    p.add_argument("--no-progress", action="store_true", help="do not show the progress bar")
    p.add_argument("--dry-run", action="store_true",
                   help="print the run count and time/memory/disk estimates from a few pilot "
                        "runs, without building the design; write nothing")
    return p
