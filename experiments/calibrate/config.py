"""Calibration files, per-particle seeds, the simulation of a particle and the distance.

A calibration file has these tables (example: ``experiments/configs/calibrate_field.toml``)::

    [calibrate]  scenario, steps, population_size, max_generations, min_epsilon,
                 master_seed, replications, predictive_draws, name
    [priors]     name = {} (uniform over the declared bounds) or
                 name = { bounds = [low, high] } (a narrower uniform)
    [patterns.P] statistic, scenario, observed, tolerance, source
    [fixed]      name = value, held constant in every run

Every key is checked before any work starts; a problem is one line naming the
file, the key and what is allowed.

**Distance.** A particle's distance to the field is
``sum over patterns of |simulated - observed| / tolerance``: each pattern counts
in units of its own tolerance, so a distance of 1 means "one pattern off by its
tolerance, the others exact", and patterns measured in different units add up.

**Seeds.** Run ``r`` (replication ``r``, in every scenario a particle needs) is
seeded by ``particle_seed(master_seed, values, r)``: a SHA-256 digest of the
master seed, the replication and the particle's values (canonical JSON, floats
written exactly), as the entropy of a ``SeedSequence``, turned into a 63-bit
integer by ``seed_int``. The same particle therefore always gives the same
statistics (any row of ``posterior.parquet`` can be replayed with ``cisim run
--scenario S --seed SEED --set name=value ...``), in any process, and the
scenarios of one particle meet the same communities (common random numbers).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from experiments.engine.folder import read_manifest
from experiments.engine.limits import MAX_REPLICATIONS
from experiments.engine.seeds import DEFAULT_MASTER_SEED, SEED_MAX, seed_int
from experiments.errors import UsageError
from experiments.runner import run_one
from model.metrics import SUMMARY_OUTPUTS
from model.parameters import ParameterError, get_parameter
from model.scenarios import NAMED_SCENARIOS, make_scenario

__all__ = ["CalibrationPlan", "ConfigError", "ModelSimulation", "Pattern", "Prior",
           "load_config", "particle_seed", "pattern_distance", "read_posterior"]

#: Largest population and generation counts a file may ask for.
MAX_POPULATION = 100_000
MAX_GENERATIONS = 1_000
MAX_PREDICTIVE = 10_000

_SECTIONS = ("calibrate", "priors", "patterns", "fixed")
_CALIBRATE_KEYS = ("name", "scenario", "steps", "population_size", "max_generations",
                   "min_epsilon", "master_seed", "replications", "predictive_draws")
_PATTERN_KEYS = ("statistic", "scenario", "observed", "tolerance", "source")
_RESERVED = ("seed", "steps")  # seeds come from master_seed; steps from [calibrate]
#: Summary outputs that are not a number in every run (None or an identity).
_NOT_STATISTICS = ("months_to_needle", "seed")


class ConfigError(UsageError):
    """A calibration file that cannot be used; the message is one line naming the key."""


@dataclass(frozen=True)
class Prior:
    """A uniform prior of one parameter over [low, high]."""

    name: str
    low: float
    high: float


@dataclass(frozen=True)
class Pattern:
    """One summary statistic the field reports: its value, tolerance and scenario.

    The simulated statistic is the mean of ``statistic`` over a particle's
    replications in ``scenario`` (a yes/no output becomes a share).
    """

    name: str
    statistic: str
    scenario: str
    observed: float
    tolerance: float
    source: str = ""


@dataclass(frozen=True)
class CalibrationPlan:
    """What a calibration runs: validated before any run starts.

    Attributes:
        priors: the calibrated parameters, each with a uniform prior.
        patterns: the statistics held against the field.
        steps: months of every run.
        population_size: accepted particles per generation.
        max_generations: generations to reach (a rerun continues up to it).
        min_epsilon: stop once a generation's threshold is at most this.
        master_seed: root of every run seed and of pyabc's random draws.
        replications: runs per particle and scenario (statistics are their means).
        fixed: declared parameters held constant in every run.
        predictive_draws: final-generation particles re-simulated, with fresh
            seeds, for the posterior predictive check (0: none).
        name: a label for reports.
    """

    priors: tuple[Prior, ...]
    patterns: tuple[Pattern, ...]
    steps: int = 120
    population_size: int = 100
    max_generations: int = 5
    min_epsilon: float = 0.0
    master_seed: int = DEFAULT_MASTER_SEED
    replications: int = 1
    fixed: Mapping[str, Any] = field(default_factory=dict)
    predictive_draws: int = 20
    name: str = "calibration"

    @property
    def scenarios(self) -> tuple[str, ...]:
        """Scenarios some pattern is measured in, in first-use order."""
        return tuple(dict.fromkeys(p.scenario for p in self.patterns))

    @property
    def parameters(self) -> tuple[str, ...]:
        """Names of the calibrated parameters."""
        return tuple(p.name for p in self.priors)

    @property
    def observed(self) -> dict[str, float]:
        """Observed value of each pattern, by pattern name."""
        return {p.name: p.observed for p in self.patterns}

    def config(self) -> dict[str, Any]:
        """What determines the particles, as plain data (the folder's fingerprint).

        The stopping rules (``max_generations``, ``min_epsilon``) are left out: a
        generation depends only on the ones before it and its own seed, so raising
        them continues the same run instead of starting another.
        """
        return {"priors": [[p.name, p.low, p.high] for p in self.priors],
                "patterns": [[p.name, p.statistic, p.scenario, p.observed, p.tolerance]
                             for p in self.patterns],
                "steps": self.steps, "population_size": self.population_size,
                "master_seed": self.master_seed, "replications": self.replications,
                "fixed": dict(self.fixed), "predictive_draws": self.predictive_draws}

    def record(self) -> dict[str, Any]:
        """The plan in full, as plain data (``calibration.json``, read by the report)."""
        return {"name": self.name, "scenarios": list(self.scenarios),
                "priors": [vars(p) for p in self.priors],
                "patterns": [vars(p) for p in self.patterns],
                "steps": self.steps, "population_size": self.population_size,
                "max_generations": self.max_generations, "min_epsilon": self.min_epsilon,
                "master_seed": self.master_seed, "replications": self.replications,
                "fixed": dict(self.fixed), "predictive_draws": self.predictive_draws,
                "distance": "sum over patterns of |simulated - observed| / tolerance"}


# --- distance and seeds -------------------------------------------------------------------
def pattern_distance(simulated: Mapping[str, float], observed: Mapping[str, float],
                     tolerances: Mapping[str, float]) -> float:
    """Sum over patterns of |simulated - observed| / tolerance (NaN counts as infinite)."""
    total = 0.0
    for name, value in observed.items():
        sim = float(simulated[name])
        if not math.isfinite(sim):
            return math.inf
        total += abs(sim - float(value)) / float(tolerances[name])
    return total


def particle_seed(master_seed: int, values: Mapping[str, float], replication: int = 0) -> int:
    """Seed of replication ``replication`` of the particle with ``values``.

    SHA-256 of canonical JSON (master seed, replication, values as exact floats) as
    the entropy of a ``SeedSequence``, turned into a 63-bit integer by ``seed_int``:
    the same in every process and on every platform.
    """
    text = json.dumps({"master_seed": int(master_seed), "replication": int(replication),
                       "values": {k: float(v) for k, v in values.items()}},
                      sort_keys=True, separators=(",", ":"), allow_nan=False)
    entropy = int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest(), "little")
    return seed_int(np.random.SeedSequence(entropy))


@dataclass(frozen=True)
class ModelSimulation:
    """The model as pyabc's model: a particle's values in, its pattern statistics out.

    A plain picklable object (pyabc's multicore and Dask samplers send it to
    workers). Each needed scenario runs ``replications`` times with
    ``particle_seed`` seeds; each statistic is the mean over its scenario's runs.
    """

    patterns: tuple[Pattern, ...]
    steps: int
    replications: int
    master_seed: int
    fixed: Mapping[str, Any] = field(default_factory=dict)

    def runs(self, values: Mapping[str, float]) -> list[tuple[str, int, dict[str, Any]]]:
        """(scenario, seed, parameters) of every run the particle needs."""
        scenarios = dict.fromkeys(p.scenario for p in self.patterns)
        params = {**self.fixed, **{k: float(v) for k, v in values.items()},
                  "steps": self.steps}
        return [(s, particle_seed(self.master_seed, values, r), params)
                for s in scenarios for r in range(self.replications)]

    def __call__(self, values: Mapping[str, float]) -> dict[str, float]:
        """Statistics of the particle, by pattern name."""
        values = {k: float(v) for k, v in dict(values).items()}
        found: dict[str, list[float]] = {}
        for scenario, seed, params in self.runs(values):
            summary, _ = run_one(scenario, seed, **params)
            for p in self.patterns:
                if p.scenario == scenario:
                    found.setdefault(p.name, []).append(float(summary[p.statistic]))
        return {name: float(np.mean(v)) for name, v in found.items()}


def plan_simulation(plan: CalibrationPlan) -> ModelSimulation:
    """The model simulation of ``plan``."""
    return ModelSimulation(plan.patterns, plan.steps, plan.replications, plan.master_seed,
                           dict(plan.fixed))


# --- reading a file -----------------------------------------------------------------------
def _number(where: str, value: Any, least: float = -math.inf, most: float = math.inf,
            open_low: bool = False) -> float:
    ok = (isinstance(value, int | float) and not isinstance(value, bool)
          and math.isfinite(value) and (value > least if open_low else value >= least)
          and value <= most)
    if not ok:
        bracket = "(" if open_low else "["
        raise ConfigError(f"{where}: got {value!r}; allowed: a number in {bracket}{least:g}, "
                          f"{most:g}]")
    return float(value)


def _integer(where: str, value: Any, least: int, most: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not least <= value <= most:
        raise ConfigError(f"{where}: got {value!r}; allowed: an integer from {least:,} to "
                          f"{most:,}")
    return int(value)


def _scenario(where: str, value: Any) -> str:
    if not isinstance(value, str) or value not in NAMED_SCENARIOS:
        raise ConfigError(f"{where}: got {value!r}; allowed: one of "
                          + ", ".join(NAMED_SCENARIOS))
    return value


def _unknown(where: str, keys: Sequence[str], allowed: Sequence[str]) -> None:
    extra = [k for k in keys if k not in allowed]
    if extra:
        raise ConfigError(f"{where}: unknown key {extra[0]!r}; allowed: " + ", ".join(allowed))


def _table(where: str, value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: expected a table, got {value!r}")
    return value


def _prior(where: str, name: str, spec: Any, fixed: Mapping[str, Any]) -> Prior:
    try:
        declared = get_parameter(name)
    except ParameterError:
        raise ConfigError(f"{where}: not a declared parameter (see cisim params)") from None
    if name in _RESERVED or name in fixed:
        reason = "is also in [fixed]" if name in fixed else "cannot be calibrated"
        raise ConfigError(f"{where}: {name!r} {reason}")
    if declared.kind != "float":
        raise ConfigError(f"{where}: is a {declared.kind} parameter; allowed: parameters "
                          "of kind float")
    spec = _table(where, spec)
    _unknown(where, list(spec), ("bounds",))
    low, high = float(declared.minimum or 0.0), float(declared.maximum or 0.0)
    if "bounds" in spec:
        bounds = spec["bounds"]
        if not (isinstance(bounds, list) and len(bounds) == 2):
            raise ConfigError(f"{where}.bounds: got {bounds!r}; allowed: [low, high]")
        lo = _number(f"{where}.bounds", bounds[0], low, high)
        hi = _number(f"{where}.bounds", bounds[1], low, high)
        if not lo < hi:
            raise ConfigError(f"{where}.bounds: got {bounds!r}; allowed: low below high, "
                              f"inside the declared [{low:g}, {high:g}]")
        low, high = lo, hi
    return Prior(name, low, high)


def _pattern(where: str, name: str, spec: Any, default_scenario: str) -> Pattern:
    spec = _table(where, spec)
    _unknown(where, list(spec), _PATTERN_KEYS)
    for key in ("observed", "tolerance"):
        if key not in spec:
            raise ConfigError(f"{where}: missing key {key!r}")
    statistic = spec.get("statistic", name)
    if statistic not in SUMMARY_OUTPUTS or statistic in _NOT_STATISTICS:
        allowed = [o for o in SUMMARY_OUTPUTS if o not in _NOT_STATISTICS]
        raise ConfigError(f"{where}.statistic: got {statistic!r}; allowed: one of "
                          + ", ".join(allowed))
    out = SUMMARY_OUTPUTS[statistic]
    low = -math.inf if out.lower is None else float(out.lower)
    high = math.inf if out.upper is None else float(out.upper)
    observed = _number(f"{where}.observed", spec["observed"], low, high)
    tolerance = _number(f"{where}.tolerance", spec["tolerance"], 0.0, math.inf, open_low=True)
    source = spec.get("source", "")
    if not isinstance(source, str):
        raise ConfigError(f"{where}.source: got {source!r}; allowed: text")
    scenario = _scenario(f"{where}.scenario", spec.get("scenario", default_scenario))
    return Pattern(name, statistic, scenario, observed, tolerance, source)


def parse_config(data: Mapping[str, Any], label: str = "config") -> CalibrationPlan:
    """Check the tables of a calibration file and return its plan.

    Raises:
        ConfigError: one line naming ``label``, the key and what is allowed.
    """
    _unknown(label, list(data), _SECTIONS)
    for section in ("calibrate", "priors", "patterns"):
        if section not in data:
            raise ConfigError(f"{label}: missing table [{section}]")
    cal = _table(f"{label} [calibrate]", data["calibrate"])
    _unknown(f"{label} [calibrate]", list(cal), _CALIBRATE_KEYS)
    at = f"{label} [calibrate]"
    steps_decl = get_parameter("steps")
    steps = _integer(f"{at} steps", cal.get("steps", int(steps_decl.default)),
                     int(steps_decl.minimum or 1), int(steps_decl.maximum or 1200))
    population = _integer(f"{at} population_size", cal.get("population_size", 100), 2,
                          MAX_POPULATION)
    generations = _integer(f"{at} max_generations", cal.get("max_generations", 5), 1,
                           MAX_GENERATIONS)
    min_eps = _number(f"{at} min_epsilon", cal.get("min_epsilon", 0.0), 0.0)
    master = _integer(f"{at} master_seed", cal.get("master_seed", DEFAULT_MASTER_SEED), 0,
                      SEED_MAX)
    reps = _integer(f"{at} replications", cal.get("replications", 1), 1, MAX_REPLICATIONS)
    draws = _integer(f"{at} predictive_draws", cal.get("predictive_draws", 20), 0,
                     MAX_PREDICTIVE)
    name = cal.get("name", "calibration")
    if not isinstance(name, str) or not name:
        raise ConfigError(f"{at} name: got {name!r}; allowed: non-empty text")
    default_scenario = _scenario(f"{at} scenario", cal.get("scenario", "isolated"))

    fixed_in = _table(f"{label} [fixed]", data.get("fixed", {}))
    fixed: dict[str, Any] = {}
    for key, value in fixed_in.items():
        where = f"{label} [fixed] {key}"
        if key in _RESERVED:
            raise ConfigError(f"{where}: cannot be fixed (seeds come from master_seed, steps "
                              "from [calibrate])")
        try:
            fixed[key] = get_parameter(key).validate(value)
        except ParameterError as exc:
            raise ConfigError(f"{where}: {exc}") from None

    priors_in = _table(f"{label} [priors]", data["priors"])
    if not priors_in:
        raise ConfigError(f"{label} [priors]: give at least one parameter")
    priors = tuple(_prior(f"{label} [priors] {k}", k, v, fixed) for k, v in priors_in.items())

    patterns_in = _table(f"{label} [patterns]", data["patterns"])
    if not patterns_in:
        raise ConfigError(f"{label} [patterns]: give at least one pattern")
    patterns = tuple(_pattern(f"{label} [patterns.{k}]", k, v, default_scenario)
                     for k, v in patterns_in.items())

    plan = CalibrationPlan(priors, patterns, steps, population, generations, min_eps, master,
                           reps, fixed, draws, name)
    mid = {p.name: (p.low + p.high) / 2 for p in priors}
    for scenario in plan.scenarios:  # the scenarios accept the fixed values together
        try:
            make_scenario(scenario, rng=0, **fixed, **mid, steps=steps)
        except ParameterError as exc:
            raise ConfigError(f"{label} [fixed]: {exc}") from None
    return plan


def load_config(path: str | Path) -> CalibrationPlan:
    """Read and check a calibration TOML file; raise ConfigError (one line) on any problem."""
    path = Path(path)
    try:
        text = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"config {str(path)!r}: no such file") from None
    except OSError as exc:
        raise ConfigError(f"config {str(path)!r}: cannot read ({exc.strerror})") from None
    try:
        data = tomllib.loads(text.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise ConfigError(f"config {path.name}: not valid TOML (not UTF-8 text: "
                          f"{exc.reason})") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config {path.name}: not valid TOML ({exc})") from None
    return parse_config(data, f"config {path.name}")


# --- reading a result ---------------------------------------------------------------------
POSTERIOR = "posterior.parquet"


def read_posterior(folder: str | os.PathLike) -> tuple[pd.DataFrame, list[str], dict[str, Any]]:
    """The final generation of a calibration folder, its parameter names and manifest.

    Returns:
        (particles of the last generation with a ``weight`` column summing to 1,
        the calibrated parameter names, the folder's manifest).

    Raises:
        UsageError: the folder holds no finished calibration.
    """
    folder = Path(folder)
    option = f"--posterior {str(folder)!r}"
    if not folder.is_dir():
        raise UsageError(f"{option}: no such folder")
    manifest = read_manifest(folder)
    if manifest is None or manifest.get("command") != "calibrate":
        raise UsageError(f"{option}: holds no 'cisim calibrate' results")
    if manifest.get("status") != "complete" or not (folder / POSTERIOR).is_file():
        raise UsageError(f"{option}: the calibration is not complete (run it again to "
                         "finish it)")
    table = pd.read_parquet(folder / POSTERIOR)
    names = [p[0] for p in manifest.get("config", {}).get("priors", [])]
    last = table[table["generation"] == table["generation"].max()].reset_index(drop=True)
    weights = last["weight"].to_numpy(float)
    if not names or last.empty or not np.isfinite(weights).all() or weights.sum() <= 0:
        raise UsageError(f"{option}: {POSTERIOR} holds no usable final generation")
    last = last.assign(weight=weights / weights.sum())
    return last, names, manifest
