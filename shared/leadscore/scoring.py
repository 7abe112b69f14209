"""Scoring queued events: one read and one conditional write per lead per batch, retried on a lost race."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from aws_lambda_powertools import Logger

from leadscore.engine import evaluate
from leadscore.errors import ConcurrentUpdate
from leadscore.events import Event
from leadscore.ports import LeadRepository
from leadscore.records import LeadRecord, LeadSummary
from leadscore.rules import RuleSet

logger = Logger(child=True)

MAX_ATTEMPTS = 4


@dataclass(frozen=True)
class QueuedEvent:
    """An event and the id its queue knows it by (the SQS message id), for partial batch failures."""

    receipt: str
    event: Event


def score_queued_events(
    queued: Sequence[QueuedEvent], repository: LeadRepository, rules: RuleSet, now: datetime
) -> list[str]:
    """Score a batch; returns the receipts of the events that could not be scored (to be redelivered).

    An event the engine cannot score fails alone: its lead's other events are scored without it.
    """
    by_lead: dict[str, list[QueuedEvent]] = defaultdict(list)
    for item in queued:
        by_lead[item.event.lead_id].append(item)
    stored = repository.get_many(list(by_lead))
    failed: list[str] = []
    for lead_id, items in by_lead.items():
        record = stored.get(lead_id)
        try:
            _apply(items, record, repository=repository, rules=rules, now=now)
            continue
        except Exception:
            logger.exception("scoring failed", extra={"lead_id": lead_id, "events": len(items)})
        poison = [item for item in items if not _scorable(lead_id, record, item, rules, now)]
        rest = [item for item in items if item not in poison]
        failed.extend(item.receipt for item in poison)
        if not poison or not rest:
            failed.extend(item.receipt for item in rest)  # the lead failed, not one of its events
            continue
        try:
            _apply(rest, record, repository=repository, rules=rules, now=now)
        except Exception:
            logger.exception("scoring failed", extra={"lead_id": lead_id, "events": len(rest)})
            failed.extend(item.receipt for item in rest)
    return failed


def _apply(
    items: Sequence[QueuedEvent],
    record: LeadRecord | None,
    *,
    repository: LeadRepository,
    rules: RuleSet,
    now: datetime,
) -> None:
    apply_events(
        lead_id=items[0].event.lead_id,
        events=[item.event for item in items],
        record=record,
        repository=repository,
        rules=rules,
        now=now,
    )


def _scorable(
    lead_id: str, record: LeadRecord | None, item: QueuedEvent, rules: RuleSet, now: datetime
) -> bool:
    """Whether the engine can take this event on its own (a poison event must not sink its lead)."""
    try:
        evaluate(rules, record.state if record else None, [item.event], now)
    except Exception:
        logger.exception("unscorable event", extra={"lead_id": lead_id, "receipt": item.receipt})
        return False
    return True


def apply_events(
    *,
    lead_id: str,
    events: Sequence[Event],
    record: LeadRecord | None,
    repository: LeadRepository,
    rules: RuleSet,
    now: datetime,
) -> LeadRecord:
    """Evaluate and write; when another writer got there first, re-read and evaluate again."""
    for attempt in range(1, MAX_ATTEMPTS + 1):
        updated = evaluated_record(lead_id, record, events, rules, now)
        if record is not None and updated.state == record.state:
            return record  # every event was already counted: nothing to write
        try:
            repository.save(updated, expected_version=record.version if record else 0)
        except ConcurrentUpdate:
            if attempt == MAX_ATTEMPTS:
                raise
            record = repository.get(lead_id)
            continue
        return updated
    raise AssertionError("unreachable")  # pragma: no cover


def evaluated_record(
    lead_id: str, record: LeadRecord | None, events: Sequence[Event], rules: RuleSet, now: datetime
) -> LeadRecord:
    """The record after the engine has seen ``events`` (none: a re-evaluation as of ``now``)."""
    evaluation = evaluate(rules, record.state if record else None, events, now)
    return LeadRecord(
        lead_id=lead_id,
        version=(record.version if record else 0) + 1,
        state=evaluation.state,
        summary=LeadSummary.of(evaluation.headline),
        signals=evaluation.signals,
        decay_due_at=decay_due(record.decay_due_at if record else None, evaluation.next_band_change(), now),
    )


def decay_due(indexed: datetime | None, change: datetime | None, now: datetime) -> datetime | None:
    """When the decay job should next look: the indexed time while it is still ahead of now and no
    later than the band change (so the index key, and its two index writes, stay put), else the change.
    """
    if indexed is not None and change is not None and now < indexed <= change:
        return indexed
    return change
