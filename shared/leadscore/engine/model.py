"""What the engine answers: a lead's score with its explanation, signals for sales, an account roll-up."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

SignalKind = Literal["band_entered", "fast_track", "sharp_rise", "disqualified", "reminder"]


class ExplanationItem(BaseModel):
    """One rule's share of the score: ``points`` now, ``earned`` before decay, ``decayed`` the difference."""

    model_config = ConfigDict(frozen=True)

    rule: str
    description: str
    group: str
    dimension: Literal["fit", "engagement"]
    points: float
    earned: float
    decayed: float
    count: int
    last_at: datetime | None = None


class LeadScore(BaseModel):
    """A lead's score at ``as_of``: ``score == fit + engagement == sum of the explanation's points``."""

    lead_id: str
    account_id: str | None
    score: float
    fit: float
    engagement: float
    band: str
    stage: str
    grade: str
    disqualified: bool
    disqualification_reasons: list[str] = Field(default_factory=list)
    fast_track_reasons: list[str] = Field(default_factory=list)
    explanation: list[ExplanationItem]
    profile: dict[str, Any] = Field(default_factory=dict)
    first_seen: datetime | None = None
    last_activity: datetime | None = None
    rules_version: str
    as_of: datetime


class Signal(BaseModel):
    """Something sales should hear about, raised once by the evaluation that caused it."""

    model_config = ConfigDict(frozen=True)

    @staticmethod
    def id_for(lead_id: str, kind: SignalKind, at: datetime) -> str:
        """Deterministic: the same evaluation raises the same id, so an alert is sent once."""
        return f"{lead_id}:{kind}:{int(at.timestamp())}"

    id: str
    kind: SignalKind
    at: datetime
    band: str
    points: float | None = None
    reasons: list[str] = Field(default_factory=list)


class AccountMember(BaseModel):
    lead_id: str
    score: float
    fit: float
    engagement: float
    band: str
    grade: str


class AccountScore(BaseModel):
    """An account's roll-up: the sum of its best people's scores and how many of them are engaged."""

    account_id: str
    score: float
    band: str
    people: int
    engaged_people: int
    members: list[AccountMember]
    rules_version: str
    as_of: datetime
