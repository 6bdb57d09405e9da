"""Caseload choice for a whole month at once: every nonprofit's own screening, in one pass.

Nonprofits that choose residents themselves (all non-members, and members for the
cases the referral list does not cover) screen ``candidates_per_case`` reachable
residents per case and keep the best by their rule. Every nonprofit's screening
runs as one compiled pass (``model.kernels.screen_caseloads``), which keeps a
month cheap however many nonprofits choose for themselves.
"""

from __future__ import annotations

import numpy as np

from model.kernels import screen_caseloads
from model.population import ResidentPopulation


def choose_caseloads(rng: np.random.Generator, pop: ResidentPopulation, domain: np.ndarray,
                     cases: np.ndarray, cream: np.ndarray,
                     per_case: int) -> tuple[np.ndarray, np.ndarray]:
    """Choose each request's residents; return (residents, request index) of the cases.

    Request i (one nonprofit) wants ``cases[i]`` residents for need domain
    ``domain[i]``. It draws ``per_case x cases[i]`` residents uniformly (distinct
    within the request), keeps each with its access probability (marginalised
    residents with little engagement are reached less often), and takes the best
    ``cases[i]``: creaming (``cream[i]``) favours a need here with few needs elsewhere
    (a gain that shows); need-based targeting favours need here and elsewhere.
    """
    # One compiled pass: the same draws, order and numbers as the array version had.
    return screen_caseloads(rng, pop.need, pop.engagement, pop.marginalised, pop.base_access,
                            np.asarray(domain, dtype=np.int64), np.asarray(cases, dtype=np.int64),
                            np.asarray(cream, dtype=np.bool_), int(per_case))
