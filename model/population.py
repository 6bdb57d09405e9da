"""Resident state as NumPy arrays, and the vectorised resident mechanisms.

The model owns one ``ResidentPopulation``; each ``Resident`` agent is a view onto
one row of it. Keeping needs, engagement and latent resources in arrays lets a
month of 100,000 residents run as a handful of array operations instead of a
Python loop.
"""

from __future__ import annotations

import numpy as np
from scipy.special import expit


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
        logits = (centre[:, None] + person[:, None]
                  + rng.normal(0.0, params["domain_need_sd"], size=(n, k)))
        self.structural_base = 1.0 / (1.0 + np.exp(-logits))
        self.structural = self.structural_base.copy()  # the base level less policy relief
        self._work: np.ndarray | None = None  # (2, N, K) scratch arrays, see _scratch()
        # Start from the untreated steady state: structural pull balanced by spill-over.
        self.need = self.structural_base.copy()
        for _ in range(200):
            self.need = self._drift(self.need)

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
        x = np.subtract(1.0, self.need, out=self._scratch()[0])
        np.clip(x, 1e-6, 1.0, out=x)
        if abs(self.rho) < 1e-9:
            y = np.exp(row_sum(np.log(x, out=x)) / self.k)
        else:
            y = np.power(row_sum(np.power(x, self.rho, out=x)) / self.k, 1.0 / self.rho)
        self._wellbeing_cache = (self.version, y)
        return y

    def mean_need(self) -> np.ndarray:
        """(K,) mean need per domain, ``need.mean(axis=0)``, cached until needs change."""
        if self._mean_need_cache is None or self._mean_need_cache[0] != self.version:
            self._mean_need_cache = (self.version, self.need.mean(axis=0))
        return self._mean_need_cache[1]

    # --- reach -----------------------------------------------------------------------
    def access(self, idx: np.ndarray | slice = slice(None)) -> np.ndarray:
        """Chance that residents ``idx`` can be reached by a service this month, in [0, 1].

        Others are always reachable; marginalised residents only with probability
        ``marginalised_access``, raised toward 1 by their engagement.
        """
        marg_access = self.base_access + (1.0 - self.base_access) * self.engagement[idx]
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
        key = residents.astype(np.int64) * self.k + domains
        order = np.argsort(key, kind="stable")
        key_sorted = key[order]
        starts = np.flatnonzero(np.r_[True, key_sorted[1:] != key_sorted[:-1]])
        best = np.maximum.reduceat(reduction[order], starts)
        unique_keys = key_sorted[starts]
        r, d = np.divmod(unique_keys, self.k)
        self.need[r, d] *= 1.0 - best
        self.version += 1
        return int(residents.size - unique_keys.size)

    # --- monthly dynamics ------------------------------------------------------------
    def _scratch(self) -> np.ndarray:
        """Two reusable (N, K) work arrays: fresh large temporaries each month cost page faults."""
        if self._work is None or self._work.shape[1:] != self.need.shape:
            self._work = np.empty((2, *self.need.shape))
        return self._work

    def _drift(self, need: np.ndarray) -> np.ndarray:
        """One month of regeneration toward structural need plus cross-domain spill-over.

        Updates ``need`` in place and returns it: need + regeneration x (structural -
        need) + spill-over x (mean of the other domains), clipped to [0, 1].
        """
        others, pull = self._scratch()
        if self.k > 1:
            np.subtract(row_sum(need)[:, None], need, out=others)
            others /= self.k - 1
        else:
            others.fill(0.0)
        np.subtract(self.structural, need, out=pull)
        pull *= self.regeneration
        need += pull
        others *= self.spillover
        need += others
        return np.clip(need, 0.0, 1.0, out=need)

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
        e = self.engagement
        e += growth * self.responsiveness * (1.0 - e) - decay * e
        np.clip(e, 0.0, 1.0, out=e)

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
        switching = rng.random(self.n) < switch_rate
        wanted = rng.random(self.n) < favour
        self.latent_active[switching] = wanted[switching]
        return float(self.latent[self.latent_active].sum())

    def set_need(self, index: int, values: np.ndarray) -> None:
        """Set one resident's needs (clipped to [0, 1]) and invalidate the caches."""
        self.need[index] = np.clip(values, 0.0, 1.0)
        self.version += 1

    def set_policy_relief(self, relief: np.ndarray) -> None:
        """Policy in force: structural need of domain k is its base level times 1 - relief[k]."""
        np.multiply(self.structural_base, 1.0 - np.asarray(relief), out=self.structural)
