"""Performance benchmark of the collective-impact model, with its targets.

Run from the repository root::

    python benchmarks/run.py                 # every target (the 1M-resident run last)
    python benchmarks/run.py --skip-million  # every target but the 1,000,000-resident run
    python benchmarks/run.py --only-million  # only the 1M run and its cost-per-step base
    python benchmarks/run.py --quick         # tiny sizes: checks the script works
    python benchmarks/run.py --against 3a08a37   # also the default run at that commit

In full mode every timed run happens in a fresh spawned process, so each
measurement has its own peak memory (resident set size, from ``getrusage``) and no run inherits
warm caches or garbage from another. Inside that process a tiny warm-up run
comes first, so lazy imports are not timed. A timed run is what
``experiments.runner.run_one`` does: build the model, run every month, compute
the summary and the per-month table.

What is measured (medians over ``--repeats`` runs unless said otherwise):

* the default ``collective`` scenario (2,000 residents, 40 nonprofits, 120 months);
* Mesa's own ``BoltzmannWealth`` example with as many agents as the default run
  has, for as many steps, on a square grid of about one agent per cell (the
  density of the example's defaults and of Mesa's own benchmark configurations:
  100 agents on 10 x 10, 10,000 on 100 x 100);
* cost per resident-step at 1,000, 10,000 and 100,000 residents, and (once, last,
  with a time limit and a memory guard) at 1,000,000 residents;
* a sweep of 32 default-size runs with joblib, 1 worker then 2 workers (the worker
  pool is started before the clock starts); the 2-worker throughput also gives the
  estimated time of a Sobol study of 10 parameters with second-order indices
  (N = 256, so 22 x 256 = 5,632 design points) and 3 replications: 16,896 runs;
* a month of the browser view, server side: ``model.step()``, the six charts of
  ``experiments.view_charts`` and ``json.dumps`` of what the widget sends each month
  (every chart's data and headline), median over the 120 months of the default
  community, in one fresh process. The browser's own redraw is measured by
  ``tests/test_app.py`` (``test-artifacts/app-latency.json``), shown here when present.

With ``--against REV`` the default run is also timed on the code of git revision
REV (checked out in a temporary worktree), alternating fresh processes of the two
trees, so both are measured under the same load; the ratio is a target too.

The targets are printed with the measured value and PASS, FAIL, SKIP (not measured
because asked: ``--skip-million``, ``--no-sweep``) or NOT MEASURED (the run was
refused for lack of free memory, or stopped before it finished with no verdict
possible). In full mode the exit status is 1 when a target is FAIL or NOT MEASURED.
"""

from __future__ import annotations

import argparse
import gc
import json
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

ROOT = Path(__file__).resolve().parent.parent
SCENARIO = "collective"
MASTER_SEED = 20240611  # master seed of every benchmark run (spawned per run)
BUSY_LOAD = 0.5  # 1-minute load average above which the machine was not idle
GIB = 2**30

# The Sobol study whose time is estimated: 10 parameters, second-order indices
# (Saltelli: (2k + 2) x N design points), N = 256, 3 replications per point.
SOBOL_PARAMETERS, SOBOL_BASE, SOBOL_REPLICATIONS = 10, 256, 3
SOBOL_POINTS = (2 * SOBOL_PARAMETERS + 2) * SOBOL_BASE  # 5,632
SOBOL_RUNS = SOBOL_POINTS * SOBOL_REPLICATIONS  # 16,896
BROWSER_LATENCY = ROOT / "test-artifacts" / "app-latency.json"  # written by tests/test_app.py


@dataclass(frozen=True)
class Sizes:
    """The sizes of one benchmark pass.

    Attributes:
        default_residents: residents of the default-scenario run (also of every sweep run
            and of the browser-view community).
        steps: months per run.
        scaling: resident counts of the cost-per-resident-step series (besides ``million``).
        flat_base: the count of ``scaling`` whose cost per resident-step the larger runs are
            compared with.
        large: the count of ``scaling`` with its own run-time target.
        million: residents of the largest run (one repeat, last, time-limited).
        sweep_runs: runs in the worker-scaling sweep.
        repeats: timed repeats per measurement (the median is reported).
        sweep_repeats: repeats of each sweep (1 and 2 workers).
        extra: parameters applied to every run (besides ``n_residents`` and ``steps``).
    """

    default_residents: int
    steps: int
    scaling: tuple[int, ...]
    flat_base: int
    large: int
    million: int
    sweep_runs: int
    repeats: int
    sweep_repeats: int
    extra: dict[str, Any] = field(default_factory=dict)


