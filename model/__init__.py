"""The collective-impact model: parameters, scenarios, the Mesa model and its metrics."""

from model.core import CollectiveImpactModel
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
