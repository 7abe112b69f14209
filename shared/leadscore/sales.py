"""What sales record on a lead: that they followed it up, and what became of it (for calibration and
learning). Each is kept beside the lead, the latest winning, so re-scoring never touches them."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from leadscore.lookup import person
from leadscore.ports import LeadRepository
from leadscore.records import FollowUp, Outcome
from leadscore.segment import EARLIEST, InvalidMessage, has_control_characters


class OutcomeRequest(BaseModel):
    """``POST /v1/leads/{id}/outcome``: ``at`` defaults to now."""

    model_config = ConfigDict(extra="forbid")

    outcome: Literal["converted", "lost"]
    value: float | None = Field(default=None, ge=0, le=1e12, description="What the deal was worth")
    at: AwareDatetime | None = None


class RecordedOutcome(BaseModel):
    lead_id: str
    outcome: Literal["converted", "lost"]
    value: float | None
    at: datetime
    kept: bool = Field(description="False when a later outcome was already recorded (it stays)")


def record_outcome(
    repository: LeadRepository, lead_id: str, request: OutcomeRequest, now: datetime
) -> RecordedOutcome:
    """Keep the outcome on the lead the id names (an anonymous id: its person); a later one wins."""
    lead = person(repository, lead_id)
    outcome = Outcome(outcome=request.outcome, value=request.value, at=_when(request.at, now))
    kept = repository.record_outcome(lead.lead_id, outcome)
    return RecordedOutcome(lead_id=lead.lead_id, kept=kept, **outcome.model_dump())


class FollowUpRequest(BaseModel):
    """``POST /v1/leads/{id}/status``: who followed the lead up, how; ``at`` defaults to now."""

    model_config = ConfigDict(extra="forbid")

    status: Literal["contacted", "meeting_booked", "disqualified"]
    by: str = Field(min_length=1, max_length=200, description="Who followed up (a name or e-mail)")
    at: AwareDatetime | None = None


class RecordedFollowUp(BaseModel):
    lead_id: str
    status: Literal["contacted", "meeting_booked", "disqualified"]
    by: str
    at: datetime
    kept: bool = Field(description="False when a later follow-up was already recorded (it stays)")


def record_follow_up(
    repository: LeadRepository, lead_id: str, request: FollowUpRequest, now: datetime
) -> RecordedFollowUp:
    """Keep the follow-up on the lead the id names; a later one wins."""
    if has_control_characters(request.by):
        raise InvalidMessage("by", "must not contain control characters")
    lead = person(repository, lead_id)
    follow_up = FollowUp(status=request.status, by=request.by.strip(), at=_when(request.at, now))
    kept = repository.record_follow_up(lead.lead_id, follow_up)
    return RecordedFollowUp(lead_id=lead.lead_id, kept=kept, **follow_up.model_dump())


def _when(at: datetime | None, now: datetime) -> datetime:
    """``at`` as given (no later than now, no earlier than 2000), else now; to the second, as stored."""
    moment = at or now
    if not EARLIEST <= moment <= now:
        raise InvalidMessage("at", f"must be between {EARLIEST:%Y-%m-%d} and now")
    return moment.replace(microsecond=0)
