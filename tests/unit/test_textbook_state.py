"""The textbook scorer (bench/textbook/) keeps a lead's whole state as JSON: the engine's caches stay out
of it and the state reads back as it was (a silent failure there would bill the textbook for nothing)."""

from __future__ import annotations

from datetime import UTC, datetime

from bench.textbook.handler import NOT_STATE, STATE
from leadscore.engine import evaluate
from leadscore.events import Event
from leadscore.rules import DEFAULT_RULES_FILE, load_rules

RULES = load_rules(DEFAULT_RULES_FILE)


def test_the_textbook_keeps_the_state_without_the_engines_caches() -> None:
    at = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
    events = [
        Event(message_id="demo", lead_id="kim", kind="track", name="Demo Requested", timestamp=at),
        Event(message_id="page", lead_id="kim", kind="page", properties={"path": "/pricing"}, timestamp=at),
    ]
    evaluation = evaluate(RULES, None, events, at)
    evaluation.next_band_change()  # lays the facts out: the caches are filled
    stored = STATE.dump_json(evaluation.state, exclude=NOT_STATE)
    assert b"reading_cache" not in stored
    assert STATE.validate_json(stored) == evaluation.state
