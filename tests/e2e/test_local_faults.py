"""The faults of tests/integration/test_faults.py on the local stack: `leadscore local --faults 0.1` fails a
tenth of DynamoDB, SNS and S3 calls at moto's server while a thousand events arrive over HTTP. The API keeps
answering (2xx, or a retryable status a tracker's SDK retries), nothing is lost or counted twice (every
lead's score as the API reads it is the offline engine's), every alert reaches the outbox once, and nothing
lands in the dead-letter queue."""

from __future__ import annotations

import json
import random
import re
import time
from collections import Counter
from datetime import datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import boto3
import pytest

from leadscore.engine import LeadState, score_lead
from leadscore.replay import people_of, recorded_events, replay_person
from leadscore.resources import ARCHIVE_BUCKET_LOCAL_NAME, LEADS_TABLE, SCORE_QUEUE
from leadscore_local.aws import LOCAL_READ_KEY, LOCAL_WRITE_KEY, REGION, LocalResources
from leadscore_local.demo import http_json
from tests.e2e.conftest import RunningStack, running_stack
from tests.integration.conftest import archived
from tests.integration.test_faults import RULES, raised_signals, stream_records, workload

pytestmark = pytest.mark.e2e

FAULT_RATE = 0.1
# Its first draw on S3 fails the archive's first put (a timeout after the put was made): the few S3 calls
# see a fault too.
SEED = 47
# botocore makes 4 attempts on DynamoDB, 3 elsewhere: at these rates about one DynamoDB call in 10,000 runs
# out, and its lead's events then go back to SQS for the 200 s visibility timeout (the integration test
# covers that path), longer than this test waits. With 5 attempts, one call in 100,000.
FUNCTION_ATTEMPTS = 5
# How long a timed-out call waits for its answer: a few tenths of a second of the score function's time each.
TIMEOUT_SECONDS = 0.2
BATCH = 100
# What Segment's and RudderStack's SDKs retry: throttling and server errors, after a pause.
RETRYABLE = {429, 500, 502, 503, 504}
SDK_ATTEMPTS = 5
SETTLE_SECONDS = SCORE_QUEUE.max_batching_window_seconds + 40.0
# The stack prints each alert it delivers, ending with its signal id.
DELIVERED = re.compile(r"; signal (\S+)\.$", re.MULTILINE)


def sdk_call(method: str, url: str, key: str, body: Any = None) -> tuple[int, Any, int]:
    """A call as an SDK makes it: a retryable answer is retried after a growing pause. Returns the status,
    the body and how many answers were retried."""
    for attempt in range(SDK_ATTEMPTS):
        status, answer = http_json(method, url, key, body)
        if status not in RETRYABLE:
            return status, answer, attempt
        time.sleep(min(1.0, 0.1 * 2**attempt))
    return status, answer, SDK_ATTEMPTS


def use_moto(running: RunningStack, monkeypatch: pytest.MonkeyPatch) -> None:
    """Point this process's boto3 clients at the stack's moto (its endpoint is in the banner), with
    attempts enough to ride out the injected faults."""
    endpoint = re.search(r"AWS endpoint \(moto\): (\S+)", running.output())
    assert endpoint, running.output()
    for name, value in {
        "AWS_ENDPOINT_URL": endpoint.group(1),
        "AWS_ACCESS_KEY_ID": "local",
        "AWS_SECRET_ACCESS_KEY": "local",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_MAX_ATTEMPTS": "10",
    }.items():
        monkeypatch.setenv(name, value)


def offline_states(messages: list[dict[str, Any]]) -> dict[str, LeadState]:
    """Each person's state by the offline engine, from the messages as sent (all of them in the past)."""
    lines = [(message["messageId"], json.dumps(message)) for message in messages]
    at = max(datetime.fromisoformat(message["timestamp"]) for message in messages)
    events = list(recorded_events(lines, at))
    return {
        person: replay_person(RULES, person, happened)[0]
        for person, happened in people_of(events, {}).items()
    }


def comparable(score: dict[str, Any]) -> tuple[Any, ...]:
    return (
        score["score"],
        score["fit"],
        score["engagement"],
        [(item["rule"], item["points"], item["count"]) for item in score["explanation"]],
    )


