"""Running one model: the pure function that sweeps, comparisons and tests call."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from model.core import CollectiveImpactModel
from model.metrics import summarise
from model.parameters import ParameterError
from model.scenarios import make_scenario
from model.seeds import seed_int


def run_one(scenario: str = "collective", seed: Any = None, /,
            **params: Any) -> tuple[dict[str, Any], pd.DataFrame]:
    """Build a model, run it for ``steps`` months and return (summary, timeseries).

    Args:
        scenario: a named scenario or a scenario object.
        seed: an int in [0, 2**63 - 1], a ``numpy.random.SeedSequence`` (turned into
            an int by ``model.seeds.seed_int``) or None: then the ``seed`` parameter
            if given, else the scenario object's seed, else a fresh seed from OS
            entropy. ``seed=...`` given by keyword means the same. The seed used is
            the summary field ``seed``.
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
        seed = seed_int(seed)  # Mesa seeds its stdlib RNG from an int: derive one
    model = CollectiveImpactModel(make_scenario(scenario, rng=seed, **params))
    model.run_for(model.params["steps"])
    series = model.timeseries()
    return summarise(model, series), series  # model.summary(), without building the table twice
