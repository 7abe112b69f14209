"""Scheduled decay: re-evaluate only the leads whose band or stage decay is due to change, or whose
follow-up reminder is due."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from itertools import islice

from leadscore.errors import ConcurrentUpdate
from leadscore.ports import UNCOUNTED, Counter, LeadRepository
from leadscore.resources import DECAY_TRANSITIONS, REMINDERS_SENT
from leadscore.rules import RuleSet
from leadscore.scoring import evaluated_record

READ_BATCH = 100


@dataclass(frozen=True)
class DecayRun:
    visited: int
    band_changes: int
    skipped: int
    reminders: int = 0
    finished: bool = True


def decay_due_leads(
    repository: LeadRepository,
    rules: RuleSet,
    now: datetime,
    *,
    has_time: Callable[[], bool] = lambda: True,
    counter: Counter = UNCOUNTED,
    correlation_id: str | None = None,
) -> DecayRun:
    """Visit the leads due by ``now``, a hundred per read; the cost grows with the leads due, not with
    the table. A run that runs out of time stops between reads: the next one starts with the leads
    still due, because every lead visited has moved its due time on (or left the index), and a lead is
    written only on the version it was read at, so no lead decays twice for the same moment. Each write
    names ``correlation_id`` (the run's).
    """
    run = _visit_due_leads(repository, rules, now, has_time, correlation_id)
    counter.count(DECAY_TRANSITIONS, run.band_changes)
    counter.count(REMINDERS_SENT, run.reminders)
    return run


def _visit_due_leads(
    repository: LeadRepository,
    rules: RuleSet,
    now: datetime,
    has_time: Callable[[], bool],
    correlation_id: str | None,
) -> DecayRun:
    visited = band_changes = skipped = reminders = 0
    due = repository.due_for_decay(now, [*rules.band_rank])
    while chunk := list(islice(due, READ_BATCH)):
        if not has_time():
            return DecayRun(visited, band_changes, skipped, reminders, finished=False)
        for record in repository.get_many(chunk).values():
            visited += 1
            updated = evaluated_record(
                record.lead_id,
                record,
                [],
                rules,
                now,
                follow_up=partial(repository.follow_up_of, record.lead_id),
            )
            updated.correlation_id = correlation_id
            try:
                repository.save(updated, expected_version=record.version)
            except ConcurrentUpdate:
                # A concurrent event write has just re-evaluated this lead as of a later moment.
                skipped += 1
                continue
            if (updated.summary.band, updated.summary.stage) != (record.summary.band, record.summary.stage):
                band_changes += 1
            reminders += sum(signal.kind == "reminder" for signal in updated.signals)
    return DecayRun(visited, band_changes, skipped, reminders)
