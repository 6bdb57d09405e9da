"""The model as an EMA Workbench model, for exploratory modelling studies.

``build_model`` returns an ``ema_workbench.Model`` whose function runs the model
through ``experiments.runner.run_one``. Everything it declares comes from the
project's declarations, nothing is restated:

- **Uncertainties** are declared parameters: an ``int`` parameter becomes an
  ``IntegerParameter``, a ``float`` one a ``RealParameter``, both over the declared
  minimum and maximum unless narrower bounds are given; a ``choice`` parameter
  becomes a ``CategoricalParameter`` of its allowed values (or of a subset given).
  By default the uncertain parameters are those of the ``"condition"`` group (the
  five conditions of collective impact) and the ``"community"`` group (the priors
  of communities' hidden traits); the others keep the scenario's values.
- **Outcomes** are the declared summary outputs (``model.metrics.SUMMARY_OUTPUTS``),
  one ``ScalarOutcome`` each, with ``kind`` ``MAXIMIZE`` where higher is better,
  ``MINIMIZE`` where lower is better and ``INFO`` otherwise. Values are floats
  (``months_to_needle`` is NaN when the needle never moved), ``needle_moved`` is a
  bool, and an integer output a float cannot hold exactly (the run ``seed``, when
  the summary declares it) is a 64-bit integer.
- **Constants** are the values given in ``fixed`` and ``steps``, and the master
  seed (the declared ``seed`` parameter; ``fixed={"seed": N}`` changes it).

Seeds: EMA passes the model function only the values of the experiment, never an
experiment number (its sample ids come from a process-wide counter). So each
run's seed is derived from the master seed, the experiment's values of the
uncertainties and the replicate number by a SHA-256 digest (``experiment_seed``).
The same sampler seed therefore gives the same experiments (all but the sample
names in the ``scenario`` column, which EMA numbers with that counter), the same
run seeds and the same outcomes, whichever evaluator runs them in whichever order. Two
scenarios or two sets of constants (``steps``, say) get the same seed at the same
point of the uncertainty space, so comparisons between them use common random
numbers. ``replay`` reruns any row of the experiments table with ``run_one``.

Replications: ``build_model(replications=n)`` returns an
``ema_workbench.ReplicatorModel`` that runs every experiment ``n`` times (replicate
``i`` gets its own derived seed) and reports, per outcome, ``aggregate`` (by
default the mean) of the ``n`` values. Without it, each experiment is one run: a
plain ``Model``, whose run seed is that of replicate 0.

Example (the sampler seed is ``uncertainty_sampling_kwargs={"rng": ...}``)::

    from ema_workbench import MultiprocessingEvaluator, perform_experiments
    from experiments.ema import build_model

    model = build_model("collective", steps=60, fixed={"n_residents": 500})
    with MultiprocessingEvaluator(model, n_processes=2) as evaluator:
        experiments, outcomes = perform_experiments(
            model, scenarios=100, evaluator=evaluator,
            uncertainty_sampling_kwargs={"rng": 42})

In a script, put this under ``if __name__ == "__main__":`` where worker processes
are spawned rather than forked (macOS, Windows). The EMA Workbench is an optional
dependency: ``pip install -e ".[ema]"``.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import math
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

try:
    with warnings.catch_warnings():
        # Raised on every import when the optional ipyparallel is absent; not our concern.
        warnings.filterwarnings("ignore", message="ipyparallel not installed",
                                category=UserWarning)
        from ema_workbench import (
            CategoricalParameter,
            Constant,
            IntegerParameter,
            Model,
            RealParameter,
            ReplicatorModel,
            ScalarOutcome,
        )
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError(
        "experiments.ema needs the optional EMA Workbench: pip install -e '.[ema]' "
        "(or pip install 'ema_workbench>=3.0')"
    ) from exc

from experiments.runner import run_one
from model.metrics import SUMMARY_OUTPUTS, Output
from model.parameters import (
    DEFAULTS,
    PARAMETERS,
    Parameter,
    ParameterError,
    get_parameter,
)
from model.scenarios import make_scenario
from model.seeds import SEED_MAX

__all__ = [
    "DEFAULT_GROUPS",
    "REPLICATE",
    "ExperimentFunction",
    "build_model",
    "ema_outcome",
    "ema_uncertainty",
    "experiment_seed",
    "replay",
]

#: Parameter groups (``Parameter.group``) that are uncertain when none are named.
DEFAULT_GROUPS: tuple[str, ...] = ("condition", "community")

#: Keyword the replicate number reaches the model function under (ReplicatorModel).
REPLICATE = "replicate"

_SEED = get_parameter("seed")

#: EMA's outcome kind for each ``Output.better``.
_KINDS: dict[str, int] = {
    "higher": ScalarOutcome.MAXIMIZE,
    "lower": ScalarOutcome.MINIMIZE,
    "neither": ScalarOutcome.INFO,
}

Bounds = tuple[float, float] | Sequence[str] | None


def experiment_seed(values: Mapping[str, Any], master_seed: int = DEFAULTS["seed"],
                    replicate: int = 0) -> int:
    """The seed of the run for one experiment: a digest of its values.

    Args:
        values: The experiment's values of its uncertain parameters (declared names;
            each is converted to its declared type first, so ``3.0`` and ``3`` of an
            integer parameter, or NumPy and Python numbers, give the same seed).
        master_seed: The study's master seed (the declared ``seed`` parameter).
        replicate: Replicate number (0 for a study without replications).

    Returns:
        An integer seed in the declared range of ``seed``, the same in every process
        and on every platform (SHA-256 of a canonical JSON text, not Python's ``hash``).

    Raises:
        ParameterError: an unknown parameter name or a value it does not allow.
    """
    clean = {name: get_parameter(name).validate(value) for name, value in values.items()}
    text = json.dumps(
        {"master_seed": _SEED.validate(master_seed), "replicate": int(replicate),
         "values": clean},
        sort_keys=True, separators=(",", ":"), allow_nan=False,
    )
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "little") % (SEED_MAX + 1)


def _exact_integer(output: Output) -> bool:
    """Whether an output's values are integers a float cannot hold exactly (a seed).

    Read from the declaration: a finite upper bound beyond 2**53.
    """
    return output.upper is not None and math.isfinite(output.upper) and output.upper > 2**53


def _outcome_value(value: Any, output: Output) -> float | bool | int:
    """A summary value as EMA stores it, of one type per output in every run.

    A bool stays a bool, an integer too large for a float (a seed) an int, None
    becomes NaN and every other number a float (EMA types each outcome's array by
    its first value, so ``months_to_needle``, an int or None, must always be a float).
    """
    if _exact_integer(output):
        return int(value)
    if value is None:
        return math.nan
    if isinstance(value, bool | np.bool_):
        return bool(value)
    return float(value)


@dataclass(frozen=True)
class ExperimentFunction:
    """The function of the EMA model: one experiment in, its outcomes out.

    A plain picklable object, so the multiprocessing evaluator can send it to its
    workers.

    Attributes:
        scenario: Named scenario every run starts from.
        uncertain: Names of the uncertain parameters (their values seed the run).
        outputs: Names of the summary outputs returned.
    """

    scenario: str
    uncertain: tuple[str, ...]
    outputs: tuple[str, ...]

    def __call__(self, **inputs: Any) -> dict[str, float | bool]:
        """Run one experiment (or one replicate) and return its outcomes by name."""
        summary, _ = self.run(inputs)
        return {name: _outcome_value(summary[name], SUMMARY_OUTPUTS[name])
                for name in self.outputs}

    def seed_for(self, inputs: Mapping[str, Any]) -> int:
        """The run seed of the experiment with these inputs (see ``experiment_seed``)."""
        missing = [name for name in self.uncertain if name not in inputs]
        if missing:
            raise ParameterError(f"experiment: no value for uncertain parameter(s) {missing}; "
                                 "allowed: a value for each of " + ", ".join(self.uncertain))
        return experiment_seed({name: inputs[name] for name in self.uncertain},
                               master_seed=inputs.get("seed", DEFAULTS["seed"]),
                               replicate=inputs.get(REPLICATE, 0))

    def run(self, inputs: Mapping[str, Any]) -> tuple[dict[str, Any], pd.DataFrame]:
        """Run the experiment with these inputs through ``run_one``.

        Args:
            inputs: What EMA passes: uncertain values, constants (``seed`` is the
                master seed) and, for a replicated model, the replicate number.

        Returns:
            ``run_one``'s (summary, timeseries).
        """
        params = {name: value for name, value in inputs.items()
                  if name not in ("seed", REPLICATE)}
        return run_one(self.scenario, self.seed_for(inputs), **params)


def ema_uncertainty(parameter: Parameter, bounds: Bounds = None
                    ) -> IntegerParameter | RealParameter | CategoricalParameter:
    """The EMA uncertainty for one declared parameter.

    Args:
        parameter: The declaration.
        bounds: For a number, ``(low, high)`` within the declared range (None: the
            declared minimum and maximum); for a choice, the allowed values to
            sample from (None: all of them).

    Returns:
        An ``IntegerParameter``, ``RealParameter`` or ``CategoricalParameter``.

    Raises:
        ParameterError: bounds outside the declared range, not increasing, or fewer
            than two choices.
    """
    name = parameter.name
    if parameter.kind == "choice":
        choices = tuple(parameter.choices or ()) if bounds is None else tuple(bounds)
        choices = tuple(parameter.validate(c) for c in choices)
        if len(set(choices)) < 2 or len(set(choices)) != len(choices):
            raise ParameterError(f"parameter '{name}': got choices {choices!r}; allowed: two "
                                 f"or more different values, each {parameter.allowed}")
        return CategoricalParameter(name, list(choices))
    low: Any  # validated below: a declared bound or a caller's value of any type
    high: Any
    if bounds is None:
        low, high = parameter.minimum, parameter.maximum
    else:
        try:
            low, high = bounds
        except (TypeError, ValueError):
            raise ParameterError(f"parameter '{name}': got bounds {bounds!r}; allowed: "
                                 f"(low, high), each {parameter.allowed}") from None
    low, high = parameter.validate(low), parameter.validate(high)
    if not low < high:
        raise ParameterError(f"parameter '{name}': got bounds ({low!r}, {high!r}); allowed: "
                             "low < high (give a single value with fixed=)")
    if parameter.kind == "int":
        return IntegerParameter(name, int(low), int(high))
    return RealParameter(name, float(low), float(high))


def ema_outcome(output: Output, aggregate: Callable[[Sequence[Any]], Any] | None = None
                ) -> ScalarOutcome:
    """The EMA ``ScalarOutcome`` for one declared summary output.

    Args:
        output: The declaration; its ``better`` sets the kind (MAXIMIZE, MINIMIZE, INFO).
        aggregate: For a replicated model, the function that reduces the replicates'
            values to one number (it must pickle for parallel evaluators).
    """
    return ScalarOutcome(output.name, kind=_KINDS[output.better], function=aggregate)


def _as_bounds(uncertainties: Iterable[str] | Mapping[str, Bounds] | None
               ) -> dict[str, Bounds]:
    """Uncertain parameter names mapped to their bounds (None: declared), checked."""
    if uncertainties is None:
        return {p.name: None for p in PARAMETERS if p.group in DEFAULT_GROUPS}
    if isinstance(uncertainties, str):
        uncertainties = [uncertainties]
    if isinstance(uncertainties, Mapping):
        pairs = list(uncertainties.items())
    else:
        pairs = [(name, None) for name in uncertainties]
    out: dict[str, Bounds] = {}
    for name, bounds in pairs:
        get_parameter(name)  # an unknown name is refused, naming it
        if name in out:
            raise ParameterError(f"parameter '{name}': named twice in uncertainties; "
                                 "allowed: once")
        if name == "seed":
            raise ParameterError("parameter 'seed': cannot be uncertain; allowed: set the "
                                 "master seed with fixed={'seed': N} (each experiment's run "
                                 "seed is derived from it and its values)")
        out[name] = bounds
    if not out:
        raise ParameterError("uncertainties: none given; allowed: one or more declared "
                             "parameter names (None: the condition and community groups)")
    return out


def _outputs(outcomes: Iterable[str] | None, replicated: bool) -> tuple[str, ...]:
    """Names of the summary outputs to report, checked against the declarations.

    A replicated model reports one aggregate per outcome, which means nothing for an
    identifier such as the run ``seed``: it is left out by default and refused if named.
    """
    if outcomes is None:
        return tuple(name for name, output in SUMMARY_OUTPUTS.items()
                     if not (replicated and _exact_integer(output)))
    names = [outcomes] if isinstance(outcomes, str) else list(outcomes)
    for name in names:
        if name not in SUMMARY_OUTPUTS:
            close = difflib.get_close_matches(str(name), SUMMARY_OUTPUTS, n=3)
            hint = f" (did you mean {', '.join(close)}?)" if close else ""
            raise ParameterError(f"unknown output {name!r}{hint}; allowed: one of the "
                                 f"{len(SUMMARY_OUTPUTS)} declared summary outputs")
        if replicated and _exact_integer(SUMMARY_OUTPUTS[name]):
            raise ParameterError(f"output {name!r}: an identifier, not aggregated over "
                                 "replications; allowed: the other summary outputs")
    if not names or len(set(names)) != len(names):
        raise ParameterError(f"outcomes: got {names!r}; allowed: one or more different "
                             "declared summary outputs")
    return tuple(names)


def build_model(
    scenario: str = "collective",
    *,
    uncertainties: Iterable[str] | Mapping[str, Bounds] | None = None,
    outcomes: Iterable[str] | None = None,
    fixed: Mapping[str, Any] | None = None,
    steps: int | None = None,
    replications: int | None = None,
    aggregate: Callable[[Sequence[Any]], Any] = np.mean,
    name: str | None = None,
) -> Model | ReplicatorModel:
    """An EMA Workbench model of the collective-impact model.

    Args:
        scenario: Named scenario (``model.scenarios.NAMED_SCENARIOS``) every run
            starts from; parameters neither uncertain nor fixed keep its values.
        uncertainties: Declared parameter names, or names mapped to bounds: ``(low,
            high)`` inside the declared range for a number, a subset of the allowed
            values for a choice, None for the declared range. None: every parameter
            of the groups in ``DEFAULT_GROUPS``. ``seed`` cannot be uncertain.
        outcomes: Declared summary outputs to report (None: all of them).
        fixed: Declared parameters held at a value in every run (EMA constants);
            ``seed`` here is the master seed of the study.
        steps: Months per run (a constant; None: the scenario's ``steps``).
        replications: Runs per experiment, each with its own seed; gives a
            ``ReplicatorModel`` (None: one run per experiment, a ``Model``).
        aggregate: With ``replications``, how each outcome's replicate values become
            one value (a picklable function; default the mean, so ``needle_moved``
            becomes the share of replicates that moved the needle).
        name: EMA model name, a Python identifier (default ``cisim_<scenario>``).

    Returns:
        The EMA model; run a study with one ``perform_experiments(model, scenarios=N,
        uncertainty_sampling_kwargs={"rng": SEED})`` call.

    Raises:
        ParameterError: before anything runs, for an unknown scenario, parameter or
            output (named), a value or bound out of range, or a parameter both
            uncertain and fixed.
    """
    if not isinstance(scenario, str):
        raise ParameterError(f"scenario: got {scenario!r}; allowed: the name of a named "
                             "scenario (see 'cisim scenarios')")
    bounds = _as_bounds(uncertainties)
    constants = {n: get_parameter(n).validate(v) for n, v in dict(fixed or {}).items()}
    if steps is not None:
        if "steps" in constants:
            raise ParameterError("parameter 'steps': given twice (as steps and in fixed); "
                                 "allowed: give it once")
        constants["steps"] = get_parameter("steps").validate(steps)
    both = sorted(set(bounds) & set(constants))
    if both:
        raise ParameterError(f"parameter '{both[0]}': both uncertain and fixed; allowed: "
                             "one of the two")
    constants.setdefault("seed", DEFAULTS["seed"])
    # An unknown scenario, or fixed values it refuses, fail here rather than in a worker.
    make_scenario(scenario, **{k: v for k, v in constants.items() if k != "seed"})
    if replications is not None and (isinstance(replications, bool)
                                     or not isinstance(replications, int) or replications < 1):
        raise ParameterError(f"replications: got {replications!r}; allowed: an integer >= 1 "
                             "or None")

    output_names = _outputs(outcomes, replicated=replications is not None)
    function = ExperimentFunction(scenario, tuple(bounds), output_names)
    model_name = name if name is not None else f"cisim_{scenario}"
    if replications is None:
        model: Model | ReplicatorModel = Model(model_name, function=function)
        reduce = None
    else:
        model = ReplicatorModel(model_name, function=function)
        model.replications = [{REPLICATE: i} for i in range(replications)]
        reduce = aggregate
    model.uncertainties = [ema_uncertainty(get_parameter(n), b) for n, b in bounds.items()]
    model.constants = [Constant(n, v) for n, v in constants.items()]
    model.outcomes = [ema_outcome(SUMMARY_OUTPUTS[n], reduce) for n in output_names]
    return model


def replay(model: Model | ReplicatorModel, experiment: Mapping[str, Any],
           replicate: int = 0) -> tuple[dict[str, Any], pd.DataFrame]:
    """Rerun one experiment of a study with ``run_one``, for its full time series.

    Args:
        model: The model ``build_model`` returned for the study.
        experiment: A row of the experiments table (``experiments.iloc[i]``) or any
            mapping with a value for each uncertainty; other entries are ignored.
        replicate: Which replicate to rerun (0 without replications).

    Returns:
        ``run_one``'s (summary, timeseries) for that run, the run the study made.
    """
    function = model.function
    if not isinstance(function, ExperimentFunction):
        raise TypeError(f"replay: got a model whose function is {function!r}; allowed: a "
                        "model made by experiments.ema.build_model")
    inputs = {c.name: c.value for c in model.constants}
    inputs.update({u.name: experiment[u.name] for u in model.uncertainties})
    if isinstance(model, ReplicatorModel):
        inputs[REPLICATE] = replicate
    elif replicate != 0:
        raise ParameterError(f"replicate: got {replicate!r}; allowed: 0 (the model has no "
                             "replications)")
    return function.run(inputs)
