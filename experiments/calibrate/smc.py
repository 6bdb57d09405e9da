"""ABC-SMC with pyabc: a plan in, a resumable pyabc database and tables out.

pyabc (``ABCSMC``) draws particles from the priors (scipy.stats ``rvs`` without
a ``random_state``), perturbs them (``MultivariateNormalTransition``:
``np.random.choice`` and ``np.random.multivariate_normal``) and picks among
them (``pyabc.random_choice``: ``np.random.rand``), all from NumPy's *global*
``RandomState``; it takes no generator or seed of its own. So this module is
the one place in the project that touches global random state, and only so:

- at the start of every generation ``t`` (and before pyabc's set-up of a run
  starting at ``t``) the global state is seeded from
  ``SeedSequence(master_seed, spawn_key=(2**32, 7, t, phase))``, so
  generation ``t`` depends only on the generations stored before it and on the
  master seed: an interrupted run, continued from its database, ends with the
  posterior an uninterrupted run gives;
- the state the caller had is saved before the run and restored after it,
  also on error or Ctrl-C.

Model runs never use global state: each particle's runs are seeded from its
values (``experiments.calibrate.config.particle_seed``).

Samplers: ``SingleCoreSampler`` (``jobs=1``) is reproducible: the same master
seed gives the same posterior, bit for bit. ``MulticoreEvalParallelSampler``
(``jobs>1``) and ``DaskDistributedSampler`` (``backend="dask"``) are not:
their workers reseed the global state from OS entropy (``np.random.seed()``)
and the particles accepted first depend on timing. Each particle is still
replayable (its statistics come from its own seeds), but which particles make
up a generation differs from run to run.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import math
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyabc
from pyabc.sampler import (
    DaskDistributedSampler,
    MulticoreEvalParallelSampler,
    SingleCoreSampler,
)

from experiments.calibrate.config import CalibrationPlan, particle_seed, pattern_distance
from experiments.engine.executor import make_executor
from experiments.engine.seeds import analysis_seed
from experiments.errors import UsageError

DATABASE = "abc.db"
_ANALYSIS_KEY = 2**32  # the analysis branch of experiments.engine.seeds
_GLOBAL_PURPOSE = 7  # spawn key of pyabc's global draws
_DRAW_PURPOSE = 8  # which final-generation particles the predictive check re-simulates
_PREDICTIVE_PURPOSE = 9  # master seed of the predictive check's runs

Simulation = Callable[[Mapping[str, float]], dict[str, float]]


def _seed_global(master_seed: int, t: int, phase: int) -> None:
    """Seed NumPy's global RandomState for generation ``t`` (the only global seeding)."""
    sequence = np.random.SeedSequence(master_seed,
                                      spawn_key=(_ANALYSIS_KEY, _GLOBAL_PURPOSE, t, phase))
    np.random.seed(sequence.generate_state(4))  # noqa: NPY002 - pyabc reads global state


@contextlib.contextmanager
def _global_state_kept() -> Iterator[None]:
    """Restore the caller's global RandomState afterwards, whatever happens."""
    state = np.random.get_state()  # noqa: NPY002
    try:
        yield
    finally:
        np.random.set_state(state)  # noqa: NPY002


class _ResumableEpsilon(pyabc.MedianEpsilon):
    """The median of the previous generation's weighted distances; no threshold at t=0.

    Generation 0 accepts every prior draw (no calibration sample is spent), and a run
    continued from its database takes its first threshold from the stored last
    generation, as an uninterrupted run would have.
    """

    def __init__(self) -> None:
        super().__init__(initial_epsilon=math.inf)

    def initialize(self, t: int, get_weighted_distances: Callable[[], pd.DataFrame],
                   get_all_records: Callable[[], list[dict]], max_nr_populations: int,
                   acceptor_config: dict) -> None:
        if t > 0:
            self._update(t, get_weighted_distances())


