"""One comparison of the default regimes at default size, shared by the validation tests."""

import pytest

from experiments.compare import DEFAULT_SCENARIOS, Comparison, run_comparison

#: Replications per scenario. 40 paired communities per regime keep the whole
#: validation run to about three minutes on 2 cores while giving a share measured
#: to about +/- 0.15 and paired tests enough power for differences of about 0.4
#: standard deviations (the effect of funder churn on the small isolated gain is
#: about that size).
VALIDATION_REPS = 40
VALIDATION_SEED = 20240601


@pytest.fixture(scope="session")
def field_comparison() -> Comparison:
    """Default worlds, the five default regimes, common random numbers, all cores."""
    return run_comparison(DEFAULT_SCENARIOS, reps=VALIDATION_REPS, seed=VALIDATION_SEED,
                          progress=False)
