"""Agent types of the collective-impact model, one module each.

Agent modules import only the model's leaf modules (grants, population). The model
package is imported first so that, whichever is imported first, ``model`` or
``agents``, the model's core finds every agent module whole.
"""

import model  # noqa: F401 - imported first for the import order (see the docstring)
from agents.backbone import Backbone
from agents.funder import Funder
from agents.government import Government
from agents.nonprofit import Nonprofit
from agents.resident import Resident

__all__ = ["Backbone", "Funder", "Government", "Nonprofit", "Resident"]
