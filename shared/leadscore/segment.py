"""Inbound Segment / RudderStack tracking messages: decoded, bounded, validated, normalised, made events.

One path for every producer. Collect accepts a message (:func:`accept_message`, :func:`accept_batch`)
and queues its normalised form (:attr:`Accepted.message`): the id assigned when it had none, the batch's
context merged in, the timestamp corrected with ``sentAt`` and bounded, ``receivedAt`` stamped. The score
function, ``leadscore rules try`` and any other producer writing to the queue read that same shape with
:func:`read_message`, through the same validation, so what the front door accepts the scorer can score.
"""

from __future__ import annotations

import json
import math
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, field_validator

from leadscore.events import Event, EventKind

CALLS: tuple[EventKind, ...] = ("identify", "track", "page", "screen", "group", "alias")

# Segment's limits: 32 KB per message, 500 KB and 2,500 messages per batch.
MAX_MESSAGE_BYTES = 32 * 1024
MAX_BATCH_BYTES = 500 * 1024
MAX_BATCH_MESSAGES = 2_500
# What the score function and DynamoDB need: shallow objects (a map may nest 32 deep in DynamoDB), bounded
# strings (trait values are kept in the lead's item), numbers a double holds exactly, ids that are text.
MAX_DEPTH = 12
MAX_VALUES = 2_000
MAX_KEY_LENGTH = 256
MAX_ID_LENGTH = 256
MAX_TRAIT_TEXT = 1_024
MAX_TEXT = 8_192
MAX_NUMBER = 2**53
MAX_NUMBER_DIGITS = 20
# Activity before this is not a web visitor's: a timestamp that corrects to earlier is refused.
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
_CONTROL = {*range(0x20), *range(0x7F, 0xA0), 0x2028, 0x2029}
# JSON's "\ud800" decodes to a lone surrogate, which no UTF-8 encoder (DynamoDB's, SQS's) can write.
_SURROGATE = re.compile(r"[\ud800-\udfff]")


class InvalidMessage(ValueError):
    """A message the API refuses; ``field`` names the offending field the way the caller wrote it."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def has_control_characters(text: str) -> bool:
    """Control characters, line separators, or a lone surrogate (not text any encoder can write)."""
    return any(ord(character) in _CONTROL for character in text) or _SURROGATE.search(text) is not None


def _identifier(value: Any) -> Any:
    # Segment's libraries accept numeric ids and send them as JSON numbers.
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if isinstance(value, str):
        value = normalised_id(value)
        if not value:
            return None  # RudderStack's browser SDK sends "userId": "" for an anonymous visitor
        if has_control_characters(value):
            raise ValueError("must not contain control characters (line breaks, tabs, ...)")
    return value


def normalised_id(lead_id: str) -> str:
    """An id as the service keys it: trimmed, and an e-mail address in lower case."""
    lead_id = lead_id.strip()
    return lead_id.lower() if "@" in lead_id else lead_id


Identifier = Annotated[str, Field(min_length=1, max_length=MAX_ID_LENGTH)]
Name = Annotated[str, Field(min_length=1, max_length=200)]


class _Message(BaseModel):
    """Fields every call shares; unknown fields (integrations, channel, ...) are kept and ignored."""

    model_config = ConfigDict(extra="allow")

    messageId: Identifier | None = None
    userId: Identifier | None = None
    anonymousId: Identifier | None = None
    timestamp: datetime | None = None
    # RudderStack sends the device's time here and no timestamp (Segment's spec names both).
    originalTimestamp: datetime | None = None
    sentAt: datetime | None = None
    receivedAt: datetime | None = None
    context: dict[str, Any] = Field(default_factory=dict)

    @field_validator("messageId", "userId", "anonymousId", mode="before")
    @classmethod
    def _ids(cls, value: Any) -> Any:
        return _identifier(value)


class IdentifyMessage(_Message):
    type: Literal["identify"]
    traits: dict[str, Any] = Field(default_factory=dict)


class TrackMessage(_Message):
    type: Literal["track"]
    event: Name
    properties: dict[str, Any] = Field(default_factory=dict)

    @field_validator("event")
    @classmethod
    def _printable(cls, value: str) -> str:
        if has_control_characters(value):
            raise ValueError("must not contain control characters (line breaks, tabs, ...)")
        return value


class PageMessage(_Message):
    type: Literal["page", "screen"]
    name: Name | None = None
    category: Name | None = None
    properties: dict[str, Any] = Field(default_factory=dict)


class GroupMessage(_Message):
    type: Literal["group"]
    groupId: Identifier
    traits: dict[str, Any] = Field(default_factory=dict)

    @field_validator("groupId", mode="before")
    @classmethod
    def _group_id(cls, value: Any) -> Any:
        return _identifier(value)


class AliasMessage(_Message):
    type: Literal["alias"]
    previousId: Identifier

    @field_validator("previousId", mode="before")
    @classmethod
    def _previous_id(cls, value: Any) -> Any:
        return _identifier(value)


Message = Annotated[
    IdentifyMessage | TrackMessage | PageMessage | GroupMessage | AliasMessage, Field(discriminator="type")
]
_message_adapter: TypeAdapter[Message] = TypeAdapter(Message)
_time_adapter: TypeAdapter[datetime] = TypeAdapter(datetime)


@dataclass(frozen=True)
class Accepted:
    """A message the service took: its normalised wire form (what is queued) and its event."""

    message: dict[str, Any]
    event: Event


# --- decoding ----------------------------------------------------------------------------------------


def _bounded_int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_NUMBER_DIGITS:
        raise InvalidMessage("body", f"has a number longer than {MAX_NUMBER_DIGITS} digits")
    return int(text)


def _no_constant(text: str) -> float:
    raise InvalidMessage("body", f"is not valid JSON ({text} is not a number JSON allows)")


def loads(body: bytes | str) -> Any:
    """JSON, bounded: a huge number or a structure nested beyond Python's stack is a 400, never a crash."""
    try:
        text = body.decode() if isinstance(body, bytes) else body
    except UnicodeDecodeError:
        raise InvalidMessage("body", "is not valid UTF-8") from None
    try:
        return json.loads(text, parse_int=_bounded_int, parse_constant=_no_constant)
    except json.JSONDecodeError as error:
        raise InvalidMessage("body", f"is not valid JSON ({error})") from None
    except RecursionError:
        raise InvalidMessage("body", f"is nested more than {MAX_DEPTH} levels deep") from None


