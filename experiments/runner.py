"""Running one model: the pure function that sweeps, comparisons and tests call."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from model.core import CollectiveImpactModel
from model.parameters import ParameterError
from model.scenarios import make_scenario


def run_one(scenario: str = "collective", seed: Any = None, /,
            **params: Any) -> tuple[dict[str, Any], pd.DataFrame]:
    """Build a model, run it for ``steps`` months and return (summary, timeseries).

    Args:
        scenario: a named scenario or a scenario object.
        seed: an int, a ``numpy.random.SeedSequence`` or None (the declared ``seed``).
            ``seed=...`` given by keyword means the same.
        **params: declared parameters overriding the scenario.

    A top-level function of plain inputs and outputs, so it pickles to any worker.
    """
    if "seed" in params:
        if seed is not None:
            raise ParameterError("parameter 'seed': given twice (as the seed argument and "
                                 "as a parameter); allowed: give it once")
        if isinstance(params["seed"], np.random.SeedSequence):
            seed = params.pop("seed")
    if isinstance(seed, np.random.SeedSequence):
        # Mesa's stdlib RNG is seeded from an int; derive one reproducibly.
        seed = int(seed.generate_state(2, dtype=np.uint64)[0] >> np.uint64(1))
    model = CollectiveImpactModel(make_scenario(scenario, rng=seed, **params))
    model.run_for(model.params["steps"])
    return model.summary(), model.timeseries()
