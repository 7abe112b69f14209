"""Turning the signals a write raised into alerts for sales, each sent once, with its reasons."""

from __future__ import annotations

from leadscore.engine import LeadScore, score_lead
from leadscore.ports import AlertPublisher
from leadscore.records import Alert, LeadRecord
from leadscore.rules import RuleSet

TOP_RULES = 5
SNS_SUBJECT_LIMIT = 100

_HEADLINES = {
    "band_entered": "{lead} is now {band}",
    "fast_track": "Fast-track: {lead} wants to talk to sales",
    "sharp_rise": "Sharp rise: {lead} gained {points:g} points",
    "disqualified": "{lead} was disqualified",
}


def new_alerts(rules: RuleSet, before: LeadRecord | None, after: LeadRecord) -> list[Alert]:
    """Alerts for the signals new in ``after``: a redelivered stream record sends none."""
    already_sent = {signal.id for signal in before.signals} if before else set()
    fresh = [signal for signal in after.signals if signal.id not in already_sent]
    if not fresh:
        return []
    alerts = []
    for signal in fresh:
        score = score_lead(rules, after.state, signal.at)
        top = sorted(score.explanation, key=lambda item: abs(item.points), reverse=True)[:TOP_RULES]
        headline = _HEADLINES.get(signal.kind, "{lead}: " + signal.kind).format(
            lead=after.lead_id, band=signal.band, points=signal.points or 0
        )
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
                rules_version=score.rules_version,
                subject=printable(f"[leadscore] {headline} (score {score.score:g}, {score.grade})")[
                    :SNS_SUBJECT_LIMIT
                ],
                signal_id=signal.id,
                country=_text(score.profile.get("country")),
                region=_text(score.profile.get("region")),
                owner=_text(score.profile.get("owner")),
                rule=_rule_that_fired(signal.kind, after, score),
            )
        )
    return alerts


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


def _text(value: object) -> str | None:
    """A trait as an attribute value: text, printable, at most 256 characters, or nothing."""
    if isinstance(value, str) and (cleaned := printable(value).strip()[:256]):
        return cleaned
    return None


def printable(text: str) -> str:
    """Without control characters (an SNS subject refuses them, a mail header must not hold them)."""
    return "".join(character if character.isprintable() else " " for character in text)


def publish_new_alerts(
    rules: RuleSet, before: LeadRecord | None, after: LeadRecord, publisher: AlertPublisher
) -> list[Alert]:
    """Publish what a write newly raised; returns what was published."""
    alerts = new_alerts(rules, before, after)
    for alert in alerts:
        publisher.publish(alert)
    return alerts


def email_text(alert: Alert) -> str:
    """The plain-text body an e-mail subscriber reads."""
    lines = [
        alert.subject.removeprefix("[leadscore] "),
        "",
        f"Lead:       {alert.lead_id}" + (f" (account {alert.account_id})" if alert.account_id else ""),
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
        f"Rules version {alert.rules_version}; signal {alert.signal_id}.",
    ]
    return "\n".join(lines) + "\n"
