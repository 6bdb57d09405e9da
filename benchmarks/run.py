"""Performance benchmark of the collective-impact model, with its targets.

Run from the repository root::

    python benchmarks/run.py            # full benchmark (a few minutes on 2 cores)
    python benchmarks/run.py --quick    # tiny sizes in one process: checks the script works
    python benchmarks/run.py --against 3a08a37   # default run here and at that commit

In full mode every timed run happens in a fresh spawned process, so each
measurement has its own peak memory (resident set size, from ``getrusage``) and no run inherits
warm caches or garbage from another. Inside that process a tiny warm-up run
comes first, so lazy imports are not timed. A timed run is what
``experiments.runner.run_one`` does: build the model, run every step, compute
the summary and the per-step table.

What is measured (medians over ``--repeats`` runs):

* the default ``collective`` scenario (2,000 residents, 40 nonprofits, 120 steps);
* 100,000 residents x 120 steps;
* cost per resident-step at 1,000, 10,000 and 100,000 residents;
* Mesa's own ``BoltzmannWealth`` example with as many agents as the default run
  has, for as many steps, on a square grid of about one agent per cell (the
  density of the example's defaults and of Mesa's own benchmark configurations:
  100 agents on 10 x 10, 10,000 on 100 x 100);
* a sweep of 32 runs of 10,000 residents with joblib, 1 worker then 2 workers
  (the worker pool is started before the clock starts).

With ``--against REV`` the default run is also timed on the code of git revision
REV (checked out in a temporary worktree), alternating fresh processes of the two
trees, so both are measured under the same load; the ratio is a target too.

The targets are printed with the measured value and PASS or FAIL. In full mode
the exit status is 1 when a target fails.
"""

from __future__ import annotations

import argparse
import gc
import math
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field, replace
from multiprocessing import get_context
from pathlib import Path
from typing import Any

SCENARIO = "collective"
MASTER_SEED = 20240611  # master seed of every benchmark run (spawned per run)
BUSY_LOAD = 0.5  # 1-minute load average above which the machine was not idle


@dataclass(frozen=True)
class Sizes:
    """The sizes of one benchmark pass.

    Attributes:
        default_residents: residents of the default-scenario run.
        steps: months per run.
        scaling: resident counts of the cost-per-resident-step series; the last
            one is the large-population run.
        sweep_runs: runs in the worker-scaling sweep.
        sweep_residents: residents per sweep run.
        repeats: timed repeats per measurement (the median is reported).
        sweep_repeats: repeats of each sweep (1 and 2 workers).
        extra: parameters applied to every run (besides ``n_residents``).
    """

    default_residents: int
    steps: int
    scaling: tuple[int, ...]
    sweep_runs: int
    sweep_residents: int
    repeats: int
    sweep_repeats: int
    extra: dict[str, Any] = field(default_factory=dict)


FULL = Sizes(default_residents=2000, steps=120, scaling=(1000, 10_000, 100_000),
             sweep_runs=32, sweep_residents=10_000, repeats=3, sweep_repeats=1)
QUICK = Sizes(default_residents=300, steps=12, scaling=(200, 600, 1500), sweep_runs=4,
              sweep_residents=300, repeats=1, sweep_repeats=1,
              extra={"n_nonprofits": 12, "n_funders": 3})


