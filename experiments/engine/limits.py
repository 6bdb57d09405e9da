"""Sizes a study may have, checked before any design is built or any run starts."""

from __future__ import annotations

import difflib
import warnings
from collections.abc import Iterable

from joblib import cpu_count

from experiments.errors import UsageError

MAX_RUNS = 1_000_000
"""Most runs one study may hold: a million runs of the default model take about a
week of a 2-core machine and their table about a gigabyte in memory."""

MAX_REPLICATIONS = 100_000
"""Most replications per design point."""

MAX_POINTS = 1_000_000
"""Most design points (values, samples or scenario combinations)."""


def check_count(name: str, value: object, least: int, most: int) -> int:
    """``value`` as an int in [least, most]; UsageError naming ``name`` otherwise."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise UsageError(f"{name}: got {shown(value)}; allowed: an integer from {least:,} "
                         f"to {most:,}")
    if not least <= value <= most:
        raise UsageError(f"{name}: got {value:,}; allowed: an integer from {least:,} to "
                         f"{most:,}")
    return value


def check_runs(points: int, replications: int, what: str = "design") -> int:
    """Refuse a study of more than ``MAX_RUNS`` runs, before building it; return the run count."""
    check_count("replications", replications, 1, MAX_REPLICATIONS)
    runs = points * replications
    if points > MAX_POINTS or runs > MAX_RUNS:
        raise UsageError(f"{what}: {points:,} points x {replications:,} replications = "
                         f"{runs:,} runs; allowed: at most {MAX_POINTS:,} points and "
                         f"{MAX_RUNS:,} runs (split the study or narrow the design)")
    return runs


def available_cores() -> int:
    """Cores this process may use (joblib's count, which honours affinity and cgroups)."""
    return max(1, int(cpu_count(only_physical_cores=False)))


def check_jobs(jobs: object, *, cap: bool = True) -> int:
    """Worker processes: None means every core; more than the cores is capped with a warning.

    Raises:
        UsageError: ``jobs`` is not a positive integer.
    """
    cores = available_cores()
    if jobs is None:
        return cores
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
        raise UsageError(f"--jobs: got {shown(jobs)}; allowed: an integer from 1 to {cores} "
                         "(the cores of this machine)")
    if cap and jobs > cores:
        warnings.warn(f"--jobs {jobs}: this machine has {cores} cores; using {cores}",
                      RuntimeWarning, stacklevel=2)
        return cores
    return jobs


def shown(value: object, limit: int = 40) -> str:
    """``value`` quoted and cut to ``limit`` characters, for one-line errors."""
    text = value if isinstance(value, str) else repr(value)
    text = text if len(text) <= limit else text[: limit - 3] + "..."
    return repr(text) if isinstance(value, str) else text


def suggest(value: str, choices: Iterable[str]) -> str:
    """`` (did you mean 'x'?)`` when ``value`` is close to one of ``choices``, else ''."""
    close = difflib.get_close_matches(str(value), list(choices), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""
