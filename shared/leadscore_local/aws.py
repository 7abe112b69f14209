"""moto's server as the AWS endpoint, with the resources of leadscore.resources created in it."""

from __future__ import annotations

import base64
import collections
import contextlib
import functools
import io
import itertools
import json
import logging
import os
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import boto3
from botocore.awsrequest import AWSPreparedRequest, AWSResponse, HTTPHeaders
from botocore.config import Config
from botocore.exceptions import ConnectionClosedError
from moto import backends as moto_backends
from moto.core import responses as moto_responses
from moto.core.botocore_stubber import MockRawResponse
from moto.core.exceptions import JsonRESTError
from moto.core.serialize import TimestampSerializer
from moto.core.utils import unix_time as _moto_unix_time
from moto.dynamodb.exceptions import ItemSizeTooLarge
from moto.dynamodb.models import dynamo_type as dynamo_type_models
from moto.dynamodb.models import table as dynamodb_table_models
from moto.dynamodb.models.utilities import bytesize
from moto.dynamodbstreams import models as dynamodbstreams_models
from moto.dynamodbstreams import responses as dynamodbstreams_responses
from moto.server import ThreadedMotoServer
from moto.sqs import models as sqs_models
from moto.sqs.exceptions import ReceiptHandleIsInvalid

from leadscore import resources
from leadscore.openapi import OPENAPI_FILE
from leadscore.resources import LEADS_TABLE, SCORE_QUEUE, Key
from leadscore.rules import DEFAULT_RULES_FILE

REGION = "us-east-1"
WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Any]
LOCAL_WRITE_KEY = "local-write-key"
LOCAL_READ_KEY = "local-read-key"
LOCAL_ADMIN_KEY = "local-admin-key"
OUTBOX_QUEUE_NAME = f"{resources.SERVICE}-outbox"
# How many deleted messages' receipt handles a local queue remembers (a repeated delete succeeds).
DELETED_HANDLES_KEPT = 10_000
# Connections each client of this process keeps open to moto's server (botocore's default is 10).
CLIENT_CONNECTIONS = 128
# moto's limit on an item's size (DynamoDB's 400 KB, as moto measures it).
MOTO_ITEM_SIZE_LIMIT = 405_000
# DynamoDB Streams: a record is kept 24 hours, a shard iterator lasts 15 minutes.
STREAM_RETENTION_SECONDS = 24 * 3600
SHARD_ITERATOR_SECONDS = 15 * 60


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
        speed_up_moto_server()
        speed_up_moto_streams()
        self._server.start()
        call_in_process(self.endpoint, lambda: self._server._server.app)  # type: ignore[union-attr]

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

    def is_valid(self: sqs_models.SQSBackend, queue_name: str, message: sqs_models.Message) -> bool:
        retention = int(self.get_queue(queue_name).message_retention_period)  # type: ignore[attr-defined]
        return bool(retention + message.sent_timestamp / 1000 > unix_time())  # type: ignore[operator]

    sqs_models.unix_time = unix_time  # type: ignore[attr-defined]
    sqs_models.unix_time_millis = unix_time_millis  # type: ignore[attr-defined]
    sqs_models.SQSBackend.is_message_valid_based_on_retention_period = is_valid  # type: ignore[method-assign]
    _send_without_counting()
    _scan_once_per_call()
    sqs_models.Queue.delete_message = _delete_message  # type: ignore[method-assign,assignment]
    sqs_models._leadscore_fast = True  # type: ignore[attr-defined]


def unix_time(dt: datetime | None = None) -> float:
    """moto's clock (seconds since the epoch), from ``time.time`` rather than through ``datetime``."""
    return time.time() if dt is None else float(_moto_unix_time(dt))


def unix_time_millis(dt: datetime | None = None) -> float:
    return unix_time(dt) * 1000.0