def mismatches(url: str, offline: dict[str, LeadState], retried: Counter[str]) -> dict[str, Any]:
    """The leads whose score, as the API reads it now, is not the offline engine's at the same moment."""
    differing: dict[str, Any] = {}
    for lead_id, state in offline.items():
        status, live, retries = sdk_call("GET", f"{url}/v1/leads/{lead_id}", LOCAL_READ_KEY)
        retried["GET /v1/leads"] += retries
        if status != 200:
            differing[lead_id] = status
            continue
        expected = score_lead(RULES, state, datetime.fromisoformat(live["as_of"])).model_dump(mode="json")
        if comparable(live) != comparable(expected):
            differing[lead_id] = {"live": comparable(live), "offline": comparable(expected)}
    return differing


def test_a_thousand_events_over_http_survive_faults_on_a_tenth_of_aws_calls(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a week of a hundred people's traffic, some of it sent twice (SDK retries)
    sent = workload(random.Random(11))
    offline = offline_states(sent)
    retried: Counter[str] = Counter()
    faults = ("--faults", str(FAULT_RATE), "--faults-on", "dynamodb,sns,s3", "--faults-seed", str(SEED))
    faults += ("--faults-timeout", str(TIMEOUT_SECONDS))
    no_decay = ("--decay-every", "3600")  # its writes would raise alerts after the stream was read
    attempts = {"AWS_MAX_ATTEMPTS": str(FUNCTION_ATTEMPTS)}
    with running_stack(
        tmp_path / "outbox", tmp_path / "output.log", *faults, *no_decay, env=attempts
    ) as stack:
        use_moto(stack, monkeypatch)

        # When it is posted in batches while a tenth of DynamoDB, SNS and S3 calls fail
        for start in range(0, len(sent), BATCH):
            status, answer, retries = sdk_call(
                "POST", f"{stack.url}/v1/batch", LOCAL_WRITE_KEY, {"batch": sent[start : start + BATCH]}
            )
            assert (status, answer) == (200, {"success": True})
            retried["POST /v1/batch"] += retries

        # Then every lead's score settles on the offline engine's: nothing lost, nothing counted twice
        deadline = time.monotonic() + SETTLE_SECONDS
        while (differing := mismatches(stack.url, offline, retried)) and time.monotonic() < deadline:
            time.sleep(1)
        assert differing == {}, differing

        # The archive holds every message
        archive = archived(ARCHIVE_BUCKET_LOCAL_NAME)
        assert {json.loads(line)["messageId"] for lines in archive.values() for line in lines} == {
            message["messageId"] for message in sent
        }

        # Every alert a write raised reaches the outbox, once
        table = boto3.client("dynamodb").describe_table(TableName=LEADS_TABLE.local_name)["Table"]
        raised = raised_signals(
            stream_records(cast(LocalResources, SimpleNamespace(stream_arn=table["LatestStreamArn"])))
        )
        assert raised

        def delivered() -> Counter[str]:
            return Counter(DELIVERED.findall(stack.output()))

        deadline = time.monotonic() + SETTLE_SECONDS
        while set(delivered()) != raised and time.monotonic() < deadline:
            time.sleep(0.5)
        time.sleep(2)  # a repeat would come right after
        assert delivered() == Counter(dict.fromkeys(raised, 1)), {
            "duplicates": {signal: n for signal, n in delivered().items() if n > 1},
            "missing": raised - set(delivered()),
        }
        assert len(list((tmp_path / "outbox").glob("*.eml"))) == len(raised)

        # Nothing waits in the event queue or its dead-letter queue
        sqs = boto3.client("sqs")
        for name in (SCORE_QUEUE.local_name, SCORE_QUEUE.dead_letter_local_name):
            attributes = sqs.get_queue_attributes(
                QueueUrl=sqs.get_queue_url(QueueName=name)["QueueUrl"],
                AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
            )["Attributes"]
            assert attributes == {
                "ApproximateNumberOfMessages": "0",
                "ApproximateNumberOfMessagesNotVisible": "0",
            }

    # ... while faults of every kind were injected (the stack says which when it stops)
    summary = re.search(r"faults injected: (.*)", stack.output())
    assert summary, stack.output()[-2000:]
    print(summary.group(0), f"; answers retried as an SDK does: {dict(retried)}")
    for kind in ("dynamodb ThrottlingException", "dynamodb timeout", "sns ", "s3 "):
        assert kind in summary.group(1), summary.group(1)
