"""Answering sales' questions: a lead's score and why, an account's roll-up, both as of now."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from leadscore.alerts import recent_activity
from leadscore.engine import (
    AccountScore,
    ExplanationItem,
    LeadScore,
    score_account,
    score_lead,
    turned_hot_at,
)
from leadscore.engine.state import moment
from leadscore.errors import NotFound
from leadscore.identity import MAX_HOPS
from leadscore.ports import LeadRepository
from leadscore.records import FollowUp, LeadRecord, MergedLead, Outcome
from leadscore.rules import RuleSet
from leadscore.segment import normalised_id


class LeadView(LeadScore):
    """A lead's score with what sales recorded on it and what it did lately."""

    follow_up: FollowUp | None = None
    outcome: Outcome | None = None
    waiting_since: datetime | None = Field(
        default=None,
        description="When the lead turned hot or was fast-tracked, if no follow-up was recorded since",
    )
    recent_activity: list[ExplanationItem] = Field(
        default_factory=list, description="The engagement rules it hit most recently, latest first"
    )


def lead_view(repository: LeadRepository, rules: RuleSet, lead_id: str, at: datetime) -> LeadView:
    """The lead's score at ``at`` with its explanation (decay applies without any job having run), its
    follow-up and outcome, and how long it has waited for sales. An id merged into another (an
    anonymous visitor who identified) answers the person."""
    lead = person(repository, lead_id)
    score = score_lead(rules, lead.state, at)
    follow_up = repository.follow_up_of(lead.lead_id)
    return LeadView(
        **score.model_dump(),
        follow_up=follow_up,
        outcome=repository.outcome_of(lead.lead_id),
        waiting_since=waiting_since(turned_hot(rules, lead, score.band), follow_up),
        recent_activity=recent_activity(score),
    )


def turned_hot(rules: RuleSet, lead: LeadRecord, band: str) -> datetime | None:
    """When a lead in an alerting ``band`` last entered it or was fast-tracked."""
    turned = turned_hot_at(rules, lead.state, band)
    return moment(turned) if turned is not None else None


def waiting_since(turned: datetime | None, follow_up: FollowUp | None) -> datetime | None:
    """When the lead turned hot, if no follow-up was recorded since."""
    if turned is None or (follow_up is not None and follow_up.at >= turned):
        return None
    return turned


def person(repository: LeadRepository, lead_id: str) -> LeadRecord:
    """The lead an id names (an e-mail in any case), following merges (an anonymous id names the person
    it became)."""
    stored = repository.read(normalised_id(lead_id))
    for _ in range(MAX_HOPS):
        if not isinstance(stored, MergedLead):
            break
        stored = repository.read(stored.into)
    if not isinstance(stored, LeadRecord):
        raise NotFound(f"no lead {lead_id!r} has been seen")
    return stored


def account_score(repository: LeadRepository, rules: RuleSet, account_id: str, at: datetime) -> AccountScore:
    members = repository.leads_of_account(account_id)
    if not members:
        raise NotFound(f"no account {account_id!r} has been seen")
    return score_account(rules, account_id, [score_lead(rules, member.state, at) for member in members])
