"""Sweep configurations: a TOML file (or a SALib problem, or a table of samples) checked in full.

A sweep file has these tables (see ``experiments/configs/`` for examples)::

    [sweep]        design, scenario, replications, steps, master_seed, outputs, name
    [design]       options of the sampler (n, second_order, num_levels, ...)
    [parameters]   name = { bounds = [low, high] } or { levels = [...] } or
                   { bounds = [low, high], num = k } (grid only)
    [fixed]        name = value, held constant in every run
    [analysis]     heatmap = [p1, p2], bins, num_resamples, conf_level

Every name, bound and level is checked against the declarations in
``model.parameters`` before any work starts; a problem is reported as one line
naming the file, the key and what is allowed.
"""

from __future__ import annotations

import difflib
import math
import tomllib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from experiments.engine.limits import MAX_REPLICATIONS, MAX_RUNS, check_runs
from experiments.engine.provenance import digest
from experiments.engine.seeds import SEED_MAX, SEED_POLICIES
from experiments.errors import UsageError
from model.metrics import SUMMARY_FIELDS
from model.parameters import ParameterError, get_parameter
from model.scenarios import NAMED_SCENARIOS

DESIGNS: tuple[str, ...] = ("grid", "lhs", "sobol", "morris", "samples")
"""Design kinds: full-factorial grid, Latin hypercube, Sobol' (Saltelli), Morris, given samples."""

#: Options each design accepts in ``[design]``, with their defaults (None: required).
DESIGN_OPTIONS: dict[str, dict[str, Any]] = {
    "grid": {},
    "lhs": {"n": None},
    "sobol": {"n": None, "second_order": True},
    "morris": {"n": None, "num_levels": 4, "optimal_trajectories": None,
               "local_optimization": True},
    "samples": {},
}

#: Options of ``[analysis]`` with their defaults.
ANALYSIS_OPTIONS: dict[str, Any] = {
    "heatmap": None,  # two varied parameter names; default: the first two varied
    "bins": 8,  # bins per parameter for response curves and heat maps of sampled designs
    "num_resamples": 1000,  # bootstrap resamples for confidence intervals of indices
    "conf_level": 0.95,  # confidence level of the intervals
    "replicate_resamples": 200,  # bootstrap resamples of replications per index interval
}

_SECTIONS = ("sweep", "design", "parameters", "fixed", "analysis")
_SWEEP_KEYS = ("name", "design", "scenario", "replications", "steps", "master_seed",
               "seed_policy", "outputs")
_RESERVED = ("seed",)  # run seeds come from master_seed, never from a parameter


class ConfigError(UsageError):
    """A sweep configuration that cannot be used; the message is one line naming the problem."""


@dataclass(frozen=True)
class Varied:
    """One varied parameter of a sweep.

    Attributes:
        name: Parameter name (declared in ``model.parameters`` for model sweeps).
        kind: ``"int"``, ``"float"`` or ``"choice"``.
        bounds: (low, high) for sampled designs, in the parameter's unit; None for levels.
        levels: Explicit values for a grid; None for sampled parameters.
    """

    name: str
    kind: str
    bounds: tuple[float, float] | None = None
    levels: tuple[Any, ...] | None = None

    def to_dict(self) -> dict[str, Any]:
        """Plain-data form (manifest, fingerprint)."""
        out: dict[str, Any] = {"name": self.name, "kind": self.kind}
        if self.bounds is not None:
            out["bounds"] = list(self.bounds)
        if self.levels is not None:
            out["levels"] = list(self.levels)
        return out


