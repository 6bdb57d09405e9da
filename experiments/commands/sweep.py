"""``cisim sweep``: run (or resume) a parameter sweep described by a TOML file."""

from __future__ import annotations

import argparse
import sys

from joblib.externals.loky.process_executor import BrokenProcessPool

from experiments.sweep import load_config, plan_sweep, run_sweep
from experiments.sweep.execute import BACKENDS, check_execution


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``sweep`` subcommand."""
    p = sub.add_parser(
        "sweep", help="run or resume a parameter sweep from a TOML file",
        description="Run every run of the sweep described by CONFIG into --out, as Parquet "
                    "parts under DIR/runs/ plus DIR/manifest.json. Running the same command "
                    "again resumes: finished runs are skipped.")
    p.add_argument("config", metavar="CONFIG", help="sweep TOML file (see experiments/configs)")
    p.add_argument("--out", required=True, metavar="DIR", help="sweep folder (created)")
    p.add_argument("--jobs", type=int, default=1, metavar="N",
                   help="worker processes (default 1; with --scheduler the cluster decides)")
    p.add_argument("--backend", choices=BACKENDS, default="loky",
                   help="joblib loky processes on this machine (default) or Dask distributed")
    p.add_argument("--scheduler", metavar="ADDRESS", default=None,
                   help="Dask scheduler address, e.g. tcp://10.0.0.5:8786 (default with "
                        "--backend dask: a local cluster of --jobs workers)")
    p.add_argument("--dry-run", action="store_true",
                   help="print the run count and time/memory/disk estimates from a few pilot "
                        "runs, and write nothing")
    p.add_argument("--retry-failed", action="store_true",
                   help="run failed runs again instead of keeping their errors")
    p.add_argument("--allow-code-change", action="store_true",
                   help="resume even though DIR holds runs of other model code (rows keep "
                        "their code version; loading then warns)")
    p.add_argument("--flush-every", type=float, default=5.0, metavar="SECONDS",
                   help="write finished runs to disk at least this often (default 5)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_sweep)


def cmd_sweep(args: argparse.Namespace) -> int:
    """Validate config and folder, then dry-run or run; exit 1 when runs failed."""
    check_execution(args.jobs, args.backend, args.scheduler, args.flush_every)
    config = load_config(args.config)
    if args.dry_run:
        from experiments.sweep.estimate import estimate

        plan = plan_sweep(config, args.out, allow_code_change=args.allow_code_change)
        print(plan.design.describe())
        print(estimate(plan, args.jobs).describe())
        return 0
    try:
        report = run_sweep(config, args.out, jobs=args.jobs, backend=args.backend,
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
