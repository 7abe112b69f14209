"""The event sources Lambda would run: the SQS queue, the table's stream, the decay schedule, the outbox."""

from __future__ import annotations

import copy
import hashlib
import json
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from leadscore.alerts import email_text
from leadscore.local.aws import REGION, LocalResources, MotoAws
from leadscore.local.runtime import LocalFunction, sample_event
from leadscore.records import Alert
from leadscore.resources import SCORE_QUEUE, STREAM_BATCH_SIZE, STREAM_MAX_RETRIES

SQS_RECEIVE_LIMIT = 10
IDLE_SECONDS = 0.2


class Poller:
    """A daemon thread calling ``poll_once`` until stopped; ``poll_once`` returns how much work it did."""

    name = "poller"

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
            if busy:
                self.last_busy = time.monotonic()
            else:
                self._stop.wait(IDLE_SECONDS)

    def poll_once(self) -> int:
        raise NotImplementedError


class QueuePoller(Poller):
    """SQS -> score: batches of up to SCORE_QUEUE.batch_size within the batching window, partial failures."""

    name = "sqs-poller"

    def __init__(self, aws: MotoAws, local: LocalResources, function: LocalFunction) -> None:
        super().__init__()
        self._sqs = aws.client("sqs")
        self._local = local
        self._function = function
        self.batches = 0

    def poll_once(self) -> int:
        messages = self._gather()
        if not messages:
            return 0
        template = sample_event("sqs_batch.json")["Records"][0]
        records = [self._record(template, message) for message in messages]
        response = self._function.invoke({"Records": records})
        self.batches += 1
        failed = {failure["itemIdentifier"] for failure in (response or {}).get("batchItemFailures", [])}
        done = [m for m in messages if m["MessageId"] not in failed]
        for start in range(0, len(done), SQS_RECEIVE_LIMIT):
            self._sqs.delete_message_batch(
                QueueUrl=self._local.queue_url,
                Entries=[
                    {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
                    for i, m in enumerate(done[start : start + SQS_RECEIVE_LIMIT])
                ],
            )
        return len(messages)

    def _gather(self) -> list[dict[str, Any]]:
        messages: list[dict[str, Any]] = []
        deadline = time.monotonic() + SCORE_QUEUE.max_batching_window_seconds
        while len(messages) < SCORE_QUEUE.batch_size:
            received = self._sqs.receive_message(
                QueueUrl=self._local.queue_url,
                MaxNumberOfMessages=min(SQS_RECEIVE_LIMIT, SCORE_QUEUE.batch_size - len(messages)),
                AttributeNames=["All"],
                WaitTimeSeconds=0,
            ).get("Messages", [])
            messages += received
            if not received and (not messages or time.monotonic() >= deadline):
                break
            if not received:
                time.sleep(0.05)
        return messages

    def _record(self, template: dict[str, Any], message: dict[str, Any]) -> dict[str, Any]:
        record = copy.deepcopy(template)
        record.update(
            messageId=message["MessageId"],
            receiptHandle=message["ReceiptHandle"],
            body=message["Body"],
            attributes=message.get("Attributes", {}),
            md5OfBody=message["MD5OfBody"],
            eventSourceARN=self._local.queue_arn,
            awsRegion=REGION,
        )
        return record


class StreamPoller(Poller):
    """DynamoDB stream -> notify, retrying failed records as Lambda's event source mapping does."""

    name = "stream-poller"

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
            records = [{**record, "eventSourceARN": self._local.stream_arn} for record in response["Records"]]
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
            response = self._function.invoke({"Records": records})
            failed = {f["itemIdentifier"] for f in (response or {}).get("batchItemFailures", [])}
            if not failed:
                return
            # Lambda resumes from the first failed record's sequence number.
            first = next(i for i, r in enumerate(records) if r["dynamodb"]["SequenceNumber"] in failed)
            records = records[first:]
        print(f"[{self.name}] gave up on {len(records)} stream records after retries", flush=True)


class SchedulePoller(Poller):
    """EventBridge -> decay, every ``interval`` seconds."""

    name = "decay-schedule"

    def __init__(self, function: LocalFunction, interval: float) -> None:
        super().__init__()
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
        return self._function.invoke(event)


class OutboxPoller(Poller):
    """What the e-mail subscriber would receive: printed, and one file per message in the outbox folder."""

    name = "outbox"

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
            QueueUrl=self._local.outbox_queue_url, MaxNumberOfMessages=SQS_RECEIVE_LIMIT, WaitTimeSeconds=0
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
        (self.folder / name).write_text(mail)
        self._echo(
            f"ALERT  {subject}\n" + "".join(f"       {line}\n" for line in email_text(alert).splitlines())
        )
