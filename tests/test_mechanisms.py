"""Each mechanism of MODEL.md behaves as its submodel says."""

import dataclasses

import numpy as np
import pytest

from model import CollectiveImpactModel
from model.grants import award_sizes, equilibrium_effort, pick_winners
from model.parameters import DEFAULTS
from model.population import ResidentPopulation
from model.trust import TrustNetwork


def _population(**overrides):
    params = {**DEFAULTS, "n_residents": 400, **overrides}
    return ResidentPopulation(np.random.default_rng(0), params)


def test_wellbeing_complements_punish_one_bad_domain_more_than_substitutes():
    """With rho < 0 one bad domain drags wellbeing far below the mean; rho = 1 is the mean."""
    subs, comp = _population(complementarity=1.0), _population(complementarity=-2.0)
    for pop in (subs, comp):
        pop.need[:] = 0.1
        pop.need[0, 0] = 0.9
        pop.version += 1
    assert subs.wellbeing()[0] == pytest.approx(np.mean(1 - subs.need[0]))
    assert comp.wellbeing()[0] < subs.wellbeing()[0] - 0.2
    # Fixing all of a person's domains gains more than fixing one, under complements.
    comp.need[1] = [0.8, 0.8, 0.8, 0.8]
    comp.version += 1
    base = comp.wellbeing()[1]
    comp.need[1, 0] = 0.4
    comp.version += 1
    one = comp.wellbeing()[1] - base
    comp.need[1] = 0.4
    comp.version += 1
    assert comp.wellbeing()[1] - base > 4 * one


def test_needs_regenerate_toward_structural_level():
    """A need lowered by services drifts back up toward its structural level."""
    pop = _population()
    pop.need[:] = 0.0
    pop.regenerate()
    assert np.all(pop.need > 0.0)
    assert np.all(pop.need <= pop.structural + pop.spillover)


def test_spillover_pushes_other_domains_up():
    """Severe need in one domain raises the others."""
    calm, stressed = _population(), _population()
    calm.need[:] = 0.3
    stressed.need[:] = 0.3
    stressed.need[:, 0] = 0.9
    calm.regenerate()
    stressed.regenerate()
    assert np.all(stressed.need[:, 1:] > calm.need[:, 1:])


def test_duplicated_cases_are_counted_and_wasted():
    """Two agencies treating the same need of the same person count once."""
    pop = _population()
    before = pop.need[5, 1]
    dup = pop.apply_services(np.array([5, 5, 6]), np.array([1, 1, 1]),
                             np.array([0.5, 0.2, 0.5]))
    assert dup == 1
    assert pop.need[5, 1] == pytest.approx(before * 0.5)


def test_marginalised_residents_are_harder_to_reach_unless_engaged():
    """Access of marginalised residents rises with their engagement."""
    pop = _population(marginalised_share=1.0)
    pop.engagement[:] = 0.0
    low = pop.access().mean()
    pop.engagement[:] = 1.0
    assert low == pytest.approx(DEFAULTS["marginalised_access"])
    assert pop.access().mean() == pytest.approx(1.0)


def test_trust_erodes_faster_than_it_builds():
    """One contact builds a+ (1 - T); one rivalry erodes 3 a+ T."""
    net = TrustNetwork(np.full((3, 3), 0.5), newcomer=0.5, build_rate=0.1, erosion_ratio=3.0,
                       decay=0.0)
    net.build(np.array([0, 1]))
    assert net.trust[0, 1] == pytest.approx(0.55)
    net.erode(np.array([0]), np.array([1]))
    assert net.trust[0, 1] == pytest.approx(0.55 * 0.7)
    assert net.trust[1, 0] == pytest.approx(0.55)  # asymmetric
    net.end_month()
    assert net.trust[2, 0] == pytest.approx(0.5)


def test_trust_decays_without_contact():
    """Pairs with no contact in a month lose trust slowly."""
    net = TrustNetwork(np.full((2, 2), 0.5), newcomer=0.5, build_rate=0.1, erosion_ratio=3.0,
                       decay=0.1)
    net.end_month()
    assert net.trust[0, 1] == pytest.approx(0.45)