class _SeededABCSMC(pyabc.ABCSMC):
    """pyabc's ABCSMC with the global RandomState seeded per generation."""

    master_seed: int = 0

    def initialize_components_before_run(self, *args: Any, **kwargs: Any) -> int:
        _seed_global(self.master_seed, int(self.history.max_t) + 1, 0)
        return super().initialize_components_before_run(*args, **kwargs)

    def run_generation(self, t: int) -> dict:
        _seed_global(self.master_seed, t, 1)
        return super().run_generation(t)


@dataclasses.dataclass(frozen=True)
class PatternDistance:
    """pyabc's distance: sum over patterns of |simulated - observed| / tolerance."""

    tolerances: Mapping[str, float]

    def __call__(self, x: Mapping[str, float], x_0: Mapping[str, float]) -> float:
        """Distance of the simulated statistics ``x`` to the observed ``x_0``."""
        observed = {k: float(np.asarray(x_0[k])) for k in self.tolerances}
        return pattern_distance(x, observed, self.tolerances)


@dataclasses.dataclass(frozen=True)
class _Model:
    """A picklable pyabc model function around a simulation."""

    simulation: Simulation

    def __call__(self, parameter: Mapping[str, Any]) -> dict[str, float]:
        return self.simulation({k: float(v) for k, v in dict(parameter).items()})


def _quiet() -> None:
    """Keep only the warnings of pyabc, which logs every generation at INFO."""
    for name in ("ABC", "ABC.Sampler", "ABC.History", "ABC.Epsilon", "ABC.Distance",
                 "ABC.Acceptor", "ABC.Transition", "ABC.Predictor", "Epsilon"):
        logging.getLogger(name).setLevel(logging.WARNING)


# --- samplers -----------------------------------------------------------------------------
@contextlib.contextmanager
def sampler(jobs: int = 1, backend: str = "loky",
            scheduler: str | None = None) -> Iterator[Any]:
    """The pyabc sampler for ``jobs`` and ``backend`` (closing a Dask cluster it started).

    ``loky`` with one job: ``SingleCoreSampler`` (reproducible); with more:
    ``MulticoreEvalParallelSampler(n_procs=jobs)``; ``dask``:
    ``DaskDistributedSampler`` on the scheduler at ``scheduler`` or on a local
    cluster of ``jobs`` single-threaded worker processes.
    """
    make_executor(backend, jobs, scheduler)  # refuses a bad backend/scheduler pair
    _quiet()
    if backend != "dask":
        yield SingleCoreSampler() if jobs == 1 else MulticoreEvalParallelSampler(n_procs=jobs)
        return
    from distributed import Client, LocalCluster

    with contextlib.ExitStack() as stack:
        try:
            if scheduler is None:
                cluster = stack.enter_context(LocalCluster(
                    n_workers=jobs, threads_per_worker=1, processes=True, host="127.0.0.1",
                    dashboard_address=None))
                client = stack.enter_context(Client(cluster))
            else:
                client = stack.enter_context(Client(scheduler, timeout="20s"))
        except (OSError, TimeoutError, ValueError, TypeError) as exc:
            where = f"the Dask scheduler at {scheduler!r}" if scheduler else "a local cluster"
            raise UsageError(f"--scheduler: cannot reach {where}: "
                             f"{str(exc).splitlines()[0] if str(exc) else type(exc).__name__}"
                             ) from None
        workers = max(1, len(client.scheduler_info().get("workers", {})) or jobs)
        yield DaskDistributedSampler(dask_client=client, client_max_jobs=workers,
                                     batch_size=1)


# --- running ------------------------------------------------------------------------------
def database_url(folder: str | Path) -> str:
    """SQLAlchemy address of the folder's pyabc database."""
    return "sqlite:///" + str((Path(folder) / DATABASE).resolve())


def stored_generations(folder: str | Path) -> int:
    """Generations the folder's database holds (0 without one)."""
    if not (Path(folder) / DATABASE).is_file():
        return 0
    history = pyabc.History(database_url(folder), _id=1)
    if not history.all_runs():
        return 0
    return int(history.max_t) + 1


