"""``cisim conditions``: the factorial of the five conditions and each one's Shapley value."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from experiments.commands.options import integer, model_options, study_options
from experiments.conditions import (
    DEFAULT_REPS,
    OUTCOMES,
    ConditionsPlan,
    open_folder,
    plan_conditions,
    run_conditions,
    write_results,
)
from experiments.engine import ModelEvaluation, RunStore, model_schema
from experiments.engine.estimate import estimate
from experiments.engine.limits import MAX_REPLICATIONS, check_jobs
from experiments.errors import UsageError
from experiments.reports.conditions import write_conditions_report
from model.parameters import parse_assignments


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``conditions`` subcommand."""
    p = sub.add_parser(
        "conditions", parents=[model_options(), study_options()],
        help="which of the five conditions carries the effect (full factorial, Shapley values)",
        description="Run all 32 combinations of the five conditions (each off, or at the base "
                    "scenario's level) in the same communities, then split the difference "
                    "between all five and none among them (Shapley values, with 95%% "
                    "intervals), with main effects and two-way interactions. Writes "
                    "shapley.csv, effects.csv, totals.csv, factorial.parquet, runs.parquet, "
                    "report.md, report.html and figures/ beside manifest.json.")
    p.add_argument("--scenario", default="collective",
                   help="base scenario; its grant practice stays (default: %(default)s)")
    p.add_argument("--reps", type=integer(2, MAX_REPLICATIONS), default=DEFAULT_REPS,
                   help="replications per combination (default: %(default)s)")
    p.add_argument("--outcomes", default=",".join(OUTCOMES),
                   help="summary outputs to split, comma-separated (default: %(default)s)")
    p.set_defaults(func=cmd_conditions)


def cmd_conditions(args: argparse.Namespace) -> int:
    """Validate, run (or resume) the factorial, write the tables and the report."""
    params = parse_assignments(args.assignments)
    if args.steps is not None:
        params["steps"] = args.steps
    outcomes = [o.strip() for o in args.outcomes.split(",") if o.strip()]
    if not outcomes:
        raise UsageError(f"--outcomes: got {args.outcomes!r}; allowed: comma-separated "
                         "summary outputs")
    plan = plan_conditions(args.scenario, args.reps, args.seed, params, outcomes)
    jobs = check_jobs(args.jobs)
    folder = open_folder(plan, args.out)
    existing = folder.check()
    if args.dry_run:
        print(_dry_run(plan, folder.path if existing else None, jobs))
        return 0
    started = time.perf_counter()
    with folder:
        result = run_conditions(plan, RunStore(folder.path, model_schema(series=False)),
                                jobs=jobs, backend=args.backend, scheduler=args.scheduler,
                                progress=not args.no_progress)
        with folder.publishing() as staging:
            write_results(result, staging)
            write_conditions_report(staging)
    shapley, totals = result.shapley(), result.totals().set_index("outcome")
    for outcome in plan.outcomes:
        scale = 100.0 if outcome == "needle_moved" else 1.0
        total = totals.loc[outcome]
        print(f"{outcome}: all five minus none {total['difference'] * scale:+.2f} "
              f"[{total['low'] * scale:.2f}, {total['high'] * scale:.2f}]")
        for r in shapley[shapley["outcome"] == outcome].itertuples():
            print(f"  {r.condition:<26} {r.value * scale:+.2f} [{r.low * scale:.2f}, "
                  f"{r.high * scale:.2f}]")
    print(f"{len(result.runs)} runs in {time.perf_counter() - started:.0f} s; report: "
          f"{folder.path / 'report.html'}")
    return 0


def _dry_run(plan: ConditionsPlan, folder: Path | None, jobs: int) -> str:
    schema = model_schema(series=False)
    done = len(RunStore(folder, schema).status()[0]) if folder is not None else 0
    n_runs = 32 * plan.reps
    return estimate(f"32 combinations x {plan.reps:,} replications = {n_runs:,} runs", n_runs,
                    done, ModelEvaluation(plan.scenario), {**plan.params, **plan.levels},
                    schema, plan.master_seed, jobs).describe()