def _check_bounds(payload: dict[str, Any], prefix: str) -> None:
    """Depth, count, key, string and number bounds over the whole message, each error naming its path."""
    text = json.dumps(payload, separators=(",", ":"), ensure_ascii=False)
    size = len(text.encode(errors="surrogatepass"))  # a lone surrogate is refused below, by its path
    if size > MAX_MESSAGE_BYTES:
        raise InvalidMessage(prefix.rstrip(".") or "body", f"is larger than {MAX_MESSAGE_BYTES // 1024} KB")
    budget = [MAX_VALUES]

    def walk(value: Any, path: str, depth: int, text_limit: int) -> None:
        budget[0] -= 1
        if budget[0] < 0:
            raise InvalidMessage(prefix.rstrip(".") or "body", f"has more than {MAX_VALUES} values")
        if depth > MAX_DEPTH:
            raise InvalidMessage(path, f"is nested more than {MAX_DEPTH} levels deep")
        if isinstance(value, dict):
            for key, item in value.items():
                if len(key) > MAX_KEY_LENGTH or has_control_characters(key):
                    raise InvalidMessage(
                        path, f"has a key longer than {MAX_KEY_LENGTH} characters or with control characters"
                    )
                limit = MAX_TRAIT_TEXT if key == "traits" else text_limit
                walk(item, f"{path}.{key}", depth + 1, limit)
        elif isinstance(value, list):
            for index, item in enumerate(value):
                walk(item, f"{path}[{index}]", depth + 1, text_limit)
        elif isinstance(value, str):
            if len(value) > text_limit:
                raise InvalidMessage(path, f"is longer than {text_limit} characters")
            if _SURROGATE.search(value):
                raise InvalidMessage(path, "is not valid Unicode (a lone surrogate)")
        elif isinstance(value, bool) or value is None:
            return
        elif isinstance(value, int | float) and not (math.isfinite(value) and abs(value) <= MAX_NUMBER):
            raise InvalidMessage(path, f"must be a number no larger than 2^53 ({MAX_NUMBER})")

    for key, value in payload.items():
        walk(value, prefix + key, 1, MAX_TRAIT_TEXT if key == "traits" else MAX_TEXT)


