"""Retention on moto: inactive leads carry a TTL, what sales touched never does, and the archive brings an
expired lead back."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from bench.meter import item_size
from leadscore.adapters.dynamodb import DynamoLeadRepository, StoredLead, lead_key
from leadscore.adapters.messaging import SqsMessageQueue
from leadscore.resources import ENV_RETENTION_DAYS, LEADS_TABLE, TTL_ATTRIBUTE
from leadscore_local.aws import LOCAL_READ_KEY, LocalResources
from tests.integration.conftest import Invoke, api_event, archived, basic, call_api, score_queued

pytestmark = pytest.mark.integration

LEAD = "dana@initech.com"
DAYS = 30
LAST_ACTIVITY = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)


@pytest.fixture
def retention(monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.setenv(ENV_RETENTION_DAYS, str(DAYS))
    return DAYS


def track(invoke: Invoke, *messages: dict[str, Any]) -> None:
    body = json.dumps({"batch": list(messages)}).encode()
    response = invoke("collect", api_event("/v1/batch", body, {"authorization": basic("local-write-key")}))
    assert response["statusCode"] == 200


def demo_request(message_id: str, at: datetime = LAST_ACTIVITY) -> dict[str, Any]:
    return {
        "type": "track",
        "messageId": message_id,
        "userId": LEAD,
        "event": "Demo Requested",
        "timestamp": at.isoformat(),
    }


def pricing_page(message_id: str, at: datetime) -> dict[str, Any]:
    return {
        "type": "page",
        "messageId": message_id,
        "userId": LEAD,
        "properties": {"path": "/pricing"},
        "timestamp": at.isoformat(),
    }


def stored_item(aws: LocalResources, lead_id: str = LEAD) -> dict[str, Any]:
    item: dict[str, Any] = boto3.client("dynamodb").get_item(TableName=aws.table_name, Key=lead_key(lead_id))[
        "Item"
    ]
    return item


def test_the_table_expires_items_on_the_ttl_attribute_and_items_name_it_as_the_model_does(
    aws: LocalResources,
) -> None:
    described = boto3.client("dynamodb").describe_time_to_live(TableName=LEADS_TABLE.local_name)
    assert described["TimeToLiveDescription"]["AttributeName"] == TTL_ATTRIBUTE
    assert TTL_ATTRIBUTE in StoredLead.model_fields


def test_no_retention_no_expiry(aws: LocalResources, invoke: Invoke) -> None:
    track(invoke, demo_request("m1"))
    score_queued(invoke, aws)
    assert TTL_ATTRIBUTE not in stored_item(aws)


def test_a_lead_expires_its_retention_after_its_last_activity_and_activity_moves_it_on(
    aws: LocalResources, invoke: Invoke, retention: int
) -> None:
    track(invoke, demo_request("m1"))
    score_queued(invoke, aws)
    expiry = int(stored_item(aws)[TTL_ATTRIBUTE]["N"])
    assert expiry == int((LAST_ACTIVITY + timedelta(days=retention)).timestamp())

    later = LAST_ACTIVITY + timedelta(days=5)
    track(invoke, pricing_page("m2", later))
    score_queued(invoke, aws)
    assert int(stored_item(aws)[TTL_ATTRIBUTE]["N"]) == int((later + timedelta(days=retention)).timestamp())


@pytest.mark.parametrize(
    ("route", "body"),
    [
        ("/v1/leads/{lead_id}/status", {"status": "contacted", "by": "ana"}),
        ("/v1/leads/{lead_id}/outcome", {"outcome": "converted"}),
    ],
)
def test_a_lead_sales_recorded_something_for_never_expires(
    aws: LocalResources, invoke: Invoke, retention: int, route: str, body: dict[str, Any]
) -> None:
    # Given a lead that would expire
    track(invoke, demo_request("m1"))
    score_queued(invoke, aws)
    before = stored_item(aws)
    assert TTL_ATTRIBUTE in before
    # When sales record a follow-up or an outcome
    status, _ = call_api(invoke, "POST", route, path={"lead_id": LEAD}, body=body, key=LOCAL_READ_KEY)
    assert status == 200
    # Then the lead loses its expiry for good, and a score write that read it before must re-read
    kept = stored_item(aws)
    assert TTL_ATTRIBUTE not in kept
    assert (kept["kp"], int(kept["v"]["N"])) == ({"N": "1"}, int(before["v"]["N"]) + 1)
    track(invoke, pricing_page("m2", LAST_ACTIVITY + timedelta(days=1)))
    score_queued(invoke, aws)
    after = stored_item(aws)
    assert TTL_ATTRIBUTE not in after
    assert after["kp"] == {"N": "1"}
    assert int(after["v"]["N"]) == int(kept["v"]["N"]) + 1


def test_the_retention_attributes_cost_a_few_bytes_of_the_item(
    aws: LocalResources, invoke: Invoke, retention: int
) -> None:
    track(invoke, demo_request("m1"))
    score_queued(invoke, aws)
    item = stored_item(aws)
    expiry = {TTL_ATTRIBUTE: item[TTL_ATTRIBUTE]}
    assert item_size(expiry) <= 3 + 6  # "exp" and a 10-digit number (a byte per two digits, plus one)
    assert item_size({"kp": {"N": "1"}}) == 4
    assert item_size(item) < 1024


def test_an_expired_lead_comes_back_from_the_archive(
    aws: LocalResources, invoke: Invoke, retention: int
) -> None:
    # Given a scored lead whose item DynamoDB's TTL deleted
    track(
        invoke,
        {"type": "identify", "messageId": "i1", "userId": LEAD, "traits": {"email": LEAD, "title": "CTO"}},
        demo_request("m1"),
    )
    score_queued(invoke, aws)
    repository = DynamoLeadRepository(aws.table_name)
    scored = repository.get(LEAD)
    assert scored is not None
    boto3.client("dynamodb").delete_item(TableName=aws.table_name, Key=lead_key(LEAD))
    assert repository.get(LEAD) is None
    # When its archived messages are queued again (as any producer may)
    lines = [json.loads(line) for object_lines in archived(aws.bucket).values() for line in object_lines]
    SqsMessageQueue(aws.queue_url).send(lines)
    score_queued(invoke, aws)
    # Then it is scored as it was
    restored = repository.get(LEAD)
    assert restored is not None
    # The fold horizon is the clock's (scoring time less FOLD_AFTER), not a fact: it moves on with it.
    assert restored.state.but(folded_until=scored.state.folded_until) == scored.state
    assert 0 <= restored.state.folded_until - scored.state.folded_until <= 60
    assert restored.summary.score == scored.summary.score
