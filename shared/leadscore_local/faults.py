"""Faults on the local stack: moto's server answers a chosen fraction of AWS calls as AWS does under stress.

A WSGI middleware in front of moto's app (``MotoAws.serve_through``). For each call to a chosen service (or
``service:Operation``) it draws from that service's own seeded sequence; a drawn call gets, at random, one
of the faults AWS answers that service's protocol with:

- JSON services (DynamoDB, its streams, Secrets Manager, SQS): ``ThrottlingException`` (and DynamoDB's
  ``ProvisionedThroughputExceededException``), HTTP 400, or ``InternalServerError``, 500, in the JSON error
  body botocore reads;
- query services (SNS): ``Throttling``, 400, or ``InternalError``, 500, in the XML ``ErrorResponse``;
- S3: ``SlowDown``, 503, or ``InternalError``, 500, in S3's XML ``Error``;
- a timeout: the answer is held ``timeout_seconds`` and the connection closed without one, which is what a
  client sees when its read timeout passes (botocore retries it as such). For DynamoDB and S3 the call is
  made first, so a retried write meets its own write; for the others it never reaches moto (a standard SNS
  topic does not deduplicate: a publish made whose answer is lost is sent twice on AWS too).

botocore retries each of these (3 attempts by default, ``AWS_MAX_ATTEMPTS``); a call whose last attempt
is faulted reaches the function as an error, counted as ``ran out``.
"""

from __future__ import annotations

import contextlib
import io
import json
import random
import re
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any, Literal
from urllib.parse import parse_qs

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

DEFAULT_SERVICES = ("dynamodb", "sns", "s3")
DEFAULT_TIMEOUT_SECONDS = 1.0
# A timed-out call is made before its answer is lost only where a retry is safe to meet it.
ANSWER_LOST_AFTER_THE_CALL = frozenset({"dynamodb", "s3"})
_CREDENTIAL = re.compile(r"Credential=[^/]+/[^/]+/[^/]+/([^/]+)/aws4_request")
_ATTEMPT = re.compile(r"attempt=(\d+);\s*max=(\d+)")

Protocol = Literal["json", "query", "s3"]


@dataclass(frozen=True)
class Fault:
    """One way AWS fails a call: an error answer (``status`` > 0) or a timeout (``status`` 0)."""

    code: str
    status: int

    @property
    def timeout(self) -> bool:
        return self.status == 0


TIMEOUT = Fault("timeout", 0)
FAULTS: dict[Protocol, tuple[Fault, ...]] = {
    "json": (Fault("ThrottlingException", 400), Fault("InternalServerError", 500), TIMEOUT),
    "query": (Fault("Throttling", 400), Fault("InternalError", 500), TIMEOUT),
    "s3": (Fault("SlowDown", 503), Fault("InternalError", 500), TIMEOUT),
}
DYNAMODB_FAULTS = (Fault("ProvisionedThroughputExceededException", 400), *FAULTS["json"])


@dataclass(frozen=True)
class Call:
    """What a request to moto is: the service (a boto3 client's name), the operation, the protocol."""

    service: str
    operation: str
    protocol: Protocol
    attempt: int = 1
    max_attempts: int = 0  # 0: the client did not say


@dataclass(frozen=True)
class FaultPlan:
    """Which calls fail: ``rate`` of those to ``targets`` (services, or ``service:Operation``), drawn from
    ``seed``."""

    rate: float
    targets: tuple[str, ...] = DEFAULT_SERVICES
    seed: int = 0
    timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS

    def __post_init__(self) -> None:
        if not 0 <= self.rate <= 1:
            raise ValueError(f"the fault rate is a fraction from 0 to 1, not {self.rate:g}")
        if not self.targets:
            raise ValueError("faults on which services? none given")
        if self.timeout_seconds < 0:
            raise ValueError(f"a timeout holds the answer 0 s or more, not {self.timeout_seconds:g}")

    @classmethod
    def parse(
        cls,
        rate: float,
        targets: str = ",".join(DEFAULT_SERVICES),
        seed: int = 0,
        timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS,
    ) -> FaultPlan:
        """From the command line: ``--faults 0.1 --faults-on dynamodb,sns:Publish``."""
        return cls(rate, tuple(t.strip() for t in targets.split(",") if t.strip()), seed, timeout_seconds)

    def covers(self, call: Call) -> bool:
        return call.service in self.targets or f"{call.service}:{call.operation}" in self.targets

    def describe(self) -> str:
        return f"{self.rate * 100:g}% of {', '.join(self.targets)} calls fail (seed {self.seed})"


def faults_of(call: Call) -> tuple[Fault, ...]:
    return DYNAMODB_FAULTS if call.service == "dynamodb" else FAULTS[call.protocol]


