"""The weighted, asymmetric trust network among organisations.

Every organisation (nonprofit, funder, government, backbone) holds a fixed slot;
``trust[i, j]`` is how much organisation i trusts organisation j, in [0, 1].
Slots of closed nonprofits are reused by entrants, so the matrix never grows.
"""

from __future__ import annotations

import numpy as np


class TrustNetwork:
    """Trust between organisation slots, built slowly and eroded fast.

    Building follows dT = a+ * s * (1 - T); erosion dT = -a- * s * T with
    a- = ratio * a+; pairs without contact in a month decay by ``decay`` * T.

    Args:
        start: (n, n) starting trust of every ordered pair (the diagonal is ignored).
        newcomer: trust a new occupant of a slot starts with, both ways.
        build_rate: a+ per unit of contact.
        erosion_ratio: a- / a+.
        decay: relative monthly decay of trust between pairs with no contact.
    """

    def __init__(self, start: np.ndarray, newcomer: float, build_rate: float,
                 erosion_ratio: float, decay: float) -> None:
        self.newcomer = newcomer
        self.build_rate = build_rate
        self.erode_rate = min(1.0, build_rate * erosion_ratio)
        self.decay = decay
        self.trust = np.clip(np.array(start, dtype=float), 0.0, 1.0)
        np.fill_diagonal(self.trust, 0.0)
        self._contact = np.zeros(self.trust.shape, dtype=bool)
        self.version = 0  # bumped on every change, so readers can cache what they derive

    def build(self, members: np.ndarray, intensity: float = 1.0) -> None:
        """Raise trust among all pairs of ``members`` (a meeting or joint work)."""
        if members.size < 2 or intensity <= 0:
            return
        block = self._block(members, members)  # the members x members block, row by row
        t = self.trust.take(block)
        rate = self.build_rate * intensity
        t += (rate if rate < 1.0 else 1.0) * (1.0 - t)
        t[::members.size + 1] = 0.0  # the block's diagonal: nobody builds trust in itself
        self.trust.put(block, t)
        self._contact.put(block, True)
        self.version += 1

    def erode(self, trusters: np.ndarray, trusted: np.ndarray, intensity: float = 1.0) -> None:
        """Lower the trust of each of ``trusters`` toward each of ``trusted``."""
        self.erode_blocks([(np.asarray(trusters).tolist(), np.asarray(trusted).tolist())],
                          intensity)

    def erode_blocks(self, blocks: list[tuple[list[int], list[int]]],
                     intensity: float = 1.0) -> None:
        """Lower trust within several (trusters, trusted) blocks at once, in one pass.

        The blocks must not share an entry (one round's contests, each in its own
        domain, never do): each entry is eroded once, as by one ``erode`` per block.
        """
        blocks = [(rows, cols) for rows, cols in blocks if rows and cols]
        if not blocks or intensity <= 0:
            return
        n = self.trust.shape[1]
        if any(min(*rows, *cols) < 0 or max(*rows, *cols) >= n for rows, cols in blocks):
            raise ValueError("a slot outside the trust network")
        # Flat index of entry (i, j) is i x n + j, listed block by block, row by row.
        flat = np.array([i * n + j for rows, cols in blocks for i in rows for j in cols],
                        dtype=np.intp)
        rate = self.erode_rate * intensity
        t = self.trust.take(flat)
        t *= 1.0 - (rate if rate < 1.0 else 1.0)  # the diagonal's zeros stay zero
        self.trust.put(flat, t)
        self._contact.put(flat, True)
        self.version += 1

    def end_month(self) -> None:
        """Decay trust between pairs that had no contact this month, then reset contacts."""
        self.trust[~self._contact] *= 1.0 - self.decay
        self._contact[:] = False
        self.version += 1

    def reset_slot(self, slot: int) -> None:
        """Give a new occupant of ``slot`` the newcomer's trust, both ways."""
        self.trust[slot, :] = self.newcomer
        self.trust[:, slot] = self.newcomer
        self.trust[slot, slot] = 0.0
        self.version += 1

    def mean_among(self, slots: np.ndarray) -> float:
        """Mean trust over ordered pairs of distinct ``slots`` (0 if fewer than two)."""
        n = slots.size
        if n < 2:
            return 0.0
        block = self.trust.take(self._block(slots, slots)).reshape(n, n)
        return float(block.sum() / (n * (n - 1)))

    def _block(self, rows: np.ndarray, columns: np.ndarray) -> np.ndarray:
        """Flat indices into ``trust`` of the ``rows`` x ``columns`` block, row by row.

        ``take`` and ``put`` on these read and write the block as ``trust[np.ix_(rows,
        columns)]`` does, at a fraction of the cost for blocks this small. A slot outside
        the network raises ``ValueError``.
        """
        rows = np.asarray(rows, dtype=np.intp)[:, None]
        return np.ravel_multi_index((rows, columns), self.trust.shape).ravel()
