"""Grants, grant programmes and the contest that allocates them.

A grant round is a Tullock-style contest. Reviewers score each application on
grant-writing skill (pitch) and a noisy signal of true effectiveness; winners are
drawn without replacement with probability proportional to exp(score) times
effort^r. Applicants aim at the symmetric equilibrium effort of such a contest,
x = r V (n - 1) / n^2 for n applicants chasing a prize V, so the field burns
r (n - 1)/n of each prize on applying: the more applicants, the more waste.
Nobody spends more on applications in a month than its grant-seeking budget
(``max_seeking_share`` of its monthly budget) allows.
``r`` is how much application effort still sways reviewers (``effort_sway`` in
open rounds), lower when funders judge on shared-measurement data.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from agents.grantmaker import GrantMaker
    from agents.nonprofit import Nonprofit


@dataclass(eq=False)
class Grant:
    """A commitment to pay ``monthly`` money to ``recipient`` for ``months_left`` months."""

    payer: GrantMaker
    recipient: Nonprofit
    monthly: float
    months_left: int
    mode: str


@dataclass
class Judging:
    """How reviewers of one round score applications.

    Attributes:
        pitch_weight: log-odds per unit of pitch (grant-writing skill, in [0, 1]).
        outcome_weight: log-odds per unit of the outcome signal.
        noise_sd: standard deviation of the reviewer's outcome signal.
        alignment_weight: log-odds per unit of alignment (collective funders reward it).
        effort_power: r, how much application effort sways the outcome, in [0, 1].
        prior_mean: reviewers' prior mean of an applicant's effectiveness.
        prior_sd: reviewers' prior spread of effectiveness.
    """

    pitch_weight: float
    outcome_weight: float
    noise_sd: float
    alignment_weight: float = 0.0
    effort_power: float = 1.0
    prior_mean: float = 0.5
    prior_sd: float = 1.0 / 6.0


@dataclass(eq=False)
class GrantProgram:
    """One stream of a grant maker's money, run in one mode.

    Attributes:
        mode: ``"isolated"``, ``"collective"`` or ``"government"``.
        share: share of the grant maker's grant budget that this programme spends.
        grant_months: length of each grant it awards.
        round_interval: months between rounds.
        next_round: model step of its next round.
        grants: grants it is paying.
        rounds_run: rounds held so far.
        carried: money of past months it could pay nobody, paid out as soon as it can.
    """

    mode: str
    share: float
    grant_months: int
    round_interval: int
    next_round: int
    grants: list[Grant] = field(default_factory=list)
    rounds_run: int = 0
    carried: float = 0.0

    def committed_monthly(self) -> float:
        """Money per month already promised to running grants."""
        return sum([g.monthly for g in self.grants])


def award_sizes(pot_monthly: float, award_monthly: float, max_awards: int) -> list[float]:
    """Split a monthly pot into awards of ``award_monthly`` plus one smaller remainder.

    With fewer applicants than awards, the pot is shared as ``max_awards`` equal,
    larger awards: a funder spends its money rather than sit on it.
    """
    if pot_monthly <= 0 or award_monthly <= 0 or max_awards <= 0:
        return []
    n_full = int(pot_monthly // award_monthly)
    sizes = [award_monthly] * n_full
    rest = pot_monthly - n_full * award_monthly
    if rest > 1e-9 * award_monthly:
        sizes.append(rest)
    if len(sizes) > max_awards:
        sizes = [pot_monthly / max_awards] * max_awards
    return sizes


def equilibrium_effort(prize: float, n_applicants: int, n_prizes: int,
                       effort_power: float) -> float:
    """Symmetric equilibrium effort of one applicant in a Tullock contest.

    With n applicants for k prizes of value V each, the field spends
    r k V (n - k) / n in all, i.e. r V k (n - k) / n^2 each; for one prize this is
    the classic r V (n - 1) / n^2, so dissipation approaches r (n - 1) / n. Nobody
    spends anything when every applicant wins.
    """
    n, k = n_applicants, n_prizes
    if n <= k or n < 2:
        return 0.0
    return effort_power * prize * k * (n - k) / (n * n)


def pick_winners(rng: np.random.Generator, log_weights: Sequence[float], k: int) -> list[int]:
    """Draw ``k`` distinct winners with probability proportional to exp(log_weights).

    Uses the Gumbel-top-k trick, equivalent to successive draws without replacement:
    one Gumbel draw per entry, then the ``k`` largest keys (ties to the lower index).
    Returns their indices, best first.
    """
    n = len(log_weights)
    k = min(k, n)
    if k <= 0:
        return []
    gumbel = rng.gumbel(size=n).tolist()
    # Python's sort is stable, as argsort(-keys, kind="stable") was.
    neg_keys = [-(w + g) for w, g in zip(log_weights, gumbel, strict=True)]
    return sorted(range(n), key=neg_keys.__getitem__)[:k]


def score_applications(rng: np.random.Generator, applicants: list[Nonprofit],
                       judging: Judging) -> list[float]:
    """Reviewers' log-weights for ``applicants`` (pitch, outcome evidence, alignment).

    Reviewers read effectiveness through a noisy signal and discount it by its
    reliability: their estimate is prior mean + reliability x (signal - prior mean),
    with reliability = prior variance / (prior variance + noise variance). The noise
    of an applicant who reports into shared measurement is cut by the shared
    system's precision, so clean shared data sway decisions; noisy reports barely do.

    A round has a handful of applicants, so this works on Python floats, one
    applicant at a time (the same operations, in the same order, as on arrays);
    the reviewers' standard-normal draws come as one block, one per applicant.
    """
    noise = judging.noise_sd
    draws = rng.normal(0.0, 1.0, size=len(applicants)).tolist() if noise > 0 else None
    mean = judging.prior_mean
    prior_var = judging.prior_sd**2
    pitch_w, outcome_w, align_w = (judging.pitch_weight, judging.outcome_weight,
                                   judging.alignment_weight)
    scores = []
    for i, a in enumerate(applicants):
        # Members who report into shared measurement are read through its cleaner data.
        noise_sd = noise * (1.0 - a.reporting_precision)
        signal = a.effectiveness + draws[i] * noise_sd if draws is not None else a.effectiveness
        reliability = prior_var / (prior_var + noise_sd * noise_sd)
        estimate = mean + reliability * (signal - mean)
        align = a.alignment if a.is_member else 0.0
        scores.append(pitch_w * a.pitch + outcome_w * estimate + align_w * align)
    return scores


def _log(x: float) -> float:
    """Natural log, -inf at 0 (as ``np.log``): a tiny effort over a large target can underflow."""
    return math.log(x) if x > 0.0 else -math.inf


def run_contest(rng: np.random.Generator, applicants: list[Nonprofit], awards: list[float],
                grant_months: int, judging: Judging) -> tuple[list[tuple[Nonprofit, float]],
                                                              list[Nonprofit]]:
    """Run one contest for ``awards`` (monthly amounts) among distinct ``applicants``.

    Each applicant spends the equilibrium effort or, when its grant-seeking budget
    for the month runs short, what it can still afford; one that can afford nothing
    does not apply. Win chances are proportional to exp(score) x effort^r, so
    cheaper applications win less often. Returns the winners with their monthly
    award and the losers.
    """
    if not applicants or not awards:
        return [], list(applicants)
    # Prize and target as Python floats (awards may be NumPy scalars; same values).
    prize = float(sum(awards)) / len(awards) * grant_months
    target = equilibrium_effort(prize, len(applicants), len(awards), judging.effort_power)
    log_w = score_applications(rng, applicants, judging)
    if target > 0:
        applying, efforts, scores = [], [], []
        for a, score in zip(applicants, log_w, strict=True):  # each applicant once
            effort = a.affordable_effort(target)
            if effort > 0:
                a.pay_grant_seeking(float(effort))
                applying.append(a)
                efforts.append(effort)
                scores.append(score)
        applicants, log_w = applying, scores
        if efforts:
            r = judging.effort_power
            log_w = [w + r * _log(x / target) for w, x in zip(scores, efforts, strict=True)]
    order = pick_winners(rng, log_w, len(awards))
    winners = [(applicants[i], awards[j]) for j, i in enumerate(order)]
    won = set(order)
    losers = [a for i, a in enumerate(applicants) if i not in won]
    return winners, losers
