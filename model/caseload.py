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
    n = pop.n
    draws = np.minimum(per_case * cases, n)
    total = int(draws.sum())
    if total == 0:
        empty = np.empty(0, dtype=np.intp)
        return empty, empty
    group = np.repeat(np.arange(cases.size), draws)
    idx = rng.integers(0, n, size=total)
    # By request, then resident, each resident once per request: one sort of request x N
    # + resident (the order np.lexsort((idx, group)) gives), repeats dropped.
    key = group * n
    key += idx
    key.sort()
    fresh = np.empty(total, dtype=bool)
    fresh[0] = True
    np.not_equal(key[1:], key[:-1], out=fresh[1:])
    group, idx = np.divmod(key[fresh], n)
    reached = rng.random(idx.size) < pop.access(idx)
    idx, group = idx[reached], group[reached]
    need = pop.need[idx]
    here = pop.need[idx, domain[group]]
    elsewhere = row_sum(need) / pop.k  # mean need over domains
    # Creaming scores here x (1 - elsewhere), need-based targeting here x elsewhere.
    score = here * np.where(cream[group], 1.0 - elsewhere, elsewhere)
    order = np.lexsort((-score, group))  # by request, best first (group stays sorted)
    # The best cases[i] of request i: those before its start + cases[i] in the list.
    starts = np.searchsorted(group, np.arange(cases.size))
    chosen = np.arange(idx.size) < (starts + cases)[group]
    return idx[order][chosen], group[chosen]
