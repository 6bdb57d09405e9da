"""``cisim compare``: funding regimes side by side at equal money, with a funder's report."""

from __future__ import annotations

import argparse
import time

from experiments.commands.run import prepare_out_dir
from experiments.compare import (
    DEFAULT_REFERENCE,
    DEFAULT_REPS,
    DEFAULT_SCENARIOS,
    Comparison,
    execute_runs,
    plan_comparison,
    write_results,
)
from experiments.errors import UsageError
from experiments.report import write_report
from model.parameters import parse_assignments


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``compare`` subcommand."""
    p = sub.add_parser(
        "compare",
        help="compare funding regimes at equal money over replications and write a report",
        description="Run every scenario REPS times (replication r of every scenario starts "
                    "from the same community), then write runs.parquet, timeseries.parquet, "
                    "summary.csv, contrasts.csv, report.md, report.html and figures/.")
    p.add_argument("--scenarios", default=",".join(DEFAULT_SCENARIOS),
                   help="comma-separated named scenarios (default: %(default)s)")
    p.add_argument("--reference", default=None,
                   help=f"scenario the others are compared with (default: {DEFAULT_REFERENCE} "
                        "when compared, else the first scenario)")
    p.add_argument("--reps", type=int, default=DEFAULT_REPS,
                   help="replications per scenario, at least 2 (default: %(default)s)")
    p.add_argument("--jobs", type=int, default=None,
                   help="worker processes (default: all cores); results do not depend on it")
    p.add_argument("--seed", type=int, default=None,
                   help="master seed every replication's seed is spawned from "
                        "(default: the declared seed)")
    p.add_argument("--steps", type=int, default=None, help="months to run (default: declared)")
    p.add_argument("--set", dest="assignments", action="append", default=[],
                   metavar="NAME=VALUE",
                   help="override a declared parameter in every scenario (repeatable)")
    p.add_argument("--no-progress", action="store_true", help="do not show the progress bar")
    p.add_argument("--out", required=True, help="output folder")
    p.set_defaults(func=cmd_compare)


def parse_scenarios(text: str) -> list[str]:
    """Split a comma-separated scenario list, refusing empty names."""
    names = [s.strip() for s in text.split(",")]
    if not text.strip() or any(not n for n in names):
        raise UsageError(f"--scenarios: got {text!r}; expected names separated by commas")
    return names


def cmd_compare(args: argparse.Namespace) -> int:
    """Validate everything, run the replications, write the tables and the report."""
    params = parse_assignments(args.assignments)
    if args.steps is not None:
        params["steps"] = args.steps
    scenarios = parse_scenarios(args.scenarios)
    if args.jobs is not None and args.jobs < 1:
        raise UsageError(f"--jobs: got {args.jobs}; allowed: an integer of at least 1")
    plan = plan_comparison(scenarios, args.reps, args.seed, params)
    reference = args.reference or (DEFAULT_REFERENCE if DEFAULT_REFERENCE in plan.scenarios
                                   else plan.scenarios[0])
    if reference not in plan.scenarios:
        raise UsageError(f"--reference: got {reference!r}; allowed: one of the compared "
                         f"scenarios ({', '.join(plan.scenarios)})")
    out = prepare_out_dir(args.out)
    started = time.perf_counter()
    specs = plan.runs()
    results = execute_runs(specs, plan.params, jobs=args.jobs, progress=not args.no_progress,
                           desc="cisim compare")
    comparison = Comparison.from_results(plan, specs, results)
    write_results(comparison, out, reference)
    write_report(comparison, out, reference)
    elapsed = time.perf_counter() - started
    print(_headline(comparison, reference))
    print(f"{len(specs)} runs in {elapsed:.0f} s; report: {out / 'report.html'}")
    return 0


def _headline(comparison: Comparison, reference: str) -> str:
    """A few lines for the terminal: needle share and mean gain per scenario."""
    summary = comparison.summary_table()
    lines = [f"{'scenario':<30} {'needle moved':>12} {'wellbeing gain % [95% interval]':>34}"]
    for r in summary.to_dict("records"):
        gain = (f"{r['improvement_pct_mean']:+.1f} [{r['improvement_pct_lo']:.1f}, "
                f"{r['improvement_pct_hi']:.1f}]")
        lines.append(f"{r['scenario']:<30} {r['needle_share']:>12.0%} {gain:>34}")
    return "\n".join(lines)
