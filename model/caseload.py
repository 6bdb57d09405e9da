"""Caseload choice for a whole month at once: every nonprofit's own screening, vectorised.

Nonprofits that choose residents themselves (all non-members, and members for the
cases the referral list does not cover) screen ``candidates_per_case`` reachable
residents per case and keep the best by their rule. Doing every nonprofit's
screening as one set of array operations keeps a month cheap however many
nonprofits choose for themselves.
"""

from __future__ import annotations

import numpy as np

from model.population import ResidentPopulation, row_sum


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
    draws = np.minimum(per_case * cases, pop.n)
    total = int(draws.sum())
    if total == 0:
        empty = np.empty(0, dtype=np.intp)
        return empty, empty
    group = np.repeat(np.arange(cases.size), draws)
    idx = rng.integers(0, pop.n, size=total)
    order = np.lexsort((idx, group))
    idx, group = idx[order], group[order]
    fresh = np.ones(total, dtype=bool)
    fresh[1:] = (idx[1:] != idx[:-1]) | (group[1:] != group[:-1])  # distinct per request
    idx, group = idx[fresh], group[fresh]
    reached = rng.random(idx.size) < pop.access(idx)
    idx, group = idx[reached], group[reached]
    need = pop.need[idx]
    here = need[np.arange(idx.size), domain[group]]
    elsewhere = row_sum(need) / pop.k  # mean need over domains
    score = np.where(cream[group], here * (1.0 - elsewhere), here * elsewhere)
    order = np.lexsort((-score, group))  # by request, best first
    idx, group = idx[order], group[order]
    starts = np.searchsorted(group, np.arange(cases.size))
    rank = np.arange(idx.size) - starts[group]
    chosen = rank < cases[group]
    return idx[chosen], group[chosen]
