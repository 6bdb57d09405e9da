"""Residents: Mesa agents that are views onto one row of the population arrays."""

from __future__ import annotations

from typing import TYPE_CHECKING

import mesa
import numpy as np

if TYPE_CHECKING:
    from model.core import CollectiveImpactModel


class Resident(mesa.Agent):
    """One resident of the community.

    The resident's state lives in ``model.population`` (row ``index``) so that the
    monthly dynamics of every resident run as array operations; this agent reads
    and writes that row. Residents have no per-agent ``step``: needs regenerate,
    spill over and are served for all residents at once by the model.
    """

    def __init__(self, model: CollectiveImpactModel, index: int) -> None:
        super().__init__(model)
        self.index = index

    @property
    def need(self) -> np.ndarray:
        """Need per domain in [0, 1] (a read-only copy; 1 is worst)."""
        row = self.model.population.need[self.index].copy()
        row.flags.writeable = False
        return row

    @need.setter
    def need(self, values: np.ndarray) -> None:
        """Set this resident's needs; wellbeing and other caches follow."""
        self.model.population.set_need(self.index, values)

    @property
    def marginalised(self) -> bool:
        """Whether this resident belongs to the marginalised group."""
        return bool(self.model.population.marginalised[self.index])

    @property
    def engagement(self) -> float:
        """Lived-experience engagement in [0, 1]."""
        return float(self.model.population.engagement[self.index])

    @property
    def wellbeing(self) -> float:
        """Complementary (CES) wellbeing across domains, in [0, 1]."""
        return float(self.model.population.wellbeing()[self.index])

    @property
    def latent_resources_active(self) -> bool:
        """Whether this resident's latent community resources are mobilised."""
        return bool(self.model.population.latent_active[self.index])
