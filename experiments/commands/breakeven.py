"""``cisim breakeven``: the smallest value of a parameter at which a target is met often enough."""

from __future__ import annotations

import argparse
import time

from experiments.breakeven import (
    DEFAULT_POINTS,
    DEFAULT_REFINE,
    DEFAULT_REPS,
    plan_breakeven,
    run_breakeven,
    write_breakeven,
)
from experiments.commands.run import prepare_out_dir
from experiments.errors import UsageError
from model.parameters import parse_assignments


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``breakeven`` subcommand."""
    p = sub.add_parser(
        "breakeven",
        help="find the smallest value of a parameter at which an output meets a target",
        description="Search one declared numeric parameter, with replications at each value, "
                    "for the smallest value at which the target is met in at least the given "
                    "share of runs; write curve.csv, runs.parquet, breakeven.json, report.md, "
                    "report.html and figures/response_curve.png.")
    p.add_argument("--param", required=True, help="declared numeric parameter to search")
    p.add_argument("--target", required=True,
                   help="a yes/no output (needle_moved) or OUTPUT>=VALUE / OUTPUT<=VALUE")
    p.add_argument("--probability", type=float, default=0.5,
                   help="share of runs that must meet the target (default: %(default)s)")
    p.add_argument("--scenario", default="collective",
                   help="named scenario to start from (default: %(default)s)")
    p.add_argument("--range", dest="value_range", default=None, metavar="LOW,HIGH",
                   help="values to search (default: the parameter's declared range)")
    p.add_argument("--points", type=int, default=DEFAULT_POINTS,
                   help="evenly spaced values in the first pass (default: %(default)s)")
    p.add_argument("--refine", type=int, default=DEFAULT_REFINE,
                   help="extra values inside the first crossing (default: %(default)s)")
    p.add_argument("--reps", type=int, default=DEFAULT_REPS,
                   help="replications per value (default: %(default)s)")
    p.add_argument("--jobs", type=int, default=None, help="worker processes (default: all cores)")
    p.add_argument("--seed", type=int, default=None, help="master seed (default: declared)")
    p.add_argument("--steps", type=int, default=None, help="months to run (default: declared)")
    p.add_argument("--set", dest="assignments", action="append", default=[],
                   metavar="NAME=VALUE", help="fix another declared parameter (repeatable)")
    p.add_argument("--no-progress", action="store_true", help="do not show progress bars")
    p.add_argument("--out", required=True, help="output folder")
    p.set_defaults(func=cmd_breakeven)


def parse_range(text: str | None) -> tuple[float | None, float | None]:
    """Parse ``LOW,HIGH`` (either may be empty for the declared bound)."""
    if text is None:
        return None, None
    parts = text.split(",")
    if len(parts) != 2:
        raise UsageError(f"--range: got {text!r}; expected LOW,HIGH")
    try:
        return tuple(float(x) if x.strip() else None for x in parts)  # type: ignore[return-value]
    except ValueError:
        raise UsageError(f"--range: got {text!r}; LOW and HIGH must be numbers") from None


def cmd_breakeven(args: argparse.Namespace) -> int:
    """Validate everything, search, write the files and print the answer."""
    params = parse_assignments(args.assignments)
    if args.steps is not None:
        params["steps"] = args.steps
    if args.jobs is not None and args.jobs < 1:
        raise UsageError(f"--jobs: got {args.jobs}; allowed: an integer of at least 1")
    low, high = parse_range(args.value_range)
    options = dict(parameter=args.param, target=args.target, probability=args.probability,
                   scenario=args.scenario, low=low, high=high, points=args.points,
                   refine=args.refine, reps=args.reps, seed=args.seed, params=params)
    plan_breakeven(**options)  # refuses bad input before any work
    out = prepare_out_dir(args.out)
    started = time.perf_counter()
    result = run_breakeven(**options, jobs=args.jobs, progress=not args.no_progress)
    write_breakeven(result, out)
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
          f"report: {out / 'report.html'}")
    return 0
