"""The S3 archive adapter against moto: one object per batch, named by its message ids, one body per line."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import boto3
import pytest

from leadscore.adapters.messaging import S3EventArchive
from leadscore.events import Event
from leadscore.ports import QueuedMessage
from leadscore_local.aws import LocalResources
from tests.integration.conftest import archived

pytestmark = pytest.mark.integration
AT = datetime(2026, 11, 24, 9, 59, 59, tzinfo=UTC)


def event_body(message_id: str) -> str:
    return Event(
        message_id=message_id, lead_id="jane", kind="track", name="Demo Requested", timestamp=AT
    ).model_dump_json()


def test_the_same_messages_make_the_same_object_in_the_hour_the_first_was_queued(aws: LocalResources) -> None:
    archive = S3EventArchive(aws.bucket, boto3.client("s3"))
    first = QueuedMessage("m-1", event_body("e-1"), AT)
    second = QueuedMessage("m-2", event_body("e-2"), AT.replace(hour=10))
    archive.put_batch([first, second])
    archive.put_batch([second, first])  # redelivered in another order
    ((key, lines),) = archived(aws.bucket).items()
    assert key.startswith("raw/dt=2026-11-24/hour=09/")
    assert key.endswith(".jsonl.gz")
    assert set(lines) == {first.body, second.body}

    archive.put_batch([first])
    assert len(archived(aws.bucket)) == 2


def test_a_body_that_spans_lines_stays_one_line(aws: LocalResources) -> None:
    pretty = json.dumps(json.loads(event_body("e-1")), indent=2)
    broken = "not\r\nan event"
    S3EventArchive(aws.bucket, boto3.client("s3")).put_batch(
        [QueuedMessage("m-1", pretty, AT), QueuedMessage("m-2", broken, AT)]
    )
    ((_, lines),) = archived(aws.bucket).items()
    assert Event.model_validate_json(lines[0]) == Event.model_validate_json(pretty)
    assert json.loads(lines[1]) == broken
