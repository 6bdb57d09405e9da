"""Profile one model run and print where the time goes.

Run from the repository root::

    python benchmarks/profile_run.py                      # default run, cProfile
    python benchmarks/profile_run.py --residents 100000   # city-sized run
    python benchmarks/profile_run.py --pyinstrument       # call tree (pip install pyinstrument)

It also prints the minor page faults of the run: on virtual machines that hand
freed memory back to the host, every fresh page of a large temporary array costs
a fault, so a hot path that allocates large arrays each month shows up here
before it shows up in a profile.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import resource
import sys
import time

from model.core import CollectiveImpactModel
from model.parameters import ParameterError
from model.scenarios import make_scenario


def run(scenario: str, seed: int, params: dict) -> None:
    """Build and run one model with ``params`` (the work being profiled)."""
    model = CollectiveImpactModel(scenario, rng=seed, **params)
    model.run_for(model.params["steps"])
    model.summary()


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, profile one run and print the report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", default="collective", help="named scenario")
    parser.add_argument("--residents", type=int, default=2000, help="number of residents")
    parser.add_argument("--steps", type=int, default=120, help="months to run")
    parser.add_argument("--seed", type=int, default=7, help="seed of the run")
    parser.add_argument("--top", type=int, default=30, help="rows of the cProfile table")
    parser.add_argument("--pyinstrument", action="store_true",
                        help="print pyinstrument's call tree instead of cProfile's table")
    args = parser.parse_args(argv)
    params = {"n_residents": args.residents, "steps": args.steps}
    try:
        make_scenario(args.scenario, rng=args.seed, **params)
    except ParameterError as err:
        parser.error(str(err))
    if args.pyinstrument:
        try:
            from pyinstrument import Profiler
        except ImportError:
            parser.error("--pyinstrument needs pyinstrument: pip install pyinstrument")

    run(args.scenario, args.seed, {**params, "n_residents": 50, "steps": 2})  # imports, caches
    faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    start = time.perf_counter()
    if args.pyinstrument:
        profiler = Profiler()
        profiler.start()
        run(args.scenario, args.seed, params)
        profiler.stop()
        report = profiler.output_text(unicode=False, color=False)
    else:
        profiler = cProfile.Profile()
        profiler.runcall(run, args.scenario, args.seed, params)
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(args.top)
        report = out.getvalue()
    seconds = time.perf_counter() - start
    faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults
    print(report)
    print(f"{args.scenario}, {args.residents:,} residents x {args.steps} steps: "
          f"{seconds:.2f} s under the profiler, {faults:,} minor page faults "
          f"({faults / max(args.steps, 1):,.0f} per step)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
