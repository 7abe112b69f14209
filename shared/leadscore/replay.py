"""Replaying history offline: recorded messages scored as the live service scores them, and what a
candidate rule file would change.

``replay_states`` is the offline engine that ``leadscore rules try`` and ``leadscore replay`` share: each
person's events in time order, each evaluated at its own moment, an anonymous visitor's events on the
person they were linked to. The live service equals it (the property tests hold it to that).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from leadscore.engine import LeadScore, LeadState, Signal, evaluate, score_lead
from leadscore.erasure import names_erased
from leadscore.events import Event
from leadscore.identity import add_links, links_in_order, person_of
from leadscore.rules import RuleSet
from leadscore.segment import InvalidMessage, loads, read_message


def replay_states(
    rules: RuleSet, events: Iterable[Event], at: datetime
) -> dict[str, tuple[LeadState, list[Signal]]]:
    """Each person's state and the signals it raised, from the events that happened by ``at``."""
    people = people_of([event for event in events if event.timestamp <= at], {})
    return {person: replay_person(rules, person, happened) for person, happened in people.items()}


def replay_person(rules: RuleSet, person: str, events: Iterable[Event]) -> tuple[LeadState, list[Signal]]:
    """One person's state from their events, each evaluated at its own moment, in time order."""
    state: LeadState | None = None
    signals: list[Signal] = []
    for event in sorted(events, key=_in_time):
        evaluation = evaluate(rules, state, [event], event.timestamp, lead_id=person)
        state = evaluation.state
        signals.extend(evaluation.signals)
    if state is None:
        raise ValueError(f"{person}: no events to replay")
    return state, signals


def people_of(events: Iterable[Event], markers: Mapping[str, str]) -> dict[str, list[Event]]:
    """Each person's events, people in the order of their first event. An id a stored merge marker names
    (``markers``: merged id to the lead it went into) belongs to that lead; any other id follows the
    links the messages declare, earliest first."""
    happened = sorted(events, key=_in_time)
    links = dict(markers)
    add_links(links, links_in_order(happened))
    people: dict[str, list[Event]] = defaultdict(list)
    for event in happened:
        people[person_of(event.lead_id, links)].append(event)
    return dict(people)


def _in_time(event: Event) -> tuple[datetime, str]:
    return event.timestamp, event.message_id


def recorded_events(
    lines: Iterable[tuple[str, str]],
    at: datetime,
    *,
    since: datetime | None = None,
    erased: Callable[[Iterable[str]], bool] | None = None,
) -> Iterator[Event]:
    """The events of recorded lines, ``(where, line)``: Segment messages as sent, or as queued and archived.
    Comments and blank lines are skipped; a line about an erased id is dropped (never replayed); a bad
    line stops the reading, naming where it is and its field."""
    for where, line in lines:
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        try:
            message = loads(line)
            if erased is not None and names_erased(message, erased):
                continue
            event = read_message(message, message_id=where, received_at=None, undated_at=at)
        except InvalidMessage as error:
            raise InvalidMessage(f"{where}: {error.field}", error.message) from None
        if since is None or event.timestamp >= since:
            yield event


@dataclass(frozen=True)
class BandChange:
    lead_id: str
    before: LeadScore
    after: LeadScore


@dataclass
class Comparison:
    """What a candidate rule file changes on the same history, as of the same moment."""

    events: int
    leads: int
    transitions: Counter[tuple[str, str]] = field(default_factory=Counter)
    changed: list[BandChange] = field(default_factory=list)


def compare(current: RuleSet, candidate: RuleSet, events: list[Event], at: datetime) -> Comparison:
    """Every lead scored under both rule files; the band transitions, and the leads that change band,
    biggest score change first."""
    before = replay_states(current, events, at)
    after = replay_states(candidate, events, at)
    comparison = Comparison(events=len(events), leads=len(before))
    for lead_id, (state, _) in before.items():
        old, new = score_lead(current, state, at), score_lead(candidate, after[lead_id][0], at)
        comparison.transitions[old.band, new.band] += 1
        if old.band != new.band:
            comparison.changed.append(BandChange(lead_id, old, new))
    comparison.changed.sort(
        key=lambda change: (-abs(change.after.score - change.before.score), change.lead_id)
    )
    return comparison
