"""Agent types of the collective-impact model, one module each."""

from agents.backbone import Backbone
from agents.funder import Funder
from agents.government import Government
from agents.nonprofit import Nonprofit
from agents.resident import Resident

__all__ = ["Backbone", "Funder", "Government", "Nonprofit", "Resident"]