# --- what runs inside a measurement process ------------------------------------------------
def _peak_rss_mb() -> float:
    """Peak resident set size of this process so far, in MB."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 2**10  # bytes vs KiB


def _time_model(n_residents: int, steps: int, seed: int, extra: dict[str, Any]) -> dict:
    """Time one run of our model (build, run, summary and table) in this process."""
    from model.core import CollectiveImpactModel

    warm = CollectiveImpactModel(SCENARIO, rng=seed, **{**extra, "n_residents": 50, "steps": 2})
    warm.run_for(2)
    warm.summary()
    del warm
    gc.collect()

    params = {**extra, "n_residents": n_residents, "steps": steps}
    cpu, start = time.process_time(), time.perf_counter()
    model = CollectiveImpactModel(SCENARIO, rng=seed, **params)
    agents = len(model.agents)
    model.run_for(steps)
    model.summary()
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "cpu": time.process_time() - cpu, "agents": agents,
            "peak_mb": _peak_rss_mb()}


def _time_boltzmann(n_agents: int, steps: int, seed: int) -> dict:
    """Time Mesa's BoltzmannWealth example with ``n_agents`` at one agent per cell, here."""
    from mesa.examples.basic.boltzmann_wealth_model.model import (
        BoltzmannScenario,
        BoltzmannWealth,
    )

    BoltzmannWealth(scenario=BoltzmannScenario(n=20, rng=seed)).run_for(2)
    gc.collect()

    side = math.ceil(math.sqrt(n_agents))
    cpu, start = time.process_time(), time.perf_counter()
    model = BoltzmannWealth(scenario=BoltzmannScenario(n=n_agents, width=side, height=side,
                                                       rng=seed))
    model.run_for(steps)
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "cpu": time.process_time() - cpu, "agents": n_agents,
            "peak_mb": _peak_rss_mb()}


def _time_sweep(n_jobs: int, runs: int, n_residents: int, steps: int,
                extra: dict[str, Any], repeats: int) -> dict:
    """Time ``runs`` seeded runs with joblib on ``n_jobs`` workers, pool started first."""
    import numpy as np
    from joblib import Parallel, delayed
    from joblib.externals.loky import get_reusable_executor

    from experiments.runner import run_one

    seeds = np.random.SeedSequence(MASTER_SEED).spawn(runs)
    params = {**extra, "n_residents": n_residents, "steps": steps}
    times = []
    with Parallel(n_jobs=n_jobs) as parallel:
        # Start the workers and import the model in each before the clock starts.
        parallel(delayed(run_one)(SCENARIO, s, **{**params, "n_residents": 50, "steps": 2})
                 for s in seeds[: max(n_jobs, 1) * 2])
        for _ in range(repeats):
            start = time.perf_counter()
            parallel(delayed(run_one)(SCENARIO, s, **params) for s in seeds)
            times.append(time.perf_counter() - start)
    # Idle workers would otherwise keep this process alive for minutes.
    get_reusable_executor().shutdown(wait=True)
    return {"times": times, "peak_mb": _peak_rss_mb()}


# The default run as a script, so that another tree's code can be timed the same way.
_DEFAULT_RUN_SCRIPT = """
import gc, json, sys, time
from model import core
n, steps, seed = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
core.CollectiveImpactModel("collective", rng=seed, n_residents=50, steps=2).run_for(2)
gc.collect()
cpu, start = time.process_time(), time.perf_counter()
run = core.CollectiveImpactModel("collective", rng=seed, n_residents=n, steps=steps)
run.run_for(steps)
run.summary()
print(json.dumps({"seconds": time.perf_counter() - start, "cpu": time.process_time() - cpu,
                  "file": core.__file__}))
"""


def _time_tree(tree: Path, n_residents: int, steps: int, seed: int) -> dict:
    """Time the default run of the code in ``tree`` in a new Python process."""
    out = subprocess.run([sys.executable, "-c", _DEFAULT_RUN_SCRIPT, str(n_residents),
                          str(steps), str(seed)], cwd=tree, capture_output=True, text=True,
                         check=False, env={**os.environ, "PYTHONPATH": str(tree)})
    if out.returncode != 0:
        raise RuntimeError(f"the default run failed in {tree}:\n{out.stderr}")
    import json

    result = json.loads(out.stdout.strip().splitlines()[-1])
    if not Path(result["file"]).resolve().is_relative_to(tree.resolve()):
        raise RuntimeError(f"timed {result['file']}, not the code in {tree}")
    return result


