"""moto's server as the AWS endpoint, with the resources of leadscore.resources created in it."""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import boto3
from moto.dynamodb.models import table as dynamodb_table_models
from moto.server import ThreadedMotoServer
from moto.sqs import models as sqs_models
from moto.sqs.exceptions import ReceiptHandleIsInvalid

from leadscore import resources
from leadscore.openapi import OPENAPI_FILE
from leadscore.resources import LEADS_TABLE, SCORE_QUEUE, Key
from leadscore.rules import DEFAULT_RULES_FILE

REGION = "us-east-1"
LOCAL_WRITE_KEY = "local-write-key"
LOCAL_READ_KEY = "local-read-key"
LOCAL_ADMIN_KEY = "local-admin-key"
OUTBOX_QUEUE_NAME = f"{resources.SERVICE}-outbox"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass(frozen=True)
class LocalResources:
    table_name: str
    stream_arn: str
    queue_url: str
    queue_arn: str
    dead_letter_queue_url: str
    bucket: str
    topic_arn: str
    outbox_queue_url: str
    write_keys_secret: str
    read_keys_secret: str
    admin_keys_secret: str
    # The retention of inactive leads (0: none, as deployed by default); moto keeps expired items.
    retention_days: int = 0

    def function_environment(self, rules_path: Path = DEFAULT_RULES_FILE) -> dict[str, str]:
        """The variables CDK gives the functions, here pointing at moto's resources and the repository's
        files (the layer's copies on AWS)."""
        return {
            resources.ENV_TABLE_NAME: self.table_name,
            resources.ENV_QUEUE_URL: self.queue_url,
            resources.ENV_ARCHIVE_BUCKET: self.bucket,
            resources.ENV_TOPIC_ARN: self.topic_arn,
            resources.ENV_WRITE_KEYS_SECRET: self.write_keys_secret,
            resources.ENV_READ_KEYS_SECRET: self.read_keys_secret,
            resources.ENV_ADMIN_KEYS_SECRET: self.admin_keys_secret,
            resources.ENV_RULES_PATH: str(rules_path),
            resources.ENV_OPENAPI_PATH: str(OPENAPI_FILE),
            resources.ENV_RETENTION_DAYS: str(self.retention_days),
        }


