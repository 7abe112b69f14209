"""The event sources Lambda would run: the SQS queue, the table's stream, the decay schedule, the outbox."""

from __future__ import annotations

import copy
import hashlib
import json
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from leadscore.alerts import email_text
from leadscore.records import Alert
from leadscore.resources import SCORE_QUEUE, SIGNALLING_WRITES, STREAM_BATCH_SIZE, STREAM_MAX_RETRIES
from leadscore_local.aws import REGION, LocalResources, MotoAws
from leadscore_local.runtime import LocalFunction, sample_event

SQS_RECEIVE_LIMIT = 10
IDLE_SECONDS = 0.2
# How long an idle poller's ReceiveMessage waits on moto's server: it returns as soon as a message arrives, so
# this only bounds how long ``stop`` takes. (Lambda's pollers wait the SQS maximum, 20 s.)
LONG_POLL_SECONDS = 1
# Lambda invokes a function synchronously with at most 6 MB of event (the batch closes there).
MAX_PAYLOAD_BYTES = 6 * 1024 * 1024
# Below this much of the window left, poll without waiting: moto's long poll can overrun by up to a second.
SHORT_POLL_TAIL_SECONDS = 2.0
SHORT_POLL_PAUSE_SECONDS = 0.05
# Lambda reads each shard of a DynamoDB stream four times a second; no batching window on that mapping.
STREAM_POLL_SECONDS = 0.25


class Poller:
    """A daemon thread calling ``poll_once`` until stopped; ``poll_once`` returns how much work it did.

    A poller whose ``poll_once`` already waits (a long poll) sets ``idle_seconds`` to 0."""

    name = "poller"
    idle_seconds = IDLE_SECONDS

    def __init__(self) -> None:
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        self.errors: list[str] = []
        self.last_busy = time.monotonic()

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                busy = self.poll_once()
            except Exception as error:  # keep the local stack up; show what went wrong
                self.errors.append(f"{self.name}: {error!r}")
                print(f"[{self.name}] error: {error!r}", flush=True)
                busy = 0
                self._stop.wait(IDLE_SECONDS)
            if busy:
                self.last_busy = time.monotonic()
            elif self.idle_seconds:
                self._stop.wait(self.idle_seconds)

    def poll_once(self) -> int:
        raise NotImplementedError


@dataclass(frozen=True)
class BatchRecord:
    """One score invocation the poller made: how many messages, why the batch closed, how long it took."""

    size: int
    closed_by: Literal["full", "window", "payload", "stop"]
    gathered_seconds: float  # from the batch's first message to the invocation
    invoke_seconds: float
    failed: int