FULL = Sizes(default_residents=2000, steps=120, scaling=(1000, 10_000, 100_000),
             flat_base=10_000, large=100_000, million=1_000_000, sweep_runs=32, repeats=3,
             sweep_repeats=1)
QUICK = Sizes(default_residents=300, steps=12, scaling=(200, 600, 1500), flat_base=600,
              large=1500, million=3000, sweep_runs=4, repeats=1, sweep_repeats=1,
              extra={"n_nonprofits": 12, "n_funders": 3})

# The limits.
DEFAULT_RUN_S = 0.15
BOLTZMANN_RATIO = 0.06
SOBOL_MINUTES = 45.0
LARGE_RUN_S = 15.0  # 100,000 residents (kept from the first performance issue)
MILLION_RUN_S = 60.0
MILLION_PEAK_GB = 4.0
FLAT_RATIO = 1.2
SPEED_UP = 1.9
VIEW_MONTH_S = 0.1
MILLION_TIMEOUT_S = 900.0
MIN_FREE_GB = 6.0  # free memory needed before the 1M run starts (full mode)
HEADROOM_GB = 2.0  # the 1M run is stopped when it would leave less than this free


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
    warm.timeseries()
    del warm
    gc.collect()

    params = {**extra, "n_residents": n_residents, "steps": steps}
    cpu, start = time.process_time(), time.perf_counter()
    model = CollectiveImpactModel(SCENARIO, rng=seed, **params)
    agents = len(model.agents)
    model.run_for(steps)
    model.summary()
    model.timeseries()
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


def _time_view_months(n_residents: int, steps: int, seed: int, extra: dict[str, Any]) -> dict:
    """Time every month of the browser view's server side, on one community, here.

    A month is what the view does when Step is pressed: ``model.step()``, then the six
    charts (``experiments.view_charts``: every line chart, the trust network on the
    layout computed once per model, the wellbeing distribution), then ``json.dumps``
    of what the widget sends each month, every chart's data and headline (the
    specification is sent once, when the chart is first drawn).
    """
    from experiments import view_charts
    from experiments.model_figures import network_layout
    from model.core import CollectiveImpactModel

    def charts(model: Any, layout: Any) -> list[Any]:
        built = [view_charts.line_chart(model, c) for c in view_charts.LINE_CHARTS]
        built.append(view_charts.network_chart(model, layout))
        built.append(view_charts.wellbeing_distribution_chart(model))
        return built

    def sent(built: list[Any]) -> int:
        return sum(len(json.dumps(c.data)) + len(json.dumps(c.headline)) for c in built)

    warm = CollectiveImpactModel(SCENARIO, rng=seed, **{**extra, "n_residents": 50, "steps": 2})
    warm.step()
    sent(charts(warm, network_layout(warm)))
    del warm
    gc.collect()

    model = CollectiveImpactModel(SCENARIO, rng=seed,
                                  **{**extra, "n_residents": n_residents, "steps": steps})
    layout = network_layout(model)
    json.dumps([c.spec for c in charts(model, layout)])  # month 0, as the view first draws
    step_s, chart_s, total_s, sent_bytes = [], [], [], 0
    for _ in range(steps):
        start = time.perf_counter()
        model.step()
        stepped = time.perf_counter()
        built = charts(model, layout)
        sent_bytes = sent(built)
        end = time.perf_counter()
        step_s.append(stepped - start)
        chart_s.append(end - stepped)
        total_s.append(end - start)
    return {"step": step_s, "charts": chart_s, "total": total_s, "n_charts": len(built),
            "bytes": sent_bytes, "peak_mb": _peak_rss_mb()}


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
    result = json.loads(out.stdout.strip().splitlines()[-1])
    if not Path(result["file"]).resolve().is_relative_to(tree.resolve()):
        raise RuntimeError(f"timed {result['file']}, not the code in {tree}")
    return result


