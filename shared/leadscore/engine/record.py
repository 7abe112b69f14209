"""Recording events into a lead's state: the facts each message leaves, joined in any order.

Every change here is a join (a set union, a min, a max, a newest-wins register with ties broken by
value), so the state after a set of messages does not depend on how they were batched, ordered or
duplicated. Two explicit bounds keep the state small:

- ``LATE_ARRIVAL``: an event dated more than this before the service received it earns no engagement
  points and raises no flag (it still updates the profile and the activity times);
- ``FOLD_AFTER``: whole weeks of facts older than this before the evaluation fold into one value per
  rule. It is the queue's retention plus ``LATE_ARRIVAL``, so no message that can still be delivered
  (a retry, a redelivery, a dead-letter redrive) falls in a folded week; one that somehow does is
  ignored, the same online and offline.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from functools import lru_cache
from typing import Any

from leadscore.email_kinds import account_domain, email_kind
from leadscore.engine.matching import (
    DISQUALIFIERS,
    ENGAGEMENT,
    FAST_TRACKS,
    SALES_ACCEPTED,
    RuleTriggers,
    triggers_of,
)
from leadscore.engine.points import factor, repeat_hits, tidy
from leadscore.engine.reading import Profile
from leadscore.engine.state import DAY, Fact, LeadState, RuleHits, epoch, tag
from leadscore.events import Event
from leadscore.rules import ALERT_KEPT_TRAITS, RuleSet
from leadscore.rules.conditions import Facts
from leadscore.rules.model import EngagementRule, Group

LATE_ARRIVAL = 7 * DAY
QUEUE_RETENTION = 14 * DAY
FOLD_AFTER = QUEUE_RETENTION + LATE_ARRIVAL


def record_events(rules: RuleSet, state: LeadState, events: Sequence[Event], at: int) -> LeadState:
    """The state joined with ``events``; the same object when they add nothing (all seen before)."""
    changes: dict[str, Any] = {}
    traits, trait_times = dict(state.traits), dict(state.trait_times)
    group = (state.group_at, state.group_id)
    first, last = state.first_at, state.last_at
    for event in events:
        time = epoch(event.timestamp)
        first = time if first is None else min(first, time)
        last = time if last is None else max(last, time)
        if event.kind == "identify":
            _merge_traits(rules, traits, trait_times, event.traits, time)
        elif event.kind == "group" and event.group_id:
            group = max(group, (time, event.group_id), key=_register)
            company = {f"company.{key}": value for key, value in event.traits.items()}
            _merge_traits(rules, traits, trait_times, company, time)
    if traits != state.traits or trait_times != state.trait_times:
        changes.update(traits=traits, trait_times=trait_times)
    if group != (state.group_at, state.group_id):
        changes.update(group_at=group[0], group_id=group[1])
    if (first, last) != (state.first_at, state.last_at):
        changes.update(first_at=first, last_at=last)

    folded_until = max(state.folded_until, at - FOLD_AFTER)
    matched = _matching(events, _LazyProfile(rules, traits), triggers_of(rules), folded_until)
    changes.update(_record_flags(state, matched[DISQUALIFIERS], matched[FAST_TRACKS]))
    if matched[SALES_ACCEPTED]:
        earliest = min(time for _, time, _ in matched[SALES_ACCEPTED])
        if state.sales_accepted_at is None or earliest < state.sales_accepted_at:
            changes["sales_accepted_at"] = earliest
    changes.update(_record_hits(rules, state, matched[ENGAGEMENT], folded_until=folded_until))
    if not changes:
        return state
    if folded_until != state.folded_until:
        changes["folded_until"] = folded_until
    changes["account_id"] = _account_of(rules, group[1], traits.get("email"))
    return state.but(**changes)


def join_states(rules: RuleSet, state: LeadState, other: LeadState, at: int) -> LeadState:
    """``state`` joined with another lead's (an anonymous visitor's, once they identify): the same join
    as recording, so the result is the state of both leads' messages together, whatever their order.

    One approximation: weeks already folded on both sides add up without their per-day or per-week
    limits applied across the two (activity older than ``FOLD_AFTER`` on each side).
    """
    folded_until = max(state.folded_until, other.folded_until, at - FOLD_AFTER)
    traits, trait_times = dict(state.traits), dict(state.trait_times)
    _join_registers(traits, trait_times, other.traits, other.trait_times)
    group = max((state.group_at, state.group_id), (other.group_at, other.group_id), key=_register)
    hits, occurrences = dict(state.hits), dict(state.occurrences)
    for rule_id in other.hits.keys() | other.occurrences.keys():
        rule = rules.engagement_by_id.get(rule_id)
        if rule is None:
            continue  # a rule since removed
        group_settings = rules.group(rule.group)
        theirs = other.hits.get(rule_id, RuleHits())
        if rule.repeat is not None:
            streaks = _streaks(rule, set(other.occurrences.get(rule_id, ())), occurrences, folded_until)
            theirs = RuleHits(
                facts=_joined(theirs.facts, streaks),
                folded_count=theirs.folded_count,
                folded_raw=theirs.folded_raw,
                folded_value=theirs.folded_value,
                folded_at=theirs.folded_at,
            )
        joined = tidy(
            _joined_hits(hits.get(rule_id, RuleHits()), theirs, group_settings),
            rule,
            group_settings,
            folded_until,
        )
        if joined.facts or joined.folded_count:
            hits[rule_id] = joined
    firsts = [time for time in (state.first_at, other.first_at) if time is not None]
    lasts = [time for time in (state.last_at, other.last_at) if time is not None]
    accepted = [time for time in (state.sales_accepted_at, other.sales_accepted_at) if time is not None]
    disqualified = dict(state.disqualified)
    for rule_id, time in other.disqualified.items():
        disqualified[rule_id] = min(time, disqualified.get(rule_id, time))
    fast_tracked = dict(state.fast_tracked)
    for rule_id, time in other.fast_tracked.items():
        fast_tracked[rule_id] = max(time, fast_tracked.get(rule_id, time))
    alerted = dict(state.alerted)
    for kind, time in other.alerted.items():
        alerted[kind] = max(time, alerted.get(kind, time))
    result = state.but(
        traits=traits,
        trait_times=trait_times,
        group_at=group[0],
        group_id=group[1],
        account_id=_account_of(rules, group[1], traits.get("email")),
        hits=hits,
        occurrences=occurrences,
        disqualified=disqualified,
        fast_tracked=fast_tracked,
        alerted=alerted,
        sales_accepted_at=min(accepted, default=None),
        first_at=min(firsts, default=None),
        last_at=max(lasts, default=None),
        folded_until=folded_until,
    )
    return state if result == state else result


def _joined_hits(mine: RuleHits, theirs: RuleHits, group: Group) -> RuleHits:
    """Facts joined by message; folded weeks (disjoint messages) add, decayed to the later fold."""
    if not theirs.folded_count or not mine.folded_count:
        folded = theirs if theirs.folded_count else mine
        return RuleHits(
            facts=_joined(mine.facts, theirs.facts),
            folded_count=folded.folded_count,
            folded_raw=folded.folded_raw,
            folded_value=folded.folded_value,
            folded_at=folded.folded_at,
        )
    assert mine.folded_at is not None
    assert theirs.folded_at is not None
    at = max(mine.folded_at, theirs.folded_at)
    value = sum(
        side.folded_value * factor(group, side.folded_value, at - side.folded_at)
        for side in (mine, theirs)
        if side.folded_at is not None
    )
    return RuleHits(
        facts=_joined(mine.facts, theirs.facts),
        folded_count=mine.folded_count + theirs.folded_count,
        folded_raw=mine.folded_raw + theirs.folded_raw,
        folded_value=value,
        folded_at=at,
    )


def _join_registers(
    traits: dict[str, Any], times: dict[str, int], other: dict[str, Any], other_times: dict[str, int]
) -> None:
    for name, value in other.items():
        time = other_times[name]
        if name not in times or _register((time, value)) > _register((times[name], traits[name])):
            traits[name] = value
            times[name] = time


def _scores(event: Event, time: int, folded_until: int) -> bool:
    """Whether an event (at ``time``) may earn engagement points: received in time, and not older than
    the fold horizon (which no deliverable message is: see FOLD_AFTER)."""
    late = event.received_at is not None and time < epoch(event.received_at) - LATE_ARRIVAL
    return not late and time >= folded_until


def _account_of(rules: RuleSet, group_id: str | None, email: Any) -> str | None:
    """The group call's id, else the domain of a business address; free-mail leads do not roll up."""
    if group_id:
        return group_id
    if not isinstance(email, str):
        return None
    return _business_domain(email, rules.competitors)


