"""``cisim run``: one model run written to a folder."""

from __future__ import annotations

import argparse
import json

from experiments.commands.options import model_options, seed_value
from experiments.engine import DEFAULT_MASTER_SEED, StudyFolder
from experiments.engine.schema import model_schema
from experiments.engine.store import write_frame
from experiments.io import write_json
from experiments.reports.run import timeseries_figure
from experiments.runner import run_one
from model.parameters import parse_assignments
from model.scenarios import make_scenario


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``run`` subcommand."""
    p = sub.add_parser("run", parents=[model_options()],
                       help="run one model and write its time series and summary",
                       description="Run one model and write timeseries.parquet, summary.json "
                                   "and timeseries.png beside manifest.json. Any seed in a "
                                   "study's runs.parquet replays that run exactly.")
    p.add_argument("--scenario", default="collective", help="named scenario (cisim scenarios)")
    p.add_argument("--seed", type=seed_value, default=None,
                   help=f"seed of the run, 0 to 2**63-1 (default {DEFAULT_MASTER_SEED})")
    p.add_argument("--out", required=True, metavar="DIR", help="output folder")
    p.set_defaults(func=cmd_run)


def cmd_run(args: argparse.Namespace) -> int:
    """Validate everything, run, then write the three files and print the summary."""
    params = parse_assignments(args.assignments)
    if args.steps is not None:
        params["steps"] = args.steps
    given = params.pop("seed", None)  # --set seed=... means the same as --seed
    seed = args.seed if args.seed is not None else (DEFAULT_MASTER_SEED if given is None
                                                     else given)
    scenario = make_scenario(args.scenario, rng=seed, **params)  # refuses bad input first
    folder = StudyFolder(args.out, "run", {"scenario": args.scenario, "seed": seed,
                                           "params": params})
    folder.check()
    summary, series = run_one(args.scenario, seed, **params)
    record = {"scenario": args.scenario, "seed": seed, "parameters": scenario.parameters(),
              "summary": summary}
    with folder, folder.publishing() as staging:
        frame = series.assign(run_id=0, point=0, replication=0, scenario=args.scenario)
        write_frame(frame, model_schema(series=True).series, staging / "timeseries.parquet")
        write_json(record, staging / "summary.json")
        timeseries_figure(series, title=f"Scenario '{args.scenario}' (seed {seed})",
                          path=staging / "timeseries.png")
    print(json.dumps(summary, indent=2, default=float))
    return 0