def measure_against(rev: str, sizes: Sizes) -> dict[str, Measurement]:
    """Default run here and at git revision ``rev``, alternating, ``repeats`` times each."""
    with tempfile.TemporaryDirectory() as tmp:
        other = Path(tmp) / "tree"
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(other),
                        rev], check=True, capture_output=True)
        try:
            runs: dict[str, list[dict]] = {"here": [], "there": []}
            for i in range(sizes.repeats):
                _progress(f"default run, this tree and {rev}, repeat {i + 1}")
                for key, tree in (("here", ROOT), ("there", other)):
                    runs[key].append(_time_tree(tree, sizes.default_residents, sizes.steps,
                                                MASTER_SEED))
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force",
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


# --- the large run: a fresh process under a time limit and a memory guard ---------------
def _available_mb() -> float | None:
    """Memory available to new processes (``MemAvailable``), MB; None if unknown."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def _process_peak_mb(pid: int) -> float:
    """Peak resident set size (``VmHWM``) of process ``pid`` so far, MB; 0 if unknown."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def _send_result(conn: Any, fn: Callable[..., dict], args: tuple) -> None:
    """Child side of ``_run_guarded``: run ``fn(*args)`` and send its result or error."""
    try:
        conn.send({"result": fn(*args)})
    except BaseException as exc:  # noqa: BLE001 - reported to the parent, which decides
        conn.send({"error": f"{type(exc).__name__}: {exc}"})
    finally:
        conn.close()


@dataclass
class Guarded:
    """How a guarded run ended: its result, or why there is none.

    Attributes:
        status: ``"done"``, ``"timeout"``, ``"memory"`` (stopped by the memory guard),
            ``"error"`` (the run raised or its process died), ``"refused"`` (not started:
            too little free memory) or ``"skipped"`` (not started: asked).
        result: what the measurement function returned (status ``"done"``).
        reason: the explanation printed for any other status.
        elapsed: seconds from the start of the process to its end or stop.
        peak_mb: peak resident set size seen, MB.
    """

    status: str
    result: dict | None = None
    reason: str = ""
    elapsed: float = 0.0
    peak_mb: float = 0.0


def _run_guarded(fn: Callable[..., dict], args: tuple, timeout: float,
                 cap_mb: float | None, label: str) -> Guarded:
    """Run ``fn(*args)`` in a fresh process; stop it after ``timeout`` s or above ``cap_mb``."""
    ctx = get_context("spawn")
    parent, child = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_send_result, args=(child, fn, args), daemon=True)
    start = time.perf_counter()
    proc.start()
    child.close()
    peak, said = 0.0, 0.0
    try:
        while True:
            if parent.poll(0.25):
                try:
                    message = parent.recv()
                except EOFError:
                    message = {"error": f"the process ended with exit code {proc.exitcode}"}
                break
            elapsed = time.perf_counter() - start
            peak = max(peak, _process_peak_mb(proc.pid))
            if not proc.is_alive() and not parent.poll(0):
                message = {"error": f"the process ended with exit code {proc.exitcode}"}
                break
            if elapsed > timeout:
                return Guarded("timeout", reason=f"did not finish in {timeout:g} s",
                               elapsed=elapsed, peak_mb=peak)
            if cap_mb is not None and peak > cap_mb:
                return Guarded("memory", reason=f"stopped at {peak / 1024:.1f} GB, to leave "
                               f"{HEADROOM_GB:g} GB free", elapsed=elapsed, peak_mb=peak)
            if elapsed - said >= 60:
                said = elapsed
                _progress(f"{label}: still running after {elapsed:.0f} s, "
                          f"peak {peak / 1024:.1f} GB so far")
    finally:
        if proc.is_alive():
            proc.kill()
        proc.join()
        parent.close()
    elapsed = time.perf_counter() - start
    if "error" in message:
        return Guarded("error", reason=f"failed: {message['error']}", elapsed=elapsed,
                       peak_mb=peak)
    result = message["result"]
    return Guarded("done", result=result, elapsed=elapsed,
                   peak_mb=max(peak, result["peak_mb"]))