def test_contest_dissipation_approaches_r_n_minus_1_over_n():
    """Total equilibrium effort for one prize is r V (n - 1) / n."""
    for n in (2, 5, 50):
        total = n * equilibrium_effort(100.0, n, 1, 1.0)
        assert total == pytest.approx(100.0 * (n - 1) / n)
    assert equilibrium_effort(100.0, 3, 3, 1.0) == 0.0


def test_awards_spend_the_pot_and_winners_follow_weights():
    """The pot is split into awards; heavier applicants win more often."""
    assert sum(award_sizes(25.0, 10.0, 10)) == pytest.approx(25.0)
    assert award_sizes(25.0, 10.0, 2) == [12.5, 12.5]
    rng = np.random.default_rng(1)
    wins = np.zeros(3)
    for _ in range(2000):
        wins[pick_winners(rng, np.log(np.array([1.0, 2.0, 7.0])), 1)] += 1
    assert wins[2] > wins[1] > wins[0]


def test_backbone_capacity_saturates_with_funding():
    """More backbone money buys capacity with diminishing returns, never above 1."""
    caps = []
    for share in (0.02, 0.1, 0.4):
        # Money per resident as in the default world (5 M a year for 2,000 residents).
        m = CollectiveImpactModel("collective", rng=1, n_residents=100, n_nonprofits=6,
                                  total_funding=250_000.0, backbone_funding=share, steps=60)
        m.run_for(60)
        caps.append(m.backbone.capacity)
    assert 0 < caps[0] < caps[1] < caps[2] < 1
    assert caps[2] - caps[1] < caps[1] - caps[0] + 0.3


def test_policy_phases_in_on_the_worst_domain_and_a_repeal_undoes_it():
    """An enacted policy cuts the worst domain's structural need as it is implemented;
    repealed, the domain returns to its base level."""
    m = CollectiveImpactModel("collective", rng=1, n_residents=200, n_nonprofits=6,
                              policy_base_hazard=1.0, policy_reversal_hazard=0.0,
                              policy_implementation_months=4.0, steps=8)
    before = m.population.structural.mean(axis=0).copy()
    worst = int(np.argmax(before))
    m.step()
    assert m.government.policies_enacted == 1
    first = m.population.structural.mean(axis=0)[worst]
    assert first == pytest.approx(before[worst] * (1 - DEFAULTS["policy_effect"] / 4))
    m.run_for(4)
    full = m.population.structural.mean(axis=0)[worst]
    assert full == pytest.approx(before[worst] * (1 - DEFAULTS["policy_effect"]))
    m.params["policy_reversal_hazard"] = 1.0
    m.params["policy_base_hazard"] = 0.0
    m.traits = dataclasses.replace(m.traits, organising_capacity=0.0)
    m.params["common_agenda"] = 0.0  # nobody defends the policies
    m.step()
    assert m.government.policies_repealed >= 1 and not m.government.policies
    assert m.population.structural.mean(axis=0)[worst] == pytest.approx(before[worst])


def test_policy_needs_a_political_window_for_the_coalition_to_matter():
    """Without a base hazard, no policy passes while no political window ever opens."""
    m = CollectiveImpactModel("collective", rng=3, n_residents=200, n_nonprofits=6,
                              policy_base_hazard=0.0, window_rate=0.0,
                              policy_coalition_hazard=1.0, steps=36)
    m.run_for(36)
    assert m.government.policies_enacted == 0
    m = CollectiveImpactModel("collective", rng=3, n_residents=200, n_nonprofits=6,
                              policy_base_hazard=0.0, window_rate=1.0, window_months=120.0,
                              policy_coalition_hazard=1.0, steps=36)
    m.run_for(36)
    assert m.government.policies_enacted > 0


def test_latent_resources_stay_hidden_until_trust_and_engagement_pass_thresholds():
    """Latent resources emerge gradually, and only where trust and engagement are high."""
    pop = _population(n_residents=4000)
    rng = np.random.default_rng(0)
    pop.engagement[:] = 0.9
    for _ in range(24):
        pop.activate_latent(rng, 0.1, 0.5, 0.5, 0.05, 0.1)  # low trust
    assert pop.latent_active.mean() < 0.001
    first = pop.activate_latent(rng, 0.9, 0.5, 0.5, 0.05, 0.1)
    assert first > 0.0 and pop.latent_active.mean() == pytest.approx(0.1, abs=0.02)
    for _ in range(60):
        pop.activate_latent(rng, 0.9, 0.5, 0.5, 0.05, 0.1)
    assert pop.latent_active.mean() > 0.95
    pop.engagement[:2000] = 0.1  # half the residents disengage
    for _ in range(60):
        pop.activate_latent(rng, 0.9, 0.5, 0.5, 0.05, 0.1)
    assert pop.latent_active[:2000].mean() < 0.05 < 0.95 < pop.latent_active[2000:].mean()


