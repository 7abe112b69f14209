"""What one decay run costs as the table grows: the same due leads in a 10x larger table.

Seeds tables of 10,000 and 100,000 leads on moto (1% due for decay, 9% indexed with a later due time,
the rest cold and out of the decay index), then meters one decay run: requests, items read, read and
write units. Twice: with the same 100 due leads in both tables (the cost must not grow with the table),
and with 1% due in each (the cost per due lead must not grow either).
"""

from __future__ import annotations

import argparse
import os
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
from moto import mock_aws

from bench.meter import Meter
from leadscore.adapters.dynamodb import DynamoLeadRepository, record_to_item
from leadscore.events import Event
from leadscore.records import LeadRecord
from leadscore.rescoring import decay_due_leads
from leadscore.resources import LEADS_TABLE
from leadscore.rules import DEFAULT_RULES_FILE, RuleSet, load_rules
from leadscore.scoring import evaluated_record
from leadscore_local.aws import table_definition

NOW = datetime.now(UTC).replace(microsecond=0)
WRITE_BATCH = 25


def _template(rules: RuleSet, events: list[tuple[str, str, dict[str, Any]]], at: datetime) -> LeadRecord:
    made = [
        Event(message_id=f"m{n}", lead_id="template", kind=kind, timestamp=at, **fields)  # type: ignore[arg-type]
        for n, (kind, _, fields) in enumerate(events)
    ]
    return evaluated_record("template", None, made, rules, at)


def _templates(rules: RuleSet) -> dict[str, LeadRecord]:
    warm = [
        ("page", "", {"properties": {"path": "/pricing"}}),
        ("track", "", {"name": "Demo Requested"}),
    ]
    # Warm since a month ago: due for decay now. Warm now: indexed, due in days. Cold: out of the index.
    due = _template(rules, warm, NOW - timedelta(days=30))
    later = _template(rules, warm, NOW - timedelta(hours=1))
    cold = _template(rules, [("page", "", {"properties": {"path": "/blog"}})], NOW - timedelta(hours=1))
    assert due.decay_due_at is not None, "a lead warm a month ago must be in the decay index"
    assert due.decay_due_at <= NOW, due.decay_due_at
    assert later.decay_due_at is not None, "a lead warm now must be in the decay index"
    assert later.decay_due_at > NOW, later.decay_due_at
    assert cold.decay_due_at is None
    return {"due": due, "later": later, "cold": cold}


def _seed(client: Any, table: str, leads: int, due: int, templates: dict[str, LeadRecord]) -> None:
    requests = []
    for number in range(leads):
        kind = "due" if number < due else "later" if number % 10 == 0 else "cold"
        template = templates[kind]
        record = template.model_copy(update={"lead_id": f"lead-{number}@example.org"})
        requests.append({"PutRequest": {"Item": record_to_item(record)}})
        if len(requests) == WRITE_BATCH:
            client.batch_write_item(RequestItems={table: requests})
            requests = []
    if requests:
        client.batch_write_item(RequestItems={table: requests})


def measure(leads: int, due: int, rules: RuleSet, templates: dict[str, LeadRecord]) -> dict[str, float]:
    with mock_aws(), Meter() as meter:
        seeding = meter.unmetered("dynamodb")
        seeding.create_table(**table_definition())
        _seed(seeding, LEADS_TABLE.local_name, leads, due, templates)
        meter.forget(LEADS_TABLE.local_name)
        meter.reset()
        run = decay_due_leads(
            DynamoLeadRepository(LEADS_TABLE.local_name, boto3.client("dynamodb")), rules, NOW
        )
        reading = meter.reading()
    table = reading.table(LEADS_TABLE.local_name)
    assert run.visited == due, run
    assert run.band_changes == due, run
    return {
        "requests": sum(table.requests.values()),
        "queries": table.requests["Query"],
        "batch_gets": table.requests["BatchGetItem"],
        "puts": table.requests["PutItem"],
        "items_read": due,
        "read_units": table.read_units,
        "write_units": table.total_write_units,
    }


def run(sizes: tuple[int, ...] = (10_000, 100_000)) -> None:
    os.environ.update(
        AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench", AWS_DEFAULT_REGION="us-east-1"
    )
    os.environ.pop("AWS_ENDPOINT_URL", None)
    rules = load_rules(DEFAULT_RULES_FILE)
    templates = _templates(rules)
    print("decay run cost by table size (moto; units as DynamoDB bills them, bench/meter.py)")
    header = f"  {'leads':>8} {'due':>6} {'requests':>9} {'queries':>8} {'batch gets':>10} {'puts':>6}"
    print(header + f" {'RRU':>8} {'WRU':>8} {'RRU/due':>8} {'WRU/due':>8}")
    for label, due_of in (("same 100 due", lambda _: 100), ("1% due", lambda size: size // 100)):
        figures = [measure(size, due_of(size), rules, templates) for size in sizes]
        for size, figure in zip(sizes, figures, strict=True):
            due = due_of(size)
            print(
                f"  {size:>8,} {due:>6,} {figure['requests']:>9.0f} {figure['queries']:>8.0f}"
                f" {figure['batch_gets']:>10.0f} {figure['puts']:>6.0f} {figure['read_units']:>8.1f}"
                f" {figure['write_units']:>8.1f} {figure['read_units'] / due:>8.2f}"
                f" {figure['write_units'] / due:>8.2f}   ({label})"
            )
        small, large = figures[0], figures[-1]
        per_due = (large["requests"] / due_of(sizes[-1])) / (small["requests"] / due_of(sizes[0]))
        print(f"  {label}: {sizes[-1] // sizes[0]}x the table costs {per_due:.2f}x the requests per due lead")
    print("  target: 10x the table costs at most 1.5x (the decay index is sparse: only warm and hot leads)")
    print("  not counted: the index's storage, the stream records the writes emit (read by notify for free)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    run(tuple(parser.parse_args().sizes))
