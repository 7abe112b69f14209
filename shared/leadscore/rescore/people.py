"""Who each archived message is about, and each person's lead rebuilt from all of it (pure: no AWS)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from typing import Protocol

from leadscore.engine import reminder_due_at, score_lead
from leadscore.engine.follow_up import REMINDER
from leadscore.engine.state import epoch
from leadscore.erasure import ids_of
from leadscore.events import Event
from leadscore.records import LeadRecord, LeadSummary, StoredItem
from leadscore.replay import recorded_events, replay_person
from leadscore.rules import RuleSet
from leadscore.scoring import evaluated_record
from leadscore.segment import InvalidMessage, loads

Line = tuple[str, str]
"""Where a line was read (object or file, and line number), and the line."""


class Leads(Protocol):
    """What a re-score asks of the lead table (``LeadRepository``'s calls it makes)."""

    def read_many(self, lead_ids: Sequence[str], *, consistent: bool = True) -> dict[str, StoredItem]: ...

    def save(self, record: LeadRecord, expected_version: int) -> None: ...

    def merged_into(self, lead_id: str) -> list[str]: ...


def rescored_record(
    person: str, events: Sequence[Event], rules: RuleSet, now: datetime, stored: LeadRecord | None
) -> LeadRecord:
    """The lead rebuilt from ``events`` under ``rules`` and read as of ``now``, to be written over
    ``stored``. The facts, score, band and stage are the offline engine's; what the lead's alerts
    already did is kept (the last time each kind was raised), and a reminder that would fall due for a
    turn to hot found by the re-score is settled: a re-score raises no signal, so sales get no storm.
    """
    state, _ = replay_person(rules, person, [event for event in events if event.timestamp <= now])
    if stored is not None:
        alerted = dict(state.alerted)
        for kind, time in stored.state.alerted.items():
            alerted[kind] = max(time, alerted.get(kind, time))
        state = state.but(alerted=alerted)
    due = reminder_due_at(rules, state)
    if due is not None and due <= epoch(now):
        state = state.but(alerted={**state.alerted, REMINDER: epoch(now)})
    # The stored record with the rebuilt state: whatever else it carries (the version, the indexed due
    # time, marks kept beside the facts) carries over as a live write would carry it.
    base = (
        stored.model_copy(update={"state": state})
        if stored is not None
        else LeadRecord.model_construct(
            lead_id=person, version=0, state=state, summary=LeadSummary.of(score_lead(rules, state, now))
        )
    )
    record = evaluated_record(person, base, [], rules, now)
    return record.model_copy(update={"signals": []})


def readable_events(
    lines: Iterable[Line], at: datetime, erased: set[str]
) -> Iterator[Event | InvalidMessage]:
    """The events of archived lines (``leadscore.replay.recorded_events``), lines about an id on
    ``erased`` (erasure keys) dropped; a line the scorer could not read either (it failed live and went
    to the dead-letter queue) comes out as its error instead of stopping the run."""
    for line in lines:
        try:
            yield from recorded_events([line], at, erased=lambda keys: not erased.isdisjoint(keys))
        except InvalidMessage as error:
            yield error


def ids_named(lines: Iterable[Line]) -> set[str]:
    """Every lead id the lines name (each looked up once: its marker, the suppression list)."""
    ids: set[str] = set()
    for _, line in lines:
        try:
            ids.update(ids_of(loads(line)))
        except InvalidMessage:
            continue
    return ids