def call_in_process(endpoint: str, app: Callable[[], WsgiApp]) -> None:
    """This process's boto3 clients (the functions', the pollers') hand their requests for ``endpoint`` to
    moto's server application directly, as moto's own ``mock_aws`` hands them to its backends: the same
    application, the same request (method, path, query, headers, body) and the same answer, without the
    socket, the HTTP parsing on both sides and the server thread per connection, which cost about as much as
    moto's own work on each call. Other processes (the command line, curl, a benchmark's client) still go
    through the server. ``app`` gives the application in front of moto at the time of each request (whatever
    wraps moto's included); a later call for the same endpoint replaces it."""
    session = boto3._get_default_session()._session
    apps: dict[str, Callable[[], WsgiApp]] | None = getattr(session, "_leadscore_in_process", None)
    if apps is None:
        apps = session._leadscore_in_process = {}  # type: ignore[attr-defined]
        session.register("before-send", functools.partial(_send_in_process, apps))  # type: ignore[arg-type]
    apps[endpoint] = app


def _request_bytes(body: Any) -> bytes:
    """A request's body as bytes; a file (an S3 upload) is read and put back where it was, for a retry."""
    if hasattr(body, "read"):
        position = body.tell()
        content = body.read()
        body.seek(position)
        body = content
    if isinstance(body, str):
        return body.encode()
    return bytes(body or b"")


def _send_in_process(
    apps: dict[str, Callable[[], WsgiApp]], request: AWSPreparedRequest, **_: Any
) -> AWSResponse | None:
    """botocore's ``before-send``: the answer of the application for the request's endpoint, if it has one."""
    url = urlsplit(request.url)
    app = apps.get(f"{url.scheme}://{url.netloc}")
    if app is None:
        return None
    body = _request_bytes(request.body)
    environ: dict[str, Any] = {
        "REQUEST_METHOD": request.method,
        "SCRIPT_NAME": "",
        "PATH_INFO": unquote(url.path).encode().decode("latin-1"),
        "QUERY_STRING": url.query,
        "SERVER_NAME": url.hostname,
        "SERVER_PORT": str(url.port),
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "CONTENT_LENGTH": str(len(body)),
        "HTTP_HOST": url.netloc,
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": url.scheme,
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
    }
    for name, value in request.headers.items():
        text = value.decode("latin-1") if isinstance(value, bytes) else str(value)
        key = name.upper().replace("-", "_")
        environ[key if key in ("CONTENT_TYPE", "CONTENT_LENGTH") else f"HTTP_{key}"] = text
    answer: dict[str, Any] = {}

    def start_response(status: str, headers: list[tuple[str, str]], *_: Any) -> Callable[[bytes], None]:
        answer.update(status=int(status.split(" ", 1)[0]), headers=headers)
        return lambda _data: None

    try:
        chunks = app()(environ, start_response)
    except ConnectionError as error:  # the server would have closed the connection: botocore retries that
        raise ConnectionClosedError(endpoint_url=request.url) from error
    try:
        content = b"".join(chunks)
    finally:
        close = getattr(chunks, "close", None)
        if close:
            close()
    headers = HTTPHeaders()
    for name, value in answer["headers"]:
        headers.add_header(name, value)
    return AWSResponse(request.url, answer["status"], headers, MockRawResponse(content))


def speed_up_moto_server() -> None:
    """What moto's server and this process's clients spend per request rather than per item. Idempotent.

    - moto's server works out which service a request is for by listing its own package's folders (two
      hundred ``isdir`` calls, under a lock every request takes): listed once. Each request then lists
      its service's methods (``inspect.getmembers``): once per service.
    - The functions share one client per service across threads (collect sends a batch's messages from
      eight threads, and the gateway serves each connection on its own thread): botocore's pool of ten
      connections discarded the rest after each call, so most sends opened a new connection and moto's server
      a new thread. The pool holds ``CLIENT_CONNECTIONS``.
    """
    if getattr(moto_backends, "_leadscore_fast", False):
        return
    modules = tuple(moto_backends.list_of_moto_modules())
    moto_backends.list_of_moto_modules = lambda: modules
    moto_responses.method_names_from_class = functools.cache(moto_responses.method_names_from_class)  # type: ignore[attr-defined]
    session = boto3._get_default_session()._session  # the session boto3.client() uses
    session.set_default_client_config(Config(max_pool_connections=CLIENT_CONNECTIONS))
    moto_backends._leadscore_fast = True  # type: ignore[attr-defined]