@dataclass(frozen=True)
class SweepConfig:
    """A complete, validated sweep description.

    Attributes:
        design: One of ``DESIGNS``.
        parameters: The varied parameters, in order.
        options: Sampler options with defaults filled in (see ``DESIGN_OPTIONS``).
        fixed: Parameters held constant in every run (including ``steps`` when given).
        scenario: Named scenario the runs start from (model sweeps).
        replications: Runs per design point, each with its own seed (>= 1).
        master_seed: Root of every seed: run ``i`` gets child ``i`` of
            ``SeedSequence(master_seed)``.
        outputs: Summary fields to analyse.
        name: A label for reports.
        analysis: Analysis options (see ``ANALYSIS_OPTIONS``).
        model: Whether runs are model runs (names checked against the declarations).
        samples: For the ``samples`` design, the given table of points.
        source: Where the configuration came from (file path or a description).
    """

    design: str
    parameters: tuple[Varied, ...]
    options: dict[str, Any]
    fixed: dict[str, Any]
    scenario: str
    replications: int
    master_seed: int
    outputs: tuple[str, ...]
    name: str = "sweep"
    analysis: dict[str, Any] = field(default_factory=lambda: dict(ANALYSIS_OPTIONS))
    model: bool = True
    samples: pd.DataFrame | None = None
    source: str = "<api>"
    seed_policy: str = "independent"

    def n_points(self) -> int:
        """Design points the sampler will make, computed from the options alone."""
        d, opts = len(self.parameters), self.options
        if self.design == "grid":
            return math.prod(len(p.levels or ()) for p in self.parameters)
        if self.design == "samples":
            return 0 if self.samples is None else len(self.samples)
        if self.design == "lhs":
            return int(opts["n"])
        if self.design == "sobol":
            return int(opts["n"]) * (2 * d + 2 if opts["second_order"] else d + 2)
        return int(opts.get("optimal_trajectories") or opts["n"]) * (d + 1)  # morris

    @property
    def names(self) -> list[str]:
        """Names of the varied parameters, in order."""
        return [p.name for p in self.parameters]

    @property
    def problem(self) -> dict[str, Any]:
        """The SALib problem (names, bounds, outputs) of the sampled parameters."""
        return {
            "num_vars": len(self.parameters),
            "names": self.names,
            "bounds": [list(p.bounds) if p.bounds else [0.0, 1.0] for p in self.parameters],
            "outputs": list(self.outputs),
        }

    def to_dict(self) -> dict[str, Any]:
        """Plain-data form of everything that determines the runs, plus outputs and analysis."""
        out = {
            "name": self.name,
            "design": self.design,
            "options": dict(self.options),
            "parameters": [
                # a samples design lists its values in the samples table, not here
                {"name": p.name, "kind": p.kind} if self.design == "samples" else p.to_dict()
                for p in self.parameters],
            "fixed": dict(self.fixed),
            "scenario": self.scenario,
            "replications": self.replications,
            "master_seed": self.master_seed,
            "seed_policy": self.seed_policy,
            "outputs": list(self.outputs),
            "analysis": dict(self.analysis),
            "model": self.model,
        }
        if self.samples is not None:
            out["samples_sha256"] = samples_digest(self.samples)
        return out

    def fingerprint_data(self) -> dict[str, Any]:
        """What determines the runs (not the name, outputs or analysis options)."""
        data = self.to_dict()
        for key in ("name", "outputs", "analysis"):
            data.pop(key)
        return data

    def fingerprint(self) -> str:
        """A digest of ``fingerprint_data``."""
        return digest(self.fingerprint_data())

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, source: str = "<dict>",
                  model: bool = True, samples: pd.DataFrame | None = None) -> SweepConfig:
        """Validate a parsed TOML document (the tables described in the module docstring)."""
        return _parse(data, source=source, model=model, samples=samples)

    @classmethod
    def from_problem(cls, problem: Mapping[str, Any], design: str = "sobol", *, n: int,
                     replications: int = 1, master_seed: int = 20240601,
                     scenario: str = "collective", fixed: Mapping[str, Any] | None = None,
                     outputs: Sequence[str] | None = None, model: bool = True,
                     name: str = "sweep", **options: Any) -> SweepConfig:
        """A sampled sweep from a SALib problem dict or ``ProblemSpec`` (uniform bounds only).

        Args:
            problem: ``names``, ``bounds`` and optionally ``outputs`` (used when ``outputs``
                is None). ``groups`` and non-uniform ``dists`` are refused.
            design: ``"sobol"``, ``"morris"`` or ``"lhs"``.
            n: Base sample size (Sobol' N, Morris trajectories, LHS points).
            replications: Runs per design point (>= 1).
            master_seed: Root of every seed.
            scenario: Named scenario the runs start from.
            fixed: Parameters held constant.
            name: A label for reports.
            outputs: Outputs to analyse.
            model: False when runs call another evaluation function (names are then free).
            **options: Further ``[design]`` options (``second_order``, ``num_levels``...).
        """
        groups = problem.get("groups")
        if groups and list(groups) != list(problem.get("names") or []):
            raise ConfigError("problem: parameter groups are not supported; give one name each")
        dists = problem.get("dists")
        if dists and any(d not in (None, "unif") for d in dists):
            raise ConfigError("problem: only uniform distributions ('unif') are supported")
        names, bounds = list(problem.get("names") or []), list(problem.get("bounds") or [])
        if len(names) != len(bounds):
            raise ConfigError(f"problem: {len(names)} names but {len(bounds)} bounds")
        outs = outputs if outputs is not None else problem.get("outputs")
        data = {
            "sweep": {"name": name, "design": design, "scenario": scenario,
                      "replications": replications, "master_seed": master_seed,
                      "outputs": list(outs or [])},
            "design": {"n": n, **options},
            "parameters": {nm: {"bounds": list(b)} for nm, b in zip(names, bounds, strict=True)},
            "fixed": dict(fixed or {}),
        }
        return _parse(data, source="problem", model=model)

    @classmethod
    def from_samples(cls, samples: pd.DataFrame, *, replications: int = 1,
                     master_seed: int = 20240601, scenario: str = "collective",
                     fixed: Mapping[str, Any] | None = None, outputs: Sequence[str] = (),
                     model: bool = True, name: str = "sweep") -> SweepConfig:
        """A sweep over the rows of ``samples`` (one column per parameter, one row per point)."""
        if not isinstance(samples, pd.DataFrame) or samples.empty:
            raise ConfigError("samples: expected a non-empty pandas DataFrame")
        data = {
            "sweep": {"name": name, "design": "samples", "scenario": scenario,
                      "replications": replications, "master_seed": master_seed,
                      "outputs": list(outputs)},
            "parameters": {str(c): {"levels": _unique(samples[c].tolist())}
                           for c in samples.columns},
            "fixed": dict(fixed or {}),
        }
        return _parse(data, source="samples", model=model,
                      samples=samples.reset_index(drop=True))


