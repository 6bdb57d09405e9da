"""``cisim breakeven``: the smallest value of a parameter at which a target is met often enough."""

from __future__ import annotations

import argparse
import time

from experiments.breakeven import (
    DEFAULT_POINTS,
    DEFAULT_REFINE,
    DEFAULT_REPS,
    MAX_VALUES,
    open_folder,
    plan_breakeven,
    search,
    write_breakeven,
)
from experiments.commands.options import integer, model_options, number, study_options
from experiments.engine import ModelEvaluation, RunStore, make_executor, model_schema
from experiments.engine.estimate import estimate
from experiments.engine.limits import MAX_REPLICATIONS, check_jobs
from experiments.errors import UsageError
from experiments.reports.breakeven import write_breakeven_report
from model.parameters import parse_assignments


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``breakeven`` subcommand."""
    p = sub.add_parser(
        "breakeven", parents=[model_options(), study_options()],
        help="find the smallest value of a parameter at which an output meets a target",
        description="Search one declared numeric parameter, with replications at each value, "
                    "for the smallest value at which the target is met in at least the given "
                    "share of runs; write curve.csv, runs.parquet, breakeven.json, report.md, "
                    "report.html and figures/response_curve.png.")
    p.add_argument("--param", required=True, help="declared numeric parameter to search")
    p.add_argument("--target", required=True,
                   help="a yes/no output (needle_moved) or OUTPUT>=VALUE / OUTPUT<=VALUE")
    p.add_argument("--probability", type=number(0.0, 1.0, open_low=True), default=0.5,
                   help="share of runs that must meet the target (default: %(default)s)")
    p.add_argument("--scenario", default="collective",
                   help="named scenario to start from (default: %(default)s)")
    p.add_argument("--range", dest="value_range", default=None, metavar="LOW,HIGH",
                   help="values to search (default: the parameter's declared range)")
    p.add_argument("--points", type=integer(2, MAX_VALUES), default=DEFAULT_POINTS,
                   help="evenly spaced values in the first pass (default: %(default)s)")
    p.add_argument("--refine", type=integer(0, MAX_VALUES), default=DEFAULT_REFINE,
                   help="extra values inside the first crossing (default: %(default)s)")
    p.add_argument("--reps", type=integer(2, MAX_REPLICATIONS), default=DEFAULT_REPS,
                   help="replications per value (default: %(default)s)")
    p.set_defaults(func=cmd_breakeven)


def parse_range(text: str | None) -> tuple[float | None, float | None]:
    """Parse ``LOW,HIGH`` (either may be empty for the declared bound)."""
    if text is None:
        return None, None
    parts = text.split(",")
    if len(parts) != 2:
        raise UsageError(f"--range: got {text!r}; expected LOW,HIGH")
    try:
        low, high = (float(x) if x.strip() else None for x in parts)
    except ValueError:
        raise UsageError(f"--range: got {text!r}; LOW and HIGH must be numbers") from None
    return low, high


def cmd_breakeven(args: argparse.Namespace) -> int:
    """Validate everything, search (resuming the folder's runs), write files, print the answer."""
    params = parse_assignments(args.assignments)
    if args.steps is not None:
        params["steps"] = args.steps
    low, high = parse_range(args.value_range)
    plan = plan_breakeven(args.param, args.target, args.probability, args.scenario, low, high,
                          args.points, args.refine, args.reps, args.seed, params)
    jobs = check_jobs(args.jobs)
    folder = open_folder(plan, args.out)
    existing = folder.check()  # refuses another command's or configuration's folder
    if args.dry_run:
        schema = model_schema(series=False)
        done = len(RunStore(folder.path, schema).status()[0]) if existing else 0
        most = (plan.points + plan.refine) * plan.reps
        print(estimate(f"{plan.points} values x {plan.reps:,} replications, then up to "
                       f"{plan.refine} more values: {plan.points * plan.reps:,} to {most:,} "
                       "runs", most, done, ModelEvaluation(plan.scenario),
                       {**plan.params, plan.parameter.name: plan.low}, schema,
                       plan.master_seed, jobs).describe())
        return 0
    started = time.perf_counter()
    with folder, make_executor(args.backend, jobs, args.scheduler) as executor:
        result = search(plan, RunStore(folder.path, model_schema(series=False)), executor,
                        not args.no_progress)
        with folder.publishing() as staging:
            write_breakeven(result, staging)
            write_breakeven_report(staging)
    record = result.record()
    if record["estimate"] is None:
        print(f"{record['target']} was not met in {args.probability:.0%} of runs anywhere in "
              f"{record['searched_range'][0]:g} to {record['searched_range'][1]:g}.")
    else:
        lo, hi = record["interval"]
        hi_text = f"{hi:.4g}" if hi is not None else "beyond the range"
        print(f"{args.param} = {record['estimate']:.4g} {result.plan.parameter.unit} "
              f"(95% interval {lo:.4g} to {hi_text}) for {record['target']} in "
              f"{args.probability:.0%} of runs [{record['status']}]")
    print(f"{len(result.runs)} runs in {time.perf_counter() - started:.0f} s; "
          f"report: {folder.path / 'report.html'}")
    return 0
