"""Which condition carries the effect: the full factorial of the five conditions, Shapley values.

The framework prescribes five conditions at once; a funder wants to know which
of them the result depends on. This study runs every combination of the five
condition switches (2**5 = 32 design points, each condition either off, 0, or
at the level the base scenario gives it) with the same seeds in every
combination (the ``common`` seed policy): replication r of every combination
starts from the same community, so differences between combinations are paired.

For an outcome y and a set S of conditions switched on, v(S) is y's value with
exactly S on. The *Shapley value* of condition i averages its marginal
contribution v(S + i) - v(S) over every order in which the conditions could be
added:

    phi_i = sum over S not holding i of |S|! (n - |S| - 1)! / n! * (v(S + i) - v(S))

The five values add up exactly to v(all five) - v(none), so they split the
effect of the whole framework among its conditions, interactions included
(an interaction is shared equally by the conditions it joins). Values are
computed for each replication (its own community) and their mean gets a
Student-t interval over replications. The study also reports the factorial's
main effects and two-way interactions.
"""

from __future__ import annotations

import itertools
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from experiments.engine import (
    DEFAULT_MASTER_SEED,
    Design,
    ModelEvaluation,
    RunStore,
    StudyFolder,
    execute,
    make_executor,
    model_schema,
)
from experiments.engine.limits import MAX_REPLICATIONS, check_count
from experiments.engine.store import write_frame
from experiments.errors import UsageError
from experiments.io import write_csv, write_json, write_parquet
from experiments.stats import CONFIDENCE, mean_interval
from model.metrics import SUMMARY_OUTPUTS
from model.parameters import PARAMETERS, get_parameter
from model.scenarios import make_scenario

CONDITIONS: tuple[str, ...] = tuple(p.name for p in PARAMETERS if p.group == "condition")
"""The five condition switches, in declaration order."""

OUTCOMES: tuple[str, ...] = ("improvement_pct", "needle_moved")
"""What the values split by default: the wellbeing gain and whether the needle moved."""

DEFAULT_REPS = 24
"""Replications per combination, as in the comparison: 32 x 24 = 768 runs, about four
minutes on 2 cores. A Shapley value's interval then reaches t(0.975, 23) / sqrt(24) = 0.42
standard deviations of its per-community values on each side; with 12 the default
comparison's +2.8-point effect of all five conditions was not told from zero."""


# --- the arithmetic -----------------------------------------------------------------------
def subsets(n: int) -> list[tuple[int, ...]]:
    """Every on/off pattern of ``n`` switches, as 0/1 tuples (binary counting order)."""
    return [tuple(reversed(bits)) for bits in itertools.product((0, 1), repeat=n)]


def shapley_values(values: Mapping[tuple[int, ...], np.ndarray]) -> np.ndarray:
    """Shapley value of each player for a game given on every coalition.

    Args:
        values: v(S) for every 0/1 pattern S of n players; each value an array of
            the same shape (for instance one entry per replication).

    Returns:
        Array of shape (n, *value shape): row i is player i's Shapley value.
    """
    patterns = list(values)
    n = len(patterns[0])
    if len(patterns) != 2**n:
        raise ValueError(f"a game of {n} players needs all {2**n} coalitions; got "
                         f"{len(patterns)}")
    first = np.asarray(values[patterns[0]], dtype=float)
    out = np.zeros((n, *first.shape))
    for pattern in patterns:
        size = sum(pattern)
        for i in range(n):
            if pattern[i]:
                continue
            weight = math.factorial(size) * math.factorial(n - size - 1) / math.factorial(n)
            joined = (*pattern[:i], 1, *pattern[i + 1:])
            out[i] += weight * (np.asarray(values[joined], float)
                                - np.asarray(values[pattern], float))
    return out


def factorial_effects(values: Mapping[tuple[int, ...], np.ndarray]) -> dict[tuple[int, ...],
                                                                             np.ndarray]:
    """Main effects and two-way interactions of a two-level full factorial.

    The main effect of factor i is the mean of y with i on minus the mean with i off
    (over every setting of the others); the interaction of i and j is half the
    difference between i's effect with j on and with j off.

    Returns:
        ``{(i,): main effect, (i, j): interaction}``, each with the value shape.
    """
    patterns = list(values)
    n = len(patterns[0])
    stacked = {p: np.asarray(v, dtype=float) for p, v in values.items()}
    effects: dict[tuple[int, ...], np.ndarray] = {}

    def mean_where(condition: Any) -> np.ndarray:
        chosen = [stacked[p] for p in patterns if condition(p)]
        return np.mean(chosen, axis=0)

    for i in range(n):
        effects[(i,)] = mean_where(lambda p, i=i: p[i]) - mean_where(lambda p, i=i: not p[i])
    for i, j in itertools.combinations(range(n), 2):
        on = (mean_where(lambda p, i=i, j=j: p[i] and p[j])
              - mean_where(lambda p, i=i, j=j: not p[i] and p[j]))
        off = (mean_where(lambda p, i=i, j=j: p[i] and not p[j])
               - mean_where(lambda p, i=i, j=j: not p[i] and not p[j]))
        effects[(i, j)] = (on - off) / 2.0
    return effects


