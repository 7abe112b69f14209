"""How well a score ranks outcomes: ROC AUC with ties, deciles and lift, calibration bins, thresholds.

Every function takes plain scores and outcomes (``True``: converted), so each can be checked by hand.
Leads with the same score are never told apart: AUC counts a tied pair as half right, and a decile or a
threshold takes or leaves all the leads of one score together.
"""

from __future__ import annotations

import itertools
import math
from collections import defaultdict
from collections.abc import Hashable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import TypeVar

Key = TypeVar("Key", bound=Hashable)


@dataclass(frozen=True)
class Tally:
    """How many leads, and how many of them converted."""

    leads: int = 0
    converted: int = 0

    @property
    def rate(self) -> float | None:
        return self.converted / self.leads if self.leads else None

    def lift(self, base_rate: float | None) -> float | None:
        """This group's conversion rate over ``base_rate`` (1: no better than any lead)."""
        rate = self.rate
        return rate / base_rate if rate is not None and base_rate else None

    def __add__(self, other: Tally) -> Tally:
        return Tally(self.leads + other.leads, self.converted + other.converted)


@dataclass(frozen=True)
class Bucket:
    """Leads whose scores lie from ``low`` to ``high``, their mean score and their conversions."""

    low: float
    high: float
    mean_score: float
    tally: Tally


@dataclass(frozen=True)
class TiedGroup:
    """The leads sharing one score."""

    score: float
    tally: Tally


def tied_groups(scores: Sequence[float], converted: Sequence[bool]) -> list[TiedGroup]:
    """One group per distinct score, lowest first."""
    _check(scores, converted)
    groups: dict[float, Tally] = defaultdict(Tally)
    for score, won in zip(scores, converted, strict=True):
        groups[score] += Tally(1, int(won))
    return [TiedGroup(score, groups[score]) for score in sorted(groups)]


def tally(converted: Iterable[bool]) -> Tally:
    outcomes = list(converted)
    return Tally(len(outcomes), sum(outcomes))


def conversion_by(items: Iterable[tuple[Key, bool]]) -> dict[Key, Tally]:
    """Leads and conversions per key (a band, a month and band, a speed-to-lead bucket ...)."""
    found: dict[Key, Tally] = defaultdict(Tally)
    for key, won in items:
        found[key] += Tally(1, int(won))
    return dict(found)


def roc_auc(scores: Sequence[float], converted: Sequence[bool]) -> float | None:
    """The Mann-Whitney statistic over (converted, not converted) pairs: the share of pairs in which the
    converted lead scores higher, a tie counting half. None without both kinds of lead."""
    groups = tied_groups(scores, converted)
    positives = sum(group.tally.converted for group in groups)
    negatives = len(scores) - positives
    if not positives or not negatives:
        return None
    below = 0  # negatives with a lower score than the current group
    wins = 0.0
    for group in groups:
        group_negatives = group.tally.leads - group.tally.converted
        wins += group.tally.converted * (below + group_negatives / 2)
        below += group_negatives
    return wins / (positives * negatives)


def roc_curve(scores: Sequence[float], converted: Sequence[bool]) -> list[tuple[float, float]]:
    """(false positive rate, true positive rate) as the threshold falls through each distinct score,
    from (0, 0) to (1, 1); its trapezoid area is :func:`roc_auc`. Empty without both kinds of lead."""
    groups = tied_groups(scores, converted)
    positives = sum(group.tally.converted for group in groups)
    negatives = len(scores) - positives
    if not positives or not negatives:
        return []
    points = [(0.0, 0.0)]
    true_positives = false_positives = 0
    for group in reversed(groups):
        true_positives += group.tally.converted
        false_positives += group.tally.leads - group.tally.converted
        points.append((false_positives / negatives, true_positives / positives))
    return points


def trapezoid_area(points: Sequence[tuple[float, float]]) -> float:
    return sum((x1 - x0) * (y0 + y1) / 2 for (x0, y0), (x1, y1) in itertools.pairwise(points))


