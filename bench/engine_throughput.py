"""The pure scoring engine: events per second through ``evaluate``, and score reads per second."""

from __future__ import annotations

import time
from collections import defaultdict
from datetime import UTC, datetime

from bench.traffic import messages
from leadscore.engine import evaluate, next_band_change_at, score_lead
from leadscore.events import Event
from leadscore.rules import DEFAULT_RULES_FILE, load_rules
from leadscore.segment import parse_message


def run(leads: int, events_per_lead: int) -> None:
    rules = load_rules(DEFAULT_RULES_FILE)
    now = datetime.now(UTC)
    events = [parse_message(m, now, call=m["type"]) for m in messages(leads, events_per_lead, now=now)]
    by_lead: dict[str, list[Event]] = defaultdict(list)
    for event in events:
        by_lead[event.lead_id].append(event)

    started = time.perf_counter()
    states = {}
    for lead_id, lead_events in by_lead.items():
        # Ten events at a time per lead, as SQS batches deliver them.
        state = None
        for start in range(0, len(lead_events), 10):
            state = evaluate(rules, state, lead_events[start : start + 10], now).state
        states[lead_id] = state
    elapsed = time.perf_counter() - started

    started = time.perf_counter()
    for state in states.values():
        assert state is not None
        score_lead(rules, state, now)
    read_elapsed = time.perf_counter() - started

    started = time.perf_counter()
    for state in states.values():
        assert state is not None
        next_band_change_at(rules, state, now)
    due_elapsed = time.perf_counter() - started

    print("engine (pure Python, one core)")
    print(f"  events scored:       {len(events)} for {len(by_lead)} leads")
    print(f"  evaluate:            {len(events) / elapsed:,.0f} events/s")
    print(f"  score_lead (reads):  {len(states) / read_elapsed:,.0f} leads/s")
    print(f"  next band change:    {len(states) / due_elapsed:,.0f} leads/s (once per lead per write)")
