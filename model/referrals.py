"""The shared referral list: mutually reinforcing activities made a mechanism.

Whoever coordinates the collective (the backbone, or the members themselves when
there is none) ranks residents by need each month and hands members the next
residents of their domain. Each resident-domain is listed once, so members never
treat the same need of the same person twice. How well the list reads need
depends on the coordinator's capacity and on residents' engagement.
"""

from __future__ import annotations

import numpy as np

from model.kernels import read_referral_needs
from model.population import ResidentPopulation


class ReferralList:
    """This month's shared referral list, one queue of residents per domain.

    Args:
        reading_noise: sd of the coordinator's reading of a need with no capacity and
            no resident engagement (need units).
    """

    def __init__(self, reading_noise: float) -> None:
        self.reading_noise = reading_noise
        self._queues: dict[int, np.ndarray] = {}

    def prepare(self, rng: np.random.Generator, pop: ResidentPopulation, demand: np.ndarray,
                capacity: float) -> None:
        """Build this month's list: ``demand[k]`` residents at most for domain k.

        Residents are ranked per domain by need here times mean need across domains
        (multi-domain need first, so the same people get the services that complement
        each other), read with noise that capacity and the resident's engagement
        reduce. Only residents that outreach reaches this month are listed.
        """
        self._queues = {}
        if not demand.any():
            return
        # One compiled pass reads every reached resident's needs (the same draws and
        # numbers as the array expressions): keys[d] is minus (need read in d x mean
        # need read), so the lowest keys are the highest priorities.
        reached, keys = read_referral_needs(
            rng, pop.need, pop.engagement, pop.marginalised, float(pop.base_access),
            self.reading_noise * (1.0 - capacity))
        m = reached.size
        for domain, wanted in enumerate(demand.tolist()):
            k = min(int(wanted), m)
            if k <= 0:
                continue
            rank = keys[domain]
            top = np.argpartition(rank, k - 1)[:k]
            top = top[np.argsort(rank[top], kind="stable")]
            self._queues[domain] = reached[top]

    def hand_out(self, domains: np.ndarray, wanted: np.ndarray
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Hand the queues out to requests in turn, first come, first served.

        Request i wants up to ``wanted[i]`` of the next residents listed for
        ``domains[i]``; a queue that runs dry leaves later requests short.

        Returns:
            The residents handed out, the request each went to, and how many each
            request got.
        """
        # A month has a few dozen requests: one slice each beats array bookkeeping.
        queues = self._queues
        handed = dict.fromkeys(queues, 0)  # residents handed out so far, per domain
        got = [0] * wanted.size
        parts: list[np.ndarray] = []
        owners: list[int] = []
        for i, (domain, want) in enumerate(zip(domains.tolist(), wanted.tolist(), strict=True)):
            queue = queues.get(domain) if want > 0 else None
            if queue is None:
                continue
            start = handed[domain]
            count = min(want, queue.size - start)
            if count > 0:
                parts.append(queue[start:start + count])
                owners.append(i)
                got[i] = count
                handed[domain] = start + count
        for domain, count in handed.items():
            if count:
                queues[domain] = queues[domain][count:]
        taken = np.array(got, dtype=np.int64)
        if not parts:
            empty = np.empty(0, dtype=np.intp)
            return empty, empty, taken
        return np.concatenate(parts), np.repeat(np.array(owners, dtype=np.intp),
                                                taken[owners]), taken
