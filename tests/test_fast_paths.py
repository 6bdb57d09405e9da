"""The speed-ups of the resident arrays give exactly the numbers of the plain NumPy forms."""

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
