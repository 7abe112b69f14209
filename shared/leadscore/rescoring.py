"""Scheduled decay: re-evaluate only the leads whose band or stage decay is due to change."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from leadscore.errors import ConcurrentUpdate
from leadscore.ports import LeadRepository
from leadscore.rules import RuleSet
from leadscore.scoring import evaluated_record


@dataclass(frozen=True)
class DecayRun:
    visited: int
    band_changes: int
    skipped: int


def decay_due_leads(repository: LeadRepository, rules: RuleSet, now: datetime) -> DecayRun:
    """Visit the leads due by ``now``; the cost grows with the leads due, not with the table."""
    visited = band_changes = skipped = 0
    for lead_id in repository.due_for_decay(now):
        record = repository.get(lead_id)
        if record is None:
            continue
        visited += 1
        updated = evaluated_record(lead_id, record, [], rules, now)
        try:
            repository.save(updated, expected_version=record.version)
        except ConcurrentUpdate:
            # A concurrent event write has just re-evaluated this lead as of a later moment.
            skipped += 1
            continue
        if (updated.summary.band, updated.summary.stage) != (record.summary.band, record.summary.stage):
            band_changes += 1
    return DecayRun(visited=visited, band_changes=band_changes, skipped=skipped)
