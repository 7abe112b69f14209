"""Fuzzing the front door: thousands of malformed requests, with and without a key, each answered with a
4xx that carries ``code`` and ``message``, never a 5xx, and none of them leaves anything queued."""

from __future__ import annotations

import gzip
import json
from typing import Any

import boto3
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from leadscore.resources import TRACKING_CALLS
from leadscore_local.aws import LOCAL_WRITE_KEY, LocalResources
from tests.integration.conftest import Invoke, api_event, basic

pytestmark = pytest.mark.integration

PATHS = [f"/v1/{path}" for call in TRACKING_CALLS.items() for path in call]
WRITE = basic(LOCAL_WRITE_KEY)
GOOD = {"type": "track", "userId": "fuzz@example.com", "event": "Demo Requested"}


def deep(depth: int) -> Any:
    value: Any = 1
    for _ in range(depth):
        value = [value]
    return value


# Each breaks a message in one way the service must refuse (type, bound, character, time...).
BREAKAGES: list[tuple[Any, ...]] = [
    ("userId", "x" * 300),
    ("userId", "line\nbreak"),
    ("userId", "\u2028"),
    ("userId", ""),
    ("userId", {"id": 1}),
    ("userId", True),
    ("anonymousId", ["a"]),
    ("messageId", "tab\there"),
    ("event", ""),
    ("event", 42),
    ("event", "x" * 201),
    ("type", "purchase"),
    ("type", None),
    ("timestamp", "0001-01-01T00:00:00Z"),
    ("timestamp", "yesterday"),
    ("timestamp", "1999-12-31T23:59:59Z"),
    ("sentAt", "not a date"),
    ("properties", "not an object"),
    ("properties", {"n": 10**17}),
    ("properties", {"deep": deep(40)}),
    ("properties", {"k" * 300: 1}),
    ("properties", {"blob": "x" * 40_000}),
    ("identify", "traits", {"bio": "x" * 2_000}),
    ("identify", "traits", [1, 2]),
    ("identify", "userId", "\ud800"),
    ("group", "groupId", ""),
    ("alias", "previousId", None),
    ("context", "x"),
    ("receivedAt", "garbage"),
]

raw_bodies = st.one_of(
    st.binary(max_size=200),
    st.just(b"[" * 5_000 + b"]" * 5_000),
    st.just(b'{"userId": ' + b"9" * 5_000 + b"}"),
    st.just(b'{"userId": "u", "event": "x", "n": NaN}'),
    st.just(b"\xff\xfe\xfd"),
    st.just(b'{"userId": "\\ud800", "event": "x"}'),
    st.text(max_size=200).map(str.encode),
)


@st.composite
def malformed_requests(draw: st.DrawFn) -> tuple[str, bytes, dict[str, str]]:
    path = draw(st.sampled_from(PATHS))
    headers = {
        "content-type": draw(
            st.sampled_from(["application/json", "text/plain", "application/x-www-form-urlencoded"])
        )
    }
    if draw(st.booleans()):
        headers["authorization"] = draw(st.sampled_from([WRITE, "Basic !!!", "Bearer nope", "Digest x"]))
    kind = draw(st.sampled_from(["raw", "broken message", "broken batch", "bad key", "bad encoding"]))
    if kind == "raw":
        return path, draw(raw_bodies), headers
    breakage = draw(st.sampled_from(BREAKAGES))
    call, field, value = breakage if len(breakage) == 3 else ("track", *breakage)
    message = {**GOOD, "type": call, field: value}
    if call == "group":
        message.setdefault("groupId", "initech")
    if kind == "broken message":
        # A single call's path names its type: a broken type can only be sent in a batch.
        singles = [] if field == "type" else [f"/v1/{call}", f"/v1/{TRACKING_CALLS[call]}"]
        path = draw(st.sampled_from([*singles, "/v1/batch"]))
        body: Any = {"batch": [message]} if path == "/v1/batch" else message
    elif kind == "broken batch":
        path = draw(st.sampled_from(["/v1/batch", "/v1/b"]))
        body = {"batch": [GOOD] * draw(st.integers(0, 9)) + [message] + [GOOD] * draw(st.integers(0, 3))}
    elif kind == "bad key":
        headers.pop("authorization", None)
        body = {**GOOD, "writeKey": draw(st.sampled_from([42, ["k"], {"k": 1}, None, "wrong"]))}
    else:
        headers["content-encoding"] = draw(st.sampled_from(["gzip", "br", "deflate"]))
        payload = json.dumps({**GOOD, "writeKey": LOCAL_WRITE_KEY}).encode()
        return (
            path,
            draw(st.sampled_from([payload, gzip.compress(payload)[:20], b"\x1f\x8b" + payload])),
            headers,
        )
    return path, json.dumps(body).encode(), headers


@settings(
    max_examples=2_000,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    derandomize=True,
)
@given(request=malformed_requests())
def test_every_malformed_request_gets_a_4xx_with_code_and_message(
    aws: LocalResources, invoke: Invoke, request: tuple[str, bytes, dict[str, str]]
) -> None:
    path, body, headers = request
    response = invoke("collect", api_event(path, body, headers))
    assert 400 <= response["statusCode"] < 500, (path, body[:300], headers)
    answer = json.loads(response["body"])
    assert answer["code"]
    assert answer["message"]


def test_and_nothing_was_queued(aws: LocalResources, invoke: Invoke) -> None:
    """The same requests, replayed, then the queue: empty (a 4xx keeps nothing of a request)."""
    sqs = boto3.client("sqs")
    for path, body, headers in [
        (
            "/v1/batch",
            json.dumps({"batch": [GOOD] * 10 + [{**GOOD, "properties": {"d": deep(300)}}]}).encode(),
            {"authorization": WRITE},
        ),
        (
            "/v1/t",
            json.dumps({**GOOD, "timestamp": "0001-01-01T00:00:00Z"}).encode(),
            {"authorization": WRITE},
        ),
        ("/v1/t", json.dumps({**GOOD, "writeKey": ["x"]}).encode(), {}),
    ]:
        assert invoke("collect", api_event(path, body, headers))["statusCode"] == 400
    attributes = sqs.get_queue_attributes(
        QueueUrl=aws.queue_url, AttributeNames=["ApproximateNumberOfMessages"]
    )
    assert attributes["Attributes"]["ApproximateNumberOfMessages"] == "0"