def load_config(path: str | Path) -> SweepConfig:
    """Read and validate a sweep TOML file; raise ConfigError (one line) on any problem."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"config {str(path)!r}: no such file") from None
    except OSError as exc:
        raise ConfigError(f"config {str(path)!r}: cannot read ({exc.strerror})") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"config {path.name}: not valid TOML (not UTF-8 text: {exc.reason} "
                          f"at byte {exc.start})") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config {path.name}: not valid TOML ({exc})") from None
    return _parse(data, source=str(path), model=True)


def samples_digest(samples: pd.DataFrame) -> str:
    """A digest of a table of samples (column names and values)."""
    return digest({"columns": [str(c) for c in samples.columns],
                   "rows": samples.to_numpy().tolist()})


# --------------------------------------------------------------------------- parsing


def _parse(data: Mapping[str, Any], *, source: str, model: bool,
           samples: pd.DataFrame | None = None) -> SweepConfig:
    where = Path(source).name if source.endswith(".toml") else source

    def fail(message: str) -> ConfigError:
        return ConfigError(f"config {where}: {message}")

    _check_keys(data, _SECTIONS, "top level", fail)
    sweep = _table(data, "sweep", fail, required=True)
    _check_keys(sweep, _SWEEP_KEYS, "[sweep]", fail)

    design = sweep.get("design")
    if design not in DESIGNS or (design == "samples" and samples is None):
        allowed = ", ".join(repr(d) for d in DESIGNS if d != "samples")
        raise fail(f"sweep.design: got {design!r}; allowed: one of {allowed}")
    options = _design_options(design, _table(data, "design", fail), fail)

    scenario = sweep.get("scenario", "collective")
    if model and scenario not in NAMED_SCENARIOS:
        raise fail(f"sweep.scenario: got {scenario!r}; allowed: one of "
                   + ", ".join(repr(s) for s in NAMED_SCENARIOS))
    replications = _integer(sweep.get("replications", 1), "sweep.replications", 1, fail,
                            MAX_REPLICATIONS)
    master_seed = _integer(sweep.get("master_seed"), "sweep.master_seed", 0, fail, SEED_MAX)
    seed_policy = sweep.get("seed_policy", "independent")
    if seed_policy not in SEED_POLICIES:
        raise fail(f"sweep.seed_policy: got {seed_policy!r}; allowed: one of "
                   + ", ".join(repr(s) for s in SEED_POLICIES))
    outputs = _outputs(sweep.get("outputs"), model, fail)

    fixed = dict(_table(data, "fixed", fail))
    if "steps" in sweep:
        if "steps" in fixed:
            raise fail("steps is given in both [sweep] and [fixed]; keep one")
        fixed["steps"] = sweep["steps"]
    if model:
        for name, value in list(fixed.items()):
            if name in _RESERVED:
                raise fail(f"fixed.{name}: run seeds come from sweep.master_seed; remove it")
            try:
                fixed[name] = get_parameter(name).validate(value)
            except ParameterError as exc:
                raise fail(f"[fixed] {exc}") from None

    raw_params = _table(data, "parameters", fail, required=True)
    if not raw_params:
        raise fail("[parameters] is empty; vary at least one parameter")
    varied = tuple(_varied(name, spec, design, model, fail) for name, spec in raw_params.items())
    for p in varied:
        if p.name in fixed:
            raise fail(f"parameters.{p.name} is both varied and in [fixed]; keep one")
    if design in ("sobol", "morris") and len(varied) < 2:
        raise fail(f"a {design} design needs at least two varied parameters")
    if samples is not None:
        samples = _check_samples(samples, varied, fail)

    analysis = _analysis(_table(data, "analysis", fail), [p.name for p in varied], fail)
    name = sweep.get("name", Path(source).stem if source.endswith(".toml") else "sweep")
    if not isinstance(name, str) or not name:
        raise fail(f"sweep.name: got {name!r}; allowed: a non-empty string")
    config = SweepConfig(design=design, parameters=varied, options=options, fixed=fixed,
                         scenario=scenario, replications=replications,
                         master_seed=master_seed, outputs=outputs, name=name,
                         analysis=analysis, model=model, samples=samples, source=source,
                         seed_policy=seed_policy)
    try:  # the size of the design, from its options alone: nothing is sampled yet
        check_runs(config.n_points(), replications, what=f"a {design} design")
    except UsageError as exc:
        raise fail(str(exc)) from None
    if model:
        _check_scenario(config, fail)
    return config


def _table(data: Mapping[str, Any], key: str, fail, required: bool = False) -> Mapping[str, Any]:
    value = data.get(key)
    if value is None:
        if required:
            raise fail(f"missing table [{key}]")
        return {}
    if not isinstance(value, Mapping):
        raise fail(f"[{key}] must be a table; got {type(value).__name__}")
    return value


def _check_keys(table: Mapping[str, Any], allowed: Sequence[str], where: str, fail) -> None:
    for key in table:
        if key not in allowed:
            close = difflib.get_close_matches(str(key), allowed, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise fail(f"{where}: unknown key {key!r}{hint}; allowed: {', '.join(allowed)}")


def _integer(value: Any, key: str, minimum: int, fail, maximum: int = MAX_RUNS) -> int:
    if (isinstance(value, bool) or not isinstance(value, int)
            or not minimum <= value <= maximum):
        raise fail(f"{key}: got {_short(value)}; allowed: an integer from {minimum:,} to "
                   f"{maximum:,}")
    return value


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _design_options(design: str, table: Mapping[str, Any], fail) -> dict[str, Any]:
    known = DESIGN_OPTIONS[design]
    _check_keys(table, tuple(known), f"[design] for a {design} design", fail)
    options = {**known, **table}
    for key, value in options.items():
        if value is None and key != "optimal_trajectories":
            raise fail(f"design.{key} is required for a {design} design")
    if "n" in options:
        options["n"] = _integer(options["n"], "design.n", 2, fail)
    if design == "sobol":
        n = options["n"]
        if n & (n - 1):
            raise fail(f"design.n: got {n}; a sobol design needs a power of 2 (e.g. 64, 128)")
        options["second_order"] = _boolean(options["second_order"], "design.second_order", fail)
    if design == "morris":
        options["num_levels"] = _integer(options["num_levels"], "design.num_levels", 2, fail)
        if options["num_levels"] % 2:
            raise fail(f"design.num_levels: got {options['num_levels']}; allowed: an even integer")
        traj = options["optimal_trajectories"]
        if traj is not None:
            traj = _integer(traj, "design.optimal_trajectories", 2, fail)
            if traj >= options["n"]:
                raise fail(f"design.optimal_trajectories: got {traj}; allowed: below design.n")
        options["local_optimization"] = _boolean(options["local_optimization"],
                                                 "design.local_optimization", fail)
    return options


def _boolean(value: Any, key: str, fail) -> bool:
    if not isinstance(value, bool):
        raise fail(f"{key}: got {value!r}; allowed: true or false")
    return value


def _outputs(value: Any, model: bool, fail) -> tuple[str, ...]:
    if (not isinstance(value, list) or not value
            or not all(isinstance(v, str) for v in value)):
        raise fail(f"sweep.outputs: got {value!r}; allowed: a non-empty list of output names")
    if model:
        for name in value:
            if name not in SUMMARY_FIELDS:
                close = difflib.get_close_matches(name, SUMMARY_FIELDS, n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                raise fail(f"sweep.outputs: unknown output {name!r}{hint}; allowed: "
                           + ", ".join(SUMMARY_FIELDS))
    if len(set(value)) != len(value):
        raise fail("sweep.outputs: an output is listed twice")
    return tuple(value)


def _varied(name: str, spec: Any, design: str, model: bool, fail) -> Varied:
    key = f"parameters.{name}"
    if model:
        if name in _RESERVED:
            raise fail(f"{key}: run seeds come from sweep.master_seed and cannot be varied")
        try:
            declared = get_parameter(name)
        except ParameterError as exc:
            raise fail(f"[parameters] {exc}") from None
        kind, lo, hi, allowed = declared.kind, declared.minimum, declared.maximum, declared.allowed
        check: Callable[[Any], Any] = declared.validate
    else:
        kind, lo, hi, allowed = "float", -math.inf, math.inf, "any number"

        def check_number(v: Any) -> Any:
            if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
                raise ParameterError(f"parameter '{name}': got {v!r}; allowed: {allowed}")
            return float(v)

        check = check_number

    if not isinstance(spec, Mapping):
        raise fail(f"{key}: expected a table like {{ bounds = [low, high] }} or "
                   f"{{ levels = [...] }}; got {spec!r}")
    _check_keys(spec, ("bounds", "levels", "num"), key, fail)
    if "bounds" in spec and "levels" in spec:
        raise fail(f"{key}: give either bounds or levels, not both")

    if "levels" in spec:
        if design not in ("grid", "samples"):
            raise fail(f"{key}: levels are for grid designs; a {design} design needs bounds")
        levels = spec["levels"]
        if not isinstance(levels, list) or not levels:
            raise fail(f"{key}.levels: got {levels!r}; allowed: a non-empty list of values")
        try:
            clean = tuple(check(v) for v in levels)
        except ParameterError as exc:
            raise fail(f"{key}.levels: {exc}") from None
        if design == "grid" and len(set(clean)) != len(clean):
            raise fail(f"{key}.levels: a level is listed twice")
        return Varied(name, kind, None, clean)

    if "bounds" not in spec:
        raise fail(f"{key}: give bounds = [low, high] or levels = [...]")
    if kind == "choice":
        raise fail(f"{key}: {name} takes {allowed}; list them as levels in a grid design")
    bounds = spec["bounds"]
    if (not isinstance(bounds, list) or len(bounds) != 2
            or not all(isinstance(b, int | float) and not isinstance(b, bool) for b in bounds)):
        raise fail(f"{key}.bounds: got {bounds!r}; allowed: two numbers [low, high]")
    low, high = bounds
    if kind == "int" and not all(float(b).is_integer() for b in bounds):
        raise fail(f"{key}.bounds: got {bounds!r}; {name} is an integer parameter")
    if low > high:
        raise fail(f"{key}.bounds: [{low}, {high}] are inverted; low must be below high")
    if low == high:
        raise fail(f"{key}.bounds: low equals high ({low}); put a constant in [fixed] instead")
    for b in (low, high):
        if not lo <= b <= hi:
            raise fail(f"{key}.bounds: {b} is outside the declared range of {name} ({allowed})")
    cast = int if kind == "int" else float
    low, high = cast(low), cast(high)
    if "num" in spec:
        if design != "grid":
            raise fail(f"{key}.num: num is for grid designs; {design} designs sample bounds")
        num = _integer(spec["num"], f"{key}.num", 2, fail)
        values = np.linspace(low, high, num)
        if kind == "int":
            values = np.unique(np.round(values).astype(int))
        return Varied(name, kind, None, tuple(cast(v) for v in values))
    if design == "grid":
        raise fail(f"{key}: a grid needs levels = [...] or bounds with num = <count>")
    if design == "samples":
        raise fail(f"{key}: a samples design takes its values from the table")
    return Varied(name, kind, (low, high), None)


def _check_samples(samples: pd.DataFrame, varied: tuple[Varied, ...], fail) -> pd.DataFrame:
    clean = pd.DataFrame(index=samples.index)
    for p in varied:
        values = samples[p.name].tolist()
        # levels hold the validated unique values, in order of first appearance
        assert p.levels is not None, "a samples design gives every parameter levels"
        to_clean = dict(zip(_unique(values), p.levels, strict=True))
        clean[p.name] = [to_clean[v] for v in values]
    if clean.isna().any().any():
        raise fail("samples: the table has missing values")
    return clean


def _analysis(table: Mapping[str, Any], names: list[str], fail) -> dict[str, Any]:
    _check_keys(table, tuple(ANALYSIS_OPTIONS), "[analysis]", fail)
    out = {**ANALYSIS_OPTIONS, **table}
    heat = out["heatmap"]
    if heat is not None and (not isinstance(heat, list) or len(heat) != 2
                             or heat[0] == heat[1] or any(h not in names for h in heat)):
        raise fail(f"analysis.heatmap: got {heat!r}; allowed: two different varied "
                   f"parameters among {', '.join(names)}")
    out["bins"] = _integer(out["bins"], "analysis.bins", 2, fail)
    out["num_resamples"] = _integer(out["num_resamples"], "analysis.num_resamples", 10, fail)
    out["replicate_resamples"] = _integer(out["replicate_resamples"],
                                          "analysis.replicate_resamples", 20, fail, 100_000)
    level = out["conf_level"]
    if not isinstance(level, float) or not 0.0 < level < 1.0:
        raise fail(f"analysis.conf_level: got {level!r}; allowed: a number between 0 and 1")
    return out


def _ends(p: Varied) -> tuple[Any, ...]:
    """The levels of a parameter given by levels, else its (low, high) bounds."""
    if p.levels is not None:
        return p.levels
    assert p.bounds is not None, f"{p.name}: a varied parameter has levels or bounds"
    return p.bounds


def _check_scenario(config: SweepConfig, fail) -> None:
    """Build the scenario at the corners of the space, so combined values are checked too."""
    from model.scenarios import make_scenario

    for pick in (0, -1):
        point = {p.name: _ends(p)[pick] for p in config.parameters}
        try:
            make_scenario(config.scenario, **{**config.fixed, **point})
        except ParameterError as exc:
            raise fail(str(exc)) from None


def _unique(values: list[Any]) -> list[Any]:
    return list(dict.fromkeys(values))