def speed_up_moto_dynamodb() -> None:
    """moto lists a table's items sorted for every Query and Scan, comparing its attribute-value objects
    (each comparison works out both values again): a sort of the whole table per index query, which made
    the local stack's notify (the account look-up) and decay (its band queries) slow down as the table grew.
    The same order, with each item's key values worked out once.

    Writing an item checked moto's 400 KB limit once per attribute, adding up every attribute already there:
    the same check, once per item (``_new_item``). Idempotent."""
    table = dynamodb_table_models.Table
    if getattr(table, "_leadscore_fast", False):
        return
    dynamo_type_models.Item.__init__ = _new_item  # type: ignore[method-assign,assignment]

    def all_items(self: dynamodb_table_models.Table) -> list[Any]:
        items: list[Any] = []
        for hash_set in self.items.values():
            items.extend(hash_set.values() if self.range_key_attr else [hash_set])
        return sorted(items, key=_item_order)

    table.all_items = all_items  # type: ignore[method-assign]
    table._leadscore_fast = True  # type: ignore[attr-defined]


def _new_item(
    item: dynamo_type_models.Item,
    hash_key: dynamo_type_models.DynamoType,
    range_key: dynamo_type_models.DynamoType | None,
    attrs: dict[str, Any],
) -> None:
    """moto's ``Item.__init__``: its size check ran as each attribute was added (a sum over all the attributes
    so far, each time), and refused the item once the total passed the limit; the total only grows, so
    checking it once at the end refuses the same items."""
    item.hash_key = hash_key
    item.range_key = range_key
    values = {key: dynamo_type_models.DynamoType(value) for key, value in attrs.items()}
    size: int = sum(bytesize(key) + value.size() for key, value in values.items())
    if size > MOTO_ITEM_SIZE_LIMIT:
        raise ItemSizeTooLarge
    item.attrs = dynamo_type_models.LimitedSizeDict(values)  # dict.update: no check per attribute


def _item_order(item: Any) -> Any:
    """moto's order of items (hash key, then range key), by the values its comparisons compare."""
    if item.range_key:
        return (item.hash_key.cast_value, item.range_key.cast_value)
    return item.hash_key.cast_value


def _delete_message(queue: sqs_models.Queue, receipt_handle: str) -> None:
    """moto's delete, stopping at the message: moto's scans every message of the queue twice for each
    handle, and a batch's handles are those of the oldest messages, at the front. The message leaves the
    list in place (moto's delete builds a new list from the one it read, so a send between the two was lost),
    and its handles join the recently deleted ones (``_forget_old_deletes``)."""
    if receipt_handle in queue.deleted_messages:
        return  # deleted already: SQS accepts it again
    for message in queue._messages:
        if message.receipt_handle == receipt_handle or receipt_handle in message._old_receipt_handles:
            queue.pending_messages.discard(message)
            _remember_deleted(queue, [handle for handle in message.all_receipt_handles if handle])
            with contextlib.suppress(ValueError):  # another request deleted it meanwhile
                queue._messages.remove(message)
            return
    raise ReceiptHandleIsInvalid()


def _remember_deleted(queue: sqs_models.Queue, handles: list[str]) -> None:
    """moto keeps every deleted message's receipt handles, so that deleting again succeeds as on SQS: a
    set that grows with every message the queue ever held. Only the last ``DELETED_HANDLES_KEPT`` are kept;
    deleting a message again with an older handle is refused as an invalid handle, as SQS refuses a handle
    that has expired."""
    order: collections.deque[str] | None = getattr(queue, "_leadscore_deleted_order", None)
    if order is None:
        order = queue._leadscore_deleted_order = collections.deque()  # type: ignore[attr-defined]
    queue.deleted_messages.update(handles)
    order.extend(handles)
    while len(order) > DELETED_HANDLES_KEPT:
        queue.deleted_messages.discard(order.popleft())


