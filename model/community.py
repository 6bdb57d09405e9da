"""A community's unobserved traits, drawn from the priors in the parameter table.

Communities differ in ways a funder cannot see in advance: how competent the
backbone staff turn out to be, how faithful funders stay to a shared agenda, how
much conflict the organisations carry from the past, how often politics opens a
window, and how well residents organise on their own. Each run draws one community
from the declared priors, so an ensemble of replications is a population of
communities. ``community_variation`` scales every spread: 0 gives the typical
community (each trait at its prior mean), 1 the full prior.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.special import betaincinv, ndtri

_NORMAL_LIMIT = 1e12  # a + b above which a Beta draw uses its normal approximation


def beta_shape(mean: float, sd: float) -> tuple[float, float]:
    """Shape parameters (a, b) of the Beta distribution with this mean and spread.

    The spread is capped just below the largest a Beta distribution with that mean
    can have; ``sd`` must be positive.
    """
    sd = min(sd, 0.999 * math.sqrt(mean * (1.0 - mean)))
    concentration = mean * (1.0 - mean) / (sd * sd) - 1.0
    return mean * concentration, (1.0 - mean) * concentration


def beta_draw(rng: np.random.Generator, mean: float, sd: float) -> float:
    """One draw from the Beta distribution with this mean and standard deviation.

    Drawn by inverting the distribution function at one uniform number, so every
    call uses ``rng`` once whatever the values, and the same uniform gives a higher
    value for a higher mean (common random numbers across settings). The spread is
    capped just below the largest a Beta distribution with that mean can have; a
    negligible spread gives the mean.
    """
    u = rng.random()
    if sd < 1e-9:
        return mean
    a, b = beta_shape(mean, sd)
    if a + b > _NORMAL_LIMIT:
        # so concentrated that the quantile function overflows (it returns NaN near
        # 1e17); the Beta is then normal to many digits
        return float(min(1.0, max(0.0, mean + sd * ndtri(u))))
    return float(betaincinv(a, b, u))  # the Beta quantile function at u


@dataclass(frozen=True)
class CommunityTraits:
    """The traits of one community (all fixed for the run).

    Attributes:
        backbone_competence: share of the backbone's bought capacity that becomes
            useful work, in [0, 1].
        funder_fidelity: yearly chance that a collective-mode funder keeps its money
            on the common agenda, in [0, 1].
        conflict_history: past conflict among organisations, in [0, 1].
        political_opportunity: multiplier (mean 1) on how often political windows open.
        organising_capacity: residents' own capacity to organise for policy, in [0, 1].
        trust_offset: shift of the community's mean starting trust from ``initial_trust``.
    """

    backbone_competence: float
    funder_fidelity: float
    conflict_history: float
    political_opportunity: float
    organising_capacity: float
    trust_offset: float

    @classmethod
    def draw(cls, rng: np.random.Generator, params: Mapping[str, Any]) -> CommunityTraits:
        """Draw a community from the priors, shrunk toward their means by variation.

        Always uses the same number of draws, whatever the values, so a community
        drawn with the same seed is the same in every scenario.
        """
        v = params["community_variation"]
        raw = {
            name: beta_draw(rng, params[f"{name}_mean"], params[f"{name}_sd"])
            for name in ("backbone_competence", "funder_fidelity", "conflict_history",
                         "organising_capacity")
        }
        traits = {name: params[f"{name}_mean"] + v * (value - params[f"{name}_mean"])
                  for name, value in raw.items()}
        sd = params["political_opportunity_sd"]
        z_politics, z_trust = rng.standard_normal(2)
        # Lognormal with mean 1: exp(sd z - sd^2 / 2), its spread scaled by variation.
        s = v * sd
        traits["political_opportunity"] = float(math.exp(s * z_politics - s * s / 2.0))
        traits["trust_offset"] = float(v * params["initial_trust_sd"] * z_trust)
        return cls(**traits)
