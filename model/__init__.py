"""The collective-impact model: parameters, scenarios, the Mesa model and its metrics.

``CollectiveImpactModel`` is imported lazily, so that agent modules can import
the model's small helper modules (grants, parameters) without a cycle.
"""

from typing import Any

from model.parameters import PARAMETERS, ParameterError, validate_parameters
from model.scenarios import NAMED_SCENARIOS, CollectiveImpactScenario, make_scenario

__all__ = [
    "NAMED_SCENARIOS",
    "PARAMETERS",
    "CollectiveImpactModel",
    "CollectiveImpactScenario",
    "ParameterError",
    "make_scenario",
    "validate_parameters",
]


def __getattr__(name: str) -> Any:
    if name == "CollectiveImpactModel":
        from model.core import CollectiveImpactModel

        return CollectiveImpactModel
    raise AttributeError(f"module 'model' has no attribute {name!r}")
