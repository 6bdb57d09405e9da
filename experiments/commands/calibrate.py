"""``cisim calibrate``: approximate Bayesian computation of parameters from field patterns."""

from __future__ import annotations

import argparse
import time

from experiments.calibrate import load_config
from experiments.commands.options import executor_options
from experiments.engine.limits import check_jobs


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``calibrate`` subcommand."""
    p = sub.add_parser(
        "calibrate",
        parents=[executor_options(1, "1: pyabc's single-core sampler, the only reproducible "
                                     "one; more: its multicore sampler")],
        help="calibrate declared parameters to field patterns (ABC-SMC with pyabc)",
        description="Run ABC-SMC (pyabc) on the priors and patterns of CONFIG, then write "
                    "posterior.parquet, generations.csv, predictive.parquet, "
                    "calibration.json, report.md, report.html and figures/ beside abc.db "
                    "(pyabc's database) and manifest.json. Running the same command again "
                    "continues the run from abc.db up to max_generations.")
    p.add_argument("config", metavar="CONFIG", help="calibration TOML file")
    p.set_defaults(func=cmd_calibrate)


def cmd_calibrate(args: argparse.Namespace) -> int:
    """Validate, run (or continue) the calibration, write the tables and the report."""
    plan = load_config(args.config)
    jobs = check_jobs(args.jobs)
    if args.scheduler is not None and args.backend != "dask":
        from experiments.errors import UsageError

        raise UsageError("--scheduler: needs --backend dask")
    from experiments.calibrate import smc
    from experiments.reports.calibrate import write_calibration_report

    folder = smc.open_folder(plan, args.out)
    folder.check()  # refuses another command's or configuration's folder
    started = time.perf_counter()
    with folder:
        result = smc.run_calibration(plan, folder, jobs=jobs, backend=args.backend,
                                     scheduler=args.scheduler)
        with folder.publishing() as staging:
            smc.write_results(result, staging)
            write_calibration_report(staging)
    gens = result.generations
    last = result.posterior[result.posterior["generation"] == gens["generation"].max()]
    weights = last["weight"] / last["weight"].sum()
    print(f"{len(gens)} generations, final threshold {gens['epsilon'].iloc[-1]:.3g}, "
          f"{int(gens['samples'].sum())} particles simulated")
    for name in plan.parameters:
        mean = float((weights * last[name]).sum())
        sd = float((weights * (last[name] - mean) ** 2).sum() ** 0.5)
        print(f"  {name:<28} posterior mean {mean:.3g} (sd {sd:.2g})")
    print(f"done in {time.perf_counter() - started:.0f} s; report: "
          f"{folder.path / 'report.html'}")
    return 0
