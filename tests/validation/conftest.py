"""One comparison of the default regimes at default size, shared by the validation tests."""

import pytest

from experiments.compare import DEFAULT_SCENARIOS, Comparison, run_comparison

#: Replications per scenario. 20 paired communities per regime keep the whole
#: validation run to a few minutes on 2 cores while giving a share measured to
#: about +/- 0.2 and paired tests enough power for differences of about half a
#: standard deviation.
VALIDATION_REPS = 20
VALIDATION_SEED = 20240601


@pytest.fixture(scope="session")
def field_comparison() -> Comparison:
    """Default worlds, the five default regimes, common random numbers, all cores."""
    return run_comparison(DEFAULT_SCENARIOS, reps=VALIDATION_REPS, seed=VALIDATION_SEED,
                          progress=False)