def measure_million(sizes: Sizes, timeout: float, min_free_gb: float, skip: bool) -> Guarded:
    """The largest run, once, in a fresh guarded process, if asked and if memory allows."""
    n = sizes.million
    if skip:
        return Guarded("skipped", reason="skipped (--skip-million)")
    free = _available_mb()
    if free is not None and free < min_free_gb * 1024:
        return Guarded("refused", reason=f"not started: {free / 1024:.1f} GB free, "
                       f"< {min_free_gb:g} GB")
    cap = None if free is None else free - HEADROOM_GB * 1024
    _progress(f"{n} residents, once, at most {timeout:g} s"
              + ("" if free is None else f" and {cap / 1024:.1f} GB"))
    return _run_guarded(_time_model, (n, sizes.steps, MASTER_SEED, sizes.extra), timeout, cap,
                        f"{n:,} residents")


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


def _residents_label(n: int) -> str:
    return f"{n:,} residents"


def measure_base(sizes: Sizes, isolate: bool) -> Measurement:
    """The run of ``sizes.flat_base`` residents: the base of the flat-cost ratios."""
    call = _in_fresh_process if isolate else _in_this_process
    n, steps = sizes.flat_base, sizes.steps
    _progress(f"{n} residents")
    return _repeat(call, _residents_label(n), sizes.repeats, _time_model, n, steps,
                   MASTER_SEED, sizes.extra, unit="resident", steps=steps, n_units=n)


def measure(sizes: Sizes, with_sweep: bool = True, isolate: bool = True) -> dict[str, Any]:
    """Take every measurement but the largest run, each in a fresh process if ``isolate``."""
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
        if n == sizes.flat_base:
            out["scaling"][n] = measure_base(sizes, isolate)
            continue
        _progress(f"{n} residents")
        out["scaling"][n] = _repeat(call, _residents_label(n), reps, _time_model, n, steps,
                                    MASTER_SEED, extra, unit="resident", steps=steps,
                                    n_units=n)
    if with_sweep:
        for n_jobs in (1, 2):
            _progress(f"sweep of {sizes.sweep_runs} runs, {n_jobs} worker(s)")
            res = call(_time_sweep, n_jobs, sizes.sweep_runs, sizes.default_residents, steps,
                       extra, sizes.sweep_repeats)
            out[f"sweep_{n_jobs}"] = Measurement(
                f"sweep {sizes.sweep_runs} x {sizes.default_residents:,} residents, "
                f"{n_jobs} worker{'s' if n_jobs > 1 else ''}",
                sizes.sweep_runs * sizes.default_residents * steps, "resident-step",
                res["times"], res["peak_mb"])
    _progress(f"browser-view months, {sizes.default_residents} residents")
    out["view"] = call(_time_view_months, sizes.default_residents, steps, MASTER_SEED, extra)
    return out


def million_measurement(g: Guarded, sizes: Sizes) -> Measurement | None:
    """The largest run as a measurement row, if it finished."""
    if g.status != "done" or g.result is None:
        return None
    r = g.result
    return Measurement(_residents_label(sizes.million), sizes.million * sizes.steps,
                       "resident-step", [r["seconds"]], g.peak_mb, [r["cpu"]])


def view_measurement(view: dict, sizes: Sizes) -> Measurement:
    """The browser-view months as a row: median seconds per month."""
    return Measurement(f"browser-view month, {sizes.default_residents:,} residents",
                       sizes.default_residents, "resident-month", view["total"],
                       view["peak_mb"])


# --- targets and report ----------------------------------------------------------------
@dataclass(frozen=True)
class Target:
    """One performance target: a measured value compared with a limit.

    Attributes:
        name: what is measured, in words.
        value: the measured value; a lower bound if ``bound``; None if not measured.
        limit: the target's limit.
        unit: unit of value and limit.
        at_most: the value must be at most the limit (else at least).
        bound: the run stopped before it finished, so ``value`` is only a lower bound.
        shown: text printed instead of the value (why there is none, or how it ended).
        skipped: not measured because the command line asked so.
    """

    name: str
    value: float | None
    limit: float
    unit: str
    at_most: bool = True
    bound: bool = False
    shown: str = ""
    skipped: bool = False

    @property
    def verdict(self) -> str:
        """PASS, FAIL, SKIP (not measured, as asked) or NOT MEASURED (no verdict possible)."""
        if self.value is None:
            return "SKIP" if self.skipped else "NOT MEASURED"
        if self.bound:  # the true value is at least ``value``
            if self.at_most and self.value > self.limit:
                return "FAIL"
            return "NOT MEASURED"
        ok = self.value <= self.limit if self.at_most else self.value >= self.limit
        return "PASS" if ok else "FAIL"

    @property
    def met(self) -> bool:
        """Whether the target was measured and met."""
        return self.verdict == "PASS"

    @property
    def failed(self) -> bool:
        """Whether the target counts against the exit status (FAIL or NOT MEASURED)."""
        return self.verdict in ("FAIL", "NOT MEASURED")