def run_abc(plan: CalibrationPlan, folder: str | Path, simulation: Simulation,
            abc_sampler: Any = None, max_generations: int | None = None) -> pyabc.History:
    """Run (or continue) the calibration's ABC-SMC into ``folder / abc.db``.

    Continues the run the database holds up to ``max_generations`` (default the
    plan's), or until a generation's threshold is at most ``plan.min_epsilon``.
    A generation interrupted half-way is sampled again from its start.
    """
    folder = Path(folder)
    url = database_url(folder)
    _quiet()
    target = plan.max_generations if max_generations is None else max_generations
    priors = pyabc.Distribution(**{p.name: pyabc.RV("uniform", p.low, p.high - p.low)
                                   for p in plan.priors})
    tolerances = {p.name: p.tolerance for p in plan.patterns}
    abc = _SeededABCSMC(pyabc.FunctionModel(_Model(simulation), name="cisim"), priors,
                        PatternDistance(tolerances), population_size=plan.population_size,
                        eps=_ResumableEpsilon(), sampler=abc_sampler or SingleCoreSampler())
    abc.master_seed = plan.master_seed
    done = stored_generations(folder)
    if done == 0:
        (folder / DATABASE).unlink(missing_ok=True)  # a first generation that never finished
    with _global_state_kept():
        if done:
            history = abc.load(url, 1)
            last = float(history.get_all_populations()["epsilon"].iloc[-1])
            if done >= target or last <= plan.min_epsilon:
                return history
        else:
            history = abc.new(url, plan.observed)
        return abc.run(minimum_epsilon=plan.min_epsilon, max_nr_populations=target - done)


# --- tables -------------------------------------------------------------------------------
def posterior_table(history: pyabc.History, plan: CalibrationPlan) -> pd.DataFrame:
    """Particles of every generation: generation, particle, weight, distance, values, stats.

    ``seed`` is the seed of the particle's replication 0 (replays its first runs).
    """
    frames = []
    for t in range(int(history.max_t) + 1):
        particles = history.get_population(t=t).particles
        frame = pd.DataFrame({
            "generation": t, "particle": np.arange(len(particles)),
            "weight": [float(p.weight) for p in particles],
            "distance": [float(p.distance) for p in particles]})
        for name in plan.parameters:
            frame[name] = [float(p.parameter[name]) for p in particles]
        for pattern in plan.patterns:
            frame[pattern.name] = [float(np.asarray(p.sum_stat[pattern.name]))
                                   for p in particles]
        frame["seed"] = [particle_seed(plan.master_seed, dict(zip(plan.parameters, row,
                                                                  strict=True)))
                         for row in frame[list(plan.parameters)].itertuples(index=False)]
        frames.append(frame)
    table = pd.concat(frames, ignore_index=True)
    return table.astype({"generation": "int64", "particle": "int64", "seed": "int64"})


def generations_table(history: pyabc.History) -> pd.DataFrame:
    """One row per generation: epsilon, particles, samples and acceptance rate."""
    pops = history.get_all_populations()
    pops = pops[pops["t"] >= 0].reset_index(drop=True)
    table = pd.DataFrame({"generation": pops["t"].astype("int64"),
                          "epsilon": pops["epsilon"].astype(float),
                          "particles": pops["particles"].astype("int64"),
                          "samples": pops["samples"].astype("int64")})
    table["acceptance_rate"] = table["particles"] / table["samples"]
    table["wall_time_s"] = pops["wall_time"].astype(float) if "wall_time" in pops else np.nan
    return table


def _simulate(simulation: Simulation, draw: int, values: dict[str, float]
              ) -> tuple[int, dict[str, float]]:
    return draw, simulation(values)


