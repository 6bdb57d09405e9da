"""``cisim compare``: funding regimes side by side at equal money, with a funder's report."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from experiments.commands.options import integer, model_options, study_options
from experiments.compare import (
    DEFAULT_REFERENCE,
    DEFAULT_REPS,
    DEFAULT_SCENARIOS,
    Comparison,
    ComparisonPlan,
    execute_plan,
    open_folder,
    plan_comparison,
    write_results,
)
from experiments.engine import ModelEvaluation, RunStore, model_schema
from experiments.engine.estimate import Estimate, estimate
from experiments.engine.limits import MAX_REPLICATIONS, check_jobs
from experiments.errors import UsageError
from experiments.reports.comparison import write_report
from model.parameters import parse_assignments


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``compare`` subcommand."""
    p = sub.add_parser(
        "compare", parents=[model_options(), study_options()],
        help="compare funding regimes at equal money over replications and write a report",
        description="Run every scenario REPS times (replication r of every scenario starts "
                    "from the same community), then write runs.parquet, timeseries.parquet, "
                    "summary.csv, contrasts.csv, comparison.json, report.md, report.html and "
                    "figures/ beside manifest.json. Running the same command again resumes "
                    "the runs and rewrites the tables and report.")
    p.add_argument("--scenarios", default=",".join(DEFAULT_SCENARIOS),
                   help="comma-separated named scenarios (default: %(default)s)")
    p.add_argument("--reference", default=None,
                   help=f"scenario the others are compared with (default: {DEFAULT_REFERENCE} "
                        "when compared, else the first scenario)")
    p.add_argument("--reps", type=integer(2, MAX_REPLICATIONS), default=DEFAULT_REPS,
                   help="replications per scenario, at least 2 (default: %(default)s)")
    p.add_argument("--posterior", metavar="DIR", default=None,
                   help="a 'cisim calibrate' folder: each replication's community takes the "
                        "calibrated values of a final-generation particle drawn by weight "
                        "(and the calibration's [fixed] values and steps, unless --set/--steps "
                        "give them)")
    p.set_defaults(func=cmd_compare)


def parse_scenarios(text: str) -> list[str]:
    """Split a comma-separated scenario list, refusing empty names."""
    names = [s.strip() for s in text.split(",")]
    if not text.strip() or any(not n for n in names):
        raise UsageError(f"--scenarios: got {text!r}; expected names separated by commas")
    return names


def cmd_compare(args: argparse.Namespace) -> int:
    """Validate everything, run (or resume) the replications, write tables and report."""
    params = parse_assignments(args.assignments)
    if args.steps is not None:
        params["steps"] = args.steps
    plan = plan_comparison(parse_scenarios(args.scenarios), args.reps, args.seed, params,
                           args.posterior)
    reference = args.reference or (DEFAULT_REFERENCE if DEFAULT_REFERENCE in plan.scenarios
                                   else plan.scenarios[0])
    if reference not in plan.scenarios:
        raise UsageError(f"--reference: got {reference!r}; allowed: one of the compared "
                         f"scenarios ({', '.join(plan.scenarios)})")
    jobs = check_jobs(args.jobs)
    folder = open_folder(plan, args.out, reference)
    existing = folder.check()  # refuses another command's or configuration's folder
    if args.dry_run:
        print(dry_run(plan, folder.path if existing else None, jobs).describe())
        return 0
    started = time.perf_counter()
    with folder:
        comparison = execute_plan(plan, folder, jobs, args.backend, args.scheduler,
                              not args.no_progress)
        with folder.publishing() as staging:
            write_results(comparison, staging, reference)
            write_report(staging)
    elapsed = time.perf_counter() - started
    print(_headline(comparison, reference))
    if plan.posterior is not None:
        print(_posterior_headline(comparison, reference))
    print(f"{len(comparison.runs)} runs in {elapsed:.0f} s; report: "
          f"{folder.path / 'report.html'}")
    if comparison.failed:
        print(f"cisim: error: {comparison.failed} runs failed (see the error column of "
              "runs.parquet); the tables leave them out. Fix the cause and run the same "
              "command again to retry them", file=sys.stderr)
        return 1
    return 0


def dry_run(plan: ComparisonPlan, folder: Path | None, jobs: int) -> Estimate:
    """Pilot runs of the first scenario, extrapolated to the whole comparison."""
    schema = model_schema(series=True)
    done = len(RunStore(folder, schema).status()[0]) if folder is not None else 0
    n_runs = len(plan.scenarios) * plan.reps
    return estimate(f"{len(plan.scenarios)} scenarios x {plan.reps:,} replications = "
                    f"{n_runs:,} runs", n_runs, done, ModelEvaluation(keep_series=True),
                    {"scenario": plan.scenarios[0], **plan.params}, schema, plan.master_seed,
                    jobs)


def _headline(comparison: Comparison, reference: str) -> str:
    """A few lines for the terminal: needle share and mean gain per scenario."""
    summary = comparison.summary_table()
    lines = [f"{'scenario':<30} {'needle moved':>12} {'wellbeing gain % [95% interval]':>34}"]
    for r in summary.to_dict("records"):
        gain = (f"{r['improvement_pct_mean']:+.1f} [{r['improvement_pct_lo']:.1f}, "
                f"{r['improvement_pct_hi']:.1f}]")
        lines.append(f"{r['scenario']:<30} {r['needle_share']:>12.0%} {gain:>34}")
    return "\n".join(lines)


def _posterior_headline(comparison: Comparison, reference: str) -> str:
    """'In communities like those observed, S moves the needle in X% [interval] against Y%'."""
    summary = comparison.summary_table().set_index("scenario")
    ref = summary.loc[reference]
    lines = []
    for name in comparison.scenarios:
        if name == reference:
            continue
        r = summary.loc[name]
        lines.append(f"In communities like those observed (drawn from the posterior), {name} "
                     f"moves the needle in {r['needle_share']:.0%} [{r['needle_share_lo']:.0%}, "
                     f"{r['needle_share_hi']:.0%}] against {ref['needle_share']:.0%} "
                     f"[{ref['needle_share_lo']:.0%}, {ref['needle_share_hi']:.0%}] for "
                     f"{reference}")
    return "\n".join(lines)
