"""Turning the signals a write raised into alerts for sales, each sent once, with its reasons."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any
from urllib.parse import quote

from leadscore.engine import AccountMember, ExplanationItem, LeadScore, score_account, score_lead
from leadscore.engine.accounts import is_engaged
from leadscore.ports import UNCOUNTED, AlertPublisher, Counter
from leadscore.records import Alert, LeadRecord
from leadscore.resources import ALERTS_PUBLISHED
from leadscore.rules import RuleSet

TOP_RULES = 5
SNS_SUBJECT_LIMIT = 100

# Short: the subject also carries the score, the grade and the strongest reason.
_HEADLINES = {
    "band_entered": "Now {band}: {lead}",
    "fast_track": "Fast-track: {lead}",
    "sharp_rise": "Sharp rise (+{points:g}): {lead}",
    "disqualified": "Disqualified: {lead}",
    "reminder": "Still no follow-up: {lead}",
}
RECENT_ACTIVITIES = 5
COLLEAGUES = 5

AccountMembers = Callable[[str], Sequence[LeadRecord]]
"""The leads of an account (the repository's ``leads_of_account``)."""


def new_alerts(
    rules: RuleSet,
    before: LeadRecord | None,
    after: LeadRecord,
    members_of: AccountMembers | None = None,
) -> list[Alert]:
    """Alerts for the signals new in ``after``: a redelivered stream record sends none. With
    ``members_of``, each names the account's other engaged people."""
    already_sent = {signal.id for signal in before.signals} if before else set()
    fresh = [signal for signal in after.signals if signal.id not in already_sent]
    if not fresh:
        return []
    alerts = []
    for signal in fresh:
        score = score_lead(rules, after.state, signal.at)
        colleagues = _colleagues(rules, after.lead_id, score, members_of, signal.at)
        top = sorted(score.explanation, key=lambda item: abs(item.points), reverse=True)[:TOP_RULES]
        name, company = display_name(score.profile), trait_text(score.profile.get("company"))
        who = name or after.lead_id
        headline = _HEADLINES.get(signal.kind, "{lead}: " + signal.kind).format(
            lead=f"{who} ({company})" if company else who, band=signal.band, points=signal.points or 0
        )
        strongest = f": {top[0].description}" if top and top[0].points > 0 else ""
        link = rules.file.alerts.link
        alerts.append(
            Alert(
                kind=signal.kind,
                lead_id=after.lead_id,
                account_id=score.account_id,
                band=score.band,
                stage=score.stage,
                grade=score.grade,
                score=score.score,
                fit=score.fit,
                engagement=score.engagement,
                at=signal.at,
                reasons=signal.reasons,
                top_rules=top,
                recent_activity=recent_activity(score),
                colleagues=colleagues,
                rules_version=score.rules_version,
                subject=_subject(f"[leadscore] {headline}, score {score.score:g} {score.grade}", strongest),
                signal_id=signal.id,
                country=trait_text(score.profile.get("country")),
                region=trait_text(score.profile.get("region")),
                owner=trait_text(score.profile.get("owner")),
                rule=_rule_that_fired(signal.kind, after, score),
                name=name,
                company=company,
                link=link.format(lead_id=quote(after.lead_id), account_id=quote(score.account_id or ""))
                if link
                else None,
            )
        )
    return alerts


def _subject(head: str, strongest: str) -> str:
    """Who, the company, score and grade, then the strongest reason, within SNS's 100 characters."""
    subject = printable(head + strongest)
    return subject if len(subject) <= SNS_SUBJECT_LIMIT else subject[: SNS_SUBJECT_LIMIT - 1] + "…"


def _colleagues(
    rules: RuleSet, lead_id: str, score: LeadScore, members_of: AccountMembers | None, at: datetime
) -> list[AccountMember]:
    """The account's other engaged people as of the alert, best first (the buying committee)."""
    if members_of is None or score.account_id is None:
        return []
    others = [member for member in members_of(score.account_id) if member.lead_id != lead_id]
    if not others:
        return []
    account = score_account(
        rules, score.account_id, [score_lead(rules, lead.state, at) for lead in others], at
    )
    return [member for member in account.members if is_engaged(rules, member)][:COLLEAGUES]


def recent_activity(score: LeadScore) -> list[ExplanationItem]:
    """The engagement rules most recently hit, latest first: what the lead did lately."""
    done = [item for item in score.explanation if item.dimension == "engagement" and item.last_at]
    return sorted(done, key=lambda item: (item.last_at, item.rule), reverse=True)[:RECENT_ACTIVITIES]


def display_name(profile: Mapping[str, Any]) -> str | None:
    name = trait_text(profile.get("name"))
    if name:
        return name
    parts = [
        trait_text(profile.get(key) or profile.get(alias))
        for key, alias in (("first_name", "firstName"), ("last_name", "lastName"))
    ]
    return " ".join(part for part in parts if part) or None


def _rule_that_fired(kind: str, lead: LeadRecord, score: LeadScore) -> str | None:
    """The fast-track or disqualifier behind the signal, else the rule of the lead's latest activity
    (the most points among rules last hit at the same time)."""
    flags = {"fast_track": lead.state.fast_tracked, "disqualified": lead.state.disqualified}.get(kind)
    if flags:
        latest = max(flags.values()) if kind == "fast_track" else min(flags.values())
        return min(rule for rule, time in flags.items() if time == latest)
    hits = [item for item in score.explanation if item.last_at is not None and item.points]
    if not hits:
        return None
    return max(hits, key=lambda item: (item.last_at, abs(item.points), item.rule)).rule


def trait_text(value: object) -> str | None:
    """A trait as an attribute value: text, printable, at most 256 characters, or nothing."""
    if isinstance(value, str) and (cleaned := printable(value).strip()[:256]):
        return cleaned
    return None


def printable(text: str) -> str:
    """Without control characters (an SNS subject refuses them, a mail header must not hold them)."""
    return "".join(character if character.isprintable() else " " for character in text)


class RecentlySent:
    """The signal ids published lately (at most ``limit``, the oldest forgotten first).

    A stream record whose second alert fails is retried whole; this keeps its first alert from being
    sent again when the retry runs in the same execution environment (Lambda retries a shard's batch
    right away, as a rule in the same one).
    """

    def __init__(self, limit: int = 10_000) -> None:
        self._limit = limit
        self._sent: OrderedDict[str, None] = OrderedDict()

    def __contains__(self, signal_id: object) -> bool:
        return signal_id in self._sent

    def add(self, signal_id: str) -> None:
        self._sent[signal_id] = None
        if len(self._sent) > self._limit:
            self._sent.popitem(last=False)


def publish_new_alerts(
    rules: RuleSet,
    before: LeadRecord | None,
    after: LeadRecord,
    publisher: AlertPublisher,
    members_of: AccountMembers | None = None,
    *,
    counter: Counter = UNCOUNTED,
    sent: RecentlySent | None = None,
) -> list[Alert]:
    """Publish what a write newly raised (less what ``sent`` holds); returns what was published."""
    published = []
    for alert in new_alerts(rules, before, after, members_of):
        if sent is not None and alert.signal_id in sent:
            continue
        publisher.publish(alert)
        if sent is not None:
            sent.add(alert.signal_id)
        counter.count(ALERTS_PUBLISHED, of=alert.kind)
        published.append(alert)
    return published


def email_text(alert: Alert) -> str:
    """The plain-text body an e-mail subscriber reads."""
    lines = [
        alert.subject.removeprefix("[leadscore] "),
        "",
        f"Lead:       {alert.name + ', ' if alert.name else ''}{alert.lead_id}"
        + (f" ({alert.company})" if alert.company else "")
        + (f", account {alert.account_id}" if alert.account_id else ""),
        f"Score:      {alert.score:g}  (fit {alert.fit:g}, engagement {alert.engagement:g})",
        f"Band:       {alert.band}   Stage: {alert.stage}   Grade: {alert.grade}",
        f"When:       {alert.at.isoformat(timespec='seconds')}",
        "",
        "Why:",
        *(f"  - {reason}" for reason in alert.reasons),
        "",
        "Top rules behind the score:",
        *(
            f"  {item.points:+g}  {item.rule}  ({item.count}x"
            + (f", last {item.last_at.date().isoformat()}" if item.last_at else "")
            + ")"
            for item in alert.top_rules
        ),
        "",
        "Latest activity:",
        *(
            f"  {item.last_at:%Y-%m-%d %H:%M}  {item.description}"
            for item in alert.recent_activity
            if item.last_at is not None
        ),
        "",
        *(
            [
                "Others engaged at the account:",
                *(
                    f"  {member.lead_id}  score {member.score:g} ({member.band}, {member.grade})"
                    for member in alert.colleagues
                ),
                "",
            ]
            if alert.colleagues
            else []
        ),
        *([f"Open: {alert.link}", ""] if alert.link else []),
        f"Rules version {alert.rules_version}; signal {alert.signal_id}.",
    ]
    return "\n".join(lines) + "\n"
