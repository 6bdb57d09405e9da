"""``cisim sweep``: run (or resume) a parameter sweep described by a TOML file."""

from __future__ import annotations

import argparse
import dataclasses
import sys

from joblib.externals.loky.process_executor import BrokenProcessPool

from experiments.commands.options import integer, number, study_options
from experiments.engine.limits import check_jobs
from experiments.errors import UsageError
from experiments.sweep import load_config, run_sweep


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``sweep`` subcommand."""
    p = sub.add_parser(
        "sweep", parents=[study_options(default_jobs_text="1")],
        help="run or resume a parameter sweep from a TOML file",
        description="Run every run of the sweep described by CONFIG into --out, as Parquet "
                    "parts under DIR/runs/ plus DIR/manifest.json and DIR/design.parquet. "
                    "Running the same command again resumes: finished runs are skipped.")
    p.add_argument("config", metavar="CONFIG", help="sweep TOML file (see experiments/configs)")
    p.add_argument("--retry-failed", action="store_true",
                   help="run failed runs again (finished runs are never touched)")
    p.add_argument("--allow-code-change", action="store_true",
                   help="resume even though DIR holds runs of other model code (rows keep "
                        "their code version; loading then warns)")
    p.add_argument("--flush-every", type=number(0.0, 86400.0, open_low=True), default=5.0,
                   metavar="SECONDS",
                   help="write finished runs to disk at least this often (default 5)")
    p.add_argument("--target-ci", type=number(0.0, 1e12, open_low=True), default=None,
                   metavar="W",
                   help="after the sweep, add replications in rounds until every index's "
                        "interval (bootstrap over replications) is narrower than W, or the "
                        "budget is spent; sobol and morris designs")
    p.add_argument("--budget", type=integer(1, 10**6), default=None, metavar="RUNS",
                   help="most runs --target-ci may reach (default: 8 times the design's)")
    p.set_defaults(func=cmd_sweep)


def cmd_sweep(args: argparse.Namespace) -> int:
    """Validate config and folder, then dry-run or run; exit 1 when runs failed."""
    config = load_config(args.config)
    if args.seed is not None:  # --seed replaces the config's master seed
        config = dataclasses.replace(config, master_seed=args.seed)
    jobs = 1 if args.jobs is None else check_jobs(args.jobs)
    if args.dry_run:
        from experiments.sweep.estimate import estimate

        print(estimate(config, args.out, jobs).describe())
        return 0
    if args.target_ci is not None:
        from experiments.sweep.target import replicate_until

        target = replicate_until(config, args.out, args.target_ci, args.budget, jobs=jobs,
                                 backend=args.backend, scheduler=args.scheduler,
                                 retry_failed=args.retry_failed,
                                 allow_code_change=args.allow_code_change,
                                 progress=not args.no_progress,
                                 flush_seconds=args.flush_every)
        print(target.describe())
        return 0
    if args.budget is not None:
        raise UsageError("--budget: only with --target-ci")
    try:
        report = run_sweep(config, args.out, jobs=jobs, backend=args.backend,
                           scheduler=args.scheduler, retry_failed=args.retry_failed,
                           allow_code_change=args.allow_code_change,
                           progress=not args.no_progress, flush_seconds=args.flush_every)
    except KeyboardInterrupt:
        print(f"cisim: sweep interrupted; finished runs are saved in {args.out!r}: run the "
              "same command again to resume", file=sys.stderr)
        raise
    except BrokenProcessPool as exc:
        print(f"cisim: error: a worker process died ({exc}); finished runs are saved: run "
              "the same command again to resume", file=sys.stderr)
        return 1
    print(f"sweep {config.name!r}: {report.n_runs} runs; {report.skipped} were already done, "
          f"{report.ran} ran now in {report.wall_seconds:.1f} s; {report.failed} failed; "
          f"results in {str(report.out)!r}")
    if report.failed:
        print(f"cisim: error: {report.failed} of {report.n_runs} runs failed (first: "
              f"{report.first_error}); see the error column, fix the cause and rerun with "
              "--retry-failed", file=sys.stderr)
        return 1
    return 0
