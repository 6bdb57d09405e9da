"""Known answers for the faster organisation code: the same numbers as the code it replaced.

Each test runs a rewritten piece (caseload choice, the referral list, trust blocks,
the month's case table) and the plain version it replaced (kept here as the
reference) on the same seeded inputs, and asks for identical arrays, dtypes and
random-generator states afterwards: bit for bit, ties included.
"""

from __future__ import annotations

import numpy as np
import pytest

from model.caseload import choose_caseloads
from model.core import CollectiveImpactModel
from model.population import ResidentPopulation, row_sum
from model.referrals import ReferralList
from model.trust import TrustNetwork

SMALL = {"n_residents": 300, "n_nonprofits": 12, "n_funders": 3, "steps": 36}


# --- the replaced versions ----------------------------------------------------------------
def reference_choose_caseloads(rng, pop, domain, cases, cream, per_case):
    """``model.caseload.choose_caseloads`` before it was sped up."""
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
    fresh[1:] = (idx[1:] != idx[:-1]) | (group[1:] != group[:-1])
    idx, group = idx[fresh], group[fresh]
    reached = rng.random(idx.size) < pop.access(idx)
    idx, group = idx[reached], group[reached]
    need = pop.need[idx]
    here = need[np.arange(idx.size), domain[group]]
    elsewhere = row_sum(need) / pop.k
    score = np.where(cream[group], here * (1.0 - elsewhere), here * elsewhere)
    order = np.lexsort((-score, group))
    idx, group = idx[order], group[order]
    starts = np.searchsorted(group, np.arange(cases.size))
    rank = np.arange(idx.size) - starts[group]
    chosen = rank < cases[group]
    return idx[chosen], group[chosen]


def reference_prepare(reading_noise, rng, pop, demand, capacity):
    """``ReferralList.prepare`` before it was sped up; returns the queues."""
    queues = {}
    if not demand.any():
        return queues
    reached = np.flatnonzero(rng.random(pop.n) < pop.access())
    need = pop.need[reached]
    noise_sd = reading_noise * (1.0 - capacity) * (1.0 - pop.engagement[reached])
    seen = rng.standard_normal(need.shape)
    seen *= noise_sd[:, None]
    seen += need
    np.clip(seen, 0.0, 1.0, out=seen)
    overall = row_sum(seen) / seen.shape[1]
    for domain in np.flatnonzero(demand):
        k = min(int(demand[domain]), reached.size)
        if k <= 0:
            continue
        rank = -(seen[:, domain] * overall)
        top = np.argpartition(rank, k - 1)[:k]
        top = top[np.argsort(rank[top], kind="stable")]
        queues[int(domain)] = reached[top]
    return queues


class ReferenceTrust:
    """``TrustNetwork.build``, ``erode`` and ``mean_among`` as they were (``np.ix_``)."""

    def __init__(self, trust, build_rate, erode_rate):
        self.trust, self.build_rate, self.erode_rate = trust, build_rate, erode_rate
        self.contact = np.zeros(trust.shape, dtype=bool)

    def build(self, members, intensity):
        block = np.ix_(members, members)
        t = self.trust[block]
        t += min(1.0, self.build_rate * intensity) * (1.0 - t)
        np.fill_diagonal(t, 0.0)
        self.trust[block] = t
        self.contact[block] = True

    def erode(self, trusters, trusted, intensity):
        block = np.ix_(trusters, trusted)
        self.trust[block] *= 1.0 - min(1.0, self.erode_rate * intensity)
        self.contact[block] = True
        np.fill_diagonal(self.trust, 0.0)

    def mean_among(self, slots):
        n = slots.size
        return float(self.trust[np.ix_(slots, slots)].sum() / (n * (n - 1))) if n > 1 else 0.0


# --- helpers ------------------------------------------------------------------------------
def _population(seed: int, n: int = 400, k: int = 4, clipped: bool = False) -> ResidentPopulation:
    """A seeded population; ``clipped`` puts many needs exactly at 0 or 1 (ties in ranks)."""
    model = CollectiveImpactModel("collective", rng=seed, n_residents=n, n_domains=k,
                                  n_nonprofits=6, n_funders=2, steps=3)
    pop = model.population
    if clipped:
        rng = np.random.default_rng(seed)
        pop.need[rng.random(pop.need.shape) < 0.3] = 1.0
        pop.need[rng.random(pop.need.shape) < 0.2] = 0.0
    return pop


def _same(a: np.ndarray, b: np.ndarray) -> bool:
    return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()


# --- the tests ----------------------------------------------------------------------------
@pytest.mark.parametrize("seed", range(12))
def test_caseload_choice_gives_the_same_residents_and_draws(seed):
    """Same residents, requests and generator state as the lexsort version, ties included."""
    pop = _population(seed, n=60 if seed % 3 == 0 else 400, clipped=seed % 2 == 1)
    rng = np.random.default_rng(100 + seed)
    n_requests = int(rng.integers(1, 40))
    domain = rng.integers(0, pop.k, size=n_requests)
    cases = rng.integers(0, 30, size=n_requests)
    cases[rng.random(n_requests) < 0.2] = 0
    cream = rng.random(n_requests) < 0.5
    per_case = int(rng.integers(1, 5))
    mine, theirs = np.random.default_rng(seed), np.random.default_rng(seed)
    got = choose_caseloads(mine, pop, domain, cases, cream, per_case)
    want = reference_choose_caseloads(theirs, pop, domain, cases, cream, per_case)
    assert all(_same(g, w) for g, w in zip(got, want, strict=True))
    assert mine.bit_generator.state == theirs.bit_generator.state