# --- accepting ---------------------------------------------------------------------------------------


def accept_message(payload: Any, received_at: datetime, *, call: EventKind | None = None) -> Accepted:
    """Validate one message (``call`` is the endpoint's type for single calls such as /v1/track)."""
    return _accept(payload, "", received_at, call=call, shared={}, batch_sent_at=None)


def accept_batch(payload: Any, received_at: datetime) -> list[Accepted]:
    """Validate a /v1/batch body; one bad message refuses the whole batch, so nothing is half-accepted."""
    if not isinstance(payload, dict):
        raise InvalidMessage("body", "must be a JSON object")
    messages = payload.get("batch")
    if not isinstance(messages, list) or not messages:
        raise InvalidMessage("batch", "must be a non-empty list of messages")
    if len(messages) > MAX_BATCH_MESSAGES:
        raise InvalidMessage("batch", f"must hold at most {MAX_BATCH_MESSAGES} messages")
    shared = {key: payload[key] for key in ("context", "integrations") if isinstance(payload.get(key), dict)}
    batch_sent_at = _optional_time(payload.get("sentAt"), "sentAt")
    return [
        _accept(raw, f"batch[{index}].", received_at, call=None, shared=shared, batch_sent_at=batch_sent_at)
        for index, raw in enumerate(messages)
    ]


def _accept(
    payload: Any,
    prefix: str,
    received_at: datetime,
    *,
    call: EventKind | None,
    shared: Mapping[str, dict[str, Any]],
    batch_sent_at: datetime | None,
) -> Accepted:
    if not isinstance(payload, dict):
        raise InvalidMessage(prefix.rstrip(".") or "body", "must be a JSON object")
    # analytics.js puts the write key in every message it posts from a browser: it is not the message's.
    payload = {key: value for key, value in payload.items() if key != "writeKey"}
    for key, value in shared.items():
        own = payload.get(key)
        payload[key] = _merged(value, own) if isinstance(own, dict) else value if own is None else own
    if call is not None:
        payload["type"] = "page" if call == "page" else call
    message = _validate(payload, prefix, call=call)
    sent_at = message.sentAt or batch_sent_at
    device_time = message.timestamp or message.originalTimestamp
    timestamp = _corrected(device_time, sent_at, received_at, prefix)
    normalised = {
        **message.model_dump(mode="json", exclude_none=True, exclude={"sentAt", "originalTimestamp"}),
        "messageId": message.messageId or str(uuid.uuid4()),
        "timestamp": _iso(timestamp),
        "receivedAt": _iso(received_at),
    }
    if device_time is not None and timestamp != _aware(device_time):
        normalised["originalTimestamp"] = _iso(_aware(device_time))
    return Accepted(normalised, _to_event(message, normalised["messageId"], timestamp, received_at))


def read_message(
    payload: Any, *, message_id: str | None, received_at: datetime | None, undated_at: datetime | None = None
) -> Event:
    """A queued (or recorded) message as an event, validated as collect validates it.

    ``message_id`` names a message that has no ``messageId`` (the queue's own id is stable across
    redeliveries). ``received_at`` stands in for a missing ``receivedAt``; with neither, the message is
    history taken at its word: its timestamp as given (``undated_at`` if it has none), never late.
    """
    if not isinstance(payload, dict):
        raise InvalidMessage("body", "must be a JSON object")
    message = _validate(payload, "", call=None)
    identifier = message.messageId or message_id
    if identifier is None:
        raise InvalidMessage("messageId", "is required")
    received = _in_range(message.receivedAt, "receivedAt") if message.receivedAt else received_at
    if received is None:
        dated = message.timestamp or message.originalTimestamp or undated_at
        if dated is None:
            raise InvalidMessage("timestamp", "is required in a message with no receivedAt")
        return _to_event(message, identifier, _in_range(dated, "timestamp"), None)
    device_time = message.timestamp or message.originalTimestamp
    timestamp = _corrected(device_time, message.sentAt, received, "")
    return _to_event(message, identifier, timestamp, received)


