"""Resident state as NumPy arrays, and the vectorised resident mechanisms.

The model owns one ``ResidentPopulation``; each ``Resident`` agent is a view onto
one row of it. Keeping needs, engagement and latent resources in arrays lets a
month of 100,000 residents run as a handful of array operations instead of a
Python loop.
"""

from __future__ import annotations

import numpy as np
from scipy.special import expit

from model import kernels


def row_sum(a: np.ndarray) -> np.ndarray:
    """Sum of each row of a 2-D array, bit-identical to ``a.sum(axis=1)``, for up to 8 columns.

    NumPy adds a short contiguous row from left to right (below 8 items) or in
    fixed pairs (exactly 8). Adding whole columns in that same order gives the same
    numbers about ten times faster on long, narrow arrays such as (residents, domains).
    """
    k = a.shape[1]
    if k == 8:
        c = [a[:, j] for j in range(8)]
        return ((c[0] + c[1]) + (c[2] + c[3])) + ((c[4] + c[5]) + (c[6] + c[7]))
    if k > 8 or k == 0:
        return a.sum(axis=1)
    total = a[:, 0].copy()
    for j in range(1, k):
        total += a[:, j]
    return total


def column_means(a: np.ndarray) -> np.ndarray:
    """Mean of each column of a 2-D array, bit-identical to ``a.mean(axis=0)``.

    NumPy sums a C-ordered array down its columns row after row (one running total
    per column; pairwise summation applies only to a single column, which is
    contiguous). ``einsum`` adds in that same order without a reduction loop per
    row, two to three times faster on long, narrow arrays such as (residents, domains).
    """
    if a.ndim != 2 or a.shape[0] == 0 or a.shape[1] < 2 or a.dtype != np.float64 \
            or not a.flags.c_contiguous:
        return a.mean(axis=0)
    return np.einsum("ij->j", a) / a.shape[0]


_BLOCK_ITEMS = 65536  # array items (rows x domains) per block of the row-wise passes


def _row_blocks(n: int, rows: int) -> list[slice]:
    """Consecutive slices of ``rows`` rows (the last one shorter) covering ``range(n)``."""
    return [slice(start, min(start + rows, n)) for start in range(0, n, max(rows, 1))]


