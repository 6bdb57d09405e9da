"""Shared fixtures: small worlds that run in a fraction of a second."""

import pytest

SMALL = {"n_residents": 300, "n_nonprofits": 12, "n_funders": 3, "steps": 24}


@pytest.fixture
def small_params() -> dict:
    """Parameters of a small, fast world."""
    return dict(SMALL)
