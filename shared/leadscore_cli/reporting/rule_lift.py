"""Per rule: how often it fired, how its leads converted, and whether its points say as much."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from leadscore_cli.reporting.metrics import Bucket, Tally, deciles, tally

NEVER_FIRES = "never fires"
NO_LIFT = "no lift"
FAST_TRACK = "converts far above its points: a fast-track?"
# A rule's leads "convert far above their points" when they convert at least 20 points (of a hundred)
# more than leads with the same scores do, and by at least two standard deviations of that expectation.
FAR_ABOVE_MARGIN = 0.2
FAR_ABOVE_DEVIATIONS = 2.0


@dataclass(frozen=True)
class LeadRules:
    """One decided lead: the points each rule gave it, its score, and whether it converted."""

    points: Mapping[str, float]
    score: float
    converted: bool


@dataclass(frozen=True)
class RuleLift:
    rule: str
    mean_points: float | None
    fired: Tally
    not_fired: Tally
    base_rate: float | None
    expected_rate: float | None
    flags: tuple[str, ...]

    @property
    def lift(self) -> float | None:
        """Conversion where the rule fired over every decided lead's."""
        return self.fired.lift(self.base_rate)


def rule_lift(leads: Sequence[LeadRules], rule_ids: Sequence[str], *, min_leads: int = 5) -> list[RuleLift]:
    """Every rule of ``rule_ids`` (and any other a lead carries), in that order. ``expected_rate`` is what
    the scores of the rule's leads predict: the mean conversion of their score deciles. A rule is flagged
    when it never fired, when (on ``min_leads`` leads or more) its leads convert no better than all
    leads (no worse, for negative points), or when they convert far above what their scores predict
    (by ``FAR_ABOVE_MARGIN`` and beyond chance)."""
    base = tally(lead.converted for lead in leads)
    buckets = deciles([lead.score for lead in leads], [lead.converted for lead in leads])
    ids = list(dict.fromkeys([*rule_ids, *(rule for lead in leads for rule in lead.points)]))
    found = []
    for rule in ids:
        fired = [lead for lead in leads if rule in lead.points]
        fired_tally = tally(lead.converted for lead in fired)
        points = [lead.points[rule] for lead in fired]
        mean_points = sum(points) / len(points) if points else None
        predicted = [_decile_rate(buckets, lead.score) for lead in fired]
        expected = sum(predicted) / len(predicted) if predicted else None
        found.append(
            RuleLift(
                rule=rule,
                mean_points=mean_points,
                fired=fired_tally,
                not_fired=Tally(base.leads - fired_tally.leads, base.converted - fired_tally.converted),
                base_rate=base.rate,
                expected_rate=expected,
                flags=_flags(fired_tally, mean_points, base.rate, predicted, min_leads),
            )
        )
    return found


def _flags(
    fired: Tally, points: float | None, base_rate: float | None, predicted: Sequence[float], min_leads: int
) -> tuple[str, ...]:
    rate = fired.rate
    if rate is None or points is None:
        return (NEVER_FIRES,)
    if fired.leads < min_leads or base_rate is None:
        return ()
    flags = []
    if (points > 0 and rate <= base_rate) or (points < 0 and rate >= base_rate):
        flags.append(NO_LIFT)
    if _far_above(fired, predicted):
        flags.append(FAST_TRACK)
    return tuple(flags)


def _far_above(fired: Tally, predicted: Sequence[float]) -> bool:
    """More conversions than the leads' scores predict, beyond chance: each lead converting with its
    decile's rate, the count's spread is the root of the sum of p(1 - p)."""
    expected = sum(predicted)
    excess = fired.converted - expected
    spread = math.sqrt(sum(p * (1 - p) for p in predicted))
    return excess >= FAR_ABOVE_MARGIN * fired.leads and excess >= FAR_ABOVE_DEVIATIONS * spread


def _decile_rate(buckets: Sequence[Bucket], score: float) -> float:
    for bucket in buckets:
        if bucket.low <= score <= bucket.high:
            return bucket.tally.rate or 0.0
    raise ValueError(f"score {score} is in no decile")