def _million_targets(g: Guarded, base: Measurement, sizes: Sizes) -> list[Target]:
    """The three targets of the largest run, whatever way it ended."""
    n, steps = sizes.million, sizes.steps
    names = (f"{n:,} residents x {steps} months, run time",
             f"{n:,} residents x {steps} months, peak memory (fresh process)",
             f"cost per resident-step, {n:,} over {sizes.flat_base:,} residents")
    limits = ((MILLION_RUN_S, "s"), (MILLION_PEAK_GB, "GB"), (FLAT_RATIO, "x"))
    if g.status == "done" and g.result is not None:
        seconds = g.result["seconds"]
        values = (seconds, g.peak_mb / 1024,
                  seconds / (n * steps) * 1e6 / base.per_unit_us)
        return [Target(name, v, lim, unit)
                for name, v, (lim, unit) in zip(names, values, limits, strict=True)]
    if g.status in ("skipped", "refused"):
        return [Target(name, None, lim, unit, shown=g.reason, skipped=g.status == "skipped")
                for name, (lim, unit) in zip(names, limits, strict=True)]
    # Stopped (time or memory) or failed: what is known is a lower bound on each value.
    lower_us = g.elapsed / (n * steps) * 1e6
    return [
        Target(names[0], g.elapsed, MILLION_RUN_S, "s", bound=True, shown=g.reason),
        Target(names[1], g.peak_mb / 1024, MILLION_PEAK_GB, "GB", bound=True,
               shown=f">= {g.peak_mb / 1024:.2f} GB when it ended"),
        Target(names[2], lower_us / base.per_unit_us, FLAT_RATIO, "x", bound=True,
               shown=f">= {lower_us / base.per_unit_us:.2f}x (run unfinished)"),
    ]


def sobol_minutes(m: dict[str, Any], sizes: Sizes) -> float:
    """Estimated minutes of the Sobol study: its runs over the 2-worker sweep's throughput."""
    runs_per_s = sizes.sweep_runs / m["sweep_2"].seconds
    return SOBOL_RUNS / runs_per_s / 60


def view_name(sizes: Sizes) -> str:
    """Name of the browser-view target."""
    return (f"browser-view month, server side (step + 6 charts + JSON), "
            f"median of {sizes.steps}")


def targets(m: dict[str, Any], sizes: Sizes) -> list[Target]:
    """The issue's performance targets, evaluated on the measurements ``m``."""
    steps = sizes.steps
    default, base = m["default"], m["scaling"][sizes.flat_base]
    large = m["scaling"][sizes.large]
    found = [
        Target(f"default run, {sizes.default_residents:,} residents x {steps} months, run time",
               default.seconds, DEFAULT_RUN_S, "s"),
        Target("default run / Mesa BoltzmannWealth, time per agent-step",
               default.per_unit_us / m["boltzmann"].per_unit_us, BOLTZMANN_RATIO, "x"),
    ]
    sobol = (f"Sobol study, {SOBOL_RUNS:,} default runs on 2 workers "
             "(estimated from the sweep)")
    if "sweep_2" in m:
        found.append(Target(sobol, sobol_minutes(m, sizes), SOBOL_MINUTES, "min"))
    else:
        found.append(Target(sobol, None, SOBOL_MINUTES, "min", shown="skipped (--no-sweep)",
                            skipped=True))
    found += [
        Target(f"{sizes.large:,} residents x {steps} months, run time", large.seconds,
               LARGE_RUN_S, "s"),
        Target(f"cost per resident-step, {sizes.large:,} over {sizes.flat_base:,} residents",
               large.per_unit_us / base.per_unit_us, FLAT_RATIO, "x"),
    ]
    if "million" in m:
        found += _million_targets(m["million"], base, sizes)
    speed = f"sweep of {sizes.sweep_runs} default runs, speed-up of 2 workers over 1"
    if "sweep_1" in m:
        found.append(Target(speed, m["sweep_1"].seconds / m["sweep_2"].seconds, SPEED_UP,
                            "x", at_most=False))
    else:
        found.append(Target(speed, None, SPEED_UP, "x", at_most=False,
                            shown="skipped (--no-sweep)", skipped=True))
    found.append(Target(view_name(sizes), statistics.median(m["view"]["total"]), VIEW_MONTH_S,
                        "s"))
    if "against_here" in m:
        found.append(Target("default run, this tree over the other revision",
                            m["against_here"].seconds / m["against_there"].seconds, 1.0, "x"))
    return found


