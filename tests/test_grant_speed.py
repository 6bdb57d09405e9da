"""The contest on Python floats gives exactly what the NumPy version gave.

``score_applications``, ``pick_winners`` and ``run_contest`` were rewritten from
array code to per-applicant Python floats (a round has a handful of applicants).
The reference versions below are the array code as it was; on many random rounds
the new code must give bit-identical scores, the same winners and losers, the
same grant-seeking spending and leave each generator in the same state.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest

from model.grants import Judging, equilibrium_effort, pick_winners, run_contest, score_applications


@dataclass(eq=False)
class Applicant:
    """Just what a contest reads of a nonprofit."""

    pitch: float
    effectiveness: float
    alignment: float
    is_member: bool
    reporting_precision: float
    cap: float  # grant-seeking money it may still spend this month
    seeking: float = 0.0

    def affordable_effort(self, target: float) -> float:
        return max(0.0, min(target, self.cap - self.seeking))

    def pay_grant_seeking(self, amount: float) -> None:
        self.seeking += amount


def reference_pick_winners(rng, log_weights, k):
    k = min(k, log_weights.size)
    if k <= 0:
        return np.empty(0, dtype=np.intp)
    keys = log_weights + rng.gumbel(size=log_weights.size)
    return np.argsort(-keys, kind="stable")[:k]


def reference_score(rng, applicants, judging):
    pitch = np.array([a.pitch for a in applicants])
    eff = np.array([a.effectiveness for a in applicants])
    align = np.array([a.alignment if a.is_member else 0.0 for a in applicants])
    noise_sd = judging.noise_sd * (1.0 - np.array([a.reporting_precision for a in applicants]))
    signal = eff + rng.normal(0.0, 1.0, size=eff.size) * noise_sd if judging.noise_sd > 0 else eff
    prior_var = judging.prior_sd**2
    reliability = prior_var / (prior_var + noise_sd**2)
    estimate = judging.prior_mean + reliability * (signal - judging.prior_mean)
    return (judging.pitch_weight * pitch + judging.outcome_weight * estimate
            + judging.alignment_weight * align)


def reference_contest(rng, applicants, awards, grant_months, judging):
    if not applicants or not awards:
        return [], list(applicants)
    prize = sum(awards) / len(awards) * grant_months
    target = equilibrium_effort(prize, len(applicants), len(awards), judging.effort_power)
    log_w = reference_score(rng, applicants, judging)
    if target > 0:
        efforts = np.array([a.affordable_effort(target) for a in applicants])
        applying = np.flatnonzero(efforts > 0)
        applicants = [applicants[i] for i in applying]
        efforts, log_w = efforts[applying], log_w[applying]
        for a, x in zip(applicants, efforts, strict=True):
            a.pay_grant_seeking(float(x))
        log_w = log_w + judging.effort_power * np.log(efforts / target)
    order = reference_pick_winners(rng, log_w, len(awards))
    winners = [(applicants[i], awards[j]) for j, i in enumerate(order)]
    won = {int(i) for i in order}
    losers = [a for i, a in enumerate(applicants) if i not in won]
    return winners, losers


def random_round(seed: int):
    """A random field of applicants, awards and judging, some of it at the edges."""
    r = np.random.default_rng(seed)
    n = int(r.integers(0, 12))
    members = r.random(n) < 0.5
    precision = float(r.choice([0.0, 0.3, 1.0]))
    applicants = [
        Applicant(pitch=float(r.random()), effectiveness=float(r.beta(4, 4)),
                  alignment=float(r.random()), is_member=bool(members[i]),
                  reporting_precision=precision if r.random() < 0.5 else 0.0,
                  cap=float(r.choice([0.0, r.random() * 50.0, 1e9])))
        for i in range(n)
    ]
    n_awards = int(r.integers(0, 5))
    # Awards mix Python floats and NumPy scalars, as award_sizes gives them.
    awards = [10.0] * n_awards + ([np.float64(r.random() * 10.0)] if r.random() < 0.5 else [])
    judging = Judging(
        pitch_weight=float(r.choice([0.0, 2.0, r.random() * 4.0])),
        outcome_weight=float(r.random() * 8.0),
        noise_sd=float(r.choice([0.0, 0.3, r.random()])),
        alignment_weight=float(r.choice([0.0, r.random()])),
        effort_power=float(r.choice([0.0, 0.5, 1.0])),
        prior_mean=0.5, prior_sd=float(r.choice([1.0 / 6.0, 0.001])))
    return applicants, awards, int(r.integers(1, 37)), judging


@pytest.mark.parametrize("seed", range(150))
def test_scores_are_the_array_scores_bit_for_bit(seed):
    applicants, _, _, judging = random_round(seed)
    new, old = np.random.default_rng(seed), np.random.default_rng(seed)
    ours = score_applications(new, applicants, judging)
    theirs = reference_score(old, applicants, judging)
    assert np.array_equal(np.array(ours, dtype=float), theirs)
    assert new.random() == old.random()  # the same draws were taken


@pytest.mark.parametrize("seed", range(150))
def test_winners_are_the_argsort_winners(seed):
    r = np.random.default_rng(seed)
    n = int(r.integers(0, 15))
    weights = r.normal(size=n)
    if n > 2 and seed % 3 == 0:
        weights[1] = weights[0]  # ties go to the lower index, as a stable argsort
    k = int(r.integers(0, n + 2))
    new, old = np.random.default_rng(seed + 1), np.random.default_rng(seed + 1)
    expected = reference_pick_winners(old, weights, k).tolist()
    assert pick_winners(new, weights.tolist(), k) == expected
    assert new.random() == old.random()


@pytest.mark.parametrize("seed", range(250))
def test_a_contest_gives_what_the_array_contest_gave(seed):
    ours_field, awards, months, judging = random_round(seed)
    theirs_field, *_ = random_round(seed)
    new, old = np.random.default_rng(seed), np.random.default_rng(seed)
    winners, losers = run_contest(new, ours_field, list(awards), months, judging)
    ref_winners, ref_losers = reference_contest(old, theirs_field, list(awards), months, judging)
    index = {id(a): i for i, a in enumerate(ours_field)}
    ref_index = {id(a): i for i, a in enumerate(theirs_field)}
    assert [(index[id(a)], m) for a, m in winners] == [(ref_index[id(a)], m)
                                                       for a, m in ref_winners]
    assert [type(m) for _, m in winners] == [type(m) for _, m in ref_winners]
    assert [index[id(a)] for a in losers] == [ref_index[id(a)] for a in ref_losers]
    assert [a.seeking for a in ours_field] == [a.seeking for a in theirs_field]
    assert [type(a.seeking) for a in ours_field] == [type(a.seeking) for a in theirs_field]
    assert new.random() == old.random()


def test_an_effort_too_small_to_register_loses_as_it_did_with_numpy_logs():
    """A denormal effort over the target underflows to 0: log weight -inf, no error.

    Found by the long property test (max_seeking_share = 5e-324): the Python-float
    contest raised on math.log(0), where the array contest gave -inf and went on.
    """
    judging = Judging(pitch_weight=4.0, outcome_weight=2.0, noise_sd=0.3,
                      alignment_weight=0.0, effort_power=0.5, prior_mean=0.5,
                      prior_sd=1.0 / 6.0)

    def field():
        return [Applicant(pitch=0.5, effectiveness=0.5, alignment=0.0, is_member=False,
                          reporting_precision=0.0, cap=cap) for cap in (5e-324, 1e9, 1e9)]

    ours, theirs = field(), field()
    new, old = np.random.default_rng(3), np.random.default_rng(3)
    with np.errstate(divide="ignore"):
        ref_winners, ref_losers = reference_contest(old, theirs, [1000.0], 36, judging)
    winners, losers = run_contest(new, ours, [1000.0], 36, judging)
    assert [ours.index(a) for a, _ in winners] == [theirs.index(a) for a, _ in ref_winners]
    assert [ours.index(a) for a in losers] == [theirs.index(a) for a in ref_losers]
    assert ours[0] in losers  # its application counts for nothing against real ones
    assert new.random() == old.random()
