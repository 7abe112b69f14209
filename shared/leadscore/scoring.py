"""Scoring queued events: one read and one conditional write per lead per batch, retried on a lost race."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from aws_lambda_powertools import Logger

from leadscore.engine import LeadState, evaluate, reminder_due_at, settle_reminder
from leadscore.engine.state import epoch, moment
from leadscore.errors import ConcurrentUpdate
from leadscore.events import Event
from leadscore.identity import MAX_HOPS, add_links, links_in_order, person_of
from leadscore.ports import UNCOUNTED, Counter, LeadRepository
from leadscore.records import ErasedLead, FollowUp, LeadRecord, LeadSummary, MergedLead, StoredItem
from leadscore.resources import DUPLICATES_DROPPED, LEADS_SCORED, LOST_RACES_RETRIED
from leadscore.rules import RuleSet

logger = Logger(child=True)

MAX_ATTEMPTS = 4


@dataclass(frozen=True)
class QueuedEvent:
    """An event and the id its queue knows it by (the SQS message id), for partial batch failures."""

    receipt: str
    event: Event
    # The id of the API request that queued it (the SQS message attribute), for the logs and the item.
    correlation_id: str | None = None


class Erased(Exception):
    """The lead was erased on request while this batch scored it: its events are dropped."""


class Rerouted(Exception):
    """The lead was merged into another while this batch scored it: the batch's redelivery routes its
    events to the person (nothing of them was written)."""


def score_queued_events(
    queued: Sequence[QueuedEvent],
    repository: LeadRepository,
    rules: RuleSet,
    now: datetime,
    counter: Counter = UNCOUNTED,
) -> list[str]:
    """Score a batch; returns the receipts of the events that could not be scored (to be redelivered).

    Each event is scored on its person (see ``identity``): an anonymous visitor's events on the person
    they were linked to, and an id newly linked in this batch has its state joined into the person.
    An event the engine cannot score fails alone: its lead's other events are scored without it.
    Events of a person erased on request are dropped: they never bring the person back.
    """
    routing = _Routing.of([item.event for item in queued], repository)
    by_person: dict[str, list[QueuedEvent]] = defaultdict(list)
    for item in queued:
        by_person[routing.person(item.event.lead_id)].append(item)
    failed: list[str] = []
    for person, items in by_person.items():
        if routing.erased(person):
            logger.info("erased on request: events dropped", extra={"events": len(items)})
            continue
        record, merging = routing.live(person), routing.merging_into(person)
        try:
            _apply(
                person, items, record, merging, repository=repository, rules=rules, now=now, counter=counter
            )
            continue
        except Erased:
            logger.info("erased while scored: events dropped", extra={"events": len(items)})
            continue
        except Rerouted:
            logger.info("lead merged meanwhile: redelivery will route it", extra={"lead_id": person})
            failed.extend(item.receipt for item in items)
            continue
        except Exception:
            logger.exception(
                "scoring failed",
                extra={"lead_id": person, "events": len(items), "correlation_ids": correlation_ids(items)},
            )
        poison = [item for item in items if not _scorable(person, record, item, rules, now)]
        rest = [item for item in items if item not in poison]
        failed.extend(item.receipt for item in poison)
        if not poison or not rest:
            failed.extend(item.receipt for item in rest)  # the lead failed, not one of its events
            continue
        try:
            _apply(
                person, rest, record, merging, repository=repository, rules=rules, now=now, counter=counter
            )
        except Exception:
            logger.exception(
                "scoring failed",
                extra={"lead_id": person, "events": len(rest), "correlation_ids": correlation_ids(rest)},
            )
            failed.extend(item.receipt for item in rest)
    return failed


def correlation_ids(items: Sequence[QueuedEvent]) -> list[str]:
    """The requests these events came from, each once, in the order met."""
    return list(dict.fromkeys(item.correlation_id for item in items if item.correlation_id))


@dataclass(frozen=True)
class _Routing:
    """Where a batch's events go: the stored merges, and the links its messages add."""

    stored: dict[str, StoredItem]
    links: dict[str, str]
    new_links: dict[str, str]

    @classmethod
    def of(cls, events: Sequence[Event], repository: LeadRepository) -> _Routing:
        candidates = links_in_order(events)
        ids = {event.lead_id for event in events} | {lead_id for link in candidates for lead_id in link}
        stored = repository.read_many(sorted(ids))
        links: dict[str, str] = {}
        checked = set(ids)
        for _ in range(MAX_HOPS):  # a merge into an id merged since: read along the chain
            links = {key: item.into for key, item in stored.items() if isinstance(item, MergedLead)}
            unread = sorted(set(links.values()) - checked)
            if not unread:
                break
            checked.update(unread)
            stored.update(repository.read_many(unread))
        erased = {lead_id for lead_id, item in stored.items() if isinstance(item, ErasedLead)}
        new_links = add_links(links, [link for link in candidates if not erased.intersection(link)])
        return cls(stored=stored, links=links, new_links=new_links)

    def erased(self, lead_id: str) -> bool:
        return isinstance(self.stored.get(lead_id), ErasedLead)

    def person(self, lead_id: str) -> str:
        return person_of(lead_id, self.links)

    def live(self, lead_id: str) -> LeadRecord | None:
        stored = self.stored.get(lead_id)
        if isinstance(stored, MergedLead):
            raise Rerouted(lead_id)
        return stored if isinstance(stored, LeadRecord) else None

    def merging_into(self, person: str) -> dict[str, LeadRecord | None]:
        """The ids this batch links to ``person``, each with its lead if it has one."""
        return {merged: self.live(merged) for merged in self.new_links if self.person(merged) == person}