def _number(value: float, unit: str) -> str:
    digits = 3 if abs(value) < 1 else 2 if abs(value) < 100 else 1
    return f"{value:.{digits}f} {unit}"


def target_table(found: list[Target]) -> list[str]:
    """The targets as table lines: measurement, value, target, verdict."""
    width = max(len(t.name) for t in found)
    values = [t.shown if t.shown and (t.value is None or t.bound) else _number(t.value, t.unit)
              for t in found]
    vwidth = max(10, *(len(v) for v in values))
    head = f"{'measurement':<{width}}  {'value':>{vwidth}}  {'target':<11}  verdict"
    lines = [head, "-" * (len(head) + 6)]
    for t, v in zip(found, values, strict=True):
        limit = f"{'<=' if t.at_most else '>='} {t.limit:g} {t.unit}"
        lines.append(f"{t.name:<{width}}  {v:>{vwidth}}  {limit:<11}  {t.verdict}")
    return lines


def _browser_side() -> str:
    """What tests/test_app.py last measured in a browser, if it left its record."""
    try:
        saved = json.loads(BROWSER_LATENCY.read_text())
        ms, presses = float(saved["median_charts_ms"]), len(saved.get("presses", []))
    except (OSError, ValueError, KeyError, TypeError):
        return ("Browser side: not measured here; tests/test_app.py measures the time from "
                "a click on Step to all six charts redrawn in headless Chromium.")
    when = time.strftime("%Y-%m-%d %H:%M", time.localtime(BROWSER_LATENCY.stat().st_mtime))
    return (f"Browser side: tests/test_app.py measured {ms:.0f} ms from a click on Step to "
            f"all six charts redrawn in headless Chromium (median of {presses} presses, months "
            f"1 to {presses}; {BROWSER_LATENCY.relative_to(ROOT)}, {when}); that includes a "
            "server-side month as above.")


