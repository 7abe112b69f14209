"""Points over time: per-rule limits, decay by half-life or expiry, and folding old hits together.

Decay only ever takes points away: positive points fade, negative points stay until their rule stops
applying. So a lead that does nothing never rises, and never crosses a threshold upward by itself.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, datetime
from functools import lru_cache

from leadscore.engine.state import DAY, RuleHits
from leadscore.rules.model import EngagementRule, Group, Limit

MAX_KEPT_HITS = 16


def _period(seconds: int, per: str) -> object:
    if per == "day":
        return seconds // DAY
    if per == "week":
        return datetime.fromtimestamp(seconds, UTC).isocalendar()[:2]
    return None


def grants(times: Iterable[int], points: float, limit: Limit | None) -> tuple[tuple[int, float], ...]:
    """Each hit's points once the limit applies; the earliest hits of a period win, in any arrival order."""
    return _grants(tuple(sorted(times)), points, limit)


@lru_cache(maxsize=4096)
def _grants(ordered: tuple[int, ...], points: float, limit: Limit | None) -> tuple[tuple[int, float], ...]:
    """Cached: finding when a lead's band changes reads the same hits at many moments."""
    if limit is None:
        return tuple((time, points) for time in ordered)
    used: dict[object, float] = defaultdict(float)
    granted = []
    for time in ordered:
        period = _period(time, limit.per)
        if limit.times is not None:
            give = points if used[period] < limit.times else 0.0
            used[period] += 1
        else:
            cap = limit.points or 0.0
            give = max(min(abs(points), cap - used[period]), 0.0) * (1 if points >= 0 else -1)
            used[period] += abs(give)
        granted.append((time, give))
    return tuple(granted)


def factor(group: Group, points: float, age_seconds: float) -> float:
    """How much of a hit's points remain after ``age_seconds``; negative points never fade."""
    if points < 0 or not group.decays:
        return 1.0
    age_days = max(age_seconds, 0.0) / DAY
    if group.half_life_days is not None:
        return float(0.5 ** (age_days / group.half_life_days))
    assert group.expires_after_days is not None
    return 1.0 if age_days < group.expires_after_days else 0.0


def value_at(hits: RuleHits, rule: EngagementRule, group: Group, at: int) -> tuple[float, float, int]:
    """(points now, points earned, hits counted) for hits up to ``at``."""
    value = raw = 0.0
    count = 0
    for time, granted in grants(hits.times, rule.points, rule.effective_limit):
        if time > at or granted == 0:
            continue
        raw += granted
        value += granted * factor(group, granted, at - time)
        count += 1
    if hits.folded_at is not None and hits.folded_at <= at:
        raw += hits.folded_raw
        count += hits.folded_count
        value += hits.folded_value * factor(group, hits.folded_value, at - hits.folded_at)
    return value, raw, count


def tidy(hits: RuleHits, rule: EngagementRule, group: Group) -> RuleHits:
    """Drop hits that can never count and fold old ones, so the state stays small for busy leads.

    A hit that gets no points now gets none when more hits arrive (earlier hits only use up more of
    the limit), so dropping it changes no score. Folding keeps whole past weeks, so the limits of the
    weeks still kept are exact; decay stays exact because a half-life folds into one value.
    """
    limit = rule.effective_limit
    granted = [(time, give) for time, give in grants(hits.times, rule.points, limit) if give != 0]
    times = [time for time, _ in granted]
    last = max([*times, *([hits.last] if hits.last is not None else [])], default=None)
    kept = RuleHits(
        times=times,
        folded_count=hits.folded_count,
        folded_raw=hits.folded_raw,
        folded_value=hits.folded_value,
        folded_at=hits.folded_at,
        last=last,
    )
    if len(times) <= MAX_KEPT_HITS or (limit is not None and limit.per == "ever"):
        return kept
    return _fold(kept, granted, rule, group)


def _week_start(seconds: int) -> int:
    day = seconds - seconds % DAY
    return day - datetime.fromtimestamp(day, UTC).weekday() * DAY


def _fold(hits: RuleHits, granted: list[tuple[int, float]], rule: EngagementRule, group: Group) -> RuleHits:
    newest = granted[-1][0]
    expiring = group.expires_after_days is not None and rule.points > 0
    cutoff = _week_start(newest - 7 * DAY)
    if expiring:
        # Only hits already expired for every read from the newest hit on; their value is gone.
        assert group.expires_after_days is not None
        cutoff = min(cutoff, newest - int(group.expires_after_days * DAY))
    old = [(time, give) for time, give in granted if time < cutoff]
    if not old:
        return hits
    folded_at = max(old[-1][0], hits.folded_at or 0)
    value = 0.0
    if not expiring:
        value = hits.folded_value * factor(
            group, hits.folded_value, folded_at - (hits.folded_at or folded_at)
        )
        value += sum(give * factor(group, give, folded_at - time) for time, give in old)
    return RuleHits(
        times=[time for time, _ in granted if time >= cutoff],
        folded_count=hits.folded_count + len(old),
        folded_raw=hits.folded_raw + sum(give for _, give in old),
        folded_value=value,
        folded_at=folded_at,
        last=hits.last,
    )


def repeat_hits(occurrences: list[int], at_least: int, within_seconds: float) -> list[int]:
    """The moments a repeat rule's threshold is met: each occurrence with enough others before it."""
    ordered = sorted(occurrences)
    hits = []
    start = 0
    for index, time in enumerate(ordered):
        while ordered[start] < time - within_seconds:
            start += 1
        if index - start + 1 >= at_least:
            hits.append(time)
    return hits
