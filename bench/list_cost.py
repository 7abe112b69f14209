"""What a sales list costs: `GET /v1/leads?band=...` on tables where a band holds 100 to 5,000 leads.

Seeds moto tables (the band's leads, ten times as many cold leads out of the index), then meters one
page of 50 and a walk through every page: requests, read units as DynamoDB bills them (bench/meter.py),
and the wall time of the domain code (read the keys, read the items, score each as of now, sort).
"""

from __future__ import annotations

import argparse
import os
import time
from datetime import UTC, datetime, timedelta

import boto3
from moto import mock_aws

from bench.decay_scan import WRITE_BATCH, _template
from bench.meter import Meter
from leadscore.adapters.dynamodb import DynamoLeadRepository, record_to_item
from leadscore.listing import LeadListQuery, list_leads
from leadscore.records import LeadRecord
from leadscore.resources import LEADS_TABLE
from leadscore.rules import DEFAULT_RULES_FILE, RuleSet, load_rules
from leadscore_local.aws import table_definition

NOW = datetime.now(UTC).replace(microsecond=0)
PAGE = 50


def _seed(client: object, listed: int, template: LeadRecord, cold: LeadRecord) -> None:
    items = [
        record_to_item(template.model_copy(update={"lead_id": f"hot-{number}@example.org"}))
        for number in range(listed)
    ] + [
        record_to_item(cold.model_copy(update={"lead_id": f"cold-{number}@example.org"}))
        for number in range(listed * 10)
    ]
    for start in range(0, len(items), WRITE_BATCH):
        batch = [{"PutRequest": {"Item": item}} for item in items[start : start + WRITE_BATCH]]
        client.batch_write_item(RequestItems={LEADS_TABLE.local_name: batch})  # type: ignore[attr-defined]


def measure(listed: int, rules: RuleSet, hot: LeadRecord, cold: LeadRecord) -> dict[str, float]:
    with mock_aws(), Meter() as meter:
        seeding = meter.unmetered("dynamodb")
        seeding.create_table(**table_definition())
        _seed(seeding, listed, hot, cold)
        meter.forget(LEADS_TABLE.local_name)
        meter.reset()
        repository = DynamoLeadRepository(LEADS_TABLE.local_name, boto3.client("dynamodb"))
        started = time.perf_counter()
        first = list_leads(repository, rules, LeadListQuery(band="hot", limit=PAGE), NOW)
        first_seconds = time.perf_counter() - started
        one_page = meter.reading().table(LEADS_TABLE.local_name)
        page_units, page_requests = one_page.read_units, sum(one_page.requests.values())
        pages, rows, cursor = 1, len(first.leads), first.next_cursor
        while cursor:
            page = list_leads(repository, rules, LeadListQuery(band="hot", limit=PAGE, cursor=cursor), NOW)
            pages, rows, cursor = pages + 1, rows + len(page.leads), page.next_cursor
        every_page = meter.reading().table(LEADS_TABLE.local_name)
    assert rows == listed, (rows, listed)
    return {
        "page_requests": page_requests,
        "page_units": page_units,
        "page_seconds": first_seconds,
        "pages": pages,
        "all_units": every_page.read_units,
    }


def run(sizes: tuple[int, ...]) -> None:
    os.environ.update(
        AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench", AWS_DEFAULT_REGION="us-east-1"
    )
    os.environ.pop("AWS_ENDPOINT_URL", None)
    rules = load_rules(DEFAULT_RULES_FILE)
    traits = {"title": "VP Engineering", "employees": 500, "country": "US", "email": "x@example.org"}
    hot = _template(
        rules,
        [
            ("identify", "", {"traits": traits}),
            ("track", "", {"name": "Demo Requested"}),
            ("track", "", {"name": "Quote Requested"}),
        ],
        NOW - timedelta(hours=2),
    )
    cold = _template(rules, [("page", "", {"properties": {"path": "/blog"}})], NOW - timedelta(hours=1))
    assert (hot.summary.band, hot.listed, cold.listed) == ("hot", True, False)
    print(f"a sales list, band=hot, pages of {PAGE} (moto; read units as DynamoDB bills them)")
    print(
        f"  {'in band':>8} {'table':>8} {'requests':>9} {'RRU/page':>9} {'ms/page':>8} {'pages':>6}"
        f" {'RRU, all pages':>15}"
    )
    for listed in sizes:
        figure = measure(listed, rules, hot, cold)
        print(
            f"  {listed:>8,} {listed * 11:>8,} {figure['page_requests']:>9.0f} {figure['page_units']:>9.1f}"
            f" {figure['page_seconds'] * 1000:>8.0f} {figure['pages']:>6.0f} {figure['all_units']:>15.1f}"
        )
    print("  each page reads the band's keys (32 shards) and its items, eventually consistent, and scores")
    print("  them as of the list's time; the cold leads beside them are never read (not in the index)")
    print("  not counted: the leads function's Lambda time (ms/page is this machine's CPU, moto included)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 1_000])
    run(tuple(parser.parse_args().sizes))
