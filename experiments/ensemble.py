"""A quick ensemble for teaching: many communities under one setting, and under isolated funding.

The browser view's ensemble mode asks: with the settings on screen, how many of
20 or more different communities would move the needle, and how many under
isolated funding? Each community is one replication of the engine's design with
common seeds (``experiments.engine``), so community r meets the same drawn traits,
residents and luck under both arms, and the whole ensemble replays from one seed.

The reference arm is the same setting with the funders' practice of the
``isolated`` preset: isolated grant rounds and none of the five conditions. World
size, trust, engagement and every other parameter stay as chosen, so the arms
differ only in how the field is organised.

``run_ensemble`` reports each run as it finishes (``on_progress``), so a view can
draw the fan while the rest is computed.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from experiments.engine.design import Design
from experiments.engine.execute import ModelEvaluation, evaluate_task
from experiments.engine.executor import TaskFailed, make_executor
from experiments.engine.limits import check_count, check_jobs
from experiments.stats import share_interval
from model.metrics import BASELINE_FLOOR
from model.parameters import validate_parameters
from model.scenarios import CUSTOM, make_scenario, preset_changes

#: Communities per arm by default: enough to see a spread, fast enough for a class.
DEFAULT_COMMUNITIES = 20
#: Most communities per arm the view offers.
MAX_COMMUNITIES = 200
REFERENCE = "isolated"


@dataclass
class Arm:
    """One arm of the ensemble, filled in as its runs finish.

    Attributes:
        label: the arm in words.
        improvement: communities x (months + 1): community wellbeing's gain over month 0,
            in % of the month-0 value (at least ``BASELINE_FLOOR``); NaN until run.
        needle_moved: per community: 1.0 moved, 0.0 not, NaN not yet run.
        improvement_pct: per community, the run summary's improvement (%), NaN until run.
        failed: communities whose run failed (their message is in ``Ensemble.errors``).
    """

    label: str
    improvement: np.ndarray
    needle_moved: np.ndarray
    improvement_pct: np.ndarray
    failed: int = 0

    @property
    def done(self) -> int:
        """Communities of this arm that finished."""
        return int(np.isfinite(self.needle_moved).sum())

    def needle_share(self) -> tuple[float, float, float]:
        """Share of finished communities that moved the needle, with its Wilson 95 % interval."""
        moved = self.needle_moved[np.isfinite(self.needle_moved)]
        return share_interval(int(moved.sum()), int(moved.size))


@dataclass
class Ensemble:
    """The two arms, the settings and seed that made them, and any errors.

    Attributes:
        settings: the chosen setting (``preset`` and the parameters set on top of it).
        seed: master seed; community r's seed is spawned from it (common to both arms).
        communities: communities per arm.
        steps: months per run.
        arms: the chosen setting first, then the isolated reference.
        errors: one message per failed run.
    """

    settings: dict[str, Any]
    seed: int
    communities: int
    steps: int
    arms: tuple[Arm, Arm]
    errors: list[str] = field(default_factory=list)

    @property
    def done(self) -> int:
        """Runs finished, over both arms."""
        return sum(arm.done + arm.failed for arm in self.arms)

    @property
    def total(self) -> int:
        """Runs in the ensemble."""
        return 2 * self.communities


def split_settings(settings: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    """The preset and the declared parameters of a setting; both validated.

    Raises:
        ParameterError: unknown preset, unknown parameter or a value out of range.
    """
    params = dict(settings)
    preset = str(params.pop("preset", CUSTOM))
    if preset != CUSTOM:
        preset_changes(preset)  # refuses an unknown name
    params.pop("seed", None)  # the ensemble's seed is its own
    validate_parameters(params, complete=False)
    return preset, params


def ensemble_design(settings: Mapping[str, Any], communities: int, seed: int) -> Design:
    """The design: point 0 the chosen setting, point 1 the isolated reference, common seeds.

    Raises:
        UsageError: a community count out of range.
        ParameterError: a bad setting.
    """
    check_count("communities", communities, 2, MAX_COMMUNITIES)
    preset, params = split_settings(settings)
    # "custom" starts from the declared defaults, which the "collective" preset keeps.
    chosen = {"scenario": "collective" if preset == CUSTOM else preset, **params}
    reference = {**chosen, **preset_changes(REFERENCE)}
    return Design((chosen, reference), communities, seed, "common")


def months_of(design: Design) -> int:
    """Months per run of the ensemble's design (the same for both points)."""
    params = dict(design.inputs(0))
    return int(make_scenario(params.pop("scenario"), rng=0, **params).parameters()["steps"])


