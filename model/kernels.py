"""Compiled loops for the residents' monthly passes (Numba), with the numbers of NumPy.

Each kernel does in one pass over residents what ``ResidentPopulation``,
``ReferralList`` and ``choose_caseloads`` otherwise did in a dozen NumPy calls on
(N, K) arrays, each with its own temporaries. They are written to give the same
bits as those NumPy expressions:

* every float operation is the same, in the same order (no fused multiply-add, no
  reassociation: Numba's default, no ``fastmath``), and a row is summed as
  ``model.population.row_sum`` sums it (left to right; in fixed pairs for 8 domains);
* random numbers come from the run's own ``numpy.random.Generator``, which Numba
  shares with NumPy: ``random()``, ``standard_normal()`` and ``integers()`` one at
  a time give the same stream as NumPy's array draws, in the same order;
* sorts that must keep ties in order are stable (merge sort), so the permutation
  is the one NumPy's ``kind="stable"`` or ``lexsort`` gives.

Kernels are compiled on first use and cached on disk (``cache=True``), so a new
process loads them in milliseconds after the first run on a machine.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, inline="always")
def _row_total(a: np.ndarray, i: int) -> float:
    """Sum of row ``i`` of ``a`` in the order of ``population.row_sum`` (up to 8 columns)."""
    k = a.shape[1]
    if k == 8:
        return (((a[i, 0] + a[i, 1]) + (a[i, 2] + a[i, 3]))
                + ((a[i, 4] + a[i, 5]) + (a[i, 6] + a[i, 7])))
    total = a[i, 0]
    for j in range(1, k):
        total += a[i, j]
    return total


@njit(cache=True, inline="always")
def _clip01(x: float) -> float:
    """``np.clip(x, 0.0, 1.0)`` for one number."""
    if x < 0.0:
        return 0.0
    if x > 1.0:
        return 1.0
    return x


@njit(cache=True)
def drift(need: np.ndarray, structural: np.ndarray, regeneration: float, spillover: float,
          months: int) -> None:
    """``months`` months of need drift, in place (see ``ResidentPopulation._drift``).

    need <- clip(need + regeneration x (structural - need)
                 + spillover x (mean of the other domains), 0, 1), a row at a time.
    """
    n, k = need.shape
    for i in range(n):
        for _ in range(months):
            total = _row_total(need, i)
            for j in range(k):
                b = need[i, j]
                others = (total - b) / (k - 1) if k > 1 else 0.0
                x = b + (structural[i, j] - b) * regeneration
                need[i, j] = _clip01(x + others * spillover)


@njit(cache=True)
def grow_engagement(engagement: np.ndarray, responsiveness: np.ndarray, growth: float,
                    decay: float) -> None:
    """Engagement e <- clip(e + (growth x responsiveness x (1 - e) - decay x e), 0, 1), in place."""
    for i in range(engagement.size):
        e = engagement[i]
        engagement[i] = _clip01(e + ((growth * responsiveness[i]) * (1.0 - e) - decay * e))


@njit(cache=True, inline="always")
def _access(marginalised: np.ndarray, engagement: np.ndarray, base_access: float,
            i: int) -> float:
    """``ResidentPopulation.access`` for resident ``i``."""
    if marginalised[i]:
        return engagement[i] * (1.0 - base_access) + base_access
    return 1.0


@njit(cache=True)
def read_referral_needs(rng: np.random.Generator, need: np.ndarray, engagement: np.ndarray,
                        marginalised: np.ndarray, base_access: float, noise_scale: float
                        ) -> tuple[np.ndarray, np.ndarray]:
    """Who outreach reaches this month, and their ranking keys per domain.

    Draws one uniform per resident (reached when it falls under the resident's
    access), then one standard normal per reached resident and domain: the need as
    read is clip(need + noise_scale x (1 - engagement) x z, 0, 1). The key of a
    reached resident in domain d is minus (need read in d x mean need read): lower
    keys come first on the list.

    Returns:
        The reached residents (ascending) and their keys, (K, reached).
    """
    n, k = need.shape
    reached = np.empty(n, dtype=np.intp)
    m = 0
    for i in range(n):
        if rng.random() < _access(marginalised, engagement, base_access, i):
            reached[m] = i
            m += 1
    reached = reached[:m]
    seen = np.empty((m, k))
    for r in range(m):
        for j in range(k):
            seen[r, j] = rng.standard_normal()
    keys = np.empty((k, m))
    for r in range(m):
        i = reached[r]
        sd = noise_scale * (1.0 - engagement[i])
        for j in range(k):
            seen[r, j] = _clip01(seen[r, j] * sd + need[i, j])
        minus_overall = -(_row_total(seen, r) / k)
        for j in range(k):
            keys[j, r] = seen[r, j] * minus_overall
    return reached, keys


@njit(cache=True)
def screen_caseloads(rng: np.random.Generator, need: np.ndarray, engagement: np.ndarray,
                     marginalised: np.ndarray, base_access: float, domain: np.ndarray,
                     cases: np.ndarray, cream: np.ndarray, per_case: int
                     ) -> tuple[np.ndarray, np.ndarray]:
    """Each request's own screening of residents (see ``model.caseload.choose_caseloads``)."""
    n, k = need.shape
    requests = cases.size
    draws = np.empty(requests, dtype=np.int64)
    total = 0
    for q in range(requests):
        draws[q] = min(per_case * cases[q], n)
        total += draws[q]
    key = np.empty(total, dtype=np.int64)
    p = 0
    for q in range(requests):
        for _ in range(draws[q]):
            key[p] = q * n + rng.integers(0, n)
            p += 1
    key.sort()
    # Each resident once per request, then a draw of whether outreach reaches them.
    group = np.empty(total, dtype=np.int64)
    idx = np.empty(total, dtype=np.int64)
    m = 0
    for p in range(total):
        if p == 0 or key[p] != key[p - 1]:
            group[m] = key[p] // n
            idx[m] = key[p] % n
            m += 1
    kept = 0
    for p in range(m):
        if rng.random() < _access(marginalised, engagement, base_access, idx[p]):
            group[kept] = group[p]
            idx[kept] = idx[p]
            kept += 1
    score = np.empty(kept)
    for p in range(kept):
        i = idx[p]
        here = need[i, domain[group[p]]]
        elsewhere = _row_total(need, i) / k
        score[p] = here * ((1.0 - elsewhere) if cream[group[p]] else elsewhere)
    # Per request (groups are sorted), best score first, ties in screening order.
    residents = np.empty(kept, dtype=np.intp)
    owners = np.empty(kept, dtype=np.intp)
    out = 0
    start = 0
    while start < kept:
        q = group[start]
        stop = start
        while stop < kept and group[stop] == q:
            stop += 1
        order = np.argsort(-score[start:stop], kind="mergesort")
        take = min(cases[q], stop - start)
        for t in range(take):
            residents[out] = idx[start + order[t]]
            owners[out] = q
            out += 1
        start = stop
    return residents[:out], owners[:out]


@njit(cache=True)
def apply_cases(need: np.ndarray, residents: np.ndarray, domains: np.ndarray,
                reduction: np.ndarray) -> int:
    """Apply the month's cases to ``need`` in place; return how many were duplicates.

    A case removes ``reduction`` of one resident's need in one domain; of several
    cases on the same resident and domain only the strongest counts.
    """
    k = need.shape[1]
    key = residents * k + domains  # both int64 (the caller's arrays)
    order = np.argsort(key, kind="mergesort")
    unique = 0
    p = 0
    total = key.size
    while p < total:
        here = key[order[p]]
        best = reduction[order[p]]
        p += 1
        while p < total and key[order[p]] == here:
            value = reduction[order[p]]
            if value > best:
                best = value
            p += 1
        need[here // k, here % k] *= 1.0 - best
        unique += 1
    return total - unique