# --- the plan -----------------------------------------------------------------------------
@dataclass(frozen=True)
class ConditionsPlan:
    """A validated factorial of the five conditions (nothing has run yet).

    Attributes:
        scenario: the base scenario (its grant practice and everything else stay).
        reps: replications per combination.
        master_seed: root of every seed (common seeds across combinations).
        params: declared parameters changed in every run.
        levels: the level each condition takes when it is on (the base scenario's).
        outcomes: summary outputs whose differences are split.
    """

    scenario: str
    reps: int
    master_seed: int
    params: dict[str, Any]
    levels: dict[str, float]
    outcomes: tuple[str, ...]

    @property
    def patterns(self) -> list[tuple[int, ...]]:
        """The 32 on/off patterns, in design order."""
        return subsets(len(CONDITIONS))

    def design(self) -> Design:
        """One point per pattern (conditions off or at their level), common seeds."""
        points = tuple({c: (self.levels[c] if on else 0.0)
                        for c, on in zip(CONDITIONS, pattern, strict=True)}
                       for pattern in self.patterns)
        return Design(points, self.reps, self.master_seed, "common",
                      {"scenario": self.scenario, **self.params})

    def config(self) -> dict[str, Any]:
        """What determines the runs (the result folder's fingerprint)."""
        return {"scenario": self.scenario, "reps": self.reps, "master_seed": self.master_seed,
                "params": dict(self.params), "levels": dict(self.levels),
                "seed_policy": "common"}


def plan_conditions(scenario: str = "collective", reps: int = DEFAULT_REPS,
                    seed: int | None = None, params: Mapping[str, Any] | None = None,
                    outcomes: Sequence[str] = OUTCOMES) -> ConditionsPlan:
    """Validate the study's inputs and return its plan.

    Args:
        scenario: base scenario; its grant practice (``regime``) and other values stay
            the same in all 32 combinations.
        reps: replications per combination (2 to ``MAX_REPLICATIONS``).
        seed: master seed (default ``DEFAULT_MASTER_SEED``).
        params: declared parameters changed in every run; the five conditions may be
            set here to choose the level each takes when on.
        outcomes: summary outputs to split (numeric or yes/no).

    Raises:
        UsageError, ParameterError: bad input, before anything runs.
    """
    params = dict(params or {})
    check_count("--reps", reps, 2, MAX_REPLICATIONS)
    master = params.pop("seed", None) if seed is None else seed
    master = get_parameter("seed").validate(DEFAULT_MASTER_SEED if master is None else master)
    base = make_scenario(scenario, rng=master, **params).parameters()
    levels = {c: float(params.pop(c, base[c])) for c in CONDITIONS}
    off = [c for c, level in levels.items() if level <= 0.0]
    if off:
        raise UsageError(f"conditions {', '.join(off)} are off in the base scenario "
                         f"{scenario!r}; give their level when on with --set NAME=LEVEL "
                         "(above 0)")
    unknown = [o for o in outcomes if o not in SUMMARY_OUTPUTS or o == "seed"]
    if unknown or not outcomes:
        raise UsageError(f"--outcomes: unknown output {unknown[0] if unknown else ''!r}; "
                         f"allowed: summary outputs such as {', '.join(OUTCOMES)}")
    plan = ConditionsPlan(scenario, reps, master, params, levels, tuple(outcomes))
    plan.design()  # refuses a design too large to run
    return plan


# --- results ------------------------------------------------------------------------------
def label(pattern: tuple[int, ...]) -> str:
    """A combination in words: the conditions on, joined by '+', or 'none'."""
    return "+".join(c for c, on in zip(CONDITIONS, pattern, strict=True) if on) or "none"


