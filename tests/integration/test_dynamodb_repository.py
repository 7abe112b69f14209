"""The lead table adapter against moto: conditional writes, batch reads, the account and decay indexes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import boto3
import pytest

from leadscore.adapters.dynamodb import (
    FOLLOW_UP_SORT_KEY,
    DynamoLeadRepository,
    first_follow_up_at,
    item_to_record,
    lead_key,
    record_to_item,
)
from leadscore.errors import ConcurrentUpdate
from leadscore.events import Event
from leadscore.records import FollowUp, MergedLead
from leadscore.rules import DEFAULT_RULES_FILE, load_rules
from leadscore.scoring import evaluated_record
from leadscore_local.aws import LocalResources

pytestmark = pytest.mark.integration
NOW = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
RULES = load_rules(DEFAULT_RULES_FILE)


def identify(lead_id: str, email: str, message_id: str = "m-id") -> Event:
    traits = {"email": email, "title": "VP Engineering", "employees": 500}
    return Event(message_id=message_id, lead_id=lead_id, kind="identify", traits=traits, timestamp=NOW)


@pytest.fixture
def repository(aws: LocalResources) -> DynamoLeadRepository:
    return DynamoLeadRepository(aws.table_name, boto3.client("dynamodb"))


def test_a_record_survives_the_round_trip(repository: DynamoLeadRepository) -> None:
    record = evaluated_record("jane", None, [identify("jane", "jane@acme.com")], RULES, NOW)
    assert item_to_record(record_to_item(record)) == record
    repository.save(record, expected_version=0)
    assert repository.get("jane") == record
    assert repository.get("nobody") is None


def test_a_write_on_a_stale_version_is_refused(repository: DynamoLeadRepository) -> None:
    first = evaluated_record("jane", None, [identify("jane", "jane@acme.com")], RULES, NOW)
    repository.save(first, expected_version=0)
    with pytest.raises(ConcurrentUpdate):
        repository.save(first, expected_version=0)
    second = evaluated_record("jane", first, [identify("jane", "jane@acme.com", "m2")], RULES, NOW)
    repository.save(second, expected_version=1)
    with pytest.raises(ConcurrentUpdate):
        repository.save(second, expected_version=1)
    assert repository.get("jane") == second


def test_many_leads_are_read_in_batches(repository: DynamoLeadRepository) -> None:
    ids = [f"lead-{n}" for n in range(130)]
    for lead_id in ids:
        repository.save(
            evaluated_record(lead_id, None, [identify(lead_id, f"{lead_id}@acme.com")], RULES, NOW), 0
        )
    found = repository.get_many([*ids, "missing"])
    assert sorted(found) == sorted(ids)


def test_leads_roll_up_to_their_account_by_business_domain(repository: DynamoLeadRepository) -> None:
    for lead_id, email in [("a", "a@acme.com"), ("b", "b@acme.com"), ("c", "c@gmail.com")]:
        repository.save(evaluated_record(lead_id, None, [identify(lead_id, email)], RULES, NOW), 0)
    assert sorted(r.lead_id for r in repository.leads_of_account("acme.com")) == ["a", "b"]


def test_only_leads_due_are_listed_for_decay(repository: DynamoLeadRepository) -> None:
    record = evaluated_record("jane", None, [identify("jane", "jane@acme.com")], RULES, NOW)
    due = record.model_copy(update={"decay_due_at": NOW + timedelta(days=3)})
    repository.save(due, 0)
    bands = [*RULES.band_rank]
    assert list(repository.due_for_decay(NOW + timedelta(days=2), bands)) == []
    assert list(repository.due_for_decay(NOW + timedelta(days=3), bands)) == ["jane"]
    assert list(repository.due_for_decay(NOW + timedelta(days=3), ["warm", "hot"])) == []


def test_a_merge_marker_replaces_the_lead_is_small_and_is_read_once(
    repository: DynamoLeadRepository, aws: LocalResources
) -> None:
    visitor = evaluated_record("anon-1", None, [identify("anon-1", "x@acme.com")], RULES, NOW)
    repository.save(visitor, 0)
    repository.mark_merged(MergedLead(lead_id="anon-1", version=2, into="jane"), expected_version=1)
    item = boto3.client("dynamodb").get_item(TableName=aws.table_name, Key=lead_key("anon-1"))["Item"]
    assert set(item) == {"pk", "sk", "sv", "v", "mi"}
    other = DynamoLeadRepository(aws.table_name, boto3.client("dynamodb"))
    assert other.read_many(["anon-1"]) == {"anon-1": MergedLead(lead_id="anon-1", version=2, into="jane")}
    assert other.get("anon-1") is None
    # A marker never changes: once seen, it is not read again (the item gone would show otherwise)
    boto3.client("dynamodb").delete_item(TableName=aws.table_name, Key=lead_key("anon-1"))
    assert (
        other.read("anon-1")
        == repository.read("anon-1")
        == MergedLead(lead_id="anon-1", version=2, into="jane")
    )
    with pytest.raises(ConcurrentUpdate):
        repository.mark_merged(MergedLead(lead_id="fresh", version=2, into="jane"), expected_version=1)


def test_the_latest_follow_up_is_kept_and_the_first_ones_time_stays(
    repository: DynamoLeadRepository, aws: LocalResources
) -> None:
    repository.save(evaluated_record("jane", None, [identify("jane", "jane@acme.com")], RULES, NOW), 0)
    meeting = FollowUp(status="meeting_booked", by="kim", at=NOW + timedelta(days=2))
    call = FollowUp(status="contacted", by="kim", at=NOW + timedelta(minutes=3))
    assert repository.record_follow_up("jane", meeting)
    assert not repository.record_follow_up("jane", call)  # recorded after, happened before
    assert repository.follow_up_of("jane") == meeting
    item = boto3.client("dynamodb").get_item(
        TableName=aws.table_name, Key=lead_key("jane", FOLLOW_UP_SORT_KEY)
    )["Item"]
    assert first_follow_up_at(item) == call.at
