"""A re-score from archived lines: routed to people, rebuilt, written; then the catch-up that re-joins the
leads live activity reached during the run (docs/rescore.md has the argument)."""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from leadscore.events import Event
from leadscore.identity import MAX_HOPS, erasure_key, link_of, person_of
from leadscore.records import ErasedLead, MergedLead, StoredItem
from leadscore.replay import people_of
from leadscore.rescore.people import Leads, Line, ids_named, readable_events
from leadscore.rescore.writer import Tally, write_people
from leadscore.rules import RuleSet

# A lead written less than this before the history was listed may hold a batch archived after the
# listing: score takes its time after its archive put and writes within its timeout, decay within its
# own; 15 minutes is Lambda's longest timeout. Such a lead goes to the catch-up instead.
SETTLE_MARGIN = timedelta(minutes=15)
CATCH_UP_ATTEMPTS = 4

Clock = Callable[[], datetime]
History = tuple[Sequence[Line], Sequence[Event]]
"""Archived lines, and events already read from archived lines (the AWS job's shards)."""


@dataclass
class Routed:
    """Archived lines as each person's events, and what was left out."""

    people: dict[str, list[Event]] = field(default_factory=dict)
    unreadable: int = 0
    erased_lines: int = 0


def route(lines: Sequence[Line], repository: Leads, at: datetime, parsed: Sequence[Event] = ()) -> Routed:
    """Each readable line's event (and each event already ``parsed`` from one) on its person. Every id
    named is read once (eventually consistent: a marker never changes once written), markers followed
    along their chain; what names an id on the suppression list is dropped (erased people stay erased)."""
    ids = ids_named(lines) | {lead_id for event in parsed for lead_id in event_ids(event)}
    stored = read_along_merges(repository, ids, consistent=False)
    gone = {lead_id for lead_id, item in stored.items() if isinstance(item, ErasedLead)}
    routed = Routed()
    events = [event for event in parsed if gone.isdisjoint(event_ids(event))]
    for read in readable_events(lines, at, {erasure_key(lead_id) for lead_id in gone}):
        if isinstance(read, Event):
            events.append(read)
        else:
            routed.unreadable += 1
    named = sum(1 for _, line in lines if line.strip() and not line.lstrip().startswith("#")) + len(parsed)
    routed.erased_lines = named - len(events) - routed.unreadable
    routed.people = people_of(events, markers_of(stored))
    return routed


def event_ids(event: Event) -> list[str]:
    """The ids an event names: its lead, the anonymous id it carries, an alias's previous id."""
    link = link_of(event)
    return [event.lead_id, *link] if link else [event.lead_id]


def read_along_merges(repository: Leads, ids: Iterable[str], *, consistent: bool) -> dict[str, StoredItem]:
    """The items of ``ids``, and of the leads their markers name, along chains of merges."""
    stored = dict(repository.read_many(sorted(ids), consistent=consistent))
    for _ in range(MAX_HOPS):
        into = {item.into for item in stored.values() if isinstance(item, MergedLead)}
        if not (unread := sorted(into - stored.keys())):
            break
        stored.update(repository.read_many(unread, consistent=consistent))
    return stored


def markers_of(stored: Mapping[str, StoredItem]) -> dict[str, str]:
    return {lead_id: item.into for lead_id, item in stored.items() if isinstance(item, MergedLead)}


@dataclass
class Run:
    """A whole re-score: the first pass, then the catch-up."""

    lines: int
    leads: int
    unreadable: int
    erased_lines: int
    tally: Tally
    caught_up: int = 0


def rescore_lines(
    read_lines: Callable[[], Sequence[Line]],
    repository: Leads,
    rules: RuleSet,
    clock: Clock,
    *,
    margin: timedelta = SETTLE_MARGIN,
    dry_run: bool = False,
) -> Run:
    """Re-score every person the archive names (the local run: one process, the whole archive).

    ``read_lines`` lists and reads the archive anew at each call; the cut-off of the first pass is the
    moment of its first call. The leads written since (less ``margin``) and the races lost go to
    :func:`catch_up`, which reads the archive again after reading them. ``dry_run``: what would change,
    as of now, written nowhere.
    """
    listed_at = clock()
    lines = read_lines()
    routed = route(lines, repository, listed_at)
    quiet_since = None if dry_run else listed_at - margin
    tally = write_people(
        repository, rules, routed.people, listed_at, quiet_since=quiet_since, dry_run=dry_run
    )
    deferred, tally.deferred = tally.deferred, set()
    if dry_run:  # a lead merged since it was routed: what it would become is the catch-up's to find
        tally.deferred = deferred
        deferred = set()
    caught = catch_up(deferred, lambda ids: (read_lines(), ()), repository, rules, clock)
    tally.add(caught)
    return Run(
        lines=len(lines),
        leads=len(routed.people),
        unreadable=routed.unreadable,
        erased_lines=routed.erased_lines,
        tally=tally,
        caught_up=len(deferred) - len(caught.deferred),
    )


def catch_up(
    pending: Collection[str],
    load: Callable[[Collection[str]], History],
    repository: Leads,
    rules: RuleSet,
    clock: Clock,
    *,
    attempts: int = CATCH_UP_ATTEMPTS,
    has_time: Callable[[], bool] = lambda: True,
) -> Tally:
    """Re-join the leads the first pass left alone: each person (and every id merged into them) read
    *first*, then their history loaded (``load``: lines, and events read from lines, holding every
    message of those ids archived until the call), then rebuilt and written on the version read. A
    message scored live was archived before its lead was written, so anything the read lead holds is in
    the history loaded after it; a write that lands in between fails its condition and the person is
    tried again. What is still pending after ``attempts``, or when ``has_time`` says no more, is left in
    ``deferred`` (live scoring keeps it up to date meanwhile; a later run re-scores it)."""
    tally = Tally()
    waiting = set(pending)
    for _ in range(attempts):
        if not waiting or not has_time():
            break
        at = clock()
        persons = _persons(repository, waiting)
        ids = set(persons)
        for person in persons:
            ids.update(repository.merged_into(person))
        read = repository.read_many(sorted(ids))
        tally.reads += len(ids)
        lines, parsed = load(ids)
        routed = route(lines, repository, at, parsed)
        people = {person: events for person, events in routed.people.items() if person in persons}
        # A link the history declares after the read (an alias into a new id): that person is read anew.
        moved = {
            person
            for person, events in routed.people.items()
            if person not in persons and any(event.lead_id in ids for event in events)
        }
        part = write_people(
            repository, rules, people, at, quiet_since=None, read={p: read.get(p) for p in people}
        )
        waiting = part.deferred | moved
        part.deferred = set()
        tally.add(part)
    tally.deferred = waiting
    return tally


def _persons(repository: Leads, ids: Iterable[str]) -> set[str]:
    """Whom each id belongs to now (its marker's chain)."""
    stored = read_along_merges(repository, ids, consistent=True)
    markers = markers_of(stored)
    return {person_of(lead_id, markers) for lead_id in ids}
