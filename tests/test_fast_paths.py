"""The speed-ups of the resident arrays (reused arrays, compiled passes) give exactly the
numbers of the plain NumPy forms."""

import numpy as np
import pytest

from model.parameters import DEFAULTS
from model.population import ResidentPopulation, row_sum


@pytest.mark.parametrize("k", range(1, 9))
def test_row_sum_is_bit_identical_to_numpy_sum(k):
    """row_sum adds columns in NumPy's own order, so seeded results do not move."""
    rng = np.random.default_rng(k)
    for n in (1, 7, 300, 5001):
        a = rng.random((n, k)) * rng.choice([1e-3, 1.0, 1e3], size=(n, k))
        np.testing.assert_array_equal(row_sum(a), a.sum(axis=1))
        np.testing.assert_array_equal(row_sum(a) / k, a.mean(axis=1))


def _population(**changes) -> ResidentPopulation:
    params = {**DEFAULTS, "n_residents": 500, **changes}
    return ResidentPopulation(np.random.default_rng(3), params)


@pytest.mark.parametrize("changes", [{}, {"n_domains": 1}, {"n_domains": 8},
                                     {"complementarity": 0.0}, {"complementarity": 1.0}])
def test_in_place_month_matches_the_textbook_formulas(changes):
    """Drift and CES wellbeing computed in reused arrays equal the direct expressions."""
    pop = _population(**changes)
    need, k = pop.need.copy(), pop.k
    others = (need.sum(axis=1, keepdims=True) - need) / (k - 1) if k > 1 else 0.0 * need
    expected = np.clip(need + pop.regeneration * (pop.structural - need)
                       + pop.spillover * others, 0.0, 1.0)
    pop.regenerate()
    np.testing.assert_array_equal(pop.need, expected)

    x = np.clip(1.0 - pop.need, 1e-6, 1.0)
    if abs(pop.rho) < 1e-9:
        wellbeing = np.exp(np.log(x).mean(axis=1))
    else:
        wellbeing = np.power(np.power(x, pop.rho).mean(axis=1), 1.0 / pop.rho)
    np.testing.assert_array_equal(pop.wellbeing(), wellbeing)
    np.testing.assert_array_equal(pop.mean_need(), pop.need.mean(axis=0))


def test_regenerate_updates_the_need_array_in_place():
    """Needs keep their array across months, so row views (Resident.need) stay live."""
    pop = _population()
    before = pop.need
    row = pop.need[4]
    pop.regenerate()
    assert pop.need is before
    np.testing.assert_array_equal(row, pop.need[4])


# --- the monthly passes against the NumPy forms: compiled ones (model.kernels) and ----
# --- the latent-resources pass, which stays on NumPy ------------------------------------
def _same_bits(a: np.ndarray, b: np.ndarray) -> bool:
    return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()


@pytest.mark.parametrize("k", [1, 3, 4, 8])
def test_the_starting_drift_is_two_hundred_textbook_months(k):
    """The 200-month start gives what the textbook month, applied 200 times, gives."""
    pop = _population(n_domains=k)
    need = pop.structural_base.copy()
    for _ in range(200):
        others = (row_sum(need)[:, None] - need) / (k - 1) if k > 1 else 0.0 * need
        need = np.clip(need + (pop.structural - need) * pop.regeneration
                       + others * pop.spillover, 0.0, 1.0)
    assert _same_bits(pop._drift(pop.structural_base.copy(), months=200), need)


def test_engagement_grows_by_the_textbook_formula():
    pop = _population()
    e = pop.engagement.copy()
    # e += growth - decay, as the in-place array form added them
    expected = np.clip(e + (0.03 * pop.responsiveness * (1.0 - e) - 0.01 * e), 0.0, 1.0)
    pop.update_engagement(0.03, 0.01)
    assert _same_bits(pop.engagement, expected)


@pytest.mark.parametrize("seed", range(4))
def test_services_keep_the_strongest_case_per_need_like_the_sort_version(seed):
    """Same needs and duplicate count as argsort + maximum.reduceat, many duplicates."""
    pop = _population()
    rng = np.random.default_rng(seed)
    cases = int(rng.integers(1, 3000))
    residents = rng.integers(0, 40 if seed % 2 else pop.n, size=cases)
    domains = rng.integers(0, pop.k, size=cases)
    reduction = rng.random(cases) * rng.choice([0.0, 1.0], size=cases, p=[0.1, 0.9])
    need = pop.need.copy()
    key = residents.astype(np.int64) * pop.k + domains
    order = np.argsort(key, kind="stable")
    key_sorted = key[order]
    starts = np.flatnonzero(np.r_[True, key_sorted[1:] != key_sorted[:-1]])
    best = np.maximum.reduceat(reduction[order], starts)
    r, d = np.divmod(key_sorted[starts], pop.k)
    need[r, d] *= 1.0 - best
    assert pop.apply_services(residents, domains, reduction) == cases - starts.size
    assert _same_bits(pop.need, need)


@pytest.mark.parametrize("seed", range(4))
def test_latent_resources_switch_like_the_array_version(seed):
    """Same active residents, volume and generator state as the scipy expit arrays."""
    from scipy.special import expit

    pop = _population(n_residents=3000)
    pop.engagement[:] = np.random.default_rng(seed).random(pop.n)  # the whole logistic range
    args = (0.2 + 0.15 * seed, 0.3, 0.5, 0.05 + 0.1 * seed, 0.4)
    trust, trust_threshold, engagement_threshold, width, switch_rate = args
    active = np.random.default_rng(seed + 9).random(pop.n) < 0.3
    pop.latent_active[:] = active
    mine, theirs = np.random.default_rng(seed), np.random.default_rng(seed)
    volume = pop.activate_latent(mine, *args)
    favour = expit((pop.engagement - engagement_threshold) / width) \
        * float(expit((trust - trust_threshold) / width))
    switching = theirs.random(pop.n) < switch_rate
    wanted = theirs.random(pop.n) < favour
    active[switching] = wanted[switching]
    assert _same_bits(pop.latent_active, active)
    assert volume == float(pop.latent[active].sum())
    assert mine.bit_generator.state == theirs.bit_generator.state
