"""The report's figures on cases worked out by hand, and invariants of AUC, deciles and thresholds."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from leadscore_cli.reporting.metrics import (
    Tally,
    calibration_bins,
    capacity_threshold,
    conversion_by,
    converted_below,
    deciles,
    lowest_converted,
    quantile,
    roc_auc,
    roc_curve,
    trapezoid_area,
    value_threshold,
)
from leadscore_cli.reporting.rule_lift import FAST_TRACK, NEVER_FIRES, NO_LIFT, LeadRules, rule_lift


def test_auc_counts_the_pairs_a_converted_lead_wins() -> None:
    # converted {2, 4} against lost {1, 3}: 2>1, 4>1, 4>3 win, 2<3 loses
    assert roc_auc([1, 2, 3, 4], [False, True, False, True]) == 0.75


def test_auc_counts_a_tie_as_half() -> None:
    # converted {2, 3} against lost {1, 2}: 1 + 0.5 + 1 + 1 of 4 pairs
    assert roc_auc([1, 2, 2, 3], [False, True, False, True]) == 0.875
    assert roc_auc([5, 5, 5], [True, False, True]) == 0.5


def test_auc_needs_both_kinds_of_lead() -> None:
    assert roc_auc([1, 2], [True, True]) is None
    assert roc_auc([], []) is None
    assert roc_curve([1, 2], [False, False]) == []


def test_mismatched_lengths_are_refused() -> None:
    with pytest.raises(ValueError, match="2 scores but 1 outcomes"):
        roc_auc([1, 2], [True])


def test_roc_curve_walks_down_the_distinct_scores() -> None:
    assert roc_curve([1, 2, 2, 3], [False, True, False, True]) == [
        (0.0, 0.0),
        (0.0, 0.5),
        (0.5, 1.0),
        (1.0, 1.0),
    ]


def test_deciles_rank_highest_first_with_lift() -> None:
    scores = list(range(1, 21))
    converted = [score > 15 for score in scores]
    buckets = deciles(scores, converted)
    assert [(b.low, b.high) for b in buckets[:3]] == [(19, 20), (17, 18), (15, 16)]
    assert [b.tally for b in buckets[:4]] == [Tally(2, 2), Tally(2, 2), Tally(2, 1), Tally(2, 0)]
    assert buckets[0].tally.lift(0.25) == 4.0
    assert len(buckets) == 10


def test_a_tied_score_stays_in_one_decile() -> None:
    buckets = deciles([5] * 6 + [1] * 4, [True] * 3 + [False] * 7)
    assert [(b.low, b.tally) for b in buckets] == [(5, Tally(6, 3)), (1, Tally(4, 0))]


def test_calibration_bins_are_equal_width_ranges() -> None:
    buckets = calibration_bins([0, 4, 6, 10], [False, False, True, True], bins=2)
    assert [(b.mean_score, b.tally.rate) for b in buckets] == [(2.0, 0.0), (8.0, 1.0)]
    (single,) = calibration_bins([3, 3], [True, False])
    assert single.tally == Tally(2, 1)


def test_thresholds_from_converted_leads() -> None:
    scores, converted = [90, 40, 120, 10], [True, True, False, False]
    assert lowest_converted(scores, converted) == 40
    assert converted_below(scores, converted, 100) == 2
    assert lowest_converted([1], [False]) is None


def test_capacity_threshold_keeps_the_leads_sales_can_call() -> None:
    scores = [10, 10, 8, 5, 5, 5, 1]
    threshold = capacity_threshold(scores, [False] * 7, weeks=2, capacity_per_week=2)
    assert threshold is not None
    assert (threshold.score, threshold.contacted.leads, threshold.per_week) == (8, 3, 1.5)
    assert capacity_threshold(scores, [False] * 7, weeks=2, capacity_per_week=0.5) is None


def test_value_threshold_maximises_value_less_cost() -> None:
    scores, converted = [10, 8, 5, 1], [True, False, True, False]
    # at 10: 100-30; at 8: 100-60; at 5: 200-90; at 1: 200-120
    best = value_threshold(scores, converted, value=100, cost=30)
    assert best is not None
    assert (best.score, best.net_value, best.contacted) == (5, 110, Tally(3, 2))
    assert value_threshold(scores, converted, value=100, cost=150) is None


def test_quantile_is_a_value_that_occurred() -> None:
    assert quantile([4, 1, 3, 2], 0.5) == 2
    assert quantile([4, 1, 3, 2], 0.9) == 4
    assert quantile([], 0.5) is None


def test_conversion_by_counts_per_key() -> None:
    assert conversion_by([("hot", True), ("hot", False), ("cold", False)]) == {
        "hot": Tally(2, 1),
        "cold": Tally(1, 0),
    }


def test_rule_lift_flags_silent_flat_and_far_above_rules() -> None:
    # Ten leads at one score: half came to a webinar and all of those converted; the careers page
    # fired on the other half, who did not.
    leads = [LeadRules({"webinar": 10.0}, 10, True) for _ in range(5)]
    leads += [LeadRules({"careers": 10.0}, 10, False) for _ in range(5)]
    found = {lift.rule: lift for lift in rule_lift(leads, ["webinar", "careers", "trial"])}
    webinar, careers, trial = found["webinar"], found["careers"], found["trial"]
    assert (webinar.fired, webinar.not_fired, webinar.lift, webinar.expected_rate) == (
        Tally(5, 5),
        Tally(5, 0),
        2.0,
        0.5,
    )
    assert webinar.flags == (FAST_TRACK,)
    assert careers.flags == (NO_LIFT,)
    assert trial.flags == (NEVER_FIRES,)
    # Four of five above a 50% expectation: above it, but not beyond chance
    modest = [LeadRules({"webinar": 10.0}, 10, won) for won in (True, True, True, True, False)]
    modest += [LeadRules({}, 10, won) for won in (True, False, False, False, False)]
    assert rule_lift(modest, ["webinar"])[0].flags == ()
    # Too few leads to judge: no flag
    assert rule_lift(leads[:2] + leads[5:7], ["webinar"])[0].flags == ()


outcomes = st.lists(st.tuples(st.integers(-50, 200), st.booleans()), min_size=1, max_size=60)


@given(outcomes)
def test_auc_is_blind_to_increasing_transforms(pairs: list[tuple[int, bool]]) -> None:
    scores, converted = [s for s, _ in pairs], [c for _, c in pairs]
    transformed = [s**3 + 7 * s + 1000 for s in scores]
    assert roc_auc(transformed, converted) == roc_auc(scores, converted)


@given(outcomes)
def test_auc_of_the_negated_score_is_its_complement(pairs: list[tuple[int, bool]]) -> None:
    scores, converted = [s for s, _ in pairs], [c for _, c in pairs]
    auc = roc_auc(scores, converted)
    negated = roc_auc([-s for s in scores], converted)
    if auc is None:
        assert negated is None
    else:
        assert negated == pytest.approx(1 - auc)
        assert trapezoid_area(roc_curve(scores, converted)) == pytest.approx(auc)


@given(outcomes)
def test_deciles_and_bins_keep_every_lead(pairs: list[tuple[int, bool]]) -> None:
    scores, converted = [s for s, _ in pairs], [c for _, c in pairs]
    for buckets in (deciles(scores, converted), calibration_bins(scores, converted)):
        assert sum(b.tally.leads for b in buckets) == len(scores)
        assert sum(b.tally.converted for b in buckets) == sum(converted)
    tops = deciles(scores, converted)
    assert all(a.low > b.high for a, b in itertools.pairwise(tops))


@given(outcomes, st.integers(1, 500), st.integers(0, 200))
def test_value_threshold_beats_every_other_threshold(
    pairs: list[tuple[int, bool]], value: int, cost: int
) -> None:
    scores, converted = [s for s, _ in pairs], [c for _, c in pairs]
    best = value_threshold(scores, converted, value=value, cost=cost)
    nets = [
        value * sum(c for s, c in pairs if s >= t) - cost * sum(1 for s, _ in pairs if s >= t)
        for t in set(scores)
    ]
    if best is None:
        assert max(nets) <= 0
    else:
        assert best.net_value == max(nets)