def measure_against(rev: str, sizes: Sizes) -> dict[str, Measurement]:
    """Default run here and at git revision ``rev``, alternating, ``repeats`` times each."""
    here = Path(__file__).resolve().parent.parent
    with tempfile.TemporaryDirectory() as tmp:
        other = Path(tmp) / "tree"
        subprocess.run(["git", "-C", str(here), "worktree", "add", "--detach", str(other),
                        rev], check=True, capture_output=True)
        try:
            runs: dict[str, list[dict]] = {"here": [], "there": []}
            for i in range(sizes.repeats):
                _progress(f"default run, this tree and {rev}, repeat {i + 1}")
                for key, tree in (("here", here), ("there", other)):
                    runs[key].append(_time_tree(tree, sizes.default_residents, sizes.steps,
                                                MASTER_SEED))
        finally:
            subprocess.run(["git", "-C", str(here), "worktree", "remove", "--force",
                            str(other)], check=False, capture_output=True)
    units = sizes.default_residents * sizes.steps
    return {key: Measurement(f"default run, {label}", units, "resident-step",
                             [r["seconds"] for r in rs], 0.0, [r["cpu"] for r in rs])
            for (key, rs), label in zip(runs.items(), ("this tree", f"at {rev}"), strict=True)}


def _in_fresh_process(fn: Callable[..., dict], *args: Any) -> dict:
    """Run ``fn(*args)`` in a newly spawned process and return its result."""
    with ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn")) as pool:
        return pool.submit(fn, *args).result()


def _in_this_process(fn: Callable[..., dict], *args: Any) -> dict:
    """Run ``fn(*args)`` here (quick mode: peak memory is then the whole script's)."""
    return fn(*args)


# --- measurements ----------------------------------------------------------------------
@dataclass
class Measurement:
    """Median time and peak memory of one benchmarked configuration."""

    label: str
    units: float  # agent-steps (or resident-steps) of one run
    unit_name: str
    times: list[float]  # wall-clock seconds of each repeat
    peak_mb: float
    cpu: list[float] = field(default_factory=list)  # CPU seconds of each repeat, if known

    @property
    def seconds(self) -> float:
        """Median seconds per run."""
        return statistics.median(self.times)

    @property
    def cpu_seconds(self) -> float | None:
        """Median CPU seconds per run (None when not measured, as for sweeps)."""
        return statistics.median(self.cpu) if self.cpu else None

    @property
    def per_unit_us(self) -> float:
        """Median microseconds per unit (agent-step or resident-step)."""
        return self.seconds / self.units * 1e6


def _repeat(call: Callable[..., dict], label: str, repeats: int, fn: Callable[..., dict],
            *args: Any, unit: str = "agent", steps: int,
            n_units: int | None = None) -> Measurement:
    """Time ``repeats`` runs of ``fn`` through ``call``; units are agents or residents x steps."""
    runs = [call(fn, *args) for _ in range(repeats)]
    count = n_units if n_units is not None else runs[0]["agents"]
    return Measurement(label, count * steps, f"{unit}-step", [r["seconds"] for r in runs],
                       max(r["peak_mb"] for r in runs), [r["cpu"] for r in runs])


def _progress(message: str) -> None:
    print(f"  ... {message}", file=sys.stderr, flush=True)


