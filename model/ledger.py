"""The money ledger: every payment and every spending, by side and by purpose.

Payers and recipients record their own side of the money, so the model can check
that what funders and government paid out equals what nonprofits and the backbone
received (``MODEL.md``, accounting that must always hold): payers each payment,
the backbone each receipt, a nonprofit its month's grant money when it settles
the month.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

SPENDING_KINDS = ("services", "seeking", "meetings", "reporting", "backbone")


@dataclass
class Ledger:
    """Cumulative money flows of a run (all in money units).

    Attributes:
        paid: paid out by funders and government.
        received: received by nonprofits and the backbone.
        other_income: raised by nonprofits outside the pool (donors, fees).
        spent: cumulative spending by kind: nonprofit services, grant seeking (applications
            and compliance reporting), meetings, reporting into shared measurement, and
            backbone staff.
        month: the same spending for the current month only.
        recent: the spending of each of the last 11 finished months.
    """

    paid: float = 0.0
    received: float = 0.0
    other_income: float = 0.0
    spent: dict[str, float] = field(default_factory=lambda: dict.fromkeys(SPENDING_KINDS, 0.0))
    month: dict[str, float] = field(default_factory=lambda: dict.fromkeys(SPENDING_KINDS, 0.0))
    recent: deque[dict[str, float]] = field(default_factory=lambda: deque(maxlen=11))

    def record_paid(self, amount: float) -> None:
        """A payer's side of a transfer."""
        self.paid += amount

    def record_received(self, amount: float) -> None:
        """A recipient's side of a transfer."""
        self.received += amount

    def record_other_income(self, amount: float) -> None:
        """Money a nonprofit raised outside the pool (no payer in the model)."""
        self.other_income += amount

    def record_spending(self, services: float = 0.0, seeking: float = 0.0,
                        meetings: float = 0.0, reporting: float = 0.0) -> None:
        """A nonprofit's spending this month by purpose."""
        spent, month = self.spent, self.month
        spent["services"] += services
        month["services"] += services
        spent["seeking"] += seeking
        month["seeking"] += seeking
        spent["meetings"] += meetings
        month["meetings"] += meetings
        spent["reporting"] += reporting
        month["reporting"] += reporting

    def record_backbone_spending(self, amount: float) -> None:
        """The backbone's staff spending this month."""
        self.spent["backbone"] += amount
        self.month["backbone"] += amount

    def start_month(self) -> None:
        """Keep the past month's spending in the rolling year, then clear it."""
        self.recent.append(dict(self.month))
        for kind in self.month:
            self.month[kind] = 0.0

    def past_year(self) -> dict[str, float]:
        """Spending by kind over the last 12 months, the current one included."""
        total = dict(self.month)
        for month in self.recent:
            for kind, amount in month.items():
                total[kind] += amount
        return total

    @staticmethod
    def overhead_share(spending: dict[str, float]) -> float:
        """Grant-seeking share of nonprofit spending (0 when nothing was spent)."""
        total = (spending["services"] + spending["seeking"] + spending["meetings"]
                 + spending["reporting"])
        return spending["seeking"] / total if total > 0 else 0.0
