"""Accepting tracking calls and form posts: authenticate, validate every message, queue them all or none."""

from __future__ import annotations

import zlib
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from leadscore.auth import presented_key, require_key
from leadscore.errors import PayloadTooLarge, Unauthorized, Unavailable
from leadscore.events import EventKind
from leadscore.forms import FormPost, FormSubmission, read_form
from leadscore.ports import UNCOUNTED, Counter, KeyStore, MessageQueue
from leadscore.resources import EVENTS_ACCEPTED, REQUESTS_REJECTED
from leadscore.rules.model import FormSettings
from leadscore.segment import (
    CALLS,
    MAX_BATCH_BYTES,
    MAX_MESSAGE_BYTES,
    Accepted,
    InvalidMessage,
    accept_batch,
    accept_message,
    loads,
)


@dataclass(frozen=True)
class CollectRequest:
    call: str
    body: bytes
    authorization: str | None
    content_encoding: str | None
    received_at: datetime
    # The API request's id: it travels with every message to the score and notify logs.
    correlation_id: str | None = None


# Why a request was refused, as the ``reason`` of the RequestsRejected metric.
_REASONS: tuple[tuple[type[Exception], str], ...] = (
    (InvalidMessage, "invalid"),
    (Unauthorized, "unauthorized"),
    (PayloadTooLarge, "too_large"),
    (Unavailable, "queue_unavailable"),
)


@contextmanager
def _counted_refusals(counter: Counter) -> Iterator[None]:
    """A refused request counts once under its reason (its messages are not known: nothing was kept)."""
    try:
        yield
    except tuple(kind for kind, _ in _REASONS) as error:
        reason = next(reason for kind, reason in _REASONS if isinstance(error, kind))
        counter.count(REQUESTS_REJECTED, of=reason)
        raise


def collect(
    request: CollectRequest, write_keys: KeyStore, queue: MessageQueue, counter: Counter = UNCOUNTED
) -> list[Accepted]:
    """Accept one tracking call and queue its messages; a bad message keeps nothing of the request."""
    with _counted_refusals(counter):
        payload = _decode(request)
        require_key(presented_key(request.authorization) or _body_key(payload), write_keys.keys())
        if request.call == "batch":
            accepted = accept_batch(payload, request.received_at)
        elif request.call in CALLS:
            call: EventKind = request.call
            accepted = [accept_message(payload, request.received_at, call=call)]
        else:
            raise InvalidMessage("path", f"unknown call {request.call!r}")
        _queue(accepted, queue, request.correlation_id, counter)
    return accepted


def collect_form(
    post: FormPost,
    authorization: str | None,
    *,
    forms: Mapping[str, FormSettings],
    write_keys: KeyStore,
    queue: MessageQueue,
    received_at: datetime,
    correlation_id: str | None = None,
    counter: Counter = UNCOUNTED,
) -> FormSubmission:
    """Accept a form post (an identify and a track, validated as any message) and queue both. The
    write key is a hidden field or in the query string (a browser form sends no header); a webhook may
    send it as basic auth instead."""
    with _counted_refusals(counter):
        submission = read_form(post, forms)
        require_key(submission.write_key or presented_key(authorization), write_keys.keys())
        accepted = [accept_message(message, received_at) for message in submission.messages]
        _queue(accepted, queue, correlation_id, counter)
    return submission


def _queue(
    accepted: list[Accepted], queue: MessageQueue, correlation_id: str | None, counter: Counter
) -> None:
    queue.send([item.message for item in accepted], correlation_id=correlation_id)
    counter.count(EVENTS_ACCEPTED, len(accepted))


def _body_key(payload: Any) -> str | None:
    """Browser builds of analytics.js send the write key in the body instead of a header."""
    key = payload.get("writeKey") if isinstance(payload, dict) else None
    if key is not None and not isinstance(key, str):
        raise InvalidMessage("writeKey", "must be a string")
    return key


def _decode(request: CollectRequest) -> Any:
    limit = MAX_BATCH_BYTES if request.call == "batch" else MAX_MESSAGE_BYTES
    return loads(decompressed(request.body, request.content_encoding, limit))


def decompressed(body: bytes, content_encoding: str | None, limit: int) -> bytes:
    """The body as sent before compression, refused past ``limit`` bytes (a gzip bomb never expands)."""
    encoding = (content_encoding or "").lower().strip()
    if encoding in ("", "identity"):
        if len(body) > limit:
            raise PayloadTooLarge(f"the body is larger than {limit // 1024} KB")
        return body
    if encoding not in ("gzip", "deflate"):
        raise InvalidMessage("Content-Encoding", f"unsupported encoding {encoding!r}")
    wbits = 16 + zlib.MAX_WBITS if encoding == "gzip" else zlib.MAX_WBITS
    decompressor = zlib.decompressobj(wbits)
    try:
        data = decompressor.decompress(body, limit + 1)
    except zlib.error:
        raise InvalidMessage("body", f"is not valid {encoding} data") from None
    if len(data) > limit or decompressor.unconsumed_tail:
        raise PayloadTooLarge(f"the body is larger than {limit // 1024} KB")
    return data