def _scan_once_per_call() -> None:
    """moto's ReceiveMessage lists every visible message of the queue (reading the clock twice per message)
    before it takes the first ten, and GetQueueAttributes counts the queue three times the same way: with
    tens of thousands of messages queued, each call took a tenth of a second or more. Here the visible
    messages are walked lazily (a receive stops once it has its messages) and each count reads the clock
    once. The same messages, in the same order, and the same counts."""

    def visible(queue: sqs_models.Queue) -> Iterator[sqs_models.Message]:
        now = unix_time_millis()
        return (m for m in queue._messages if now > m.visible_at and not now < m.delayed_until)

    def wait_for_messages(queue: sqs_models.Queue, timeout: int) -> None:
        with queue._messages_lock:
            queue._messages_lock.wait_for(lambda: next(visible(queue), None) is not None, timeout=timeout)

    def visible_count(queue: sqs_models.Queue) -> int:
        return sum(1 for _ in visible(queue))

    def not_visible_count(queue: sqs_models.Queue) -> int:
        now = unix_time_millis()
        return sum(1 for m in queue._messages if not now > m.visible_at)

    def delayed_count(queue: sqs_models.Queue) -> int:
        now = unix_time_millis()
        return sum(1 for m in queue._messages if now < m.delayed_until)

    sqs_models.Queue.messages = property(visible)  # type: ignore[assignment,method-assign]
    sqs_models.Queue.wait_for_messages = wait_for_messages  # type: ignore[method-assign,assignment]
    sqs_models.Queue.approximate_number_of_messages = property(visible_count)  # type: ignore[assignment,method-assign]
    sqs_models.Queue.approximate_number_of_messages_not_visible = property(not_visible_count)  # type: ignore[assignment,method-assign]
    sqs_models.Queue.approximate_number_of_messages_delayed = property(delayed_count)  # type: ignore[assignment,method-assign]


def _send_without_counting() -> None:
    """A send reads one queue attribute (content-based deduplication), and moto works out all of them,
    three scans of the queue among them, for each message: while a send runs, the attributes it reads are
    the only ones worked out. GetQueueAttributes works them all out again for each name asked for, and
    twice more per name found: during one such call they are worked out once."""
    calling = threading.local()
    send = sqs_models.SQSBackend.send_message
    get_attributes = sqs_models.SQSBackend.get_queue_attributes
    every_attribute = sqs_models.Queue.attributes.fget  # type: ignore[attr-defined]

    def send_message(self: sqs_models.SQSBackend, *args: Any, **kwargs: Any) -> Any:
        calling.sending = True
        try:
            return send(self, *args, **kwargs)
        finally:
            calling.sending = False

    def get_queue_attributes(self: sqs_models.SQSBackend, *args: Any, **kwargs: Any) -> Any:
        calling.worked_out = {}
        try:
            return get_attributes(self, *args, **kwargs)
        finally:
            calling.worked_out = None

    def attributes(queue: sqs_models.Queue) -> dict[str, Any]:
        if getattr(calling, "sending", False):
            if not queue.fifo_queue:
                return {}
            deduplicated = getattr(queue, "content_based_deduplication", False)
            return {"ContentBasedDeduplication": str(deduplicated).lower()}
        worked_out: dict[int, dict[str, Any]] | None = getattr(calling, "worked_out", None)
        if worked_out is None:
            return every_attribute(queue)  # type: ignore[no-any-return]
        if id(queue) not in worked_out:
            worked_out[id(queue)] = every_attribute(queue)
        return dict(worked_out[id(queue)])

    sqs_models.SQSBackend.send_message = send_message  # type: ignore[method-assign]
    sqs_models.SQSBackend.get_queue_attributes = get_queue_attributes  # type: ignore[method-assign]
    sqs_models.Queue.attributes = property(attributes)  # type: ignore[assignment,method-assign]


