"""Which rules an event can fire: rules indexed by what they match on, conditions split in two.

An event condition is split into the part about the event (tested once, when the event is recorded)
and the part about the lead's profile (tested whenever a score is read, against the profile then).
So a demo request counts as "from a fit lead" whether the title arrived before or after it: what the
state records does not depend on the order messages arrive in. A nested ``any``/``not`` mixing both
cannot be split; it is judged whole, with the profile known when the event is recorded.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from leadscore.events import Event
from leadscore.rules import RuleSet
from leadscore.rules.conditions import GLOB, Condition, Facts

KNOWN_NAMES = 4096
"""Kinds, names and pages whose candidate triggers are remembered (the senders' choice: bounded)."""
_EVENT_FIELDS = ("kind", "event", "page", "properties")
_PROFILE_FIELDS = ("traits", "email", "fit_at_least")


@dataclass(frozen=True, slots=True)
class Trigger:
    """One rule's event condition: ``on_event`` when recorded, ``on_profile`` (if any) when read."""

    rule_id: str
    on_event: Condition
    on_profile: Condition | None
    whole: bool  # cannot be split: ``on_event`` is the whole condition, profile included

    def profile_holds(self, facts: Any) -> bool:
        return self.on_profile is None or self.on_profile.holds(facts)


@dataclass(frozen=True)
class TriggerIndex:
    """Triggers by exact event name, page triggers, and the rest (tested on every event)."""

    by_name: dict[str, tuple[Trigger, ...]]
    track_globs: tuple[Trigger, ...]
    pages: tuple[Trigger, ...]
    other: tuple[Trigger, ...]
    by_rule: dict[str, Trigger]

    def candidates(self, kind: str, name: str | None) -> tuple[Trigger, ...]:
        """The triggers that can fire for an event of this kind and name."""
        if kind == "track":
            return (*self.by_name.get(str(name).strip().casefold(), ()), *self.track_globs, *self.other)
        if kind == "page":
            return (*self.pages, *self.other)
        return self.other

    @classmethod
    def of(cls, triggers: Sequence[Trigger]) -> TriggerIndex:
        by_name: dict[str, list[Trigger]] = {}
        track_globs: list[Trigger] = []
        pages: list[Trigger] = []
        other: list[Trigger] = []
        for trigger in triggers:
            condition = trigger.on_event
            if condition.kind is not None or (condition.event is not None and condition.page is not None):
                other.append(trigger)
            elif condition.event is not None:
                if any(GLOB.intersection(name) for name in condition.event):
                    track_globs.append(trigger)
                else:
                    for name in condition.event:
                        by_name.setdefault(name.strip().casefold(), []).append(trigger)
            elif condition.page is not None:
                pages.append(trigger)
            else:
                other.append(trigger)
        return cls(
            by_name={name: tuple(found) for name, found in by_name.items()},
            track_globs=tuple(track_globs),
            pages=tuple(pages),
            other=tuple(other),
            by_rule={trigger.rule_id: trigger for trigger in triggers},
        )


ENGAGEMENT, DISQUALIFIERS, FAST_TRACKS, SALES_ACCEPTED = range(4)
"""What a matched trigger is for: the positions of the indexes in :class:`RuleTriggers`."""


@dataclass(frozen=True)
class RuleTriggers:
    engagement: TriggerIndex
    disqualifiers: TriggerIndex
    fast_tracks: TriggerIndex
    sales_accepted: TriggerIndex
    known: dict[tuple[str, str | None, Any], tuple[tuple[int, Trigger, bool], ...]] = field(
        default_factory=dict, compare=False
    )

    def candidates(self, event: Event) -> tuple[tuple[int, Trigger, bool], ...]:
        """Every index's triggers that can fire for the event, each with what it is for and whether it
        is already known to hold: a condition on the kind, name and page alone holds for every event
        with the same three, so it is tested once for them (remembered per kind, name and page)."""
        path = event.properties.get("path") if event.kind == "page" else None
        if path is not None and not isinstance(path, str):
            return self._candidates(event, keyed=False)
        key = (event.kind, event.name, path)
        found = self.known.get(key)
        if found is None:
            found = self._candidates(event, keyed=True)
            if len(self.known) < KNOWN_NAMES:
                self.known[key] = found
        return found

    def _candidates(self, event: Event, *, keyed: bool) -> tuple[tuple[int, Trigger, bool], ...]:
        indexes = (self.engagement, self.disqualifiers, self.fast_tracks, self.sales_accepted)
        bare = Facts(traits={}, email_kind="missing", event=event)
        found = []
        for purpose, index in enumerate(indexes):
            for trigger in index.candidates(event.kind, event.name):
                if not keyed or not _keyed(trigger):
                    found.append((purpose, trigger, False))
                elif trigger.on_event.holds(bare):
                    found.append((purpose, trigger, True))
        return tuple(found)


def _keyed(trigger: Trigger) -> bool:
    """Whether the trigger's event part reads nothing but the event's kind, name and page."""
    return not trigger.whole and _reads_kind_name_page(trigger.on_event)


def _reads_kind_name_page(condition: Condition) -> bool:
    return (
        condition.properties is None
        and not condition.about_profile
        and all(_reads_kind_name_page(inner) for inner in condition.nested)
    )


@lru_cache(maxsize=16)
def triggers_of(rules: RuleSet) -> RuleTriggers:
    """Built once per rule set."""
    sql = rules.file.stages.sql
    return RuleTriggers(
        engagement=TriggerIndex.of([split(rule.id, rule.when) for rule in rules.file.engagement]),
        disqualifiers=TriggerIndex.of(
            [split(rule.id, rule.when) for rule in rules.file.disqualifiers if rule.when.about_events]
        ),
        fast_tracks=TriggerIndex.of(
            [split(rule.id, rule.when) for rule in rules.file.fast_track if rule.when.about_events]
        ),
        sales_accepted=TriggerIndex.of(
            [split("sql", sql.when)] if sql is not None and sql.when.about_events else []
        ),
    )


def split(rule_id: str, condition: Condition) -> Trigger:
    parts = _split(condition)
    if parts is None:
        return Trigger(rule_id, condition, None, whole=True)
    on_event, on_profile = parts
    return Trigger(rule_id, on_event or condition, on_profile, whole=False)


def _pure(condition: Condition) -> str | None:
    """ "event", "profile", or None when the condition mixes both."""
    event, profile = condition.about_events, condition.about_profile
    if event and profile:
        return None
    return "event" if event else "profile"


def _split(condition: Condition) -> tuple[Condition | None, Condition | None] | None:
    """(event part, profile part) of a condition, or None when they cannot be told apart."""
    event_all: list[Condition] = []
    profile_all: list[Condition] = []
    for inner in condition.all_ or ():
        kind = _pure(inner)
        if kind is None:
            parts = _split(inner)
            if parts is None:
                return None
            event_all += [part for part in parts[:1] if part is not None]
            profile_all += [part for part in parts[1:] if part is not None]
        else:
            (event_all if kind == "event" else profile_all).append(inner)
    nested: dict[str, dict[str, Any]] = {"event": {}, "profile": {}}
    for name, inner_condition in (("any_", condition.any_), ("not_", condition.not_)):
        if inner_condition is None:
            continue
        kinds = {
            _pure(c) for c in (inner_condition if isinstance(inner_condition, list) else [inner_condition])
        }
        if None in kinds or len(kinds) > 1:
            return None
        nested[kinds.pop() or "event"][name] = inner_condition
    event_fields = {name: getattr(condition, name) for name in _EVENT_FIELDS}
    profile_fields = {name: getattr(condition, name) for name in _PROFILE_FIELDS}
    return (
        _part(event_fields, event_all, nested["event"]),
        _part(profile_fields, profile_all, nested["profile"]),
    )


def _part(fields: dict[str, Any], all_: list[Condition], nested: dict[str, Any]) -> Condition | None:
    values = {name: value for name, value in fields.items() if value is not None}
    if all_:
        values["all_"] = all_
    values.update(nested)
    if not values:
        return None
    return Condition.model_construct(_fields_set=set(values), **values)
