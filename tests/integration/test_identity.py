"""Identity, message ids and batch context through collect and score on moto: what a tracker sends over
HTTP, queued, scored (redelivered, in any order) and stored, equal to the offline engine."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from leadscore.adapters.dynamodb import DynamoLeadRepository
from leadscore.engine import score_lead
from leadscore.records import MergedLead
from leadscore.replay import replay_states
from leadscore.rules import DEFAULT_RULES_FILE, load_rules
from leadscore.segment import loads, read_message
from leadscore_local.aws import LOCAL_WRITE_KEY, LocalResources
from tests.integration.conftest import Invoke, api_event, basic, score_queued, sqs_batch

pytestmark = pytest.mark.integration
RULES = load_rules(DEFAULT_RULES_FILE)
PERSON, VISITOR = "dana@initech.com", "ajs-anon-1"


def send(invoke: Invoke, *messages: dict[str, Any], **batch: Any) -> None:
    body = json.dumps({"batch": list(messages), **batch}).encode()
    headers = {"authorization": basic(LOCAL_WRITE_KEY), "content-type": "application/json"}
    assert invoke("collect", api_event("/v1/batch", body, headers))["statusCode"] == 200


def ago(minutes: float) -> str:
    return (datetime.now(UTC) - timedelta(minutes=minutes)).isoformat()


def browsing() -> list[dict[str, Any]]:
    return [
        {"type": "page", "anonymousId": VISITOR, "timestamp": ago(50), "properties": {"path": "/pricing"}},
        {"type": "page", "anonymousId": VISITOR, "timestamp": ago(40), "properties": {"path": "/product"}},
    ]


def identify(minutes: float = 5) -> dict[str, Any]:
    traits = {"email": "Dana@Initech.com", "title": "VP of Operations", "employees": 800}
    return {
        "type": "identify",
        "userId": PERSON,
        "anonymousId": VISITOR,
        "timestamp": ago(minutes),
        "traits": traits,
    }


def repository(aws: LocalResources) -> DynamoLeadRepository:
    return DynamoLeadRepository(aws.table_name)


def queued_messages(aws: LocalResources) -> list[dict[str, Any]]:
    """The queued messages' bodies (up to ten), left in the queue (one receive: each counts towards the
    dead-letter queue's three)."""
    return [json.loads(record["body"]) for record in sqs_batch(aws)[0]["Records"]]


def offline_score(messages: list[dict[str, Any]], at: datetime) -> dict[str, float]:
    events = [read_message(loads(json.dumps(m)), message_id=None, received_at=None) for m in messages]
    return {
        state.lead_id: score_lead(RULES, state, at).score
        for state, _ in replay_states(RULES, events, at).values()
    }


def test_anonymous_first_then_identified_is_one_lead_with_both(aws: LocalResources, invoke: Invoke) -> None:
    send(invoke, *browsing())
    score_queued(invoke, aws)
    assert repository(aws).get(VISITOR) is not None
    send(invoke, identify())
    score_queued(invoke, aws)
    stored = repository(aws)
    person = stored.get(PERSON)
    assert person is not None
    assert {"pricing-page", "product-pages"} <= set(person.state.hits)
    assert person.state.traits["email"] == "dana@initech.com"
    assert person.state.account_id == "initech.com"
    assert stored.read(VISITOR) == MergedLead(lead_id=VISITOR, version=2, into=PERSON)


def test_known_first_out_of_order_and_redelivered_scores_as_the_offline_engine(
    aws: LocalResources, invoke: Invoke
) -> None:
    # The identify arrives first; the anonymous browsing it follows arrives later, in reverse
    send(invoke, identify())
    send(invoke, *reversed(browsing()))
    event, _ = sqs_batch(aws)
    messages = [json.loads(record["body"]) for record in event["Records"]]
    assert len(messages) == 3
    # Every batch is delivered twice (a redelivery), the second time reversed
    assert invoke("score", event) == {"batchItemFailures": []}
    event["Records"].reverse()
    assert invoke("score", event) == {"batchItemFailures": []}
    score_queued(invoke, aws)
    now = datetime.now(UTC)
    stored = repository(aws)
    person = stored.get(PERSON)
    assert person is not None
    assert isinstance(stored.read(VISITOR), MergedLead)
    assert {PERSON: score_lead(RULES, person.state, now).score} == offline_score(messages, now)


def test_two_identical_clicks_without_message_id_are_two_and_a_retry_with_one_is_one(
    aws: LocalResources, invoke: Invoke
) -> None:
    click = {"type": "track", "userId": PERSON, "event": "Webinar Registered", "timestamp": ago(3)}
    send(invoke, click)
    send(invoke, click)
    retried = {**click, "messageId": "m-1", "timestamp": ago(2)}
    send(invoke, retried)
    send(invoke, retried)
    score_queued(invoke, aws)
    person = repository(aws).get(PERSON)
    assert person is not None
    assert len(person.state.hits["webinar-registered"].facts) == 2  # the rule's limit: 2 a week
    assert [
        item.count
        for item in score_lead(RULES, person.state, datetime.now(UTC)).explanation
        if item.rule == "webinar-registered"
    ] == [2]
    queued = boto3.client("sqs").get_queue_attributes(QueueUrl=aws.queue_url, AttributeNames=["All"])
    assert queued["Attributes"]["ApproximateNumberOfMessages"] == "0"


def test_a_batch_context_merges_under_each_message_own(aws: LocalResources, invoke: Invoke) -> None:
    page = {"type": "page", "userId": PERSON, "timestamp": ago(1), "context": {"ip": "203.0.113.7"}}
    send(invoke, page, context={"page": {"path": "/pricing", "url": "https://initech.example/pricing"}})
    (message,) = queued_messages(aws)
    assert message["context"] == {
        "ip": "203.0.113.7",
        "page": {"path": "/pricing", "url": "https://initech.example/pricing"},
    }
    score_queued(invoke, aws)
    person = repository(aws).get(PERSON)
    assert person is not None
    assert "pricing-page" in person.state.hits
