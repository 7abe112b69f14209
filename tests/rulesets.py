"""A small rule file with round numbers, so engine tests can state exact scores."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from leadscore.events import Event
from leadscore.rules import RuleSet, parse_rules

SMALL_RULES = """
email:
  competitors: [rival.com]
groups:
  fit: {dimension: fit}
  engagement: {dimension: engagement, half_life_days: 10}
  email: {dimension: engagement, expires_after_days: 30}
  steady: {dimension: engagement}
fit:
  - id: senior
    points: 20
    when: {traits: {title: {matches: '\\b(vp|director)\\b'}}}
  - id: business-email
    points: 10
    when: {email: business}
  - id: free-email
    points: -5
    when: {email: free}
engagement:
  - id: pricing
    points: 10
    when: {page: '/pricing*'}
    limit: {times: 1, per: day}
  - id: pricing-again
    points: 15
    when: {page: '/pricing*'}
    repeat: {at_least: 3, within_days: 7}
  - id: demo
    group: steady
    points: 50
    when: {event: Demo Requested}
    limit: once
  - id: download
    group: steady
    points: 8
    when: {event: Whitepaper Downloaded}
    limit: {points: 20, per: week}
  - id: click
    group: email
    points: 5
    when: {event: Email Link Clicked}
  - id: careers
    group: steady
    points: -10
    when: {page: '/careers*'}
  - id: big-download
    group: steady
    points: 3
    when:
      event: Report Downloaded
      properties: {pages: {at_least: 100}, format.kind: pdf}
disqualifiers:
  - id: competitor
    reason: Works for a competitor
    when: {email: competitor}
  - id: job-seeker
    reason: Applied for a job
    when: {event: Job Application Submitted}
fast_track:
  - id: quote
    reason: Asked for a quote
    when: {event: Quote Requested, fit_at_least: 20}
    hold_days: 7
bands:
  - {name: cold}
  - {name: warm, enter: 40, exit: 30}
  - {name: hot, enter: 80, exit: 70, alert: true}
stages:
  mql: {band: hot}
  sql: {when: {event: Sales Accepted}}
  recycle: {below: warm}
grade:
  fit: {A: 30, B: 20, C: 10}
  engagement: {1: 60, 2: 30, 3: 10}
sharp_rise: {points: 60, within_hours: 24}
accounts:
  top_leads: 2
  engaged_at_least: 10
  bands:
    - {name: quiet, at_least: 0}
    - {name: active, at_least: 100}
"""

START = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)  # a Monday


def small_rules(**replacements: str) -> RuleSet:
    text = SMALL_RULES
    for old, new in replacements.items():
        text = text.replace(old, new)
    return parse_rules(text, "small.yaml")


class Events:
    """Builds events for one lead with unique message ids."""

    def __init__(self, lead_id: str = "ann@acme.com") -> None:
        self.lead_id = lead_id
        self._count = 0

    def _next_id(self) -> str:
        self._count += 1
        return f"{self.lead_id}-{self._count}"

    def identify(self, at: datetime = START, **traits: Any) -> Event:
        traits.setdefault("email", self.lead_id)
        return Event(
            message_id=self._next_id(), lead_id=self.lead_id, kind="identify", traits=traits, timestamp=at
        )

    def page(self, path: str, at: datetime = START) -> Event:
        return Event(
            message_id=self._next_id(),
            lead_id=self.lead_id,
            kind="page",
            properties={"path": path},
            timestamp=at,
        )

    def track(self, name: str, at: datetime = START, **properties: Any) -> Event:
        return Event(
            message_id=self._next_id(),
            lead_id=self.lead_id,
            kind="track",
            name=name,
            properties=properties,
            timestamp=at,
        )

    def group(self, group_id: str, at: datetime = START, **traits: Any) -> Event:
        return Event(
            message_id=self._next_id(),
            lead_id=self.lead_id,
            kind="group",
            group_id=group_id,
            traits=traits,
            timestamp=at,
        )


def days(count: float) -> timedelta:
    return timedelta(days=count)
