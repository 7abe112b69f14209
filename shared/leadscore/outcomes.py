"""Recording what became of a lead (converted or lost), for calibration and learning."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from leadscore.lookup import person
from leadscore.ports import LeadRepository
from leadscore.records import Outcome
from leadscore.segment import EARLIEST, InvalidMessage


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
    at = request.at or now
    if not EARLIEST <= at <= now:
        raise InvalidMessage("at", f"must be between {EARLIEST:%Y-%m-%d} and now")
    outcome = Outcome(outcome=request.outcome, value=request.value, at=at)
    kept = repository.record_outcome(lead.lead_id, outcome)
    return RecordedOutcome(lead_id=lead.lead_id, kept=kept, **outcome.model_dump())