@dataclass
class FaultInjector:
    """The middleware's state: the plan, a seeded draw per service, and what it injected."""

    plan: FaultPlan
    injected: Counter[str] = field(default_factory=Counter)
    ran_out: Counter[str] = field(default_factory=Counter)
    _draws: dict[str, random.Random] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def wrap(self, app: WsgiApp) -> WsgiApp:
        def faulty(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
            call = identify(environ)
            fault = self.draw(call) if call else None
            if call is None or fault is None:
                return app(environ, start_response)
            if fault.timeout:
                return self._time_out(call, app, environ)
            _discard_body(environ)  # unread, werkzeug would take its rest for the connection's next request
            status, headers, body = error_answer(call, fault)
            start_response(status, headers)
            return [body]

        return faulty

    def draw(self, call: Call) -> Fault | None:
        """The fault this call gets, if any; counted."""
        if not self.plan.covers(call):
            return None
        with self._lock:
            draws = self._draws.setdefault(call.service, random.Random(f"{self.plan.seed}:{call.service}"))
            if draws.random() >= self.plan.rate:
                return None
            fault = draws.choice(faults_of(call))
            self.injected[f"{call.service} {fault.code}"] += 1
            if call.attempt == call.max_attempts:
                self.ran_out[f"{call.service}:{call.operation}"] += 1
        return fault

    def _time_out(self, call: Call, app: WsgiApp, environ: dict[str, Any]) -> Iterable[bytes]:
        if call.service not in ANSWER_LOST_AFTER_THE_CALL:
            _discard_body(environ)
        else:
            answer = app(environ, lambda *_: None)
            try:
                for _ in answer:
                    pass
            finally:
                close = getattr(answer, "close", None)
                if close:
                    close()
        time.sleep(self.plan.timeout_seconds)
        connection: socket.socket | None = environ.get("werkzeug.socket")
        if connection is not None:
            with contextlib.suppress(OSError):  # the client may have given up already
                connection.shutdown(socket.SHUT_RDWR)
        # werkzeug takes a ConnectionError as the connection gone, and answers nothing.
        raise ConnectionAbortedError(f"injected: {call.service}:{call.operation} timed out")

    def summary(self) -> str:
        if not self.injected:
            return f"faults injected: none ({self.plan.describe()})"
        injected = ", ".join(f"{name} {count}" for name, count in sorted(self.injected.items()))
        ran_out = ", ".join(f"{name} {count}" for name, count in sorted(self.ran_out.items())) or "none"
        return f"faults injected: {injected}; calls that ran out of attempts: {ran_out}"


def identify(environ: dict[str, Any]) -> Call | None:
    """The service and operation of a request botocore signed; None for anything else (moto's own pages)."""
    authorization = environ.get("HTTP_AUTHORIZATION", "")
    signed = _CREDENTIAL.search(authorization)
    if not signed:
        return None
    service = signed.group(1)
    attempt = _ATTEMPT.search(environ.get("HTTP_AMZ_SDK_REQUEST", ""))
    numbers = (int(attempt.group(1)), int(attempt.group(2))) if attempt else (1, 0)
    target = environ.get("HTTP_X_AMZ_TARGET", "")
    if target:
        prefix, _, operation = target.partition(".")
        if prefix.startswith("DynamoDBStreams"):
            service = "dynamodbstreams"
        return Call(service, operation, "json", *numbers)
    if service == "s3":
        return Call(service, s3_operation(environ), "s3", *numbers)
    return Call(service, _query_action(environ), "query", *numbers)


def _discard_body(environ: dict[str, Any]) -> None:
    stream = environ["wsgi.input"]
    if environ.get("wsgi.input_terminated"):
        stream.read()
    elif length := int(environ.get("CONTENT_LENGTH") or 0):
        stream.read(length)


def _query_action(environ: dict[str, Any]) -> str:
    """The ``Action`` of a query-protocol call: in the form body (put back for moto), or the query string."""
    length = int(environ.get("CONTENT_LENGTH") or 0)
    body: bytes = environ["wsgi.input"].read(length) if length else b""
    environ["wsgi.input"] = io.BytesIO(body)
    fields = parse_qs(body.decode("utf-8", "replace")) or parse_qs(environ.get("QUERY_STRING", ""))
    return fields.get("Action", ["?"])[0]


def s3_operation(environ: dict[str, Any]) -> str:
    """The S3 operation of a path-style request (the local endpoint is an address: no virtual hosts)."""
    method = str(environ.get("REQUEST_METHOD", "GET"))
    query = parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True)
    has_key = "/" in environ.get("PATH_INFO", "/").strip("/")
    if not has_key:
        if method == "POST" and "delete" in query:
            return "DeleteObjects"
        if method == "GET":
            return "ListObjectsV2" if query.get("list-type") == ["2"] else "ListObjects"
        return {"PUT": "CreateBucket", "DELETE": "DeleteBucket", "HEAD": "HeadBucket"}.get(method, method)
    if method == "PUT":
        return "CopyObject" if "HTTP_X_AMZ_COPY_SOURCE" in environ else "PutObject"
    return {"GET": "GetObject", "HEAD": "HeadObject", "DELETE": "DeleteObject"}.get(method, method)


def error_answer(call: Call, fault: Fault) -> tuple[str, list[tuple[str, str]], bytes]:
    """The status line, headers and body AWS answers ``fault`` with in ``call``'s protocol."""
    request_id = f"injected-{random.getrandbits(32):08x}"
    message = "injected by the local stack's fault injector"
    status = f"{fault.status} {HTTPStatus(fault.status).phrase}"
    if call.protocol == "json":
        prefix = "com.amazonaws.dynamodb.v20120810#" if call.service.startswith("dynamodb") else ""
        body = json.dumps({"__type": f"{prefix}{fault.code}", "message": message}).encode()
        content_type = "application/x-amz-json-1.0"
    elif call.protocol == "query":
        kind = "Receiver" if fault.status >= 500 else "Sender"
        body = (
            f"<ErrorResponse><Error><Type>{kind}</Type><Code>{fault.code}</Code><Message>{message}</Message>"
            f"</Error><RequestId>{request_id}</RequestId></ErrorResponse>"
        ).encode()
        content_type = "text/xml"
    else:
        body = (
            f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{fault.code}</Code>'
            f"<Message>{message}</Message><RequestId>{request_id}</RequestId></Error>"
        ).encode()
        content_type = "application/xml"
    headers = [
        ("Content-Type", content_type),
        ("Content-Length", str(len(body))),
        ("x-amzn-RequestId", request_id),
        ("x-amz-request-id", request_id),
    ]
    return status, headers, body