class QueuePoller(Poller):
    """SQS -> score, as Lambda's SQS event source mapping with ``SCORE_QUEUE``'s settings does it.

    A batch opens when its first message arrives (received by a long poll that returns as soon as there is
    one), and closes when it holds ``batch_size`` messages, when ``max_batching_window_seconds`` have passed
    since it opened, or when one more message would take the event past Lambda's 6 MB; a message that does
    not fit opens the next batch. The function's ``batchItemFailures`` stay on the queue (visible again after
    the visibility timeout, then the dead-letter queue), the rest are deleted. One batch at a time: a
    function with a concurrency of one, where Lambda starts with five pollers.
    """

    name = "sqs-poller"
    idle_seconds = 0

    def __init__(
        self,
        aws: MotoAws,
        local: LocalResources,
        function: LocalFunction,
        *,
        batch_size: int = SCORE_QUEUE.batch_size,
        window_seconds: float = SCORE_QUEUE.max_batching_window_seconds,
    ) -> None:
        super().__init__()
        self._sqs = aws.client("sqs")
        self._local = local
        self._function = function
        self.batch_size = batch_size
        self.window_seconds = window_seconds
        self._template = sample_event("sqs_batch.json")["Records"][0]
        self._held: list[dict[str, Any]] = []  # received, did not fit the last batch: they open the next one
        self.log: list[BatchRecord] = []

    @property
    def batches(self) -> int:
        return len(self.log)

    def poll_once(self) -> int:
        records, opened_at, closed_by = self._gather()
        if not records:
            return 0
        gathered = time.monotonic() - opened_at
        started = time.monotonic()
        try:
            response = self._function.invoke({"Records": records})
        finally:
            invoked = time.monotonic() - started
        failed = {failure["itemIdentifier"] for failure in (response or {}).get("batchItemFailures", [])}
        self._delete([r["receiptHandle"] for r in records if r["messageId"] not in failed])
        self.log.append(BatchRecord(len(records), closed_by, gathered, invoked, len(failed)))
        return len(records)

    def _gather(self) -> tuple[list[dict[str, Any]], float, Literal["full", "window", "payload", "stop"]]:
        """Receive until the batch is full, its window has passed, or the next message would not fit."""
        records: list[dict[str, Any]] = []
        size = 0
        opened_at = time.monotonic()
        pending, self._held = self._held, []
        while True:
            if not pending:
                if len(records) >= self.batch_size:
                    return records, opened_at, "full"
                if self._stop.is_set():
                    return records, opened_at, "stop"
                left = opened_at + self.window_seconds - time.monotonic() if records else None
                if left is not None and left <= 0:
                    return records, opened_at, "window"
                pending = self._receive(self.batch_size - len(records), left)
                if not pending:
                    if left is not None and left < SHORT_POLL_TAIL_SECONDS:
                        self._stop.wait(min(SHORT_POLL_PAUSE_SECONDS, left))
                    continue
            message = pending.pop(0)
            record = self._record(message)
            record_size = len(json.dumps(record)) + 2
            if records and size + record_size > MAX_PAYLOAD_BYTES:
                self._held = [message, *pending]
                return records, opened_at, "payload"
            if not records:
                opened_at = time.monotonic()
            records.append(record)
            size += record_size

    def _receive(self, wanted: int, window_left: float | None) -> list[dict[str, Any]]:
        """One ReceiveMessage: a long poll while no batch is open or plenty of its window is left."""
        if window_left is None:
            wait = LONG_POLL_SECONDS
        elif window_left >= SHORT_POLL_TAIL_SECONDS:
            wait = min(20, int(window_left) - 1)
        else:
            wait = 0
        messages: list[dict[str, Any]] = self._sqs.receive_message(
            QueueUrl=self._local.queue_url,
            MaxNumberOfMessages=min(SQS_RECEIVE_LIMIT, wanted),
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
            WaitTimeSeconds=wait,
        ).get("Messages", [])
        return messages

    def _delete(self, receipt_handles: list[str]) -> None:
        for start in range(0, len(receipt_handles), SQS_RECEIVE_LIMIT):
            self._sqs.delete_message_batch(
                QueueUrl=self._local.queue_url,
                Entries=[
                    {"Id": str(i), "ReceiptHandle": handle}
                    for i, handle in enumerate(receipt_handles[start : start + SQS_RECEIVE_LIMIT])
                ],
            )

    def _record(self, message: dict[str, Any]) -> dict[str, Any]:
        record: dict[str, Any] = copy.deepcopy(self._template)
        record.update(
            messageId=message["MessageId"],
            receiptHandle=message["ReceiptHandle"],
            body=message["Body"],
            attributes=message.get("Attributes", {}),
            messageAttributes=lambda_message_attributes(message),
            md5OfBody=message["MD5OfBody"],
            eventSourceARN=self._local.queue_arn,
            awsRegion=REGION,
        )
        return record