def new_ensemble(settings: Mapping[str, Any], communities: int, seed: int, steps: int,
                 labels: tuple[str, str]) -> Ensemble:
    """An empty ensemble (every value NaN) of the given shape."""
    def arm(label: str) -> Arm:
        return Arm(label, np.full((communities, steps + 1), np.nan),
                   np.full(communities, np.nan), np.full(communities, np.nan))

    return Ensemble(dict(settings), seed, communities, steps, (arm(labels[0]), arm(labels[1])))


def _record(ensemble: Ensemble, point: int, replication: int,
            row: Mapping[str, Any], series: Any) -> None:
    arm = ensemble.arms[point]
    if row.get("error") is not None or series is None:
        arm.failed += 1
        ensemble.errors.append(str(row.get("error")))
        return
    wellbeing = np.asarray(series["community_wellbeing"], dtype=float)
    base = max(float(wellbeing[0]), BASELINE_FLOOR)
    months = min(wellbeing.size, arm.improvement.shape[1])
    arm.improvement[replication, :months] = (wellbeing[:months] - wellbeing[0]) / base * 100.0
    arm.needle_moved[replication] = float(bool(row["needle_moved"]))
    arm.improvement_pct[replication] = float(row["improvement_pct"])


def run_ensemble(settings: Mapping[str, Any], communities: int = DEFAULT_COMMUNITIES,
                 seed: int = 0, jobs: int | None = 1,
                 labels: tuple[str, str] = ("chosen settings", "isolated funding"),
                 on_progress: Callable[[Ensemble], Any] | None = None,
                 cancelled: Callable[[], bool] | None = None) -> Ensemble:
    """Run both arms, community by community, and return the filled ensemble.

    Args:
        settings: ``preset`` (a named scenario or ``"custom"``) and declared parameters.
        communities: communities per arm, 2 to ``MAX_COMMUNITIES``.
        seed: master seed of the communities.
        jobs: loky worker processes (1: in this process; None: every core). Results do
            not depend on it.
        labels: legend labels of the two arms.
        on_progress: called with the ensemble after every finished run.
        cancelled: polled between runs; when it returns True the rest is not waited for.

    Raises:
        UsageError, ParameterError: bad input, before any run.
    """
    design = ensemble_design(settings, communities, seed)
    jobs = check_jobs(jobs)
    ensemble = new_ensemble(settings, communities, seed, months_of(design), labels)
    evaluation = ModelEvaluation(keep_series=True)
    # Alternate the arms, so both fill in together while the view draws them.
    order = sorted(range(design.n_runs), key=lambda i: (design.run(i).replication,
                                                         design.run(i).point))
    tasks = [(evaluation, design.run(i)) for i in order]
    with make_executor("loky", jobs) as executor:
        for index, result in executor.map_unordered(evaluate_task, tasks):
            spec = tasks[index][1]
            if isinstance(result, TaskFailed):
                row, series = {"error": str(result)}, None
            else:
                row, series = result
            _record(ensemble, spec.point, spec.replication, row, series)
            if on_progress is not None:
                on_progress(ensemble)
            if cancelled is not None and cancelled():
                break
    return ensemble


def needle_sentence(ensemble: Ensemble) -> str:
    """The ensemble's answer in words: how many communities of each arm moved the needle."""
    parts = []
    for arm in ensemble.arms:
        if arm.done == 0:
            parts.append(f"{arm.label}: no community finished yet")
            continue
        share, low, high = arm.needle_share()
        moved = int(np.nansum(arm.needle_moved))
        parts.append(f"{arm.label}: {moved} of {arm.done} communities moved the needle "
                     f"({share:.0%}; 95 % interval {low:.0%} to {high:.0%})")
    return "; ".join(parts)