def deciles(scores: Sequence[float], converted: Sequence[bool], parts: int = 10) -> list[Bucket]:
    """The leads ranked by score, highest first, cut into ``parts`` groups of about equal size. A group of
    tied scores goes whole into the part its middle falls in, so parts are unequal (or empty, and left
    out) when many leads share a score. The first bucket is the top decile."""
    groups = list(reversed(tied_groups(scores, converted)))
    total = len(scores)
    parts_found: dict[int, list[TiedGroup]] = defaultdict(list)
    position = 0
    for group in groups:
        middle = position + group.tally.leads / 2
        parts_found[min(int(middle * parts / total), parts - 1)].append(group)
        position += group.tally.leads
    return [_bucket(parts_found[part]) for part in sorted(parts_found)]


def calibration_bins(scores: Sequence[float], converted: Sequence[bool], bins: int = 10) -> list[Bucket]:
    """Conversion per equal-width score range from the lowest score to the highest (empty ranges left
    out), lowest first: a well-ordered score converts more in each range than in the one before."""
    groups = tied_groups(scores, converted)
    if not groups:
        return []
    low, high = groups[0].score, groups[-1].score
    width = (high - low) / bins
    found: dict[int, list[TiedGroup]] = defaultdict(list)
    for group in groups:
        index = min(int((group.score - low) / width), bins - 1) if width else 0
        found[index].append(group)
    return [_bucket(found[index]) for index in sorted(found)]


def _bucket(groups: Sequence[TiedGroup]) -> Bucket:
    total = Tally()
    for group in groups:
        total += group.tally
    mean = sum(group.score * group.tally.leads for group in groups) / total.leads
    scores = [group.score for group in groups]
    return Bucket(low=min(scores), high=max(scores), mean_score=mean, tally=total)


@dataclass(frozen=True)
class Threshold:
    """Contact every lead scoring ``score`` or more: how many leads that is, and what they did."""

    score: float
    contacted: Tally
    per_week: float | None = None
    net_value: float | None = None


def lowest_converted(scores: Sequence[float], converted: Sequence[bool]) -> float | None:
    """The lowest score a converted lead had: a threshold above it would have missed that customer."""
    _check(scores, converted)
    return min((score for score, won in zip(scores, converted, strict=True) if won), default=None)


def converted_below(scores: Sequence[float], converted: Sequence[bool], threshold: float) -> int:
    _check(scores, converted)
    return sum(1 for score, won in zip(scores, converted, strict=True) if won and score < threshold)


def at_or_above(groups: Sequence[TiedGroup]) -> Iterator[tuple[float, Tally]]:
    """(score, the leads at or above it) for each distinct score, highest first."""
    running = Tally()
    for group in reversed(groups):
        running += group.tally
        yield group.score, running


def capacity_threshold(
    scores: Sequence[float], converted: Sequence[bool], *, weeks: float, capacity_per_week: float
) -> Threshold | None:
    """The lowest score whose leads (at or above it) sales can contact at ``capacity_per_week`` over the
    ``weeks`` the leads came in; None when even the leads of the top score are too many."""
    if weeks <= 0:
        raise ValueError("weeks must be positive")
    best: Threshold | None = None
    for score, contacted in at_or_above(tied_groups(scores, converted)):
        per_week = contacted.leads / weeks
        if per_week > capacity_per_week:
            break
        best = Threshold(score, contacted, per_week=per_week)
    return best


def value_threshold(
    scores: Sequence[float], converted: Sequence[bool], *, value: float, cost: float
) -> Threshold | None:
    """The score that maximises ``value`` per conversion minus ``cost`` per lead contacted, over the leads
    at or above it (the higher score on a tie); None when no threshold earns more than contacting
    nobody."""
    best: Threshold | None = None
    for score, contacted in at_or_above(tied_groups(scores, converted)):
        net = value * contacted.converted - cost * contacted.leads
        if net > (best.net_value if best and best.net_value is not None else 0.0):
            best = Threshold(score, contacted, net_value=net)
    return best


def quantile(values: Sequence[float], q: float) -> float | None:
    """The nearest-rank quantile (the median at 0.5): a value that occurred."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(math.ceil(q * len(ordered)) - 1, 0)]


def _check(scores: Sequence[float], converted: Sequence[bool]) -> None:
    if len(scores) != len(converted):
        raise ValueError(f"{len(scores)} scores but {len(converted)} outcomes")
