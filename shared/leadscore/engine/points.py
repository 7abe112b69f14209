"""Points over time: per-rule limits, decay by half-life or expiry, and folding old hits together.

Decay only ever takes points away: positive points fade, negative points stay until their rule stops
applying. So a lead that does nothing never rises, and never crosses a threshold upward by itself.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache

from leadscore.engine.state import DAY, Fact, RuleHits
from leadscore.rules.model import EngagementRule, Group, Limit


def _period(seconds: int, per: str) -> object:
    if per == "day":
        return seconds // DAY
    if per == "week":
        return (seconds // DAY + 3) // 7  # ISO weeks: 1970-01-01 was a Thursday

    return None


def granted(hits: RuleHits, rule: EngagementRule) -> tuple[tuple[Fact, float], ...]:
    """Each kept fact's points once the rule's limit applies: the earliest facts of a period win."""
    return _grants(hits.facts, rule.points, *_limit_key(rule.effective_limit))


def given(hits: RuleHits, rule: EngagementRule) -> tuple[tuple[int, float], ...]:
    """(time, points) of the facts that earn points, the form :func:`value_at` reads."""
    return _given(hits.facts, rule.points, *_limit_key(rule.effective_limit))


@lru_cache(maxsize=8192)
def _given(
    ordered: tuple[Fact, ...], points: float, times: int | None, cap: float | None, per: str | None
) -> tuple[tuple[int, float], ...]:
    return tuple((time, give) for (time, _), give in _grants(ordered, points, times, cap, per) if give != 0)


def _limit_key(limit: Limit | None) -> tuple[int | None, float | None, str | None]:
    return (None, None, None) if limit is None else (limit.times, limit.points, limit.per)


@lru_cache(maxsize=8192)
def _grants(
    ordered: tuple[Fact, ...], points: float, times: int | None, cap: float | None, per: str | None
) -> tuple[tuple[Fact, float], ...]:
    """Cached: a batch reads the same facts for the score before and after and the next band change."""
    if per is None:
        return tuple((fact, points) for fact in ordered)
    used: dict[object, float] = defaultdict(float)
    result = []
    for fact in ordered:
        period = fact[0] // DAY if per == "day" else _period(fact[0], per)
        if times is not None:
            give = points if used[period] < times else 0.0
            used[period] += 1
        else:
            give = max(min(abs(points), (cap or 0.0) - used[period]), 0.0) * (1 if points >= 0 else -1)
            used[period] += abs(give)
        result.append((fact, give))
    return tuple(result)


def factor(group: Group, points: float, age_seconds: float) -> float:
    """How much of a hit's points remain after ``age_seconds``; negative points never fade."""
    if points < 0 or not group.decays:
        return 1.0
    age_days = max(age_seconds, 0.0) / DAY
    if group.half_life_days is not None:
        return float(0.5 ** (age_days / group.half_life_days))
    assert group.expires_after_days is not None
    return 1.0 if age_days < group.expires_after_days else 0.0


@dataclass(frozen=True, slots=True)
class Curve:
    """One rule's points over time, from its granted facts: for any reading at or after its ``latest``
    fact, points that never fade, one half-life weight and the few expiring hits, instead of every fact.
    """

    granted: tuple[tuple[int, float], ...]
    group: Group
    latest: int
    raw: float
    count: int
    lasting: float
    fading: float
    expiring: tuple[tuple[int, float], ...]
    half_life_days: float
    expires_after_days: float

    @classmethod
    def of(cls, granted: tuple[tuple[int, float], ...], hits: RuleHits, group: Group) -> Curve:
        entries = list(granted)
        if hits.folded_at is not None:
            entries.append((hits.folded_at, hits.folded_value))
        latest = max((time for time, _ in entries), default=0)
        lasting = fading = 0.0
        expiring = []
        for time, give in entries:
            if give < 0 or not group.decays:
                lasting += give
            elif group.half_life_days is not None:
                fading += give * factor(group, give, latest - time)
            else:
                expiring.append((time, give))
        return cls(
            granted=granted,
            group=group,
            latest=latest,
            raw=sum(give for _, give in granted) + hits.folded_raw,
            count=len(granted) + hits.folded_count,
            lasting=lasting,
            fading=fading,
            expiring=tuple(expiring),
            half_life_days=group.half_life_days or 0.0,
            expires_after_days=group.expires_after_days or 0.0,
        )

    def value(self, at: int) -> float:
        """Points at ``at``, for ``at`` no earlier than ``latest``: :func:`factor`'s arithmetic, inline
        (a reading takes a rule's value at a dozen moments when it looks for the next band change)."""
        value = self.lasting
        if self.fading:
            value += self.fading * 0.5 ** (((at - self.latest) / DAY) / self.half_life_days)
        for time, give in self.expiring:
            if (at - time) / DAY < self.expires_after_days:
                value += give
        return value

    def at(self, hits: RuleHits, at: int) -> tuple[float, float, int]:
        """(points now, points earned, hits counted) up to ``at``, as :func:`value_at` reads them."""
        if at >= self.latest:
            return self.value(at), self.raw, self.count
        return value_at(self.granted, hits, self.group, at)


