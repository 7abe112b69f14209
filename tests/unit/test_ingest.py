"""Accepting a tracking call: authentication, limits, encodings, and nothing kept when anything is wrong."""

import base64
import gzip
import json
from datetime import UTC, datetime

import pytest

from leadscore.errors import PayloadTooLarge, Unauthorized
from leadscore.ingest import CollectRequest, collect
from leadscore.segment import MAX_BATCH_BYTES, InvalidMessage
from tests.fakes import RecordingQueue, StaticKeys

NOW = datetime(2026, 11, 24, 9, 30, tzinfo=UTC)
WRITE = "Basic " + base64.b64encode(b"test-write:").decode()


def request(
    body: object, *, call: str = "batch", authorization: str | None = WRITE, encoding: str | None = None
) -> CollectRequest:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return CollectRequest(
        call=call, body=raw, authorization=authorization, content_encoding=encoding, received_at=NOW
    )


@pytest.fixture
def queue() -> RecordingQueue:
    return RecordingQueue()


def test_every_event_of_a_batch_is_queued(queue: RecordingQueue) -> None:
    body = {"batch": [{"type": "track", "userId": "u", "event": "a"}, {"type": "identify", "userId": "u"}]}
    assert len(collect(request(body), StaticKeys(), queue)) == 2
    assert [message["type"] for message in queue.sent] == ["track", "identify"]


def test_a_single_call_takes_its_type_from_the_path(queue: RecordingQueue) -> None:
    collect(request({"userId": "u", "event": "Demo Requested"}, call="track"), StaticKeys(), queue)
    assert (queue.sent[0]["type"], queue.sent[0]["event"]) == ("track", "Demo Requested")


@pytest.mark.parametrize("authorization", [None, "Bearer test-read", "Bearer wrong"])
def test_without_the_write_key_nothing_is_kept(authorization: str | None, queue: RecordingQueue) -> None:
    with pytest.raises(Unauthorized):
        collect(
            request({"batch": [{"type": "track", "userId": "u", "event": "a"}]}, authorization=authorization),
            StaticKeys(),
            queue,
        )
    assert queue.sent == []


def test_the_browser_sdk_may_send_the_write_key_in_the_body(queue: RecordingQueue) -> None:
    body = {"writeKey": "test-write", "userId": "u", "event": "a"}
    collect(request(body, call="track", authorization=None), StaticKeys(), queue)
    assert len(queue.sent) == 1


def test_an_invalid_message_keeps_nothing(queue: RecordingQueue) -> None:
    with pytest.raises(InvalidMessage):
        collect(
            request(
                {"batch": [{"type": "track", "userId": "u", "event": "a"}, {"type": "track", "userId": "u"}]}
            ),
            StaticKeys(),
            queue,
        )
    assert queue.sent == []


def test_gzip_bodies_are_accepted(queue: RecordingQueue) -> None:
    body = gzip.compress(json.dumps({"batch": [{"type": "track", "userId": "u", "event": "a"}]}).encode())
    collect(request(body, encoding="gzip"), StaticKeys(), queue)
    assert len(queue.sent) == 1


@pytest.mark.parametrize(("body", "field"), [(b"{not json", "body"), (b"\x1f\x8b broken", "body")])
def test_undecodable_bodies_name_the_body(body: bytes, field: str, queue: RecordingQueue) -> None:
    encoding = "gzip" if body.startswith(b"\x1f\x8b") else None
    with pytest.raises(InvalidMessage) as refused:
        collect(request(body, encoding=encoding), StaticKeys(), queue)
    assert refused.value.field == field


def test_a_body_over_the_limit_is_refused_even_compressed(queue: RecordingQueue) -> None:
    padding = "x" * (MAX_BATCH_BYTES + 10)
    body = gzip.compress(json.dumps({"batch": [{"type": "track", "userId": "u", "event": padding}]}).encode())
    with pytest.raises(PayloadTooLarge):
        collect(request(body, encoding="gzip"), StaticKeys(), queue)
    assert queue.sent == []


@pytest.mark.parametrize("key", [42, ["test-write"], {"k": "v"}])
def test_a_write_key_that_is_not_text_is_refused_naming_it(key: object, queue: RecordingQueue) -> None:
    with pytest.raises(InvalidMessage) as refused:
        collect(
            request({"writeKey": key, "userId": "u", "event": "a"}, call="track", authorization=None),
            StaticKeys(),
            queue,
        )
    assert refused.value.field == "writeKey"
    assert queue.sent == []


def test_a_batch_with_one_message_nested_too_deep_keeps_nothing(queue: RecordingQueue) -> None:
    deep: dict[str, object] = {}
    for _ in range(300):
        deep = {"a": deep}
    good = {"type": "track", "userId": "u", "event": "a"}
    with pytest.raises(InvalidMessage) as refused:
        collect(request({"batch": [good] * 10 + [{**good, "properties": deep}]}), StaticKeys(), queue)
    assert refused.value.field.startswith("batch[10].properties")
    assert queue.sent == []


def test_the_queued_message_is_the_normalised_wire_message(queue: RecordingQueue) -> None:
    collect(request({"userId": "u", "event": "a", "writeKey": "x"}, call="track"), StaticKeys(), queue)
    (message,) = queue.sent
    assert message["receivedAt"] == "2026-11-24T09:30:00Z"
    assert message["timestamp"] == "2026-11-24T09:30:00Z"
    assert message["messageId"]
    assert "writeKey" not in message
