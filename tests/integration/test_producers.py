"""Other producers: whatever writes Segment messages to the event queue is scored like collect's own;
a message that fails validation fails alone, reaches the dead-letter queue, and a redrive puts it back."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest

from leadscore.adapters.dynamodb import DynamoLeadRepository
from leadscore.resources import SCORE_QUEUE
from leadscore_cli.main import main
from leadscore_cli.queue import redrive
from leadscore_local.aws import LocalResources
from tests.integration.conftest import Invoke, sqs_batch

pytestmark = pytest.mark.integration


def produce(aws: LocalResources, *messages: dict[str, Any]) -> None:
    sqs = boto3.client("sqs")
    for message in messages:
        sqs.send_message(QueueUrl=aws.queue_url, MessageBody=json.dumps(message))


def test_a_producer_message_is_scored_and_a_bad_one_fails_alone(aws: LocalResources, invoke: Invoke) -> None:
    good = {"type": "track", "userId": "jo@initech.com", "event": "Demo Requested"}
    bad = {"type": "track", "userId": "jo@initech.com"}  # no event name
    produce(aws, good, bad)
    batch = sqs_batch(aws)[0]
    bad_id = next(r["messageId"] for r in batch["Records"] if "event" not in json.loads(r["body"]))
    assert invoke("score", batch) == {"batchItemFailures": [{"itemIdentifier": bad_id}]}
    lead = DynamoLeadRepository(aws.table_name).get("jo@initech.com")
    assert lead is not None
    assert "demo-request" in lead.state.hits


def test_a_message_that_never_validates_lands_in_the_dead_letter_queue_and_is_redriven(
    aws: LocalResources, invoke: Invoke, capsys: pytest.CaptureFixture[str]
) -> None:
    produce(aws, {"type": "identify", "userId": "x\ny"})
    sqs = boto3.client("sqs")
    for _ in range(SCORE_QUEUE.max_receive_count):
        assert invoke("score", sqs_batch(aws)[0])["batchItemFailures"]
    assert sqs_batch(aws)[0] == {"Records": []}  # moved on its next receive
    assert main(["dead-letters", "list", "--dead-letters", aws.dead_letter_queue_url]) == 0
    listed = capsys.readouterr().out
    assert '\\"x\\\\ny\\"' in listed
    assert listed.rstrip().endswith("1 dead letter(s)")
    # Once its cause is fixed (here: the rules or the code that refused it), the operator redrives it
    assert redrive(sqs, aws.dead_letter_queue_url, aws.queue_url, limit=100) == 1
    (record,) = sqs_batch(aws)[0]["Records"]
    assert json.loads(record["body"])["userId"] == "x\ny"
    assert sqs.receive_message(QueueUrl=aws.dead_letter_queue_url).get("Messages", []) == []


def test_the_redrive_command_names_what_it_moved(
    aws: LocalResources, capsys: pytest.CaptureFixture[str]
) -> None:
    boto3.client("sqs").send_message(QueueUrl=aws.dead_letter_queue_url, MessageBody="{}")
    arguments = ["--dead-letters", aws.dead_letter_queue_url, "--queue", aws.queue_url]
    assert main(["dead-letters", "redrive", *arguments]) == 0
    assert f"redrove 1 message(s) to {aws.queue_url}" in capsys.readouterr().out
