"""Answering sales' questions: a lead's score and why, an account's roll-up, both as of now."""

from __future__ import annotations

from datetime import datetime

from leadscore.engine import AccountScore, LeadScore, score_account, score_lead
from leadscore.errors import NotFound
from leadscore.identity import MAX_HOPS
from leadscore.ports import LeadRepository
from leadscore.records import LeadRecord, MergedLead
from leadscore.rules import RuleSet
from leadscore.segment import normalised_id


def lead_score(repository: LeadRepository, rules: RuleSet, lead_id: str, at: datetime) -> LeadScore:
    """The lead's score at ``at`` with its explanation; decay applies without any job having run.

    An id merged into another (an anonymous visitor who identified) answers the person's score.
    """
    return score_lead(rules, person(repository, lead_id).state, at)


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