def report(m: dict[str, Any], found: list[Target], sizes: Sizes, quick: bool,
           load: tuple[float, float]) -> str:
    """The printed tables: measurements, then targets with their verdicts."""
    rows = [m["default"], m["boltzmann"], *m["scaling"].values()]
    million = million_measurement(m["million"], sizes) if "million" in m else None
    if million is not None:
        rows.append(million)
    rows += [m[k] for k in ("sweep_1", "sweep_2", "against_here", "against_there") if k in m]
    if "view" in m:
        rows.append(view_measurement(m["view"], sizes))
    mode = ("QUICK: tiny sizes, in one process but the largest run; verdicts are not "
            "meaningful" if quick else
            f"median of {sizes.repeats} fresh-process runs, sweeps {sizes.sweep_repeats}")
    lines = [f"Benchmark ({mode}; {sizes.steps} months per run; {os.cpu_count()} CPUs; "
             f"1-minute load average {load[0]:.1f} before, {load[1]:.1f} after)", ""]
    head = (f"{'run':<48} {'median s':>9} {'cpu s':>7} {'us per unit':>12} "
            f"{'unit':<14} {'peak MB':>8}")
    lines += [head, "-" * len(head)]
    for r in rows:
        cpu = f"{r.cpu_seconds:>7.2f}" if r.cpu_seconds is not None else f"{'':>7}"
        lines.append(f"{r.label:<48} {r.seconds:>9.3f} {cpu} {r.per_unit_us:>12.3f} "
                     f"{r.unit_name:<14} {r.peak_mb:>8.0f}")
    if "million" in m and million is None:
        lines.append(f"{_residents_label(sizes.million):<48} {m['million'].reason}")
    lines += ["", *target_table(found), ""]
    if "sweep_2" in m:
        rate = sizes.sweep_runs / m["sweep_2"].seconds
        lines.append(f"Sobol estimate: ({2 * SOBOL_PARAMETERS} + 2) x {SOBOL_BASE} points x "
                     f"{SOBOL_REPLICATIONS} replications = {SOBOL_RUNS:,} runs at "
                     f"{rate:.2f} runs/s (2-worker sweep of {sizes.sweep_runs} default runs) "
                     f"= {SOBOL_RUNS / rate / 60:.1f} min; pool start-up and writing results "
                     "not included, parameter values at their defaults.")
    if "view" in m:
        v = m["view"]
        lines.append(
            f"Browser-view month, server side, medians over {len(v['total'])} months: "
            f"step {statistics.median(v['step']) * 1e3:.1f} ms, {v['n_charts']} charts and "
            f"JSON {statistics.median(v['charts']) * 1e3:.1f} ms, the whole month "
            f"{statistics.median(v['total']) * 1e3:.1f} ms (slowest month "
            f"{max(v['total']) * 1e3:.1f} ms; {v['bytes'] / 1024:.0f} KB of JSON at the "
            "last month).")
        lines.append(_browser_side())
    if max(load) > BUSY_LOAD:
        lines += ["", f"Note: the load average was above {BUSY_LOAD} while measuring: other "
                  "processes shared the CPUs, so times are pessimistic and the 2-worker "
                  "speed-up above all (it needs two idle cores)."]
    return "\n".join(lines)


def report_million(m: dict[str, Any], found: list[Target], sizes: Sizes,
                   load: tuple[float, float]) -> str:
    """The printed result of ``--only-million``."""
    lines = [f"Largest run only ({sizes.steps} months; 1-minute load average {load[0]:.1f} "
             f"before, {load[1]:.1f} after)", ""]
    base = m["scaling"][sizes.flat_base]
    lines.append(f"{base.label}: median {base.seconds:.3f} s, {base.per_unit_us:.3f} us per "
                 "resident-step")
    million = million_measurement(m["million"], sizes)
    lines.append(f"{_residents_label(sizes.million)}: " + (
        m["million"].reason if million is None else
        f"{million.seconds:.1f} s ({million.cpu_seconds:.1f} s CPU), "
        f"{million.per_unit_us:.3f} us per resident-step, peak {million.peak_mb:.0f} MB"))
    lines += ["", *target_table(found)]
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
    lines.append(f"\n{t.name}: {t.value:.3f}x (limit {t.limit:.2f}x) {t.verdict}")
    return "\n".join(lines)


def as_json(m: dict[str, Any], found: list[Target], sizes: Sizes) -> dict[str, Any]:
    """Measurements and targets as plain data."""
    rows: dict[str, Measurement] = {}
    for key in ("default", "boltzmann"):
        if key in m:
            rows[key] = m[key]
    rows.update({f"residents_{n}": r for n, r in m.get("scaling", {}).items()})
    million = million_measurement(m["million"], sizes) if "million" in m else None
    if million is not None:
        rows[f"residents_{sizes.million}"] = million
    rows.update({k: m[k] for k in ("sweep_1", "sweep_2", "against_here", "against_there")
                 if k in m})
    if "view" in m:
        rows["view_month"] = view_measurement(m["view"], sizes)
    out: dict[str, Any] = {
        "sizes": dict(sizes.__dict__),
        "measurements": {k: {"label": r.label, "median_seconds": r.seconds,
                             "seconds": r.times, "cpu_seconds": r.cpu,
                             "us_per_unit": r.per_unit_us, "unit": r.unit_name,
                             "peak_mb": r.peak_mb} for k, r in rows.items()},
        "targets": [{"name": t.name, "value": t.value, "limit": t.limit, "unit": t.unit,
                     "at_most": t.at_most, "lower_bound": t.bound, "verdict": t.verdict,
                     "met": t.met, "note": t.shown} for t in found],
    }
    if "view" in m:
        out["view_month"] = {k: m["view"][k] for k in ("step", "charts", "total")}
    if "million" in m:
        g = m["million"]
        out["million"] = {"status": g.status, "reason": g.reason, "elapsed": g.elapsed,
                          "peak_mb": g.peak_mb}
    return out