@lru_cache(maxsize=4096)
def _business_domain(email: str, competitors: frozenset[str]) -> str | None:
    return account_domain(email) if email_kind(email, competitors) == "business" else None


def _register(entry: tuple[int | None, Any]) -> tuple[int, str]:
    """Newest wins; at the same second the larger value wins, so arrival order never decides."""
    time, value = entry
    return (-1 if time is None else time, json.dumps(value, sort_keys=True, default=str))


def _merge_traits(
    rules: RuleSet, traits: dict[str, Any], times: dict[str, int], incoming: dict[str, Any], time: int
) -> None:
    """Keep the traits the rules read, each a newest-wins register."""
    kept = {
        name: value
        for name, value in incoming.items()
        if name.split(".")[0] in rules.profile_traits
        or name in rules.profile_traits
        or name in ALERT_KEPT_TRAITS
    }
    _join_registers(traits, times, kept, dict.fromkeys(kept, time))


class _LazyProfile:
    """The profile as an unsplittable condition sees it while recording; computed only if one asks."""

    def __init__(self, rules: RuleSet, traits: dict[str, Any]) -> None:
        self._rules, self._traits = rules, traits
        self._facts: Facts | None = None

    def with_event(self, event: Event) -> Facts:
        if self._facts is None:
            self._facts = Profile.of_traits(self._rules, self._traits, None, None).facts
        profile = self._facts
        return Facts(traits=profile.traits, email_kind=profile.email_kind, fit=profile.fit, event=event)


