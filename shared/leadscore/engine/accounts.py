"""Account roll-up: leads of one company scored together, so sales sees buying committees, not people."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from leadscore.engine.model import AccountMember, AccountScore, LeadScore
from leadscore.rules import DISQUALIFIED, RuleSet


def is_engaged(rules: RuleSet, member: LeadScore | AccountMember) -> bool:
    """Counts among an account's engaged people: enough engagement, and not disqualified."""
    return member.band != DISQUALIFIED and member.engagement >= rules.file.accounts.engaged_at_least


def score_account(
    rules: RuleSet, account_id: str, members: Sequence[LeadScore], at: datetime | None = None
) -> AccountScore:
    """Sum of the best ``top_leads`` positive scores; disqualified people neither add nor count as engaged."""
    settings = rules.file.accounts
    ranked = sorted(members, key=lambda member: (-member.score, member.lead_id))
    counted = [member for member in ranked if member.band != DISQUALIFIED and member.score > 0]
    total = round(sum(member.score for member in counted[: settings.top_leads]), 2)
    band = [account_band.name for account_band in settings.bands if total >= account_band.at_least]
    return AccountScore(
        account_id=account_id,
        score=total,
        band=band[-1] if band else settings.bands[0].name,
        people=len(members),
        engaged_people=sum(1 for member in members if is_engaged(rules, member)),
        members=[
            AccountMember(
                lead_id=member.lead_id,
                score=member.score,
                fit=member.fit,
                engagement=member.engagement,
                band=member.band,
                grade=member.grade,
            )
            for member in ranked
        ],
        rules_version=rules.version,
        as_of=at or max((member.as_of for member in members), default=datetime.now().astimezone()),
    )