def speed_up_moto_streams() -> None:
    """The table's stream, at the cost of a list of strings. Idempotent.

    - moto keeps each stream record as nested dicts (both images, attribute by attribute): a few kilobytes
      of objects per write, kept for as long as the process runs. Each record is kept as its JSON text
      instead, a third of the memory, the same records (DynamoDB Streams keeps them 24 hours; so does this).
    - moto answered GetRecords through its generic serializer, walking the service model for every attribute
      of every image: most of what the stream poller cost. The records' texts are joined as they are
      (timestamps as moto writes them: epoch seconds, to the millisecond; binary values in base64).
    - Every GetRecords answer is a new shard iterator, and moto kept each one for ever: they expire after
      15 minutes, as DynamoDB Streams' do (using one then fails with ExpiredIteratorException, where moto
      failed with an internal error on an unknown one).
    """
    handler = dynamodbstreams_responses.DynamoDBStreamsHandler
    if getattr(handler, "_leadscore_fast", False):
        return
    record_init = dynamodb_table_models.StreamRecord.__init__
    iterator_init = dynamodbstreams_models.ShardIterator.__init__

    def new_record(record: dynamodb_table_models.StreamRecord, *args: Any, **kwargs: Any) -> None:
        record_init(record, *args, **kwargs)
        record.text = json.dumps(record.record, default=_stream_json)  # type: ignore[attr-defined]
        record.created = time.time()  # type: ignore[attr-defined]
        del record.record

    def record_json(record: dynamodb_table_models.StreamRecord) -> dict[str, Any]:
        loaded: dict[str, Any] = json.loads(record.text)  # type: ignore[attr-defined]
        return loaded

    def new_iterator(iterator: dynamodbstreams_models.ShardIterator, *args: Any, **kwargs: Any) -> None:
        iterator_init(iterator, *args, **kwargs)
        iterator.created = time.monotonic()  # type: ignore[attr-defined]

    def get_records(self: dynamodbstreams_responses.DynamoDBStreamsHandler) -> str:
        backend = self.backend
        limit = self._get_param("Limit")
        iterator = backend.shard_iterators.get(self._get_param("ShardIterator"))
        if iterator is None:
            raise JsonRESTError("ExpiredIteratorException", "The shard iterator has expired or is not valid")
        _expire_iterators(backend)
        shard = iterator.stream_shard
        _trim_stream(shard)
        first = max(iterator.sequence_number - shard.starting_sequence_number, getattr(shard, "trimmed", 0))
        records = shard.items[first : first + (1000 if limit is None else int(limit))]
        following = dynamodbstreams_models.ShardIterator(
            backend,
            shard,
            "AFTER_SEQUENCE_NUMBER" if records else "AT_SEQUENCE_NUMBER",
            iterator.sequence_number + len(records) - 1 if records else iterator.sequence_number,
        )
        backend.shard_iterators[following.arn] = following
        texts = ",".join(record.text for record in records)  # type: ignore[attr-defined]
        return f'{{"NextShardIterator": {json.dumps(following.arn)}, "Records": [{texts}]}}'

    dynamodb_table_models.StreamRecord.__init__ = new_record  # type: ignore[method-assign,assignment]
    dynamodb_table_models.StreamRecord.to_json = record_json  # type: ignore[method-assign,assignment]
    dynamodbstreams_models.ShardIterator.__init__ = new_iterator  # type: ignore[method-assign,assignment]
    handler.get_records = get_records  # type: ignore[method-assign,assignment]
    handler._leadscore_fast = True  # type: ignore[attr-defined]


def _expire_iterators(backend: dynamodbstreams_models.DynamoDBStreamsBackend) -> None:
    """Forget the shard iterators handed out more than ``SHARD_ITERATOR_SECONDS`` ago (oldest first)."""
    iterators = backend.shard_iterators
    expired = time.monotonic() - SHARD_ITERATOR_SECONDS
    for arn in list(itertools.islice(iterators, 1000)):
        iterator = iterators.get(arn)
        if iterator is not None and getattr(iterator, "created", expired) >= expired:
            break
        iterators.pop(arn, None)


def _trim_stream(shard: dynamodb_table_models.StreamShard) -> None:
    """Let go of the records older than ``STREAM_RETENTION_SECONDS``: their places stay (moto numbers a
    record by its place), empty, and reading starts after them (``shard.trimmed``)."""
    kept = time.time() - STREAM_RETENTION_SECONDS
    trimmed: int = getattr(shard, "trimmed", 0)
    while trimmed < len(shard.items) and getattr(shard.items[trimmed], "created", kept) < kept:
        shard.items[trimmed] = None  # type: ignore[call-overload]
        trimmed += 1
    shard.trimmed = trimmed  # type: ignore[attr-defined]


def _stream_json(value: object) -> float | str:
    """What moto's serializer writes for the two non-JSON types in a stream record."""
    if isinstance(value, datetime):
        return TimestampSerializer._timestamp_unixtimestamp(value)
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()  # a binary attribute ("B")
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


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
