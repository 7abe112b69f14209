"""Follow-up reminders on moto, with a clock the test moves: a lead that turned hot and waits past the
configured time gets one reminder from the decay job, never two; a lead followed up gets none."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import boto3
import pytest

from leadscore.adapters.dynamodb import DynamoLeadRepository
from leadscore.alerts import new_alerts
from leadscore.events import Event
from leadscore.lookup import lead_view
from leadscore.records import FollowUp
from leadscore.rescoring import decay_due_leads
from leadscore.rules import DEFAULT_RULES_FILE, load_rules
from leadscore.scoring import evaluated_record
from leadscore_local.aws import LocalResources

pytestmark = pytest.mark.integration
RULES = load_rules(DEFAULT_RULES_FILE)
TURNED_HOT = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
REMIND_AFTER = timedelta(hours=RULES.file.alerts.remind_after_hours or 0)


def hot_lead(repository: DynamoLeadRepository, lead_id: str) -> None:
    """A VP at a mid-size company who asked for a demo and a quote (a fast-track): hot at ``TURNED_HOT``."""
    at = TURNED_HOT - timedelta(hours=1)
    traits = {
        "email": lead_id,
        "name": "Kim Lee",
        "title": "VP Engineering",
        "employees": 500,
        "country": "US",
    }
    events = [
        Event(message_id=f"{lead_id}-1", lead_id=lead_id, kind="identify", traits=traits, timestamp=at),
        Event(message_id=f"{lead_id}-2", lead_id=lead_id, kind="track", name="Demo Requested", timestamp=at),
        Event(message_id=f"{lead_id}-3", lead_id=lead_id, kind="track", name="Quote Requested", timestamp=at),
    ]
    record = evaluated_record(lead_id, None, events, RULES, TURNED_HOT)
    assert (record.summary.band, [signal.kind for signal in record.signals]) == ("hot", ["fast_track"])
    # The decay job is due back when the reminder is: the band stays hot longer than that.
    assert record.decay_due_at == TURNED_HOT + REMIND_AFTER
    repository.save(record, expected_version=0)


@pytest.fixture
def repository(aws: LocalResources) -> DynamoLeadRepository:
    return DynamoLeadRepository(aws.table_name, boto3.client("dynamodb"))


def test_a_lead_left_waiting_is_reminded_once_and_a_followed_up_one_never(
    repository: DynamoLeadRepository,
) -> None:
    hot_lead(repository, "waiting@initech.com")
    hot_lead(repository, "called@initech.com")
    repository.record_follow_up(
        "called@initech.com", FollowUp(status="contacted", by="ana", at=TURNED_HOT + timedelta(hours=2))
    )
    assert decay_due_leads(repository, RULES, TURNED_HOT + REMIND_AFTER - timedelta(minutes=1)).reminders == 0
    before = repository.get("waiting@initech.com")

    run = decay_due_leads(repository, RULES, TURNED_HOT + REMIND_AFTER + timedelta(minutes=14))
    assert (run.visited, run.reminders) == (2, 1)
    after = repository.get("waiting@initech.com")
    assert after is not None
    assert [signal.kind for signal in after.signals] == ["reminder"]
    (alert,) = new_alerts(RULES, before, after)
    assert (alert.kind, alert.band, alert.name) == ("reminder", "hot", "Kim Lee")
    assert alert.subject.startswith("[leadscore] Still no follow-up: Kim Lee")
    assert alert.reasons == ["Hot since 2026-11-24 09:00 UTC (24 hours) with no follow-up recorded"]
    called = repository.get("called@initech.com")
    assert called is not None
    assert called.signals == []
    # Both settled: neither is due again for this turn to hot, and no run reminds twice.
    for settled in (after, called):
        assert settled.decay_due_at is None or settled.decay_due_at > TURNED_HOT + timedelta(days=2)
    for days in (2, 3):
        assert decay_due_leads(repository, RULES, TURNED_HOT + timedelta(days=days)).reminders == 0
    # The look-up says how long the lead has waited; a follow-up ends the wait.
    view = lead_view(repository, RULES, "waiting@initech.com", TURNED_HOT + timedelta(days=1, hours=2))
    assert view.waiting_since == TURNED_HOT
    repository.record_follow_up(
        "waiting@initech.com",
        FollowUp(status="meeting_booked", by="ana", at=TURNED_HOT + timedelta(days=1, hours=3)),
    )
    view = lead_view(repository, RULES, "waiting@initech.com", TURNED_HOT + timedelta(days=1, hours=4))
    assert view.waiting_since is None
