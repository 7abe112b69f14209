"""The pure scoring engine on the reference workload, one core: ``evaluate``, and the score path in CPU.

The score path is what the score function does per lead per batch without its AWS calls: decode the
stored item, evaluate the lead's events, find the next band change, encode the new item.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable
from datetime import datetime, timedelta

from bench.workload import arrival, reference_workload
from leadscore.adapters.dynamodb import item_to_record, record_to_item
from leadscore.engine import LeadState, evaluate
from leadscore.events import Event
from leadscore.rules import DEFAULT_RULES_FILE, load_rules
from leadscore.scoring import evaluated_record
from leadscore.segment import accept_message

BATCH = 100
TARGET_EVALUATE = 100_000
TARGET_SCORE_PATH = 20_000
REPEATS = 3


def batches(messages: list[dict[str, object]]) -> list[tuple[datetime, dict[str, list[Event]]]]:
    """Batches of BATCH events in arrival order, each grouped by lead, with the moment it is scored."""
    out = []
    for start in range(0, len(messages), BATCH):
        chunk = messages[start : start + BATCH]
        by_lead: dict[str, list[Event]] = defaultdict(list)
        for message in chunk:
            event = accept_message(message, arrival(message)).event
            by_lead[event.lead_id].append(event)
        out.append((arrival(chunk[-1]) + timedelta(seconds=1), dict(by_lead)))
    return out


def best_seconds(run: Callable[[], None]) -> float:
    best = float("inf")
    for _ in range(REPEATS):
        started = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - started)
    return best


def run() -> None:
    rules = load_rules(DEFAULT_RULES_FILE)
    workload = reference_workload()
    first, second = batches(workload.new_leads), batches(workload.known_leads)
    events = len(workload.new_leads) + len(workload.known_leads)

    def evaluate_all() -> None:
        states: dict[str, LeadState] = {}
        for now, by_lead in first + second:
            for lead_id, lead_events in by_lead.items():
                states[lead_id] = evaluate(rules, states.get(lead_id), lead_events, now).state

    def score_path() -> None:
        items: dict[str, dict[str, object]] = {}
        for now, by_lead in first + second:
            for lead_id, lead_events in by_lead.items():
                stored = items.get(lead_id)
                record = item_to_record(stored) if stored is not None else None  # type: ignore[arg-type]
                items[lead_id] = record_to_item(evaluated_record(lead_id, record, lead_events, rules, now))

    evaluate_rate = events / best_seconds(evaluate_all)
    path_rate = events / best_seconds(score_path)
    print(f"engine on the reference workload ({events:,} events, batches of {BATCH}, one core)")
    print(_line("evaluate", evaluate_rate, TARGET_EVALUATE))
    print(_line("score path in CPU", path_rate, TARGET_SCORE_PATH))
    print(f"  (best of {REPEATS}; score path: decode item, evaluate, next band change, encode item, no AWS)")


def _line(name: str, rate: float, target: int) -> str:
    verdict = "meets" if rate >= target else "MISSES"
    return f"  {name:<20} {rate:>9,.0f} events/s   target {target:,}: {verdict}"


if __name__ == "__main__":
    run()