def main(argv: list[str] | None = None) -> int:
    """Measure, print the tables and return the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="tiny sizes and one repeat: checks that the benchmark works")
    parser.add_argument("--repeats", type=int, default=None,
                        help="timed runs per measurement (default 3, quick 1)")
    parser.add_argument("--no-sweep", action="store_true",
                        help="skip the worker sweep (and so the Sobol estimate)")
    parser.add_argument("--skip-million", action="store_true",
                        help="skip the 1,000,000-resident run (its targets print SKIP)")
    parser.add_argument("--only-million", action="store_true",
                        help="measure only the largest run and its cost-per-step base")
    parser.add_argument("--million-timeout", type=float, default=MILLION_TIMEOUT_S,
                        metavar="S", help="stop the largest run after S seconds "
                        f"(default {MILLION_TIMEOUT_S:g})")
    parser.add_argument("--min-free-gb", type=float, default=None, metavar="GB",
                        help="free memory needed to start the largest run "
                        f"(default {MIN_FREE_GB:g}, quick 0)")
    parser.add_argument("--against", metavar="REV", default=None,
                        help="also time the default run at this git revision, alternating")
    parser.add_argument("--only-against", action="store_true",
                        help="with --against: measure nothing else")
    parser.add_argument("--json", metavar="PATH", default=None,
                        help="also write the measurements and verdicts to this JSON file")
    args = parser.parse_args(argv)
    if args.json is not None and not Path(args.json).parent.is_dir():
        parser.error(f"--json: folder {Path(args.json).parent} does not exist")
    if args.million_timeout <= 0:
        parser.error(f"--million-timeout must be positive, got {args.million_timeout:g}")
    if args.skip_million and args.only_million:
        parser.error("--skip-million and --only-million exclude each other")
    if args.only_against and args.against is None:
        parser.error("--only-against needs --against REV")
    sizes = QUICK if args.quick else FULL
    if args.repeats is not None:
        if args.repeats < 1:
            parser.error(f"--repeats must be at least 1, got {args.repeats}")
        sizes = replace(sizes, repeats=args.repeats)
    min_free = args.min_free_gb if args.min_free_gb is not None else \
        0.0 if args.quick else MIN_FREE_GB
    load_before = os.getloadavg()[0]
    if args.only_against:
        m = measure_against(args.against, sizes)
        m = {f"against_{k}": v for k, v in m.items()}
        t = m["against_here"].seconds / m["against_there"].seconds
        found = [Target("default run, this tree over the other revision", t, 1.0, "x")]
        print(report_against(m, found, (load_before, os.getloadavg()[0])))
        return 0 if all(f.met for f in found) else 1
    if args.only_million:
        m = {"scaling": {sizes.flat_base: measure_base(sizes, isolate=not args.quick)}}
        m["million"] = measure_million(sizes, args.million_timeout, min_free, skip=False)
        found = _million_targets(m["million"], m["scaling"][sizes.flat_base], sizes)
        print(report_million(m, found, sizes, (load_before, os.getloadavg()[0])))
    else:
        m = measure(sizes, with_sweep=not args.no_sweep, isolate=not args.quick)
        if args.against is not None:
            m.update({f"against_{k}": v
                      for k, v in measure_against(args.against, sizes).items()})
        # Last, as it is the longest and the most memory-hungry.
        m["million"] = measure_million(sizes, args.million_timeout, min_free,
                                       skip=args.skip_million)
        found = targets(m, sizes)
        print(report(m, found, sizes, args.quick, (load_before, os.getloadavg()[0])))
    if args.json is not None:
        from experiments.io import write_json

        write_json(as_json(m, found, sizes), args.json)
    return 0 if args.quick or not any(t.failed for t in found) else 1


if __name__ == "__main__":
    sys.exit(main())
