"""The event queue (SQS), the raw event archive (S3) and the alert topic (SNS)."""

from __future__ import annotations

import gzip
import hashlib
import json
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC
from typing import TYPE_CHECKING, Any

import boto3
from botocore.exceptions import ClientError

from leadscore.alerts import email_text
from leadscore.errors import Unavailable
from leadscore.ports import QueuedMessage
from leadscore.records import Alert
from leadscore.resources import ARCHIVE_PREFIX, CORRELATION_ATTRIBUTE

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_sns import SNSClient
    from mypy_boto3_sns.type_defs import MessageAttributeValueTypeDef as SnsAttributeTypeDef
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_sqs.type_defs import MessageAttributeValueTypeDef

# SendMessageBatch's limits: 10 entries and 256 KB of bodies per call.
SQS_BATCH_ENTRIES = 10
SQS_BATCH_BYTES = 256 * 1024
SEND_ATTEMPTS = 3
SEND_THREADS = 8


class SqsMessageQueue:
    """Sends each message as one SQS message (its JSON), in parallel batches; entries SQS refuses are
    sent again, and only what still fails after that makes the request fail (503, which SDKs retry)."""

    def __init__(self, queue_url: str, client: SQSClient | None = None) -> None:
        self._url = queue_url
        self._client = client or boto3.client("sqs")

    def send(self, messages: Sequence[Mapping[str, Any]], *, correlation_id: str | None = None) -> None:
        # ASCII: SQS refuses some characters JSON strings may hold (control characters stay escaped).
        bodies = [json.dumps(message, separators=(",", ":")) for message in messages]
        attributes: dict[str, MessageAttributeValueTypeDef] = (
            {CORRELATION_ATTRIBUTE: {"DataType": "String", "StringValue": correlation_id}}
            if correlation_id
            else {}
        )
        # SQS counts a message's attributes (name, type and value) in its size.
        overhead = len(f"{CORRELATION_ATTRIBUTE}String{correlation_id}".encode()) if correlation_id else 0
        chunks = list(_chunks(bodies, overhead))
        try:
            if len(chunks) == 1:
                self._send_chunk(chunks[0], attributes)
                return
            with ThreadPoolExecutor(max_workers=min(SEND_THREADS, len(chunks))) as pool:
                list(pool.map(lambda chunk: self._send_chunk(chunk, attributes), chunks))
        except ClientError as error:
            raise Unavailable(f"the event queue refused the messages ({error})") from error

    def _send_chunk(self, bodies: list[str], attributes: dict[str, MessageAttributeValueTypeDef]) -> None:
        pending = {str(position): body for position, body in enumerate(bodies)}
        for _ in range(SEND_ATTEMPTS):
            response = self._client.send_message_batch(
                QueueUrl=self._url,
                Entries=[
                    {"Id": entry_id, "MessageBody": body, "MessageAttributes": attributes}
                    for entry_id, body in pending.items()
                ],
            )
            pending = {failed["Id"]: pending[failed["Id"]] for failed in response.get("Failed", [])}
            if not pending:
                return
        raise Unavailable(f"the event queue refused {len(pending)} of {len(bodies)} messages")


def _chunks(bodies: list[str], overhead: int = 0) -> Iterator[list[str]]:
    chunk: list[str] = []
    size = 0
    for body in bodies:
        length = len(body.encode()) + overhead
        if chunk and (len(chunk) == SQS_BATCH_ENTRIES or size + length > SQS_BATCH_BYTES):
            yield chunk
            chunk, size = [], 0
        chunk.append(body)
        size += length
    if chunk:
        yield chunk


class S3EventArchive:
    """One gzip JSON Lines object per delivered batch, ``raw/dt=YYYY-MM-DD/hour=HH/<ids hash>.jsonl.gz``.

    The partition is when the batch's first message was queued and the name a hash of its message ids,
    so a redelivered batch overwrites its object instead of adding one. Each line is one body as
    received; the rare body that spans lines is put on one: JSON with its line breaks as spaces (the
    same value), anything else as a JSON string of its exact text.
    """

    def __init__(self, bucket: str, client: S3Client | None = None) -> None:
        self._bucket = bucket
        self._client = client or boto3.client("s3")

    def put_batch(self, messages: Sequence[QueuedMessage]) -> None:
        queued_at = min(message.queued_at for message in messages).astimezone(UTC)
        ids = "\n".join(sorted(message.message_id for message in messages))
        key = (
            f"{ARCHIVE_PREFIX}dt={queued_at:%Y-%m-%d}/hour={queued_at:%H}/"
            f"{hashlib.sha256(ids.encode()).hexdigest()[:32]}.jsonl.gz"
        )
        self._client.put_object(
            Bucket=self._bucket,
            Key=key,
            Body=_gzip_lines([_one_line(message.body) for message in messages]),
            ContentType="application/gzip",
        )

    def names_after(self, name: str) -> Iterator[str]:
        pages = self._client.get_paginator("list_objects_v2").paginate(
            Bucket=self._bucket, Prefix=ARCHIVE_PREFIX, StartAfter=max(name, ARCHIVE_PREFIX)
        )
        for page in pages:
            for entry in page.get("Contents", []):
                yield entry["Key"]

    def lines(self, name: str) -> list[str]:
        body = self._client.get_object(Bucket=self._bucket, Key=name)["Body"].read()
        # Split on line feeds only: a body may hold U+2028 and the like inside its strings.
        return gzip.decompress(body).decode().split("\n")[:-1]

    def replace(self, name: str, lines: Sequence[str]) -> None:
        """The object rewritten in place, in the storage class it had aged into (the bucket keeps no
        versions, so the old content is gone)."""
        storage_class = self._client.head_object(Bucket=self._bucket, Key=name).get(
            "StorageClass", "STANDARD"
        )
        self._client.put_object(
            Bucket=self._bucket,
            Key=name,
            Body=_gzip_lines(lines),
            ContentType="application/gzip",
            StorageClass=storage_class,
        )


def alert_attributes(alert: Alert) -> dict[str, SnsAttributeTypeDef]:
    """What SNS filter policies select on (at most 10 attributes; an absent value is left out)."""
    text = {
        "kind": alert.kind,
        "band": alert.band,
        "stage": alert.stage,
        "grade": alert.grade,
        "account": alert.account_id,
        "country": alert.country,
        "region": alert.region,
        "owner": alert.owner,
        "rule": alert.rule,
    }
    attributes: dict[str, SnsAttributeTypeDef] = {
        name: {"DataType": "String", "StringValue": value} for name, value in text.items() if value
    }
    attributes["score"] = {"DataType": "Number", "StringValue": repr(alert.score)}
    return attributes


def _gzip_lines(lines: Sequence[str]) -> bytes:
    """JSON Lines, gzipped without a timestamp (the same lines make the same bytes)."""
    return gzip.compress("".join(f"{line}\n" for line in lines).encode(), compresslevel=6, mtime=0)


def _one_line(body: str) -> str:
    if "\n" not in body and "\r" not in body:
        return body
    try:
        json.loads(body)
    except ValueError:
        return json.dumps(body)
    # JSON cannot hold a raw line break inside a string, so these are only whitespace between tokens.
    return body.replace("\r", " ").replace("\n", " ")


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
            MessageAttributes=alert_attributes(alert),
        )