class ResidentPopulation:
    """All residents' state, one row per resident.

    Attributes:
        need: (N, K) need per domain in [0, 1]; 1 is worst.
        structural: (N, K) structural need level each need drifts back to, in [0, 1].
        marginalised: (N,) True for marginalised residents.
        engagement: (N,) lived-experience engagement in [0, 1] (change it through
            ``update_engagement``, which keeps ``mean_engagement`` current).
        latent: (N,) latent community resources in [0, 1] (mutual aid, volunteering).
        latent_active: (N,) True where those resources are currently mobilised.
    """

    def __init__(self, rng: np.random.Generator, params: dict) -> None:
        n, k = params["n_residents"], params["n_domains"]
        self.n, self.k = n, k
        self.rho = params["complementarity"]
        self.regeneration = params["need_regeneration"]
        self.spillover = params["need_spillover"]
        self.base_access = params["marginalised_access"]

        self.marginalised = rng.random(n) < params["marginalised_share"]
        centre = np.where(self.marginalised, params["structural_logit_marginalised"],
                          params["structural_logit_others"])
        person = rng.normal(0.0, params["person_need_sd"], size=n)
        # 1 / (1 + exp(-logits)), logits = centre + person + domain noise, in one array
        # (the same numbers as the plain expression, without its (N, K) temporaries).
        base = centre + person
        logits = rng.normal(0.0, params["domain_need_sd"], size=(n, k))
        logits += base[:, None]
        np.negative(logits, out=logits)
        np.exp(logits, out=logits)
        logits += 1.0
        self.structural_base = np.divide(1.0, logits, out=logits)
        self.structural = self.structural_base.copy()  # the base level less policy relief
        self._work: np.ndarray | None = None  # (rows, K) scratch array, see _scratch()
        # Start from the untreated steady state: structural pull balanced by spill-over.
        self.need = self.structural_base.copy()
        self._drift(self.need, months=200)

        m_marg, m_other = params["engagement_start_marginalised"], params["engagement_start_others"]
        self.engagement = np.where(
            self.marginalised, rng.beta(11.5 * m_marg, 11.5 * (1.0 - m_marg), size=n),
            rng.beta(10.0 * m_other, 10.0 * (1.0 - m_other), size=n))
        # How readily each resident responds to outreach: symmetric around 1, from 0 to 2.
        self.responsiveness = 2.0 * rng.beta(2.0, 2.0, size=n)
        latent = params["latent_mean"]
        self.latent = rng.beta(4.0 * latent, 4.0 * (1.0 - latent), size=n)
        self.latent_active = np.zeros(n, dtype=bool)
        self._wellbeing_cache: tuple[int, np.ndarray] | None = None
        self._wellbeing_means: tuple[int, tuple[float, float, float]] | None = None
        self._group_work: np.ndarray | None = None  # see wellbeing_means()
        self._draws: np.ndarray | None = None  # (N,) uniform draws, see activate_latent()
        self._mean_need_cache: tuple[int, np.ndarray] | None = None
        self._engagement_mean: float | None = None  # see mean_engagement()
        self.version = 0  # bumped whenever needs change, to invalidate caches

    # --- wellbeing -------------------------------------------------------------------
    def wellbeing(self) -> np.ndarray:
        """Complementary wellbeing per resident, in [0, 1] (mechanism: CES aggregate).

        Y = (mean_k x_k^rho)^(1/rho) with x_k = 1 - need_k and equal weights; rho = 0
        is the geometric mean. With rho < 0, one bad domain drags the whole score down.
        """
        if self._wellbeing_cache is not None and self._wellbeing_cache[0] == self.version:
            return self._wellbeing_cache[1]
        need, k, rho = self.need, self.k, self.rho
        y = np.empty(need.shape[0])
        work = self._scratch()
        for rows in _row_blocks(need.shape[0], work.shape[0]):
            x = np.subtract(1.0, need[rows], out=work[:rows.stop - rows.start])
            np.clip(x, 1e-6, 1.0, out=x)
            if abs(rho) < 1e-9:
                np.exp(row_sum(np.log(x, out=x)) / k, out=y[rows])
            else:
                np.power(row_sum(np.power(x, rho, out=x)) / k, 1.0 / rho, out=y[rows])
        self._wellbeing_cache = (self.version, y)
        return y

    def wellbeing_means(self) -> tuple[float, float, float]:
        """Mean wellbeing of all residents, of marginalised ones and of the others.

        Computed once per change of needs (the month's three wellbeing outputs share
        it). A group with nobody in it takes the community mean, so the equity gap is
        then 0. Each mean is NumPy's mean of the group's values in resident order.
        """
        cached = self._wellbeing_means
        if cached is not None and cached[0] == self.version:
            return cached[1]
        y = self.wellbeing()
        n = y.size
        # float(add.reduce(v)) / v.size is v.mean() to the last bit (the same pairwise
        # sum, one division), without mean()'s Python-level overhead.
        everyone = float(np.add.reduce(y)) / n
        marginalised = self.marginalised
        count = int(np.count_nonzero(marginalised))
        # Both groups' values are gathered into one reused array: y[mask] without the
        # fresh temporaries (their pages cost faults on large populations).
        if self._group_work is None or self._group_work.size != n:
            self._group_work = np.empty(n)
        work = self._group_work
        if 0 < count < n:
            group = y.compress(marginalised, out=work[:count])
            mean_marginalised = float(np.add.reduce(group)) / count
            group = y.compress(np.logical_not(marginalised), out=work[:n - count])
            mean_others = float(np.add.reduce(group)) / (n - count)
        else:
            mean_marginalised = mean_others = everyone
        means = (everyone, mean_marginalised, mean_others)
        self._wellbeing_means = (self.version, means)
        return means

    def mean_need(self) -> np.ndarray:
        """(K,) mean need per domain, ``need.mean(axis=0)``, cached until needs change."""
        if self._mean_need_cache is None or self._mean_need_cache[0] != self.version:
            self._mean_need_cache = (self.version, column_means(self.need))
        return self._mean_need_cache[1]

    # --- reach -----------------------------------------------------------------------
    def access(self, idx: np.ndarray | slice = slice(None)) -> np.ndarray:
        """Chance that residents ``idx`` can be reached by a service this month, in [0, 1].

        Others are always reachable; marginalised residents only with probability
        ``marginalised_access``, raised toward 1 by their engagement. The compiled
        monthly passes read it one resident at a time (``model.kernels._access``, the
        same formula); the known-answer tests compare them with this array form.
        """
        # base + (1 - base) x engagement, computed in one array instead of two
        marg_access = np.multiply(self.engagement[idx], 1.0 - self.base_access)
        marg_access += self.base_access
        return np.where(self.marginalised[idx], marg_access, 1.0)

    # --- services --------------------------------------------------------------------
    def apply_services(
        self, residents: np.ndarray, domains: np.ndarray, reduction: np.ndarray
    ) -> int:
        """Deliver a month of cases and return how many were duplicates.

        Each case removes ``reduction`` (share in [0, 1]) of one resident's need in one
        domain. When several organisations treat the same need of the same person in a
        month only the strongest case counts; the others are wasted (duplication).
        """
        if residents.size == 0:
            return 0
        duplicates = kernels.apply_cases(self.need, np.asarray(residents, dtype=np.int64),
                                         np.asarray(domains, dtype=np.int64),
                                         np.asarray(reduction, dtype=np.float64))
        self.version += 1
        return int(duplicates)

    def _scratch(self) -> np.ndarray:
        """A reusable (rows, K) work array for wellbeing's row blocks (see ``_row_blocks``).

        Blocks of rows keep the pass over (N, K) arrays in cache, and fresh large
        temporaries each month would cost page faults.
        """
        k = self.need.shape[1]
        rows = min(max(1, _BLOCK_ITEMS // max(k, 1)), self.need.shape[0])
        if self._work is None or self._work.shape != (rows, k):
            self._work = np.empty((rows, k))
        return self._work

    # --- monthly dynamics ------------------------------------------------------------
    def _drift(self, need: np.ndarray, months: int = 1) -> np.ndarray:
        """``months`` months of regeneration toward structural need plus cross-domain spill-over.

        Updates ``need`` in place and returns it: need + regeneration x (structural -
        need) + spill-over x (mean of the other domains), clipped to [0, 1]. Each
        resident's row evolves on its own, so the compiled pass takes one row through
        all its months before the next: the same numbers as whole-array passes month
        after month.
        """
        kernels.drift(need, self.structural, float(self.regeneration), float(self.spillover),
                      int(months))
        return need

    def regenerate(self) -> None:
        """Mechanism 'needs regenerate': drift back toward structural level, with spill-over."""
        self.need = self._drift(self.need)
        self.version += 1

    def mean_engagement(self) -> float:
        """Mean engagement in [0, 1], cached until engagement changes."""
        if self._engagement_mean is None:
            self._engagement_mean = float(self.engagement.mean())
        return self._engagement_mean

    def update_engagement(self, growth: float, decay: float) -> None:
        """Mechanism 'engagement': growth toward 1 with relative decay.

        Growth is ``growth``/month scaled by each resident's responsiveness (mean 1).
        """
        self._engagement_mean = None
        kernels.grow_engagement(self.engagement, self.responsiveness, float(growth),
                                float(decay))

    def activate_latent(self, rng: np.random.Generator, community_trust: float,
                        trust_threshold: float, engagement_threshold: float,
                        width: float, switch_rate: float) -> float:
        """Mechanism 'latent community resources'; returns the active resource volume.

        Each month a resident's resources switch, with chance ``switch_rate``, to
        active with the probability that conditions favour and otherwise to idle. That
        probability is a smooth step in the trust among organisations times a smooth
        step in the resident's own engagement (logistic, half-way at each threshold,
        ``width`` wide), so resources emerge gradually and residents differ.
        Returns the sum of active resources (resident units).
        """
        trust_step = float(expit((community_trust - trust_threshold) / width))
        favour = np.subtract(self.engagement, engagement_threshold)
        favour /= width
        expit(favour, out=favour)
        favour *= trust_step  # P(active) that conditions favour
        # The same two rounds of n uniform draws as rng.random(n), into one reused array.
        if self._draws is None or self._draws.size != self.n:
            self._draws = np.empty(self.n)
        switching = np.less(rng.random(out=self._draws), switch_rate)
        wanted = np.less(rng.random(out=self._draws), favour)
        # active = wanted where switching, else as before (latent_active[switching] =
        # wanted[switching], as elementwise logic: a masked copy costs several times more)
        active = self.latent_active
        np.logical_and(wanted, switching, out=wanted)
        np.logical_not(switching, out=switching)
        np.logical_and(active, switching, out=switching)
        np.logical_or(wanted, switching, out=active)
        return float(self.latent[active].sum())

    def latent_share(self) -> float:
        """Share of residents whose latent resources are mobilised (``latent_active.mean()``)."""
        active = self.latent_active
        # A count over n is what NumPy's mean of booleans gives, to the last bit.
        return np.count_nonzero(active) / active.size if active.size else float(active.mean())

    def set_need(self, index: int, values: np.ndarray) -> None:
        """Set one resident's needs (clipped to [0, 1]) and invalidate the caches."""
        self.need[index] = np.clip(values, 0.0, 1.0)
        self.version += 1

    def set_policy_relief(self, relief: np.ndarray) -> None:
        """Policy in force: structural need of domain k is its base level times 1 - relief[k]."""
        np.multiply(self.structural_base, 1.0 - np.asarray(relief), out=self.structural)
