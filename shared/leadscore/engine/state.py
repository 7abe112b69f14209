"""What the engine keeps per lead between evaluations: compact, JSON-serialisable, rule-version tolerant.

The state holds facts (traits with their times, rule hits with their times, flags raised by events)
rather than scores, so a score can be computed for any moment, and a rule change applies to the
facts already gathered. Unknown rule ids (a rule since removed) are ignored when scoring.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, Field

DAY = 86_400


def epoch(moment: datetime) -> int:
    return int(moment.timestamp())


def moment(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def fingerprint(message_id: str) -> str:
    """A short, stable stand-in for a message id: enough to tell a lead's own messages apart."""
    return hashlib.blake2b(message_id.encode(), digest_size=6).hexdigest()


class RuleHits(BaseModel):
    """The times one engagement rule scored, plus what older hits add once folded together."""

    times: list[int] = Field(default_factory=list)
    folded_count: int = 0
    folded_raw: float = 0.0
    folded_value: float = 0.0
    folded_at: int | None = None
    last: int | None = None


class LeadState(BaseModel):
    lead_id: str
    account_id: str | None = None
    group_id: str | None = None
    group_at: int | None = None
    traits: dict[str, Any] = Field(default_factory=dict)
    trait_times: dict[str, int] = Field(default_factory=dict)
    hits: dict[str, RuleHits] = Field(default_factory=dict)
    occurrences: dict[str, list[int]] = Field(default_factory=dict)
    disqualified: dict[str, int] = Field(default_factory=dict)
    fast_tracked: dict[str, int] = Field(default_factory=dict)
    sales_accepted_at: int | None = None
    sharp_rise_at: int | None = None
    band: str | None = None
    stage: str = "lead"
    seen: dict[str, int] = Field(default_factory=dict)
    first_at: int | None = None
    last_at: int | None = None

    @property
    def profile_at(self) -> int | None:
        return max(self.trait_times.values(), default=None)
