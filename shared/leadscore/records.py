"""What the service stores per lead and what it sends to sales, independent of how AWS holds them."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from leadscore.engine import AccountMember, ExplanationItem, LeadScore, LeadState, Signal


class LeadSummary(BaseModel):
    """The scored figures kept beside the state, so listings need no rule evaluation."""

    model_config = ConfigDict(frozen=True)

    score: float
    fit: float
    engagement: float
    band: str
    stage: str
    grade: str
    rules_version: str
    as_of: datetime

    @classmethod
    def of(cls, score: LeadScore) -> LeadSummary:
        """Stored to the second, as the engine reads time."""
        return cls(
            score=score.score,
            fit=score.fit,
            engagement=score.engagement,
            band=score.band,
            stage=score.stage,
            grade=score.grade,
            rules_version=score.rules_version,
            as_of=score.as_of.replace(microsecond=0),
        )


class LeadRecord(BaseModel):
    """One lead as stored: the engine's state, its last summary, and the signals its last write raised.

    ``version`` counts writes and guards them: a write succeeds only if nobody wrote in between.
    ``decay_due_at`` is when the decay job should look again: never later than the next band change or
    reminder, and possibly earlier (an early look costs a visit; moving it on every write would cost index
    writes). ``listed``: the lead sits above the lowest band, where sales' lists find it.
    ``correlation_id``: the request (or decay run) behind the last write, so notify's logs name it.
    ``kept``: sales recorded a follow-up or an outcome on it, so retention never expires it.
    """

    lead_id: str
    version: int = 0
    state: LeadState
    summary: LeadSummary
    signals: list[Signal] = Field(default_factory=list)
    decay_due_at: datetime | None = None
    listed: bool = False
    correlation_id: str | None = None
    kept: bool = False


class Outcome(BaseModel):
    """What became of a lead, as sales or the CRM reports it: kept beside the lead (never inside its
    scored state), so re-scoring never touches it; calibration and learning read it."""

    model_config = ConfigDict(frozen=True)

    outcome: Literal["converted", "lost"]
    value: float | None = Field(default=None, ge=0, le=1e12)
    at: datetime


class FollowUp(BaseModel):
    """That sales followed a lead up: the latest word is kept beside the lead, like its outcome."""

    model_config = ConfigDict(frozen=True)

    status: Literal["contacted", "meeting_booked", "disqualified"]
    by: str = Field(min_length=1, max_length=200)
    at: datetime


class MergedLead(BaseModel):
    """An id whose activity now belongs to another lead (an anonymous visitor who identified, or an id
    aliased away): messages for it are scored on ``into``, and look-ups answer ``into``'s score."""

    model_config = ConfigDict(frozen=True)

    lead_id: str
    version: int = 0
    into: str


class ErasedLead(BaseModel):
    """An id erased on request (on the suppression list): nothing may score it, nothing answers it."""

    model_config = ConfigDict(frozen=True)

    lead_id: str


StoredItem = LeadRecord | MergedLead | ErasedLead


class Alert(BaseModel):
    """A message to sales: which lead, what happened, and why (the rules behind the points)."""

    kind: str
    lead_id: str
    account_id: str | None
    band: str
    stage: str
    grade: str
    score: float
    fit: float
    engagement: float
    at: datetime
    reasons: list[str]
    top_rules: list[ExplanationItem]
    recent_activity: list[ExplanationItem] = Field(default_factory=list)
    # The account's other engaged people, best first.
    colleagues: list[AccountMember] = Field(default_factory=list)
    rules_version: str
    subject: str
    signal_id: str
    # What a team filters on (SNS message attributes): the lead's own say, when it gave one.
    country: str | None = None
    region: str | None = None
    owner: str | None = None
    rule: str | None = None
    name: str | None = None
    company: str | None = None
    link: str | None = None
