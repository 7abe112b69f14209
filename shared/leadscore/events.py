"""The domain's view of one thing a lead did or said about themselves, whatever channel it came from."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

EventKind = Literal["identify", "track", "page", "screen", "group", "alias"]


class Event(BaseModel):
    """One accepted message, normalised: who (lead_id), what (kind, name, properties), when (timestamp).

    ``lead_id`` is the Segment ``userId`` when there is one, else the ``anonymousId``.
    ``traits`` carries identify traits (and group traits for a group call); ``properties`` carries
    track/page properties, with a page's ``path`` and ``url`` always present for page calls when known.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    message_id: str = Field(min_length=1)
    lead_id: str = Field(min_length=1)
    anonymous_id: str | None = None
    kind: EventKind
    name: str | None = None
    properties: dict[str, Any] = Field(default_factory=dict)
    traits: dict[str, Any] = Field(default_factory=dict)
    group_id: str | None = None
    timestamp: datetime
    # When the service accepted the message; None for events that never went through it (tests, files).
    received_at: datetime | None = None

    @field_validator("timestamp", "received_at")
    @classmethod
    def _in_utc(cls, value: datetime | None) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)
