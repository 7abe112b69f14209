"""Scoring queued events: one read and one conditional write per lead per batch, retried on a lost race."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from aws_lambda_powertools import Logger

from leadscore.engine import evaluate, next_band_change_at
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
    """Score a batch; returns the receipts of the events that could not be scored (to be redelivered)."""
    by_lead: dict[str, list[QueuedEvent]] = defaultdict(list)
    for item in queued:
        by_lead[item.event.lead_id].append(item)
    stored = repository.get_many(list(by_lead))
    failed: list[str] = []
    for lead_id, items in by_lead.items():
        events = [item.event for item in items]
        try:
            apply_events(
                lead_id=lead_id,
                events=events,
                record=stored.get(lead_id),
                repository=repository,
                rules=rules,
                now=now,
            )
        except Exception:
            logger.exception("scoring failed", extra={"lead_id": lead_id, "events": len(events)})
            failed.extend(item.receipt for item in items)
    return failed


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
        summary=LeadSummary.of(evaluation.score),
        signals=evaluation.signals,
        decay_due_at=next_band_change_at(rules, evaluation.state, now),
    )
