"""Ensembles shared by the validation tests: communities drawn from the priors.

Every ensemble is a set of paired communities (replication r of every scenario
starts from the same community), run at default size.
"""

import pytest

from experiments.compare import DEFAULT_SCENARIOS, Comparison, run_comparison

#: Communities per scenario. 40 keep the whole validation run to a few minutes on
#: 2 cores and measure a share of about 12% to within about +/- 10 points (95%).
VALIDATION_REPS = 40
VALIDATION_SEED = 20240601
#: Communities per region in the "both outcomes" tests.
REGION_REPS = 24

#: A region where the mechanisms favour a full collective: a competent, well-paid
#: backbone, faithful funders, little past conflict, trust to start from and residents
#: who organise.
FAVOURABLE = {"initial_trust": 0.6, "backbone_funding": 0.10,
              "backbone_competence_mean": 0.85, "funder_fidelity_mean": 0.95,
              "conflict_history_mean": 0.05, "organising_capacity_mean": 0.5}
#: A region where they work against it: a weak backbone, conflict, defecting funders
#: and little trust.
UNFAVOURABLE = {"initial_trust": 0.1, "backbone_competence_mean": 0.15,
                "funder_fidelity_mean": 0.3, "conflict_history_mean": 0.7}
#: A collective that costs its members much: meetings every week and more, heavy
#: reporting, and three times the default backbone share taken from grants.
COSTLY = {"communication_frequency": 6.0, "reporting_cost": 0.1, "backbone_funding": 0.15}
#: A coalition started by a three-year programme: its backbone and the funders'
#: collective practice end after 36 months (as the Communities That Care start-up
#: grants did); from then on the coalition stands on what membership brings.
START_UP_GRANT = {"backbone_funding_months": 36, "collective_practice_months": 36}


@pytest.fixture(scope="session")
def field_comparison() -> Comparison:
    """Default worlds, the default scenarios, common random numbers, all cores."""
    return run_comparison(DEFAULT_SCENARIOS, reps=VALIDATION_REPS, seed=VALIDATION_SEED,
                          progress=False)


@pytest.fixture(scope="session")
def favourable() -> Comparison:
    """The full collective in the favourable region."""
    return run_comparison(("collective",), reps=REGION_REPS, seed=VALIDATION_SEED,
                          params=FAVOURABLE, progress=False)


@pytest.fixture(scope="session")
def unfavourable() -> Comparison:
    """The full collective in the unfavourable region."""
    return run_comparison(("collective",), reps=REGION_REPS, seed=VALIDATION_SEED,
                          params=UNFAVOURABLE, progress=False)


@pytest.fixture(scope="session")
def two_sizes() -> dict[int, Comparison]:
    """The same scenarios in communities of 1,000 and of 2,000 residents with twice the money."""
    return {n: run_comparison(("isolated", "collective"), reps=REGION_REPS,
                              seed=VALIDATION_SEED, progress=False,
                              params={"n_residents": n, "total_funding": 2_500.0 * n})
            for n in (1000, 2000)}


@pytest.fixture(scope="session")
def costly() -> Comparison:
    """Isolated impact and a costly full collective in the same communities."""
    return run_comparison(("isolated", "collective"), reps=REGION_REPS, seed=VALIDATION_SEED,
                          params=COSTLY, progress=False)


@pytest.fixture(scope="session")
def start_up_grant() -> Comparison:
    """The full collective whose backbone money stops after three years."""
    return run_comparison(("collective",), reps=VALIDATION_REPS, seed=VALIDATION_SEED,
                          params=START_UP_GRANT, progress=False)