def lambda_message_attributes(message: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """A received message's attributes as the SQS event source puts them in a Lambda record."""
    return {
        name: {
            "dataType": value["DataType"],
            **({"stringValue": value["StringValue"]} if "StringValue" in value else {}),
            "stringListValues": [],
            "binaryListValues": [],
        }
        for name, value in message.get("MessageAttributes", {}).items()
    }


class StreamPoller(Poller):
    """DynamoDB stream -> notify, retrying failed records as Lambda's event source mapping does."""

    name = "stream-poller"
    idle_seconds = STREAM_POLL_SECONDS

    def __init__(self, aws: MotoAws, local: LocalResources, function: LocalFunction) -> None:
        super().__init__()
        self._streams = aws.client("dynamodbstreams")
        self._local = local
        self._function = function
        self._iterators: dict[str, str] = {}

    def poll_once(self) -> int:
        self._discover_shards()
        handled = 0
        for shard_id, iterator in list(self._iterators.items()):
            response = self._streams.get_records(ShardIterator=iterator, Limit=STREAM_BATCH_SIZE)
            self._iterators[shard_id] = response["NextShardIterator"]
            records = [
                {**record, "eventSourceARN": self._local.stream_arn}
                for record in response["Records"]
                if filter_matches(SIGNALLING_WRITES, record)
            ]
            if records:
                self._deliver(records)
                handled += len(records)
        return handled

    def _discover_shards(self) -> None:
        stream = self._streams.describe_stream(StreamArn=self._local.stream_arn)["StreamDescription"]
        for shard in stream["Shards"]:
            if shard["ShardId"] not in self._iterators:
                self._iterators[shard["ShardId"]] = self._streams.get_shard_iterator(
                    StreamArn=self._local.stream_arn,
                    ShardId=shard["ShardId"],
                    ShardIteratorType="TRIM_HORIZON",
                )["ShardIterator"]

    def _deliver(self, records: list[dict[str, Any]]) -> None:
        for _attempt in range(1 + STREAM_MAX_RETRIES):
            try:
                response = self._function.invoke({"Records": records})
            except Exception as error:  # a failed invocation (every record failed): Lambda retries the batch
                print(f"[{self.name}] error: {error!r}", flush=True)
                continue
            failed = {f["itemIdentifier"] for f in (response or {}).get("batchItemFailures", [])}
            if not failed:
                return
            # Lambda resumes from the first failed record's sequence number.
            first = next(i for i, r in enumerate(records) if r["dynamodb"]["SequenceNumber"] in failed)
            records = records[first:]
        print(f"[{self.name}] gave up on {len(records)} stream records after retries", flush=True)


def filter_matches(pattern: dict[str, Any], event: dict[str, Any]) -> bool:
    """Whether ``event`` passes a Lambda event filter ``pattern``, in the forms the stack uses: nested
    objects, and at the leaves a list of accepted values or ``{"exists": bool}``."""
    for name, rule in pattern.items():
        if isinstance(rule, dict):
            inner = event.get(name)
            if not isinstance(inner, dict) or not filter_matches(rule, inner):
                return False
        elif not any(
            (name in event) is option["exists"] if isinstance(option, dict) else event.get(name) == option
            for option in rule
        ):
            return False
    return True


class SchedulePoller(Poller):
    """EventBridge -> a scheduled function (decay, purge), every ``interval`` seconds."""

    def __init__(self, function: LocalFunction, interval: float) -> None:
        super().__init__()
        self.name = f"{function.spec.name}-schedule"
        self._function = function
        self._interval = interval
        self._next_run = time.monotonic() + interval

    def poll_once(self) -> int:
        if time.monotonic() < self._next_run:
            return 0
        self._next_run = time.monotonic() + self._interval
        self.run_now()
        return 1

    def run_now(self) -> Any:
        event = sample_event("schedule.json")
        event["time"] = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        event["id"] = str(uuid.uuid4())  # EventBridge numbers each run: decay's correlation id
        return self._function.invoke(event)


class OutboxPoller(Poller):
    """What the e-mail subscriber would receive: printed, and one file per message in the outbox folder."""

    name = "outbox"
    idle_seconds = 0

    def __init__(
        self, aws: MotoAws, local: LocalResources, folder: Path, echo: Callable[[str], None]
    ) -> None:
        super().__init__()
        self._sqs = aws.client("sqs")
        self._local = local
        self.folder = folder
        self._echo = echo
        self.delivered: list[Alert] = []

    def poll_once(self) -> int:
        messages = self._sqs.receive_message(
            QueueUrl=self._local.outbox_queue_url,
            MaxNumberOfMessages=SQS_RECEIVE_LIMIT,
            WaitTimeSeconds=LONG_POLL_SECONDS,
        ).get("Messages", [])
        for message in messages:
            notification = json.loads(message["Body"])
            alert = Alert.model_validate_json(notification["Message"])
            self._write(notification.get("Subject") or alert.subject, alert)
            self.delivered.append(alert)
            self._sqs.delete_message(
                QueueUrl=self._local.outbox_queue_url, ReceiptHandle=message["ReceiptHandle"]
            )
        return len(messages)

    def _write(self, subject: str, alert: Alert) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        digest = hashlib.sha256(alert.signal_id.encode()).hexdigest()[:8]
        name = f"{alert.at:%Y%m%dT%H%M%S}-{alert.kind}-{digest}.eml"
        mail = f"From: leadscore alerts <no-reply@sns.local>\nSubject: {subject}\n\n{email_text(alert)}"
        # Written aside, then renamed: whoever watches the folder never reads half an e-mail.
        partial = self.folder / f".{name}.partial"
        partial.write_text(mail)
        partial.replace(self.folder / name)
        self._echo(
            f"ALERT  {subject}\n" + "".join(f"       {line}\n" for line in email_text(alert).splitlines())
        )