def _apply(
    lead_id: str,
    items: Sequence[QueuedEvent],
    record: LeadRecord | None,
    merging: dict[str, LeadRecord | None],
    *,
    repository: LeadRepository,
    rules: RuleSet,
    now: datetime,
    counter: Counter = UNCOUNTED,
) -> None:
    """Evaluate and write the lead, then mark each merged id (after: a crash in between leaves a join
    that the redelivery repeats harmlessly). When another writer got there first, re-read, again.
    The item names the request of the batch's latest event for the lead (``correlation_id``)."""
    events = [item.event for item in items]
    sources = dict(merging)
    latest_request = next((item.correlation_id for item in reversed(items) if item.correlation_id), None)
    written = False
    for attempt in range(1, MAX_ATTEMPTS + 1):
        merged_states = [source.state for source in sources.values() if source is not None]
        updated = evaluated_record(lead_id, record, events, rules, now, merging=merged_states)
        try:
            if record is None or updated.state != record.state:
                updated.correlation_id = latest_request
                repository.save(updated, expected_version=record.version if record else 0)
                record, written = updated, True
            for merged_id, source in list(sources.items()):
                version = source.version if source is not None else 0
                merge = MergedLead(lead_id=merged_id, version=version + 1, into=lead_id)
                repository.mark_merged(merge, expected_version=version)
                del sources[merged_id]
            _count_write(events, written, counter)
            return
        except ConcurrentUpdate:
            if attempt == MAX_ATTEMPTS:
                raise
            counter.count(LOST_RACES_RETRIED)
            record, sources = _reread(lead_id, sources, repository)
    raise AssertionError("unreachable")  # pragma: no cover


def _count_write(events: Sequence[Event], written: bool, counter: Counter) -> None:
    """A lead written, and the events that cost no write: repeats inside the batch, or all of them when
    they changed nothing (a redelivery, mostly; the engine does not say which were seen before)."""
    if written:
        counter.count(LEADS_SCORED)
    repeats = len(events) - len({event.message_id for event in events}) if written else len(events)
    if repeats:
        counter.count(DUPLICATES_DROPPED, repeats)


def _reread(
    lead_id: str, sources: dict[str, LeadRecord | None], repository: LeadRepository
) -> tuple[LeadRecord | None, dict[str, LeadRecord | None]]:
    current = repository.read_many([lead_id, *sources])
    lead = current.get(lead_id)
    if isinstance(lead, MergedLead):
        raise Rerouted(lead_id)
    if isinstance(lead, ErasedLead):
        raise Erased(lead_id)
    # An id merged (into anyone) or erased meanwhile is settled; one with new activity is joined again.
    return lead, {
        merged_id: found if isinstance(found, LeadRecord) else None
        for merged_id in sources
        if not isinstance(found := current.get(merged_id), MergedLead | ErasedLead)
    }


def _scorable(
    lead_id: str, record: LeadRecord | None, item: QueuedEvent, rules: RuleSet, now: datetime
) -> bool:
    """Whether the engine can take this event on its own (a poison event must not sink its lead)."""
    try:
        evaluate(rules, record.state if record else None, [item.event], now, lead_id=lead_id)
    except Exception:
        logger.exception(
            "unscorable event",
            extra={"lead_id": lead_id, "receipt": item.receipt, "correlation_id": item.correlation_id},
        )
        return False
    return True


def evaluated_record(
    lead_id: str,
    record: LeadRecord | None,
    events: Sequence[Event],
    rules: RuleSet,
    now: datetime,
    *,
    merging: Sequence[LeadState] = (),
    follow_up: Callable[[], FollowUp | None] | None = None,
) -> LeadRecord:
    """The record after the engine has seen ``events`` and joined ``merging`` (neither: a re-evaluation
    as of ``now``). With ``follow_up`` (the decay job), a reminder due by now is settled: asked only then.
    """
    state = record.state if record else None
    evaluation = evaluate(rules, state, events, now, merging=merging, lead_id=lead_id)
    state, signals = evaluation.state, evaluation.signals
    reminder = reminder_due_at(rules, state)
    if follow_up is not None and reminder is not None and reminder <= epoch(now):
        followed_up = follow_up()
        state, reminded = settle_reminder(
            rules, state, epoch(followed_up.at) if followed_up else None, epoch(now)
        )
        signals = [*signals, reminded] if reminded else signals
        reminder = None
    change = evaluation.next_band_change()
    if reminder is not None:
        change = moment(reminder) if change is None else min(change, moment(reminder))
    return LeadRecord(
        lead_id=lead_id,
        version=(record.version if record else 0) + 1,
        state=state,
        summary=LeadSummary.of(evaluation.headline),
        signals=signals,
        decay_due_at=decay_due(record.decay_due_at if record else None, change, now),
        listed=rules.band_rank[evaluation.headline.band] > 0,
        kept=record.kept if record else False,
    )


def decay_due(indexed: datetime | None, change: datetime | None, now: datetime) -> datetime | None:
    """When the decay job should next look: the indexed time while it is still ahead of now and no
    later than the change (of band, or the reminder), so the index key and its two index writes stay put;
    else the change.
    """
    if indexed is not None and change is not None and now < indexed <= change:
        return indexed
    return change