def test_caseload_choice_with_nothing_to_choose():
    pop = _population(1)
    rng = np.random.default_rng(1)
    residents, request = choose_caseloads(rng, pop, np.zeros(3, dtype=int),
                                          np.zeros(3, dtype=int), np.ones(3, dtype=bool), 3)
    assert residents.size == request.size == 0
    assert rng.bit_generator.state == np.random.default_rng(1).bit_generator.state


@pytest.mark.parametrize("seed", range(10))
def test_referral_list_gives_the_same_queues_and_draws(seed):
    """Same queues (order included) and generator state as before, with ties in rank."""
    pop = _population(seed, k=1 + seed % 5, clipped=seed % 2 == 0)
    rng = np.random.default_rng(seed)
    demand = np.ceil(rng.random(pop.k) * 80.0) * (rng.random(pop.k) < 0.8)
    noise, capacity = float(rng.random()), float(rng.random())
    referrals = ReferralList(noise)
    mine, theirs = np.random.default_rng(seed + 50), np.random.default_rng(seed + 50)
    for _ in range(2):  # the second month reuses the work arrays
        referrals.prepare(mine, pop, demand, capacity)
        want = reference_prepare(noise, theirs, pop, demand, capacity)
        assert referrals._queues.keys() == want.keys()
        assert all(_same(referrals._queues[d], want[d]) for d in want)
        assert mine.bit_generator.state == theirs.bit_generator.state


@pytest.mark.parametrize("seed", range(6))
def test_trust_blocks_change_the_same_entries_by_the_same_amounts(seed):
    """build, erode (repeated slots too) and mean_among as with np.ix_, bit for bit."""
    rng = np.random.default_rng(seed)
    n = 30
    start = rng.random((n, n))
    network = TrustNetwork(start, 0.4, 0.08, 2.5, 0.01)
    reference = ReferenceTrust(network.trust.copy(), network.build_rate, network.erode_rate)
    for _ in range(20):
        members = rng.choice(n, size=int(rng.integers(2, n)), replace=False)
        intensity = float(rng.random() * 20.0)  # now and then above a rate of 1
        network.build(members, intensity)
        reference.build(members, intensity)
        trusters = rng.integers(0, n, size=int(rng.integers(1, 8)))  # repeats allowed
        trusted = rng.choice(n, size=int(rng.integers(1, 5)), replace=False)
        network.erode(trusters, trusted, 1.0 + intensity)
        reference.erode(trusters, trusted, 1.0 + intensity)
        assert _same(network.trust, reference.trust)
        assert _same(network._contact, reference.contact)
        slots = rng.choice(n, size=int(rng.integers(0, n)), replace=False)
        assert network.mean_among(slots) == reference.mean_among(slots)


def test_trust_in_members_reads_the_means_as_python_floats():
    model = CollectiveImpactModel("collective", rng=4, **SMALL)
    model.run_for(8)
    means = model._mean_trust_toward_members()
    for slot in range(means.size):
        value = model.trust_in_members(slot)
        assert type(value) is float and value == float(means[slot])


def test_a_month_keeps_its_accounts():
    """The money a nonprofit took in and spent this month is settled and cleared."""
    model = CollectiveImpactModel("collective", rng=6, **SMALL)
    model.run_for(3)
    n = model.nonprofits[0]
    n.receive(100.0, compliance_share=0.25)
    n.pay_grant_seeking(10.0)
    n.attend_meeting(1.0)
    reserves = n.reserves
    services = n.settle_budget()
    other = model.params["other_income_share"] * n.base_budget
    assert n.income_last_year[-1] == (100.0 + other) - other
    assert services >= 0.0 and n.reserves != reserves
    assert n._granted == n._other_income == n._seeking == n._compliance == 0.0
    assert n._meetings == n._reporting == 0.0


def test_one_rounds_rivalries_at_once_erode_as_one_call_per_contest():
    """Disjoint (losers, winners) blocks eroded in one pass equal one np.ix_ erosion per block."""
    rng = np.random.default_rng(11)
    one = TrustNetwork(rng.random((12, 12)), 0.3, 0.05, 3.0, 0.01)
    each = ReferenceTrust(one.trust.copy(), one.build_rate, one.erode_rate)
    slots = rng.permutation(12).tolist()
    blocks = [(slots[0:3], slots[3:5]), (slots[5:9], slots[9:10]), ([], slots[10:12])]
    one.erode_blocks(blocks, intensity=1.4)
    for rows, cols in blocks:
        if rows and cols:
            each.erode(rows, cols, 1.4)
    assert _same(one.trust, each.trust) and _same(one._contact, each.contact)
    with pytest.raises(ValueError, match="outside"):
        one.erode_blocks([([0], [12])])