def measure(sizes: Sizes, with_sweep: bool = True, isolate: bool = True) -> dict[str, Any]:
    """Take every measurement of one benchmark pass, each in a fresh process if ``isolate``."""
    steps, extra, reps = sizes.steps, sizes.extra, sizes.repeats
    call = _in_fresh_process if isolate else _in_this_process
    out: dict[str, Any] = {}

    _progress(f"default scenario, {sizes.default_residents} residents")
    out["default"] = _repeat(call, f"{SCENARIO} scenario, {sizes.default_residents:,} residents",
                             reps, _time_model, sizes.default_residents, steps, MASTER_SEED,
                             extra, steps=steps)
    agents = int(out["default"].units // steps)
    _progress(f"Mesa BoltzmannWealth, {agents} agents")
    out["boltzmann"] = _repeat(call, f"Mesa BoltzmannWealth, {agents:,} agents", reps,
                               _time_boltzmann, agents, steps, MASTER_SEED, steps=steps)
    out["scaling"] = {}
    for n in sizes.scaling:
        _progress(f"{n} residents")
        out["scaling"][n] = _repeat(call, f"{n:,} residents", reps, _time_model, n, steps,
                                    MASTER_SEED, extra, unit="resident", steps=steps,
                                    n_units=n)
    if with_sweep:
        for n_jobs in (1, 2):
            _progress(f"sweep of {sizes.sweep_runs} runs, {n_jobs} worker(s)")
            res = call(_time_sweep, n_jobs, sizes.sweep_runs,
                                    sizes.sweep_residents, steps, extra, sizes.sweep_repeats)
            out[f"sweep_{n_jobs}"] = Measurement(
                f"sweep {sizes.sweep_runs} x {sizes.sweep_residents:,} residents, "
                f"{n_jobs} worker{'s' if n_jobs > 1 else ''}",
                sizes.sweep_runs * sizes.sweep_residents * steps, "resident-step",
                res["times"], res["peak_mb"])
    return out


# --- targets and report ----------------------------------------------------------------
@dataclass(frozen=True)
class Target:
    """One performance target: a measured value compared with a limit."""

    name: str
    value: float
    limit: float
    unit: str
    at_most: bool = True

    @property
    def met(self) -> bool:
        """Whether the measured value is on the right side of the limit."""
        return self.value <= self.limit if self.at_most else self.value >= self.limit


def targets(m: dict[str, Any], sizes: Sizes) -> list[Target]:
    """The issue's performance targets, evaluated on the measurements ``m``."""
    mid, large = (m["scaling"][n] for n in sizes.scaling[-2:])
    big = sizes.scaling[-1]
    found = [
        Target("default run / Mesa BoltzmannWealth, time per agent-step",
               m["default"].per_unit_us / m["boltzmann"].per_unit_us, 0.3, "x"),
        Target(f"{big:,} residents x {sizes.steps} steps, run time",
               large.seconds, 15.0, "s"),
        Target(f"{big:,} residents x {sizes.steps} steps, peak memory",
               large.peak_mb / 1024, 1.5, "GB"),
        Target(f"cost per resident-step, {big:,} over {sizes.scaling[-2]:,} residents",
               large.per_unit_us / mid.per_unit_us, 1.5, "x"),
    ]
    if "against_here" in m:
        found.append(Target("default run, this tree over the other revision",
                            m["against_here"].seconds / m["against_there"].seconds, 1.0, "x"))
    if "sweep_1" in m:
        found.append(Target(f"sweep of {sizes.sweep_runs} runs, speed-up of 2 workers over 1",
                            m["sweep_1"].seconds / m["sweep_2"].seconds, 1.8, "x",
                            at_most=False))
    return found


def report(m: dict[str, Any], found: list[Target], sizes: Sizes, quick: bool,
           load: tuple[float, float]) -> str:
    """The printed tables: measurements, then targets with PASS or FAIL."""
    rows = [m["default"], m["boltzmann"], *m["scaling"].values()]
    rows += [m[k] for k in ("sweep_1", "sweep_2", "against_here", "against_there") if k in m]
    mode = ("QUICK: tiny sizes in one process, verdicts are not meaningful" if quick
            else f"median of {sizes.repeats} fresh-process runs, sweeps {sizes.sweep_repeats}")
    lines = [f"Benchmark ({mode}; {sizes.steps} steps per run; {os.cpu_count()} CPUs; "
             f"1-minute load average {load[0]:.1f} before, {load[1]:.1f} after)", ""]
    head = (f"{'measurement':<48} {'median s':>9} {'cpu s':>7} {'us per unit':>12} "
            f"{'unit':<14} {'peak MB':>8}")
    lines += [head, "-" * len(head)]
    for r in rows:
        cpu = f"{r.cpu_seconds:>7.2f}" if r.cpu_seconds is not None else f"{'':>7}"
        lines.append(f"{r.label:<48} {r.seconds:>9.2f} {cpu} {r.per_unit_us:>12.3f} "
                     f"{r.unit_name:<14} {r.peak_mb:>8.0f}")
    lines += ["", f"{'target':<64} {'measured':>9} {'limit':>9}  verdict", "-" * 92]
    for t in found:
        sign = "<=" if t.at_most else ">="
        lines.append(f"{t.name:<64} {t.value:>8.2f}{t.unit:<1} {sign}{t.limit:>6.2f}{t.unit:<2} "
                     f"{'PASS' if t.met else 'FAIL'}")
    if max(load) > BUSY_LOAD:
        lines += ["", f"Note: the load average was above {BUSY_LOAD} while measuring: other "
                  "processes shared the CPUs, so times are pessimistic and the 2-worker "
                  "speed-up above all (it needs two idle cores)."]
    return "\n".join(lines)


def report_against(m: dict[str, Any], found: list[Target], load: tuple[float, float]) -> str:
    """The printed comparison of the default run in two trees."""
    lines = [f"Default run, this tree against another revision (1-minute load average "
             f"{load[0]:.1f} before, {load[1]:.1f} after)", ""]
    for key in ("against_here", "against_there"):
        r = m[key]
        lines.append(f"{r.label:<40} median {r.seconds:.3f} s wall, "
                     f"{r.cpu_seconds:.3f} s CPU; runs: "
                     + ", ".join(f"{t:.3f}" for t in r.times))
    t = found[0]
    lines.append(f"\n{t.name}: {t.value:.3f}x (limit {t.limit:.2f}x) "
                 f"{'PASS' if t.met else 'FAIL'}")
    return "\n".join(lines)


def as_json(m: dict[str, Any], found: list[Target], sizes: Sizes) -> dict[str, Any]:
    """Measurements and targets as plain data."""
    rows = {"default": m["default"], "boltzmann": m["boltzmann"],
            **{f"residents_{n}": r for n, r in m["scaling"].items()},
            **{k: m[k] for k in ("sweep_1", "sweep_2", "against_here", "against_there")
               if k in m}}
    return {
        "sizes": dict(sizes.__dict__),
        "measurements": {k: {"label": r.label, "median_seconds": r.seconds,
                             "seconds": r.times, "cpu_seconds": r.cpu,
                             "us_per_unit": r.per_unit_us, "unit": r.unit_name,
                             "peak_mb": r.peak_mb} for k, r in rows.items()},
        "targets": [{"name": t.name, "value": t.value, "limit": t.limit, "unit": t.unit,
                     "at_most": t.at_most, "met": t.met} for t in found],
    }


def main(argv: list[str] | None = None) -> int:
    """Measure, print the tables and return the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="tiny sizes and one repeat: checks that the benchmark works")
    parser.add_argument("--repeats", type=int, default=None,
                        help="timed runs per measurement (default 3, quick 1)")
    parser.add_argument("--no-sweep", action="store_true", help="skip the worker sweep")
    parser.add_argument("--against", metavar="REV", default=None,
                        help="also time the default run at this git revision, alternating")
    parser.add_argument("--only-against", action="store_true",
                        help="with --against: measure nothing else")
    parser.add_argument("--json", metavar="PATH", default=None,
                        help="also write the measurements and verdicts to this JSON file")
    args = parser.parse_args(argv)
    if args.json is not None and not Path(args.json).parent.is_dir():
        parser.error(f"--json: folder {Path(args.json).parent} does not exist")
    sizes = QUICK if args.quick else FULL
    if args.repeats is not None:
        if args.repeats < 1:
            parser.error(f"--repeats must be at least 1, got {args.repeats}")
        sizes = replace(sizes, repeats=args.repeats)
    load_before = os.getloadavg()[0]
    if args.only_against and args.against is None:
        parser.error("--only-against needs --against REV")
    if args.only_against:
        m = measure_against(args.against, sizes)
        m = {f"against_{k}": v for k, v in m.items()}
        t = m["against_here"].seconds / m["against_there"].seconds
        found = [Target("default run, this tree over the other revision", t, 1.0, "x")]
        print(report_against(m, found, (load_before, os.getloadavg()[0])))
        return 0 if all(f.met for f in found) else 1
    m = measure(sizes, with_sweep=not args.no_sweep, isolate=not args.quick)
    if args.against is not None:
        m.update({f"against_{k}": v for k, v in measure_against(args.against, sizes).items()})
    found = targets(m, sizes)
    print(report(m, found, sizes, args.quick, (load_before, os.getloadavg()[0])))
    if args.json is not None:
        from experiments.io import write_json

        write_json(as_json(m, found, sizes), args.json)
    return 0 if args.quick or all(t.met for t in found) else 1


if __name__ == "__main__":
    sys.exit(main())
