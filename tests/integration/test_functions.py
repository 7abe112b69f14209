"""Each function's real handler on moto, fed the sample events in events/ as Lambda would feed them."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from leadscore.adapters.dynamodb import DynamoLeadRepository
from leadscore.events import Event
from leadscore.rules import DEFAULT_RULES_FILE, load_rules
from leadscore.scoring import evaluated_record
from leadscore_local.aws import LocalResources
from tests.conftest import load_event
from tests.integration.conftest import Invoke, archived, sqs_batch

pytestmark = pytest.mark.integration


def queued_bodies(aws: LocalResources) -> list[dict[str, Any]]:
    sqs = boto3.client("sqs")
    messages = sqs.receive_message(QueueUrl=aws.queue_url, MaxNumberOfMessages=10).get("Messages", [])
    return [json.loads(message["Body"]) for message in messages]


def test_collect_queues_the_events_of_a_request_and_writes_nothing_to_s3(
    aws: LocalResources, invoke: Invoke
) -> None:
    response = invoke("collect", load_event("apigw_http_batch.json"))
    assert (response["statusCode"], json.loads(response["body"])) == (200, {"success": True})
    assert [body["type"] for body in queued_bodies(aws)] == ["identify", "track"]
    assert archived(aws.bucket) == {}


def test_collect_refuses_a_bad_batch_naming_the_field(aws: LocalResources, invoke: Invoke) -> None:
    event = load_event("apigw_http_batch.json")
    event["body"] = json.dumps({"batch": [{"type": "track", "userId": "u"}]})
    response = invoke("collect", event)
    assert response["statusCode"] == 400
    assert json.loads(response["body"])["code"] == "invalid_request"
    assert "batch[0].event" in json.loads(response["body"])["message"]
    assert queued_bodies(aws) == []
    assert "Contents" not in boto3.client("s3").list_objects_v2(Bucket=aws.bucket)


def test_collect_refuses_a_wrong_key(aws: LocalResources, invoke: Invoke) -> None:
    event = load_event("apigw_http_batch.json")
    event["headers"]["authorization"] = "Bearer local-read-key"
    response = invoke("collect", event)
    assert response["statusCode"] == 401
    assert json.loads(response["body"])["code"] == "unauthorized"


def test_score_writes_once_per_lead_and_fails_poison_messages_alone(
    aws: LocalResources, invoke: Invoke
) -> None:
    invoke("collect", load_event("apigw_http_batch.json"))
    event = sqs_batch(aws, visibility_seconds=30)[0]
    poison = {**event["Records"][0], "messageId": "poison-1", "body": "{not an event"}
    event["Records"].append(poison)
    response = invoke("score", event)
    assert response == {"batchItemFailures": [{"itemIdentifier": "poison-1"}]}
    record = DynamoLeadRepository(aws.table_name).get("jane@acme-robotics.com")
    assert record is not None
    assert record.version == 1  # two events, one write


def test_an_event_the_engine_cannot_score_fails_alone_beside_its_leads_other_events(
    aws: LocalResources, invoke: Invoke
) -> None:
    # Given a batch where one of jane's events is readable but cannot be scored (a 400-digit trait)
    invoke("collect", load_event("apigw_http_batch.json"))
    event = sqs_batch(aws, visibility_seconds=30)[0]
    good = event["Records"][0]
    body = json.loads(good["body"])
    huge = {**body, "message_id": "huge", "kind": "identify", "name": None, "traits": {"budget": 10**400}}
    event["Records"].append({**good, "messageId": "unscorable-1", "body": json.dumps(huge)})

    # When score takes the batch
    response = invoke("score", event)

    # Then only that event is reported failed, and jane's other events are scored in one write
    assert response == {"batchItemFailures": [{"itemIdentifier": "unscorable-1"}]}
    record = DynamoLeadRepository(aws.table_name).get("jane@acme-robotics.com")
    assert record is not None
    assert record.version == 1
    assert record.summary.score > 0


def test_score_archives_each_batch_as_one_object_that_a_retry_overwrites(
    aws: LocalResources, invoke: Invoke
) -> None:
    # Given what collect queued, and a poison message beside it
    invoke("collect", load_event("apigw_http_batch.json"))
    event = sqs_batch(aws, visibility_seconds=30)[0]
    event["Records"].append({**event["Records"][0], "messageId": "poison-1", "body": "{not an event"})
    queued_at = datetime.fromtimestamp(
        min(int(record["attributes"]["SentTimestamp"]) for record in event["Records"]) / 1000, UTC
    )
    # When score takes the batch, and then takes it again
    invoke("score", event)
    invoke("score", event)
    # Then one object holds every body as received, one per line, under the hour it was queued
    ((key, lines),) = archived(aws.bucket).items()
    assert re.fullmatch(rf"raw/dt={queued_at:%Y-%m-%d}/hour={queued_at:%H}/[0-9a-f]{{32}}\.jsonl\.gz", key)
    assert lines == [record["body"] for record in event["Records"]]
    assert [json.loads(line)["type"] for line in lines[:-1]] == ["identify", "track"]


def test_a_failed_archive_put_fails_the_whole_batch_and_scores_nothing(
    aws: LocalResources, invoke: Invoke
) -> None:
    boto3.client("s3").delete_bucket(Bucket=aws.bucket)
    with pytest.raises(ClientError, match="NoSuchBucket"):
        invoke("score", load_event("sqs_batch.json"))
    assert boto3.client("dynamodb").scan(TableName=aws.table_name)["Count"] == 0


def test_scoring_the_same_batch_twice_changes_nothing(aws: LocalResources, invoke: Invoke) -> None:
    invoke("collect", load_event("apigw_http_batch.json"))
    event = sqs_batch(aws, visibility_seconds=30)[0]
    invoke("score", event)
    first = DynamoLeadRepository(aws.table_name).get("jane@acme-robotics.com")
    invoke("score", event)
    again = DynamoLeadRepository(aws.table_name).get("jane@acme-robotics.com")
    assert first is not None
    assert again == first  # no second write: the events were already counted


def test_the_sample_score_event_scores_its_lead(aws: LocalResources, invoke: Invoke) -> None:
    assert invoke("score", load_event("sqs_batch.json")) == {"batchItemFailures": []}
    assert DynamoLeadRepository(aws.table_name).get("jane@acme-robotics.com") is not None


def test_leads_answers_with_the_read_key_only(aws: LocalResources, invoke: Invoke) -> None:
    invoke("score", load_event("sqs_batch.json"))
    event = load_event("apigw_http_lead.json")
    response = invoke("leads", event)
    assert response["statusCode"] == 200
    body = json.loads(response["body"])
    assert {"score", "fit", "engagement", "band", "explanation"} <= body.keys()
    assert sum(item["points"] for item in body["explanation"]) == pytest.approx(body["score"])

    event["headers"]["authorization"] = "Bearer local-write-key"
    assert invoke("leads", event)["statusCode"] == 401
    unknown = load_event("apigw_http_lead.json")
    unknown["pathParameters"]["lead_id"] = "nobody"
    unknown["rawPath"] = "/v1/leads/nobody"
    unknown["requestContext"]["http"]["path"] = "/v1/leads/nobody"
    assert invoke("leads", unknown)["statusCode"] == 404


def test_notify_publishes_each_new_signal_once(aws: LocalResources, invoke: Invoke) -> None:
    sqs = boto3.client("sqs")
    response = invoke("notify", load_event("dynamodb_stream_record.json"))
    assert response == {"batchItemFailures": []}
    delivered = sqs.receive_message(QueueUrl=aws.outbox_queue_url, MaxNumberOfMessages=10).get("Messages", [])
    assert len(delivered) >= 1
    alert = json.loads(json.loads(delivered[0]["Body"])["Message"])
    assert alert["lead_id"] == "jane@acme-robotics.com"
    assert alert["reasons"]


def test_decay_moves_only_the_leads_that_are_due(aws: LocalResources, invoke: Invoke) -> None:
    invoke("score", load_event("sqs_batch.json"))  # a lead that is not due
    month_ago = datetime.now(UTC) - timedelta(days=30)
    events = [
        Event(message_id=name, lead_id="quiet@example.org", kind="track", name=name, timestamp=month_ago)
        for name in ("Demo Requested", "Trial Started")
    ]
    rules = load_rules(DEFAULT_RULES_FILE)
    repository = DynamoLeadRepository(aws.table_name)
    quiet = evaluated_record("quiet@example.org", None, events, rules, month_ago)
    repository.save(quiet, expected_version=0)
    assert quiet.summary.band == "warm"
    assert quiet.decay_due_at is not None

    assert invoke("decay", load_event("schedule.json")) == {
        "visited": 1,
        "band_changes": 1,
        "skipped": 0,
        "reminders": 0,
        "finished": True,
    }
    after = repository.get("quiet@example.org")
    assert after is not None
    assert (after.summary.band, after.version, after.decay_due_at) == ("cold", 2, None)
    assert invoke("decay", load_event("schedule.json")) == {
        "visited": 0,
        "band_changes": 0,
        "skipped": 0,
        "reminders": 0,
        "finished": True,
    }
