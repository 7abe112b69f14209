"""The stored form of a lead's state: compact, and readable whatever format wrote it."""

from __future__ import annotations

from datetime import timedelta

import pytest

from leadscore.engine import LeadState, decode_state, encode_state, evaluate
from leadscore.events import Event
from leadscore.rules import DEFAULT_RULES_FILE, load_rules
from tests.rulesets import START

RULES = load_rules(DEFAULT_RULES_FILE)
LEAD = "kim@acme-robotics.com"


def a_state() -> LeadState:
    events = [
        Event(
            message_id="identify",
            lead_id=LEAD,
            kind="identify",
            traits={"email": LEAD, "title": "VP Engineering", "employees": 420},
            timestamp=START,
        ),
        Event(
            message_id="pricing",
            lead_id=LEAD,
            kind="page",
            properties={"path": "/pricing"},
            timestamp=START + timedelta(minutes=1),
        ),
        Event(
            message_id="demo",
            lead_id=LEAD,
            kind="track",
            name="Demo Requested",
            timestamp=START + timedelta(minutes=2),
        ),
    ]
    return evaluate(RULES, None, events, START + timedelta(minutes=3)).state


def test_a_state_comes_back_as_it_was_stored() -> None:
    state = a_state()
    assert decode_state(encode_state(state), LEAD, state.account_id) == state


def test_an_unknown_format_is_refused() -> None:
    blob = encode_state(a_state())
    with pytest.raises(ValueError, match="unknown state format"):
        decode_state(bytes([99]) + blob[1:], LEAD, None)
