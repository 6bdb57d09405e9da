"""``cisim run``: one model run written to a folder."""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

from experiments.errors import UsageError
from experiments.io import write_json, write_parquet
from experiments.plots import timeseries_figure
from experiments.runner import run_one
from experiments.sweep.manifest import MANIFEST
from model.parameters import parse_assignments
from model.scenarios import make_scenario


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``run`` subcommand."""
    p = sub.add_parser("run", help="run one model and write its time series and summary")
    p.add_argument("--scenario", default="collective", help="named scenario (cisim scenarios)")
    p.add_argument("--seed", type=int, default=None, help="random seed (default: declared seed)")
    p.add_argument("--steps", type=int, default=None, help="months to run")
    p.add_argument("--set", dest="assignments", action="append", default=[],
                   metavar="NAME=VALUE", help="override a declared parameter (repeatable)")
    p.add_argument("--out", required=True, help="output folder")
    p.set_defaults(func=cmd_run)


def prepare_out_dir(out: str) -> Path:
    """Check that ``out`` can be used as an output folder, without creating anything yet."""
    path = Path(out)
    if path.exists() and not path.is_dir():
        raise UsageError(f"--out {out!r} exists and is not a folder")
    if (path / MANIFEST).exists():
        raise UsageError(f"--out {out!r} holds a sweep ({MANIFEST}); use another folder")
    parent = path if path.exists() else next((p for p in path.parents if p.exists()), Path("."))
    if not os.access(parent, os.W_OK | os.X_OK):
        raise UsageError(f"--out {out!r}: cannot write into {str(parent)!r}")
    return path


def cmd_run(args: argparse.Namespace) -> int:
    """Validate everything, run, then write the three files and print the summary."""
    params = parse_assignments(args.assignments)
    if args.steps is not None:
        params["steps"] = args.steps
    if args.seed is not None:
        params["seed"] = args.seed
    scenario = make_scenario(args.scenario, **params)  # refuses bad input before any work
    out = prepare_out_dir(args.out)
    summary, series = run_one(scenario)
    out.mkdir(parents=True, exist_ok=True)
    write_parquet(series, out / "timeseries.parquet")
    write_json({"scenario": args.scenario, "parameters": scenario.parameters(),
                "summary": summary}, out / "summary.json")
    timeseries_figure(series, title=f"Scenario '{args.scenario}'", path=out / "timeseries.png")
    print(json.dumps(summary, indent=2, default=float))
    return 0
