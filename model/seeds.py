"""Seeds of runs: every run is seeded with one non-negative 63-bit integer.

Mesa's ``Model(rng=SEED)`` with an integer seeds both ``model.rng`` (NumPy) and
``model.random`` (the standard library) from it, so that integer alone replays a
run. Whatever the caller gives as ``rng`` is turned into such an integer first
(``run_seed``): a ``SeedSequence`` by ``seed_int``, a ``Generator`` by one draw,
nothing at all by fresh operating-system entropy (Mesa's meaning of ``rng=None``).
The model records the integer (``model.run_seed``, the summary field ``seed``);
``cisim run --seed SEED`` or ``CollectiveImpactModel(..., rng=SEED)`` replays it.

Seeds are below 2**63 so they fit a signed 64-bit column; the bound is the
declared maximum of the ``seed`` parameter.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from model.parameters import ParameterError, get_parameter

_SEED = get_parameter("seed")
assert _SEED.maximum is not None, "seed is a declared integer parameter, so it has bounds"

#: Largest seed a run accepts or records (the declared maximum of ``seed``).
SEED_MAX: int = int(_SEED.maximum)


def seed_int(seed_sequence: np.random.SeedSequence) -> int:
    """The non-negative 63-bit integer that stands for ``seed_sequence``.

    Its first 64-bit word of state, halved. The experiment tools derive the seeds
    they write the same way, so a spawned ``SeedSequence`` and its integer give
    the same run.

    Args:
        seed_sequence: any NumPy ``SeedSequence`` (spawned children included).

    Returns:
        An integer in [0, SEED_MAX].
    """
    return int(seed_sequence.generate_state(2, dtype=np.uint64)[0] >> np.uint64(1))


def fresh_seed() -> int:
    """A new seed from operating-system entropy (touches no global random state)."""
    return seed_int(np.random.SeedSequence())


def run_seed(rng: Any) -> int:
    """The integer seed a run uses when it is given ``rng``.

    Args:
        rng: None (a fresh seed from OS entropy), an integer in [0, SEED_MAX] (itself),
            a ``SeedSequence`` (``seed_int``), a sequence of non-negative integers (as
            the entropy of a ``SeedSequence``), or a NumPy ``Generator`` or
            ``BitGenerator`` (one draw from it, which advances it).

    Returns:
        An integer in [0, SEED_MAX].

    Raises:
        ParameterError: for an integer out of range (naming ``seed``) or any other type.
    """
    if rng is None:
        return fresh_seed()
    if isinstance(rng, int | np.integer | np.bool_):
        return _SEED.validate(rng)  # refuses booleans and integers out of range
    if isinstance(rng, np.random.SeedSequence):
        return seed_int(rng)
    if isinstance(rng, np.random.BitGenerator):
        rng = np.random.Generator(rng)
    if isinstance(rng, np.random.Generator):
        return int(rng.integers(SEED_MAX, endpoint=True))
    if (isinstance(rng, Sequence) and not isinstance(rng, str | bytes) and rng
            and all(isinstance(x, int | np.integer) and not isinstance(x, bool | np.bool_)
                    and x >= 0 for x in rng)):
        return seed_int(np.random.SeedSequence([int(x) for x in rng]))
    raise ParameterError(
        f"rng: got {rng!r}; allowed: None (a fresh seed), {_SEED.allowed} (parameter "
        "'seed'), a numpy SeedSequence, a sequence of non-negative integers or a Generator"
    )