@dataclass
class ConditionsResult:
    """The factorial's runs and what follows from them.

    Attributes:
        plan: what ran.
        runs: the engine's runs table (one row per run; ``error`` null on success).
    """

    plan: ConditionsPlan
    runs: pd.DataFrame

    def values(self, outcome: str) -> dict[tuple[int, ...], np.ndarray]:
        """v(S) per replication: ``outcome`` for each pattern, one entry per replication.

        Raises:
            UsageError: some runs failed (every combination needs every replication).
        """
        if self.runs["error"].notna().any():
            raise UsageError(f"{int(self.runs['error'].notna().sum())} runs failed; every "
                             "combination needs all its replications (run the same command "
                             "again to retry them)")
        wide = self.runs.pivot(index="replication", columns="point",
                               values=outcome).astype(float)
        return {p: wide[k].to_numpy() for k, p in enumerate(self.plan.patterns)}

    def shapley(self) -> pd.DataFrame:
        """Columns ``condition, outcome, value, low, high``: mean Shapley value and interval."""
        rows = []
        for outcome in self.plan.outcomes:
            per_rep = shapley_values(self.values(outcome))
            for c, phi in zip(CONDITIONS, per_rep, strict=True):
                mean, low, high = mean_interval(phi)
                rows.append({"condition": c, "outcome": outcome, "value": mean, "low": low,
                             "high": high})
        return pd.DataFrame(rows)

    def totals(self) -> pd.DataFrame:
        """Per outcome: v(none), v(all five) and their paired difference with its interval."""
        rows = []
        for outcome in self.plan.outcomes:
            v = self.values(outcome)
            none, full = v[(0,) * len(CONDITIONS)], v[(1,) * len(CONDITIONS)]
            mean, low, high = mean_interval(full - none)
            rows.append({"outcome": outcome, "none": float(none.mean()),
                         "all": float(full.mean()), "difference": mean, "low": low,
                         "high": high})
        return pd.DataFrame(rows)

    def effects(self) -> pd.DataFrame:
        """Main effects and two-way interactions with intervals over replications.

        Columns ``outcome, term, condition, condition_2, value, low, high``; ``term`` is
        ``main`` or ``interaction``.
        """
        rows = []
        for outcome in self.plan.outcomes:
            for key, per_rep in factorial_effects(self.values(outcome)).items():
                mean, low, high = mean_interval(per_rep)
                rows.append({"outcome": outcome,
                             "term": "main" if len(key) == 1 else "interaction",
                             "condition": CONDITIONS[key[0]],
                             "condition_2": CONDITIONS[key[1]] if len(key) == 2 else None,
                             "value": mean, "low": low, "high": high})
        return pd.DataFrame(rows)

    def factorial(self) -> pd.DataFrame:
        """One row per combination: the switches, its label and each outcome's mean."""
        rows = []
        for k, pattern in enumerate(self.plan.patterns):
            row: dict[str, Any] = {"point": k, "combination": label(pattern),
                                   "conditions_on": sum(pattern)}
            row.update({c: bool(on) for c, on in zip(CONDITIONS, pattern, strict=True)})
            for outcome in self.plan.outcomes:
                mean, low, high = mean_interval(self.values(outcome)[pattern])
                row.update({f"{outcome}_mean": mean, f"{outcome}_lo": low,
                            f"{outcome}_hi": high})
            rows.append(row)
        return pd.DataFrame(rows)


def open_folder(plan: ConditionsPlan, out: str | os.PathLike) -> StudyFolder:
    """The result folder of ``plan`` (not yet entered)."""
    return StudyFolder(out, "conditions", plan.config(),
                       {"design": plan.design().record(), "outcomes": list(plan.outcomes)})


def run_conditions(plan: ConditionsPlan, store: RunStore | None = None, *,
                   jobs: int = 1, backend: str = "loky", scheduler: str | None = None,
                   progress: bool = True) -> ConditionsResult:
    """Run (or resume, with a ``store``) the 32 combinations of ``plan``."""
    schema = model_schema(series=False)
    with make_executor(backend, jobs, scheduler) as executor:
        done = execute(plan.design(), ModelEvaluation(plan.scenario), schema, store=store,
                       executor=executor, retry_failed=True, progress=progress,
                       desc="cisim conditions")
    return ConditionsResult(plan, done.runs)


def write_results(result: ConditionsResult, out: str | os.PathLike) -> dict[str, Path]:
    """Write the study's tables into ``out``; return their paths.

    ``shapley.csv``, ``effects.csv``, ``totals.csv``, ``factorial.parquet`` (one row
    per combination), ``runs.parquet`` and ``conditions.json`` (the setup).
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    paths = {name: out / name for name in ("shapley.csv", "effects.csv", "totals.csv",
                                           "factorial.parquet", "runs.parquet",
                                           "conditions.json")}
    write_csv(result.shapley(), paths["shapley.csv"])
    write_csv(result.effects(), paths["effects.csv"])
    write_csv(result.totals(), paths["totals.csv"])
    write_parquet(result.factorial(), paths["factorial.parquet"])
    write_frame(result.runs, model_schema(series=False).runs, paths["runs.parquet"])
    plan = result.plan
    write_json({"scenario": plan.scenario, "reps": plan.reps, "master_seed": plan.master_seed,
                "params": plan.params, "levels": plan.levels, "outcomes": list(plan.outcomes),
                "conditions": list(CONDITIONS), "confidence": CONFIDENCE,
                "runs": len(result.runs), "seed_policy": "common",
                "units": {o: SUMMARY_OUTPUTS[o].unit for o in plan.outcomes}},
               paths["conditions.json"])
    return paths