def test_meetings_cost_time_and_build_trust():
    """More meetings per month: more trust among nonprofits and more time spent meeting."""
    results = []
    for freq in (0.0, 4.0):
        m = CollectiveImpactModel("collective", rng=4, n_residents=200, n_nonprofits=10,
                                  communication_frequency=freq, steps=24)
        m.run_for(24)
        results.append((m.trust.mean_among(m.active_nonprofit_slots()),
                        m.ledger.spent["meetings"]))
    assert results[0][1] == 0.0 and results[1][1] > 0.0
    assert results[1][0] > results[0][0]


def test_mission_drift_moves_unaligned_nonprofits_and_costs_effectiveness():
    """A priority change makes money-short unaligned nonprofits switch domain."""
    m = CollectiveImpactModel("isolated", rng=2, n_residents=200, n_nonprofits=20,
                              drift_propensity=1.0, priority_focus=1.0)
    for n in m.nonprofits:
        n.reserves = 0.0
    funder = m.funders[0]
    new = (funder.priority_domain + 1) % m.params["n_domains"]
    movers = [n for n in m.nonprofits if n.domain != new]
    eff = {n.unique_id: n.effectiveness for n in movers}
    m.on_priority_change(funder, funder.priority_domain, new)
    assert all(n.domain == new for n in movers)
    loss = 1 - DEFAULTS["drift_effectiveness_loss"]
    assert all(n.effectiveness == pytest.approx(eff[n.unique_id] * loss) for n in movers)


def test_broke_nonprofits_close_and_slots_refill():
    """Months of negative reserves close a nonprofit; entrants take empty slots."""
    m = CollectiveImpactModel("isolated", rng=3, n_residents=200, n_nonprofits=8,
                              entry_rate=1.0, closure_months=1)
    victim = m.nonprofits[0]
    victim.reserves = -1e9
    m.step()
    assert m.closures >= 1 and victim not in m.nonprofits
    assert m.entries >= 1 and len(m.nonprofits) == 8


def test_aligned_nonprofits_serve_higher_need_than_creaming_ones():
    """Referrals reach residents with higher multi-domain need than creaming does."""
    need_served = {}
    for scenario in ("isolated", "collective"):
        m = CollectiveImpactModel(scenario, rng=5, n_residents=1500, n_nonprofits=20, steps=36)
        m.run_for(30)
        served = []
        original = m.population.apply_services

        def spy(residents, domains, reduction, served=served, original=original, m=m):
            served.append(m.population.need[residents].mean(axis=1))
            return original(residents, domains, reduction)

        m.population.apply_services = spy
        m.run_for(6)
        need_served[scenario] = np.concatenate(served).mean()
    assert need_served["collective"] > need_served["isolated"]


def test_referral_list_serves_requests_first_come_first_served():
    """Members take the next residents of their domain in the order they asked; a queue
    that runs dry leaves later members short, and nobody is handed out twice."""
    from model.referrals import ReferralList

    referrals = ReferralList(reading_noise=0.1)
    referrals._queues = {0: np.array([5, 6, 7, 8, 9]), 1: np.array([1, 2])}
    domains = np.array([0, 1, 0, 0, 1, 0])
    wanted = np.array([2, 1, 0, 2, 3, 4])
    residents, owner, got = referrals.hand_out(domains, wanted)
    assert got.tolist() == [2, 1, 0, 2, 1, 1]  # the last two asked when little was left
    assert {r: int(o) for r, o in zip(residents.tolist(), owner, strict=True)} == {
        5: 0, 6: 0, 1: 1, 7: 3, 8: 3, 2: 4, 9: 5}
    assert all(q.size == 0 for q in referrals._queues.values())
    again = referrals.hand_out(domains, wanted)
    assert again[0].size == 0 and not again[2].any()
