"""Inbound Segment / RudderStack HTTP tracking API messages, validated and turned into domain events."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, field_validator

from leadscore.events import Event, EventKind

CALLS: tuple[EventKind, ...] = ("identify", "track", "page", "screen", "group", "alias")


class InvalidMessage(ValueError):
    """A message the API refuses; ``field`` names the offending field the way the caller wrote it."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


Identifier = Annotated[str, Field(min_length=1, max_length=256)]


class _Message(BaseModel):
    """Fields every call shares; unknown fields (integrations, channel, ...) are accepted and ignored."""

    model_config = ConfigDict(extra="allow")

    messageId: Identifier | None = None
    userId: Identifier | None = None
    anonymousId: Identifier | None = None
    timestamp: datetime | None = None
    sentAt: datetime | None = None
    context: dict[str, Any] = Field(default_factory=dict)

    @field_validator("userId", "anonymousId", mode="before")
    @classmethod
    def _ids_as_text(cls, value: Any) -> Any:
        # Segment's libraries accept numeric ids and send them as JSON numbers.
        return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


class IdentifyMessage(_Message):
    type: Literal["identify"]
    traits: dict[str, Any] = Field(default_factory=dict)


class TrackMessage(_Message):
    type: Literal["track"]
    event: Annotated[str, Field(min_length=1, max_length=200)]
    properties: dict[str, Any] = Field(default_factory=dict)


class PageMessage(_Message):
    type: Literal["page", "screen"]
    name: str | None = None
    category: str | None = None
    properties: dict[str, Any] = Field(default_factory=dict)


class GroupMessage(_Message):
    type: Literal["group"]
    groupId: Identifier
    traits: dict[str, Any] = Field(default_factory=dict)


class AliasMessage(_Message):
    type: Literal["alias"]
    previousId: Identifier


Message = Annotated[
    IdentifyMessage | TrackMessage | PageMessage | GroupMessage | AliasMessage, Field(discriminator="type")
]
_message_adapter: TypeAdapter[Message] = TypeAdapter(Message)


def parse_message(payload: Any, received_at: datetime, *, call: EventKind | None = None) -> Event:
    """Validate one message (``call`` is the endpoint's type for single calls such as /v1/track)."""
    return _to_event(_validate(payload, "", call=call), received_at, batch_sent_at=None)


def parse_batch(payload: Any, received_at: datetime) -> list[Event]:
    """Validate a /v1/batch body; one bad message refuses the whole batch, so nothing is half-accepted."""
    if not isinstance(payload, dict):
        raise InvalidMessage("body", "must be a JSON object")
    messages = payload.get("batch")
    if not isinstance(messages, list) or not messages:
        raise InvalidMessage("batch", "must be a non-empty list of messages")
    shared_context = payload.get("context") if isinstance(payload.get("context"), dict) else {}
    batch_sent_at = _optional_time(payload.get("sentAt"), "sentAt")
    events = []
    for index, raw in enumerate(messages):
        message = _validate(raw, f"batch[{index}].", call=None)
        if shared_context and not message.context:
            message.context = dict(shared_context)
        events.append(_to_event(message, received_at, batch_sent_at=batch_sent_at))
    return events


def _validate(payload: Any, prefix: str, *, call: EventKind | None) -> Message:
    if not isinstance(payload, dict):
        raise InvalidMessage(prefix.rstrip(".") or "body", "must be a JSON object")
    if call is not None:
        payload = {**payload, "type": "page" if call == "page" else call}
    elif "type" not in payload:
        raise InvalidMessage(f"{prefix}type", f"is required, one of {', '.join(CALLS)}")
    try:
        message = _message_adapter.validate_python(payload)
    except ValidationError as error:
        first = error.errors()[0]
        location = [str(part) for part in first["loc"]]
        # The discriminated union puts the message type first in the location: drop it.
        if location and location[0] in CALLS:
            location = location[1:]
        raise InvalidMessage(
            prefix + ".".join(location) if location else prefix + "type", first["msg"]
        ) from None
    if message.userId is None and message.anonymousId is None:
        raise InvalidMessage(f"{prefix}userId", "userId or anonymousId is required")
    return message


def _to_event(message: Message, received_at: datetime, *, batch_sent_at: datetime | None) -> Event:
    lead_id = message.userId or message.anonymousId
    assert lead_id is not None  # guaranteed by _validate
    common: dict[str, Any] = {
        "message_id": message.messageId or _derived_message_id(message),
        "lead_id": lead_id,
        "anonymous_id": message.anonymousId,
        "kind": message.type,
        "timestamp": _event_time(message, received_at, batch_sent_at),
        "received_at": received_at,
    }
    match message:
        case IdentifyMessage():
            return Event(**common, traits=message.traits)
        case TrackMessage():
            return Event(**common, name=message.event, properties=message.properties)
        case PageMessage():
            return Event(**common, name=message.name, properties=_page_properties(message))
        case GroupMessage():
            return Event(**common, group_id=message.groupId, traits=message.traits)
        case AliasMessage():
            return Event(**common, properties={"previous_id": message.previousId})


def _event_time(message: Message, received_at: datetime, batch_sent_at: datetime | None) -> datetime:
    """Segment's clock-skew correction: trust the device's intervals, not its clock."""
    sent_at = message.sentAt or batch_sent_at
    if message.timestamp is None:
        return received_at
    timestamp = _aware(message.timestamp)
    if sent_at is None:
        return timestamp
    return received_at - (_aware(sent_at) - timestamp)


def _page_properties(message: PageMessage) -> dict[str, Any]:
    """Page rules match on ``path``: take it from the properties, the page context or the URL."""
    page_context = message.context.get("page") if isinstance(message.context.get("page"), dict) else {}
    properties = {**(page_context or {}), **message.properties}
    if not properties.get("path") and isinstance(properties.get("url"), str):
        properties["path"] = urlsplit(properties["url"]).path or "/"
    if message.category is not None:
        properties.setdefault("category", message.category)
    return properties


def _derived_message_id(message: Message) -> str:
    """A stable id for clients that send none, so a retried delivery is still recognised."""
    canonical = json.dumps(message.model_dump(mode="json", exclude={"sentAt"}), sort_keys=True)
    return "derived-" + hashlib.sha256(canonical.encode()).hexdigest()[:32]


def _optional_time(value: Any, field: str) -> datetime | None:
    if value is None:
        return None
    try:
        return _aware(TypeAdapter(datetime).validate_python(value))
    except ValidationError:
        raise InvalidMessage(field, "must be an ISO-8601 date-time") from None


def _aware(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value
