"""Cheaper recording gives exactly what the plain forms give.

The month's wellbeing is computed once for every output that reads it, and the
row-block passes over the resident arrays give the numbers of whole-array NumPy
expressions.
"""

import numpy as np
import pytest

import model.population as population_module
from model.core import CollectiveImpactModel
from model.parameters import DEFAULTS
from model.population import ResidentPopulation, column_means

SMALL = {"n_residents": 300, "n_nonprofits": 12, "n_funders": 3, "steps": 12}


# --- the month's wellbeing --------------------------------------------------------
def test_the_months_outputs_compute_wellbeing_once(monkeypatch):
    """Community, group and gap outputs (and funders) share one wellbeing pass a month."""
    passes = []
    original = ResidentPopulation.wellbeing

    def counted(self):
        if self._wellbeing_cache is None or self._wellbeing_cache[0] != self.version:
            passes.append(self.version)
        return original(self)

    monkeypatch.setattr(ResidentPopulation, "wellbeing", counted)
    model = CollectiveImpactModel("collective", rng=4, **SMALL)
    passes.clear()
    model.run_for(12)
    assert len(passes) == 12


@pytest.mark.parametrize("share", [0.0, 0.3, 1.0])
def test_wellbeing_means_are_numpys_group_means(share):
    """Means of all, marginalised and other residents; an empty group takes the mean."""
    pop = ResidentPopulation(np.random.default_rng(2),
                             {**DEFAULTS, "n_residents": 2001, "marginalised_share": share})
    y, mask = pop.wellbeing(), pop.marginalised
    mean = float(y.mean())
    expected = (mean, float(y[mask].mean()) if mask.any() else mean,
                float(y[~mask].mean()) if (~mask).any() else mean)
    assert pop.wellbeing_means() == expected


def test_latent_share_is_the_mean_of_the_flags():
    pop = ResidentPopulation(np.random.default_rng(2), {**DEFAULTS, "n_residents": 3001})
    for _ in range(3):
        pop.activate_latent(np.random.default_rng(9), 0.8, 0.55, 0.2, 0.1, 0.5)
        assert pop.latent_share() == float(pop.latent_active.mean())


# --- row blocks -------------------------------------------------------------------------
@pytest.mark.parametrize("k", [1, 2, 4, 8])
@pytest.mark.parametrize("rho", [-2.0, 0.0, 0.5])
def test_row_blocks_give_the_whole_array_numbers(monkeypatch, k, rho):
    """Drift (200 months at the start, then monthly) and wellbeing over many blocks."""
    monkeypatch.setattr(population_module, "_BLOCK_ITEMS", 97)  # blocks of 97 // k rows
    params = {**DEFAULTS, "n_residents": 1003, "n_domains": k, "complementarity": rho}
    pop = ResidentPopulation(np.random.default_rng(k), params)

    rng = np.random.default_rng(k)
    n = params["n_residents"]
    marginalised = rng.random(n) < params["marginalised_share"]
    centre = np.where(marginalised, params["structural_logit_marginalised"],
                      params["structural_logit_others"])
    person = rng.normal(0.0, params["person_need_sd"], size=n)
    logits = (centre[:, None] + person[:, None]
              + rng.normal(0.0, params["domain_need_sd"], size=(n, k)))
    np.testing.assert_array_equal(pop.structural_base, 1.0 / (1.0 + np.exp(-logits)))

    def month(need):
        others = (need.sum(axis=1, keepdims=True) - need) / (k - 1) if k > 1 else 0.0 * need
        return np.clip(need + pop.regeneration * (pop.structural - need)
                       + pop.spillover * others, 0.0, 1.0)

    need = pop.structural_base.copy()
    for _ in range(200):
        need = month(need)
    np.testing.assert_array_equal(pop.need, need)
    pop.regenerate()
    np.testing.assert_array_equal(pop.need, month(need))

    x = np.clip(1.0 - pop.need, 1e-6, 1.0)
    if abs(rho) < 1e-9:
        wellbeing = np.exp(np.log(x).mean(axis=1))
    else:
        wellbeing = np.power(np.power(x, rho).mean(axis=1), 1.0 / rho)
    np.testing.assert_array_equal(pop.wellbeing(), wellbeing)


@pytest.mark.parametrize("k", range(1, 10))
def test_column_means_are_bit_identical_to_numpy_mean(k):
    rng = np.random.default_rng(k)
    for n in (1, 2, 7, 8, 9, 129, 8193, 70001):
        a = rng.random((n, k)) * rng.choice([1e-6, 1.0, 1e3], size=(n, k))
        np.testing.assert_array_equal(column_means(a), a.mean(axis=0))
    strided = rng.random((500, 2 * k))[:, ::2]
    np.testing.assert_array_equal(column_means(strided), strided.mean(axis=0))


# --- access ---------------------------------------------------------------------------
def test_access_is_the_plain_formula():
    """Marginalised residents' access in reused arrays equals the direct expression."""
    pop = ResidentPopulation(np.random.default_rng(2), {**DEFAULTS, "n_residents": 3001})
    pop.engagement = np.random.default_rng(3).random(pop.n)
    for idx in (slice(None), np.random.default_rng(4).integers(0, pop.n, 500)):
        expected = np.where(pop.marginalised[idx],
                            pop.base_access + (1.0 - pop.base_access) * pop.engagement[idx], 1.0)
        np.testing.assert_array_equal(pop.access(idx), expected)