def predictive_table(posterior: pd.DataFrame, plan: CalibrationPlan, simulation: Simulation,
                     jobs: int = 1, backend: str = "loky",
                     scheduler: str | None = None) -> pd.DataFrame:
    """Posterior predictive check: final-generation particles re-simulated with fresh seeds.

    ``plan.predictive_draws`` particles are drawn by weight (a Generator seeded from
    the master seed's analysis stream); each is simulated again by ``simulation``
    with its ``master_seed`` replaced by another analysis seed, so its runs are new
    communities. One row per draw: draw, particle, the values and each statistic.
    """
    columns = ["draw", "particle", *plan.parameters, *(p.name for p in plan.patterns)]
    if plan.predictive_draws == 0:
        return pd.DataFrame({c: pd.Series(dtype=float) for c in columns})
    last = posterior[posterior["generation"] == posterior["generation"].max()]
    weights = last["weight"].to_numpy(float)
    rng = np.random.default_rng(analysis_seed(plan.master_seed, _DRAW_PURPOSE))
    picks = rng.choice(len(last), size=plan.predictive_draws, p=weights / weights.sum())
    fresh = dataclasses.replace(simulation,  # type: ignore[type-var]
                                master_seed=analysis_seed(plan.master_seed,
                                                          _PREDICTIVE_PURPOSE))
    values = [{n: float(last[n].iloc[i]) for n in plan.parameters} for i in picks]
    results: dict[int, dict[str, float]] = {}
    with make_executor(backend, jobs, scheduler) as executor:
        for _, result in executor.map_unordered(
                _simulate, [(fresh, d, v) for d, v in enumerate(values)]):
            if isinstance(result, Exception):
                raise result
            results[result[0]] = result[1]
    rows = [{"draw": d, "particle": int(last["particle"].iloc[i]), **values[d], **results[d]}
            for d, i in enumerate(picks)]
    return pd.DataFrame(rows, columns=columns).astype({"draw": "int64", "particle": "int64"})


# --- the study ----------------------------------------------------------------------------
@dataclasses.dataclass
class Calibration:
    """A finished (or stopped) calibration: its plan and tables."""

    plan: CalibrationPlan
    posterior: pd.DataFrame
    generations: pd.DataFrame
    predictive: pd.DataFrame


def open_folder(plan: CalibrationPlan, out: str | Path) -> Any:
    """The result folder of ``plan`` (not yet entered; ``check()`` refuses a wrong one)."""
    from experiments.engine import StudyFolder

    return StudyFolder(out, "calibrate", plan.config(),
                       {"plan": plan.record(), "seed_policy": "per-particle digest",
                        "master_seed": plan.master_seed})


def run_calibration(plan: CalibrationPlan, folder: Any, simulation: Simulation | None = None,
                    jobs: int = 1, backend: str = "loky", scheduler: str | None = None,
                    max_generations: int | None = None) -> Calibration:
    """Run (or continue) ``plan`` in an entered ``StudyFolder`` and build its tables.

    Args:
        plan: the calibration.
        folder: an entered ``StudyFolder`` (``open_folder``); ``abc.db`` lives in it.
        simulation: a particle's statistics (default: the model, ``ModelSimulation``);
            a frozen dataclass with a ``master_seed`` field.
        jobs: worker processes of pyabc's sampler (see ``sampler``) and of the
            predictive check.
        backend: ``loky`` or ``dask``.
        scheduler: a Dask scheduler address (with ``dask``).
        max_generations: stop at this many generations (default: the plan's).
    """
    import warnings

    from experiments.calibrate.config import plan_simulation

    simulation = simulation or plan_simulation(plan)
    with sampler(jobs, backend, scheduler) as abc_sampler, warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="invalid value encountered",
                                category=RuntimeWarning)  # pyabc: inf - inf at generation 0
        history = run_abc(plan, folder.path, simulation, abc_sampler, max_generations)
    posterior = posterior_table(history, plan)
    generations = generations_table(history)
    folder.update(generations=len(generations),
                  final_epsilon=float(generations["epsilon"].iloc[-1]))
    predictive = predictive_table(posterior, plan, simulation, jobs, backend, scheduler)
    return Calibration(plan, posterior, generations, predictive)


def write_results(result: Calibration, out: str | Path) -> dict[str, Path]:
    """Write posterior.parquet, generations.csv, predictive.parquet and calibration.json."""
    from experiments.io import write_csv, write_json, write_parquet

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    paths = {n: out / n for n in ("posterior.parquet", "generations.csv", "predictive.parquet",
                                  "calibration.json")}
    write_parquet(result.posterior, paths["posterior.parquet"])
    write_parquet(result.predictive, paths["predictive.parquet"])
    write_csv(result.generations, paths["generations.csv"])
    write_json(result.plan.record(), paths["calibration.json"])
    return paths