class MotoAws:
    """Starts moto's server on 127.0.0.1 and points every boto3 client of this process at it."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=self.port, verbose=False)

    def start(self) -> None:
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        os.environ.update(
            AWS_ENDPOINT_URL=self.endpoint,
            AWS_ACCESS_KEY_ID="local",
            AWS_SECRET_ACCESS_KEY="local",
            AWS_DEFAULT_REGION=REGION,
            AWS_REGION=REGION,
        )
        speed_up_moto_sqs()
        speed_up_moto_dynamodb()
        self._server.start()

    def stop(self) -> None:
        self._server.stop()

    def serve_through(self, middleware: Callable[[Any], Any]) -> None:
        """Put ``middleware(moto's WSGI app)`` in front of moto from the next request on (faults.py)."""
        server = self._server._server
        assert server is not None, "start moto first"
        server.app = middleware(server.app)

    def client(self, service: str) -> Any:
        return boto3.client(service, endpoint_url=self.endpoint, region_name=REGION)  # type: ignore[call-overload]


def speed_up_moto_sqs() -> None:
    """Make moto's SQS (its server runs in this process) cost what SQS costs: nothing per message queued.

    moto 5 computes every queue attribute, the message counts included (a scan of the queue, reading the clock
    through datetime twice per message), for each message it accepts or hands out, so a send or a receive
    grows with the messages queued and in flight: with one batch of a thousand in flight a ReceiveMessage took
    about a second and a SendMessageBatch of ten 0.4 s. Same values, computed cheaply: the clock from
    ``time.time`` and the retention check from the queue's own setting; a send works out only the attribute
    it reads; a delete stops at its message. Idempotent.
    """
    if getattr(sqs_models, "_leadscore_fast", False):
        return
    original_unix_time = sqs_models.unix_time  # type: ignore[attr-defined]

    def unix_time(dt: datetime | None = None) -> float:
        return time.time() if dt is None else float(original_unix_time(dt))

    def unix_time_millis(dt: datetime | None = None) -> float:
        return unix_time(dt) * 1000.0

    def is_valid(self: sqs_models.SQSBackend, queue_name: str, message: sqs_models.Message) -> bool:
        retention = int(self.get_queue(queue_name).message_retention_period)  # type: ignore[attr-defined]
        return bool(retention + message.sent_timestamp / 1000 > unix_time())  # type: ignore[operator]

    sqs_models.unix_time = unix_time  # type: ignore[attr-defined]
    sqs_models.unix_time_millis = unix_time_millis  # type: ignore[attr-defined]
    sqs_models.SQSBackend.is_message_valid_based_on_retention_period = is_valid  # type: ignore[method-assign]
    _send_without_counting()
    sqs_models.Queue.delete_message = _delete_message  # type: ignore[method-assign,assignment]
    sqs_models._leadscore_fast = True  # type: ignore[attr-defined]


def speed_up_moto_dynamodb() -> None:
    """moto lists a table's items sorted for every Query and Scan, comparing its attribute-value objects
    (each comparison works out both values again): a sort of the whole table per index query, which made
    the local stack's notify (the account look-up) and decay (its band queries) slow down as the table grew.
    The same order, with each item's key values worked out once. Idempotent."""
    table = dynamodb_table_models.Table
    if getattr(table, "_leadscore_fast", False):
        return

    def all_items(self: dynamodb_table_models.Table) -> list[Any]:
        items: list[Any] = []
        for hash_set in self.items.values():
            items.extend(hash_set.values() if self.range_key_attr else [hash_set])
        return sorted(items, key=_item_order)

    table.all_items = all_items  # type: ignore[method-assign]
    table._leadscore_fast = True  # type: ignore[attr-defined]


def _item_order(item: Any) -> Any:
    """moto's order of items (hash key, then range key), by the values its comparisons compare."""
    if item.range_key:
        return (item.hash_key.cast_value, item.range_key.cast_value)
    return item.hash_key.cast_value


def _delete_message(queue: sqs_models.Queue, receipt_handle: str) -> None:
    """moto's delete, in one pass that stops at the message: moto's scans every message of the queue
    twice for each handle, and a batch's handles are those of the oldest messages, at the front."""
    if receipt_handle in queue.deleted_messages:
        return  # deleted already: SQS accepts it again
    messages = queue._messages
    for index, message in enumerate(messages):
        if message.had_receipt_handle(receipt_handle):
            queue.pending_messages.discard(message)
            queue.deleted_messages.update(handle for handle in message.all_receipt_handles if handle)
            queue._messages = messages[:index] + messages[index + 1 :]  # a new list, as moto's delete makes
            return
    raise ReceiptHandleIsInvalid()


def _send_without_counting() -> None:
    """A send reads one queue attribute (content-based deduplication), and moto works out all of them,
    three scans of the queue among them, for each message: while a send runs, the attributes it reads are
    the only ones worked out."""
    sending = threading.local()
    send = sqs_models.SQSBackend.send_message
    every_attribute = sqs_models.Queue.attributes.fget  # type: ignore[attr-defined]

    def send_message(self: sqs_models.SQSBackend, *args: Any, **kwargs: Any) -> Any:
        sending.active = True
        try:
            return send(self, *args, **kwargs)
        finally:
            sending.active = False

    def attributes(queue: sqs_models.Queue) -> dict[str, Any]:
        if not getattr(sending, "active", False):
            return every_attribute(queue)  # type: ignore[no-any-return]
        if not queue.fifo_queue:
            return {}
        deduplicated = getattr(queue, "content_based_deduplication", False)
        return {"ContentBasedDeduplication": str(deduplicated).lower()}

    sqs_models.SQSBackend.send_message = send_message  # type: ignore[method-assign]
    sqs_models.Queue.attributes = property(attributes)  # type: ignore[assignment,method-assign]


def provision(client: Callable[[str], Any]) -> LocalResources:
    """Create what the CDK stack creates, from the same specifications, with ``client(service)``'s clients."""
    dynamodb, sqs, sns, s3, secrets = (
        client(name) for name in ("dynamodb", "sqs", "sns", "s3", "secretsmanager")
    )
    table = dynamodb.create_table(**table_definition())["TableDescription"]
    dynamodb.update_time_to_live(
        TableName=LEADS_TABLE.local_name,
        TimeToLiveSpecification={"Enabled": True, "AttributeName": resources.TTL_ATTRIBUTE},
    )

    dead_letter_url = sqs.create_queue(QueueName=SCORE_QUEUE.dead_letter_local_name)["QueueUrl"]
    dead_letter_arn = _queue_arn(sqs, dead_letter_url)
    queue_url = sqs.create_queue(
        QueueName=SCORE_QUEUE.local_name,
        Attributes={
            "VisibilityTimeout": str(SCORE_QUEUE.visibility_timeout_seconds),
            "MessageRetentionPeriod": str(SCORE_QUEUE.retention_days * 86400),
            "RedrivePolicy": json.dumps(
                {"deadLetterTargetArn": dead_letter_arn, "maxReceiveCount": SCORE_QUEUE.max_receive_count}
            ),
        },
    )["QueueUrl"]

    s3.create_bucket(Bucket=resources.ARCHIVE_BUCKET_LOCAL_NAME)
    topic_arn = sns.create_topic(Name=resources.ALERT_TOPIC_LOCAL_NAME)["TopicArn"]
    # Stands in for the e-mail subscription: the local outbox reads what SNS delivers here.
    outbox_url = sqs.create_queue(QueueName=OUTBOX_QUEUE_NAME)["QueueUrl"]
    sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=_queue_arn(sqs, outbox_url))
    write_secret, read_secret, admin_secret = (
        secrets.create_secret(Name=name, SecretString=json.dumps({resources.GENERATED_KEY_FIELD: key}))["ARN"]
        for name, key in (
            (resources.WRITE_KEYS_SECRET_LOCAL_NAME, LOCAL_WRITE_KEY),
            (resources.READ_KEYS_SECRET_LOCAL_NAME, LOCAL_READ_KEY),
            (resources.ADMIN_KEYS_SECRET_LOCAL_NAME, LOCAL_ADMIN_KEY),
        )
    )
    return LocalResources(
        table_name=LEADS_TABLE.local_name,
        stream_arn=table["LatestStreamArn"],
        queue_url=queue_url,
        queue_arn=_queue_arn(sqs, queue_url),
        dead_letter_queue_url=dead_letter_url,
        bucket=resources.ARCHIVE_BUCKET_LOCAL_NAME,
        topic_arn=topic_arn,
        outbox_queue_url=outbox_url,
        write_keys_secret=write_secret,
        read_keys_secret=read_secret,
        admin_keys_secret=admin_secret,
    )