def _matching(
    events: Iterable[Event], profile: _LazyProfile, triggers: RuleTriggers, folded_until: int
) -> tuple[list[tuple[str, int, int]], ...]:
    """(rule id, time, tag) of each trigger whose event part holds for an event that may score, by what
    the trigger is for (``matching.ENGAGEMENT`` ...)."""
    found: tuple[list[tuple[str, int, int]], ...] = ([], [], [], [])
    for event in events:
        candidates = triggers.candidates(event)
        if not candidates:
            continue
        time = epoch(event.timestamp)
        if not _scores(event, time, folded_until):
            continue
        bare: Facts | None = None
        fact_tag: int | None = None
        for purpose, trigger, known_to_hold in candidates:
            if known_to_hold:
                holds = True
            elif trigger.whole:
                holds = trigger.on_event.holds(profile.with_event(event))
            else:
                bare = bare or Facts(traits={}, email_kind="missing", event=event)
                holds = trigger.on_event.holds(bare)
            if holds:
                fact_tag = tag(event.message_id) if fact_tag is None else fact_tag
                found[purpose].append((trigger.rule_id, time, fact_tag))
    return found


def _record_flags(
    state: LeadState, disqualifying: list[tuple[str, int, int]], fast_tracking: list[tuple[str, int, int]]
) -> dict[str, Any]:
    """Disqualifiers keep their earliest time, fast-tracks their latest."""
    changes: dict[str, Any] = {}
    disqualified = dict(state.disqualified)
    for rule_id, time, _ in disqualifying:
        disqualified[rule_id] = min(time, disqualified.get(rule_id, time))
    if disqualified != state.disqualified:
        changes["disqualified"] = disqualified
    fast_tracked = dict(state.fast_tracked)
    for rule_id, time, _ in fast_tracking:
        fast_tracked[rule_id] = max(time, fast_tracked.get(rule_id, time))
    if fast_tracked != state.fast_tracked:
        changes["fast_tracked"] = fast_tracked
    return changes


