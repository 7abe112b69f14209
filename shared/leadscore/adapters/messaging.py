"""The event queue (SQS), the raw event archive (S3) and the alert topic (SNS)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import boto3

from leadscore.alerts import email_text
from leadscore.events import Event
from leadscore.records import Alert
from leadscore.resources import ARCHIVE_PREFIX

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_sns import SNSClient
    from mypy_boto3_sqs import SQSClient

SQS_BATCH_LIMIT = 10


class QueueRejected(RuntimeError):
    """SQS refused some messages of a batch."""


class SqsEventQueue:
    def __init__(self, queue_url: str, client: SQSClient | None = None) -> None:
        self._url = queue_url
        self._client = client or boto3.client("sqs")

    def send(self, events: Sequence[Event]) -> None:
        for start in range(0, len(events), SQS_BATCH_LIMIT):
            chunk = events[start : start + SQS_BATCH_LIMIT]
            response = self._client.send_message_batch(
                QueueUrl=self._url,
                Entries=[
                    {"Id": str(position), "MessageBody": event.model_dump_json()}
                    for position, event in enumerate(chunk)
                ],
            )
            if response.get("Failed"):
                raise QueueRejected(f"SQS refused {len(response['Failed'])} of {len(chunk)} events")


class S3EventArchive:
    """One object per accepted request under ``raw/dt=YYYY-MM-DD/``, so replay can read a day at a time."""

    def __init__(self, bucket: str, client: S3Client | None = None) -> None:
        self._bucket = bucket
        self._client = client or boto3.client("s3")

    def put(self, received_at: datetime, call: str, payload: Any) -> str:
        received_at = received_at.astimezone(UTC)
        key = (
            f"{ARCHIVE_PREFIX}dt={received_at:%Y-%m-%d}/hour={received_at:%H}/"
            f"{received_at:%Y%m%dT%H%M%S%f}-{uuid.uuid4().hex[:12]}.json"
        )
        body = json.dumps({"received_at": received_at.isoformat(), "call": call, "payload": payload})
        self._client.put_object(
            Bucket=self._bucket, Key=key, Body=body.encode(), ContentType="application/json"
        )
        return key


class SnsAlertPublisher:
    """JSON for machine subscribers (SQS, HTTPS, Lambda), readable text for e-mail."""

    def __init__(self, topic_arn: str, client: SNSClient | None = None) -> None:
        self._topic = topic_arn
        self._client = client or boto3.client("sns")

    def publish(self, alert: Alert) -> None:
        document = alert.model_dump_json()
        self._client.publish(
            TopicArn=self._topic,
            Subject=alert.subject,
            MessageStructure="json",
            Message=json.dumps({"default": document, "email": email_text(alert)}),
            MessageAttributes={
                "kind": {"DataType": "String", "StringValue": alert.kind},
                "band": {"DataType": "String", "StringValue": alert.band},
            },
        )
