"""Named scenarios, built on Mesa's own ``Scenario``.

``CollectiveImpactScenario`` is a Mesa ``Scenario`` subclass whose fields and
defaults are generated from the parameter declarations, so a scenario object
is what ``mesa.Model`` expects in ``model.scenario``. The named presets below are
combinations of the funders' grant practice (``regime``) and the five conditions
of collective impact. They list only what they change from the defaults, and
every one keeps the same ``total_funding``, so comparisons are at equal money.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import Any

from mesa.experimental.scenarios import Scenario

from model.parameters import DEFAULTS, PARAMETERS, ParameterError, validate_parameters
from model.seeds import fresh_seed, run_seed

#: Preset name of a scenario that starts from the declared defaults alone.
CUSTOM = "custom"


def _scenario_namespace() -> dict[str, Any]:
    namespace: dict[str, Any] = {
        "__annotations__": {
            p.name: {"int": int, "float": float, "choice": str}[p.kind] for p in PARAMETERS
        },
        "__doc__": (
            "Typed parameter set of the collective-impact model (a Mesa Scenario).\n\n"
            "Fields and defaults come from ``model.parameters.PARAMETERS``; values are\n"
            "validated when the scenario is created. ``rng`` is the seed of the run, an\n"
            "integer that also fills the ``seed`` field (see ``model.seeds``).\n"
        ),
        "__module__": __name__,
    }
    namespace.update(DEFAULTS)
    # The preset a scenario starts from is a field too, so a scenario rebuilt from its
    # fields (as Mesa's SolaraViz does on Reset) starts from the same preset.
    namespace["__annotations__"]["preset"] = str
    namespace["preset"] = CUSTOM
    return namespace


class _ValidatedScenario(Scenario):
    """Base that validates every field against the declarations on creation.

    ``preset`` names the named scenario (``NAMED_SCENARIOS``) whose changes are applied
    first; the other fields given override it. ``"custom"`` starts from the defaults.
    The scenario keeps the name in ``preset`` (and, as before, in ``name``).

    The run's seed is settled here, once, as an integer: ``rng`` converted by
    ``model.seeds.run_seed`` when given, else the ``seed`` parameter when given,
    else a fresh seed from OS entropy (Mesa's meaning of ``rng=None``). The integer
    becomes both ``rng`` and the ``seed`` field, so the scenario replays the run.
    """

    def __init__(self, *, rng: Any = None, preset: str = CUSTOM, **params: Any) -> None:
        if preset != CUSTOM:
            params = {**preset_changes(preset), **params}
        clean = validate_parameters(params)
        explicit = "seed" in params
        if rng is None:
            seed = clean["seed"] if explicit else fresh_seed()
        else:
            seed = run_seed(rng)
            if explicit and clean["seed"] != seed:
                raise ParameterError(
                    f"parameter 'seed': got {clean['seed']!r} and rng={rng!r}, which differ; "
                    "allowed: give the seed once, as rng or as the seed parameter")
        clean["seed"] = seed
        super().__init__(rng=seed, **clean)
        self.__dict__["preset"] = preset
        self.__dict__["name"] = preset

    def parameters(self) -> dict[str, Any]:
        """The declared parameters of this scenario as a plain dict (no rng, no name)."""
        return {p.name: self.__dict__[p.name] for p in PARAMETERS}


CollectiveImpactScenario = type(
    "CollectiveImpactScenario", (_ValidatedScenario,), _scenario_namespace()
)


@dataclass(frozen=True)
class NamedScenario:
    """A preset users can run by name: what it represents and what it changes."""

    name: str
    description: str
    changes: dict[str, Any] = field(default_factory=dict)


_NO_CONDITIONS = {"common_agenda": 0.0, "shared_measurement": 0.0, "mutually_reinforcing": 0.0,
                  "continuous_communication": 0.0, "backbone": 0.0}

NAMED_SCENARIOS: dict[str, NamedScenario] = {
    s.name: s
    for s in (
        NamedScenario(
            "isolated",
            "Each nonprofit competes for short grants; funders pick winners one by one and "
            "change priorities every few years. None of the five conditions.",
            {"regime": "isolated", **_NO_CONDITIONS},
        ),
        NamedScenario(
            "collective",
            "All five conditions at full strength (common agenda, shared measurement, "
            "referrals, convening, a backbone paid from the same pool) and funders giving "
            "multi-year grants on the agenda. Nonprofits still choose whether to join.",
            {"regime": "collective"},
        ),
        NamedScenario(
            "collective_unfunded_backbone",
            "The collective without a backbone: members coordinate in their spare time, and "
            "the backbone's money goes to grants instead.",
            {"regime": "collective", "backbone": 0.0},
        ),
        NamedScenario(
            "collective_top_down",
            "The collective run by institutions alone: no inclusive practice, so residents "
            "are not engaged and the agenda reads need with more error.",
            {"regime": "collective", "resident_engagement": 0.0},
        ),
        NamedScenario(
            "aligned_funding_only",
            "Funders give multi-year grants and prefer no one: collective grant practice "
            "without any of the five conditions.",
            {"regime": "collective", **_NO_CONDITIONS},
        ),
        NamedScenario(
            "voluntary_coalition",
            "Competitive funding, but nonprofits may form a coalition with a common agenda, "
            "shared data, referrals and meetings, coordinated without a backbone.",
            {"regime": "isolated", "backbone": 0.0},
        ),
        NamedScenario(
            "funder_churn",
            "Isolated impact where every funder changes its priority domain every year.",
            {"regime": "isolated", **_NO_CONDITIONS, "priority_cycle_years": 1.0},
        ),
        NamedScenario(
            "hybrid",
            "Half of each funder's money runs in collective mode, half in open competitive "
            "rounds; all five conditions on.",
            {"regime": "hybrid", "hybrid_collective_share": 0.5},
        ),
    )
}


def make_scenario(
    scenario: str | Scenario = "collective", rng: Any = None, **params: Any
) -> _ValidatedScenario:
    """Build a validated scenario object.

    Args:
        scenario: A named preset (see ``NAMED_SCENARIOS``) or an existing scenario
            object, whose values serve as the base.
        rng: Seed of the run: an int in [0, 2**63 - 1], a SeedSequence, a Generator
            (see ``model.seeds.run_seed``), or None. When None, the ``seed`` parameter
            if given, else the base scenario's seed, else a fresh seed drawn from OS
            entropy (as Mesa's ``Model(rng=None)``). Whichever it is, the scenario
            holds it as an int in ``rng`` and in its ``seed`` field.
        **params: Declared parameters that override the preset.

    Raises:
        ParameterError: unknown scenario name, unknown parameter, wrong type or out of
            range, or a ``seed`` parameter that differs from ``rng``.
    """
    validate_parameters(params, complete=False)  # unknown names are refused first
    if isinstance(scenario, _ValidatedScenario):
        base = scenario.parameters()
        name = scenario.name
        del base["seed"]  # the base's seed is its rng: kept unless a new seed is given
        if rng is None and "seed" not in params:
            rng = scenario.rng
    elif isinstance(scenario, Scenario):
        base = {k: v for k, v in scenario.__dict__.items() if k in DEFAULTS}
        name = "custom"
        if rng is None and "seed" not in params:
            rng = scenario.rng
        if rng is not None:
            base.pop("seed", None)  # an rng (given or the base's) is the seed
    else:
        base = preset_changes(scenario)
        name = scenario
    base.update(params)
    return CollectiveImpactScenario(rng=rng, preset=name, **base)


def preset_changes(name: Any) -> dict[str, Any]:
    """What the named scenario ``name`` changes from the defaults (a fresh dict).

    Raises:
        ParameterError: ``name`` is not a named scenario (with the closest name).
    """
    if isinstance(name, str) and name in NAMED_SCENARIOS:
        return dict(NAMED_SCENARIOS[name].changes)
    close = difflib.get_close_matches(str(name), list(NAMED_SCENARIOS), n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    raise ParameterError(
        f"scenario: got {name!r}{hint}; allowed: one of "
        + ", ".join(repr(n) for n in NAMED_SCENARIOS)
    )
