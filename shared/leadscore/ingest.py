"""Accepting tracking calls: authenticate, validate every message, queue the events."""

from __future__ import annotations

import json
import zlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from leadscore.auth import presented_key, require_key
from leadscore.errors import PayloadTooLarge
from leadscore.events import EventKind
from leadscore.ports import EventQueue, KeyStore
from leadscore.segment import CALLS, InvalidMessage, parse_batch, parse_message

# Segment's limits: 32 KB per single call, 500 KB per batch (decompressed).
MAX_CALL_BYTES = 32 * 1024
MAX_BATCH_BYTES = 500 * 1024


@dataclass(frozen=True)
class CollectRequest:
    call: str
    body: bytes
    authorization: str | None
    content_encoding: str | None
    received_at: datetime


def collect(request: CollectRequest, write_keys: KeyStore, queue: EventQueue) -> int:
    """Accept one tracking call; returns how many events were queued. A bad message keeps nothing."""
    payload = _decode(request)
    # Browser builds of analytics.js send the write key in the body instead of a header.
    body_key = payload.get("writeKey") if isinstance(payload, dict) else None
    require_key(presented_key(request.authorization) or body_key, write_keys.keys())
    if request.call == "batch":
        events = parse_batch(payload, request.received_at)
    elif request.call in CALLS:
        call: EventKind = request.call
        events = [parse_message(payload, request.received_at, call=call)]
    else:
        raise InvalidMessage("path", f"unknown call {request.call!r}")
    queue.send(events)
    return len(events)


def _decode(request: CollectRequest) -> Any:
    limit = MAX_BATCH_BYTES if request.call == "batch" else MAX_CALL_BYTES
    body = _decompress(request.body, (request.content_encoding or "").lower().strip(), limit)
    if len(body) > limit:
        raise PayloadTooLarge(f"the body is larger than {limit // 1024} KB")
    try:
        return json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise InvalidMessage("body", f"is not valid JSON ({error})") from None


def _decompress(body: bytes, encoding: str, limit: int) -> bytes:
    if encoding in ("", "identity"):
        return body
    if encoding not in ("gzip", "deflate"):
        raise InvalidMessage("Content-Encoding", f"unsupported encoding {encoding!r}")
    wbits = 16 + zlib.MAX_WBITS if encoding == "gzip" else zlib.MAX_WBITS
    decompressor = zlib.decompressobj(wbits)
    try:
        # Bounded, so a small gzip bomb cannot blow up the function's memory.
        data = decompressor.decompress(body, limit + 1)
    except zlib.error:
        raise InvalidMessage("body", f"is not valid {encoding} data") from None
    if len(data) > limit or decompressor.unconsumed_tail:
        raise PayloadTooLarge(f"the body is larger than {limit // 1024} KB")
    return data