def curve_of(hits: RuleHits, rule: EngagementRule, group: Group) -> Curve:
    """The rule's curve, kept with the facts: a batch reads the same facts before and after its events,
    and the next band change reads them again at many moments."""
    cached = hits.reading_cache
    if cached is not None and cached[0] is rule:
        curve: Curve = cached[1]
        return curve
    curve = Curve.of(given(hits, rule), hits, group)
    object.__setattr__(hits, "reading_cache", (rule, curve))  # a cache, not a change of the facts
    return curve


def value_at(
    granted: Iterable[tuple[int, float]], hits: RuleHits, group: Group, at: int
) -> tuple[float, float, int]:
    """(points now, points earned, hits counted) up to ``at``, from a rule's granted (time, points)."""
    value = raw = 0.0
    count = 0
    for time, give in granted:
        if time > at:
            continue
        raw += give
        count += 1
        value += give * factor(group, give, at - time)
    if hits.folded_at is not None and hits.folded_at <= at:
        raw += hits.folded_raw
        count += hits.folded_count
        value += hits.folded_value * factor(group, hits.folded_value, at - hits.folded_at)
    return value, raw, count


def tidy(hits: RuleHits, rule: EngagementRule, group: Group, fold_before: int) -> RuleHits:
    """Drop facts that can never count and fold whole weeks before ``fold_before`` into one value.

    A fact that gets no points now gets none when more facts arrive (earlier ones only use up more of
    the limit), so dropping it changes no score, and a duplicate of it is dropped again. Folding keeps
    whole weeks, so the limits of the weeks still kept are exact, and no event that can still be
    delivered falls in a folded week (``record.FOLD_AFTER``); decay stays exact because a half-life
    folds into one value.
    """
    limit = rule.effective_limit
    if limit is None and rule.points and (not hits.facts or hits.facts[0][0] >= fold_before):
        return hits  # every fact earns the rule's points, and none is old enough to fold
    granted_facts = [(fact, give) for fact, give in granted(hits, rule) if give != 0]
    kept = RuleHits(
        facts=tuple(fact for fact, _ in granted_facts),
        folded_count=hits.folded_count,
        folded_raw=hits.folded_raw,
        folded_value=hits.folded_value,
        folded_at=hits.folded_at,
    )
    if (
        not granted_facts
        or granted_facts[0][0][0] >= fold_before
        or (limit is not None and limit.per == "ever")
    ):
        return kept
    expiring = group.expires_after_days is not None and rule.points > 0
    if expiring:
        # Only facts expired for every read from the fold horizon on: their value is gone.
        assert group.expires_after_days is not None
        fold_before -= int(group.expires_after_days * DAY)
    return _fold(kept, granted_facts, group, week_start(fold_before), keep_value=not expiring)


def week_start(seconds: int) -> int:
    day = seconds - seconds % DAY
    return day - datetime.fromtimestamp(day, UTC).weekday() * DAY


def _fold(
    hits: RuleHits, granted: list[tuple[Fact, float]], group: Group, cutoff: int, *, keep_value: bool
) -> RuleHits:
    old = [(fact[0], give) for fact, give in granted if fact[0] < cutoff]
    if not old:
        return hits
    folded_at = max(old[-1][0], hits.folded_at or 0)
    value = 0.0
    if keep_value:
        value = hits.folded_value * factor(
            group, hits.folded_value, folded_at - (hits.folded_at or folded_at)
        )
        value += sum(give * factor(group, give, folded_at - time) for time, give in old)
    return RuleHits(
        facts=tuple(fact for fact, _ in granted if fact[0] >= cutoff),
        folded_count=hits.folded_count + len(old),
        folded_raw=hits.folded_raw + sum(give for _, give in old),
        folded_value=value,
        folded_at=folded_at,
    )


def repeat_hits(ordered: Sequence[Fact], at_least: int, within_seconds: float, since: int) -> list[Fact]:
    """The facts at ``since`` or later that meet a repeat rule's threshold: each occurrence with enough
    others before it (``ordered`` in time order).

    An occurrence completes a streak when the one ``at_least - 1`` places before it is within the
    window, so each is one comparison, not a walk over the window.
    """
    times = [time for time, _ in ordered]
    first = max(at_least - 1, bisect_left(times, since))
    return [
        ordered[index]
        for index in range(first, len(ordered))
        if times[index - at_least + 1] >= times[index] - within_seconds
    ]