def _merged(shared: dict[str, Any], own: dict[str, Any]) -> dict[str, Any]:
    """The batch's object under the message's own: the message's fields win, objects merge key by key."""
    merged = dict(shared)
    for key, value in own.items():
        base = merged.get(key)
        merged[key] = _merged(base, value) if isinstance(base, dict) and isinstance(value, dict) else value
    return merged


def _validate(payload: dict[str, Any], prefix: str, *, call: EventKind | None) -> Message:
    if call is None and "type" not in payload:
        raise InvalidMessage(f"{prefix}type", f"is required, one of {', '.join(CALLS)}")
    _check_bounds(payload, prefix)
    try:
        message = _message_adapter.validate_python(payload)
    except ValidationError as error:
        first = error.errors()[0]
        location = [str(part) for part in first["loc"]]
        # The discriminated union puts the message type first in the location: drop it.
        if location and location[0] in CALLS:
            location = location[1:]
        reason = first["msg"].removeprefix("Value error, ")
        raise InvalidMessage(prefix + ".".join(location) if location else prefix + "type", reason) from None
    if message.userId is None and message.anonymousId is None:
        raise InvalidMessage(f"{prefix}userId", "userId or anonymousId is required")
    return message


def _corrected(
    timestamp: datetime | None, sent_at: datetime | None, received_at: datetime, prefix: str
) -> datetime:
    """Segment's clock-skew correction (trust the device's intervals, not its clock), then bounded: a
    time after receipt is the receipt time (no trait can be fixed by a date in the future)."""
    if timestamp is None:
        return received_at
    try:
        corrected = _aware(timestamp)
        if sent_at is not None:
            corrected = received_at - (_aware(sent_at) - corrected)
    except OverflowError:  # a date at the edge of the calendar, or a sentAt thousands of years off
        corrected = EARLIEST - timedelta(days=1)
    return min(_in_range(corrected, f"{prefix}timestamp"), received_at)


def _in_range(value: datetime, field: str) -> datetime:
    try:
        moment = _aware(value)
    except OverflowError:
        moment = EARLIEST - timedelta(days=1)
    if moment < EARLIEST:
        raise InvalidMessage(field, f"is before {EARLIEST:%Y-%m-%d} (once corrected with sentAt)")
    return moment


def _to_event(message: Message, message_id: str, timestamp: datetime, received_at: datetime | None) -> Event:
    lead_id = message.userId or message.anonymousId
    assert lead_id is not None  # guaranteed by _validate
    common: dict[str, Any] = {
        "message_id": message_id,
        "lead_id": lead_id,
        "anonymous_id": message.anonymousId,
        "kind": message.type,
        "timestamp": timestamp,
        "received_at": received_at,
    }
    match message:
        case IdentifyMessage():
            # RudderStack's browser SDK sends an identify's traits in context.traits only.
            context_traits = message.context.get("traits")
            traits = (
                {**context_traits, **message.traits} if isinstance(context_traits, dict) else message.traits
            )
            return Event(**common, traits=_normalised_traits(traits))
        case TrackMessage():
            return Event(**common, name=message.event, properties=message.properties)
        case PageMessage():
            return Event(**common, name=message.name, properties=_page_properties(message))
        case GroupMessage():
            return Event(**common, group_id=message.groupId, traits=message.traits)
        case AliasMessage():
            return Event(**common, properties={"previous_id": message.previousId})


def _normalised_traits(traits: dict[str, Any]) -> dict[str, Any]:
    """An e-mail trait is one address whatever its case or surrounding spaces."""
    email = traits.get("email")
    return {**traits, "email": email.strip().lower()} if isinstance(email, str) else traits


def _page_properties(message: PageMessage) -> dict[str, Any]:
    """Page rules match on ``path``: take it from the properties, the page context or the URL."""
    page_context = message.context.get("page") if isinstance(message.context.get("page"), dict) else {}
    properties = {**(page_context or {}), **message.properties}
    if not properties.get("path") and isinstance(properties.get("url"), str):
        properties["path"] = urlsplit(properties["url"]).path or "/"
    if message.category is not None:
        properties.setdefault("category", message.category)
    return properties


def _optional_time(value: Any, field: str) -> datetime | None:
    if value is None:
        return None
    try:
        return _aware(_time_adapter.validate_python(value))
    except ValidationError:
        raise InvalidMessage(field, "must be an ISO-8601 date-time") from None


def _aware(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