def _record_hits(
    rules: RuleSet, state: LeadState, matched: list[tuple[str, int, int]], *, folded_until: int
) -> dict[str, Any]:
    """Add each matching event's fact to its rule's set; tidy only the rules that gained a fact."""
    fresh: dict[str, set[Fact]] = {}
    for rule_id, time, fact_tag in matched:
        fresh.setdefault(rule_id, set()).add((time, fact_tag))
    hits = dict(state.hits)
    occurrences = dict(state.occurrences)
    for rule_id, gained in fresh.items():
        rule = rules.engagement_by_id[rule_id]
        current = hits.get(rule_id, RuleHits())
        counted = gained if rule.repeat is None else _streaks(rule, gained, occurrences, folded_until)
        facts = _joined(current.facts, counted)
        if facts == current.facts:
            continue
        merged = RuleHits(
            facts=facts,
            folded_count=current.folded_count,
            folded_raw=current.folded_raw,
            folded_value=current.folded_value,
            folded_at=current.folded_at,
        )
        tidied = tidy(merged, rule, rules.group(rule.group), folded_until)
        if tidied.facts or tidied.folded_count:
            hits[rule_id] = tidied
        else:
            hits.pop(rule_id, None)
    changes: dict[str, Any] = {}
    if hits != state.hits:
        changes["hits"] = hits
    if occurrences != state.occurrences:
        changes["occurrences"] = occurrences
    return changes


def _streaks(
    rule: EngagementRule, matched: set[Fact], occurrences: dict[str, tuple[Fact, ...]], folded_until: int
) -> set[Fact]:
    """A repeat rule's facts: the occurrences that complete a streak (``occurrences`` is updated)."""
    assert rule.repeat is not None
    known = occurrences.get(rule.id, ())
    joined = _joined(known, matched)
    if joined == known:
        return set()
    within = rule.repeat.within_days * DAY
    # A streak that ended before the fold horizon was counted (or folded) when it happened.
    derived = repeat_hits(joined, rule.repeat.at_least, within, since=folded_until)
    # Kept back to the fold horizon and one window more, so a late event still completes a streak.
    kept = [fact for fact in joined if fact[0] >= folded_until - within]
    occurrences[rule.id] = _thinned(kept, rule.repeat.at_least, int(min(DAY, within)))
    return set(derived)


def _thinned(occurred: list[Fact], at_least: int, bucket: int) -> tuple[Fact, ...]:
    """The first and last ``at_least`` occurrences of each ``bucket`` (at most a window) of time.

    Every window then holds at least ``at_least`` kept occurrences wherever it held that many, so every
    streak a new or late event completes is still found; an occurrence dropped from the middle of a
    bucket completed its own streak when it was recorded, so its fact is already counted.
    """
    by_bucket: dict[int, list[Fact]] = {}
    for fact in occurred:
        by_bucket.setdefault(fact[0] // bucket, []).append(fact)
    kept: list[Fact] = []
    for facts in by_bucket.values():
        kept += facts if len(facts) <= 2 * at_least else facts[:at_least] + facts[-at_least:]
    return tuple(kept)


def _joined(facts: tuple[Fact, ...], more: Iterable[Fact]) -> tuple[Fact, ...]:
    """The union by message: one fact per tag, at the earliest time, in time order."""
    by_tag = {fact_tag: time for time, fact_tag in facts}
    for time, fact_tag in more:
        if time < by_tag.get(fact_tag, time + 1):
            by_tag[fact_tag] = time
    return tuple(sorted((time, fact_tag) for fact_tag, time in by_tag.items()))