def table_definition() -> dict[str, Any]:
    """CreateTable arguments for the lead table, from LEADS_TABLE (tests build their moto tables with it)."""
    return {
        "TableName": LEADS_TABLE.local_name,
        "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": [
            {"AttributeName": name, "AttributeType": kind}
            for name, kind in sorted(LEADS_TABLE.key_attributes.items())
        ],
        "KeySchema": _key_schema(LEADS_TABLE.partition_key, LEADS_TABLE.sort_key),
        "GlobalSecondaryIndexes": [
            {
                "IndexName": index.name,
                "KeySchema": _key_schema(index.partition_key, index.sort_key),
                "Projection": {
                    "ProjectionType": index.projection,
                    **(
                        {"NonKeyAttributes": list(index.non_key_attributes)}
                        if index.non_key_attributes
                        else {}
                    ),
                },
            }
            for index in LEADS_TABLE.indexes
        ],
        "StreamSpecification": {"StreamEnabled": True, "StreamViewType": LEADS_TABLE.stream_view},
    }


def _key_schema(partition_key: Key, sort_key: Key) -> list[dict[str, str]]:
    return [
        {"AttributeName": partition_key.name, "KeyType": "HASH"},
        {"AttributeName": sort_key.name, "KeyType": "RANGE"},
    ]


def _queue_arn(sqs: Any, url: str) -> str:
    arn: str = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return arn
