"""Which triggers an event meets: remembered per kind, name and page, never across different pages."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from leadscore.engine.matching import ENGAGEMENT, triggers_of
from leadscore.events import Event
from leadscore.rules import DEFAULT_RULES_FILE, load_rules
from leadscore.rules.conditions import Facts

RULES = load_rules(DEFAULT_RULES_FILE)
AT = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def page(path: Any, number: int = 0) -> Event:
    return Event(message_id=f"m{number}", lead_id="kim", kind="page", properties={"path": path}, timestamp=AT)


def engagement_rules_met(event: Event) -> set[str]:
    """The engagement triggers known to hold for the event, or to test (all of them hold here)."""
    return {
        trigger.rule_id
        for purpose, trigger, known in triggers_of(RULES).candidates(event)
        if purpose == ENGAGEMENT and (known or trigger.on_event.holds(Facts({}, "missing", event=event)))
    }


def test_each_page_meets_its_own_rules_however_often_it_is_seen() -> None:
    for _ in range(2):  # the second round reads what the first remembered
        assert engagement_rules_met(page("/pricing/teams")) == {"pricing-page", "pricing-page-repeated"}
        assert engagement_rules_met(page("/careers/engineer")) == {"careers-page"}
        assert engagement_rules_met(page("/blog/post")) == set()


def test_a_page_that_is_not_text_is_tested_and_not_remembered() -> None:
    remembered = len(triggers_of(RULES).known)
    engagement_rules_met(page(1234))
    assert len(triggers_of(RULES).known) == remembered
