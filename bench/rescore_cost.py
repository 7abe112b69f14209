"""What re-scoring costs, measured on the real workers and extrapolated to 10 million leads.

On moto, in process: the reference workload's two hours (bench/workload.py) are archived in objects of
``MESSAGES_PER_OBJECT`` messages and scored into the table as the live rules score them; then a
candidate rule file (the default plus a fit rule on a trait the default ignores) is applied by the three
workers invoked as the state machine's maps invoke them: map 1 over the objects in batches, map 2 once
per shard, the catch-up. The meter (bench/meter.py) bills every DynamoDB request as DynamoDB does (index
writes included) and counts S3 requests; the workers' own counts (what ``leadscore rescore --aws``
prints) are shown beside it. The CPU time of rebuilding a lead is measured on its own (moto's time is
not Lambda's). The 10-million-lead bill scales the per-lead and per-object figures; docs/rescore.md
shows the arithmetic.

Run: ``python -m bench.rescore_cost`` (or ``python -m bench``).
"""

from __future__ import annotations

import json
import os
import time
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from math import ceil
from typing import Any

import boto3
from moto import mock_aws

from bench.meter import Meter
from bench.workload import reference_workload
from leadscore.adapters.dynamodb import DynamoLeadRepository, record_to_item
from leadscore.adapters.messaging import S3EventArchive
from leadscore.adapters.rescore_work import S3RescoreWork
from leadscore.ports import QueuedMessage
from leadscore.replay import people_of
from leadscore.rescore.fanout import (
    FinishRequest,
    MeteredLeads,
    ShardRequest,
    ShuffleRequest,
    finish,
    rebuild_shard,
    shuffle,
    summarise,
)
from leadscore.rescore.people import readable_events, rescored_record
from leadscore.resources import (
    FUNCTIONS,
    LEADS_TABLE,
    RESCORE_OBJECTS_PER_SHUFFLE,
    RESCORE_SHARD_CONCURRENCY,
    RESCORE_SHARDS,
    RESCORE_SHUFFLE_CONCURRENCY,
)
from leadscore.rules import DEFAULT_RULES_FILE, parse_rules
from leadscore.scoring import evaluated_record
from leadscore.segment import read_message
from leadscore_cli import rescore_cost as cost
from leadscore_local.aws import table_definition

MESSAGES_PER_OBJECT = 200
OBJECTS_PER_SHUFFLE = 10
SHARDS = 16
ARCHIVE, WORK = "bench-archive", "bench-rescore-work"
CANDIDATE_RULE = """fit:
  - id: north-america
    description: North American companies buy most
    points: 15
    when:
      traits:
        country: {in: [US, CA]}
"""
TARGET_LEADS = 10_000_000
# What a worker waits for on AWS, per request (p50 figures of the services, same region).
S3_REQUEST_SECONDS = 0.02
DYNAMODB_REQUEST_SECONDS = 0.005


def main() -> None:
    os.environ.update(
        AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench", AWS_DEFAULT_REGION="us-east-1"
    )
    os.environ.pop("AWS_ENDPOINT_URL", None)
    live = parse_rules(DEFAULT_RULES_FILE.read_text())
    candidate = parse_rules(DEFAULT_RULES_FILE.read_text().replace("\nfit:\n", "\n" + CANDIDATE_RULE, 1))
    workload = reference_workload()
    messages = workload.new_leads + workload.known_leads
    now = datetime.now(UTC)
    events = [read_message(m, message_id=None, received_at=None) for m in messages]
    people = people_of(events, {})
    with mock_aws(), Meter() as meter:
        s3 = meter.unmetered("s3")
        for bucket in (ARCHIVE, WORK):
            s3.create_bucket(Bucket=bucket)
        dynamodb = meter.unmetered("dynamodb")
        dynamodb.create_table(**table_definition())
        archive = S3EventArchive(ARCHIVE, s3)
        for start in range(0, len(messages), MESSAGES_PER_OBJECT):
            chunk = messages[start : start + MESSAGES_PER_OBJECT]
            archive.put_batch([QueuedMessage(m["messageId"], json.dumps(m), now) for m in chunk])
        records = [evaluated_record(person, None, found, live, now) for person, found in people.items()]
        for start in range(0, len(records), 25):
            batch = [{"PutRequest": {"Item": record_to_item(r)}} for r in records[start : start + 25]]
            dynamodb.batch_write_item(RequestItems={LEADS_TABLE.local_name: batch})
        meter.forget(LEADS_TABLE.local_name)
        meter.reset()
        summary, seconds = _run(candidate, now)
        reading = meter.reading()
    objects = ceil(len(messages) / MESSAGES_PER_OBJECT)
    rebuild_ms = _rebuild_ms(candidate, people, now)
    started = time.process_time()
    list(readable_events([(str(n), json.dumps(m)) for n, m in enumerate(messages)], now, set()))
    parse_ms = (time.process_time() - started) * 1000 / len(messages)
    _report(summary, seconds, reading, (objects, len(people), len(messages)), (rebuild_ms, parse_ms))


def _run(rules: Any, now: datetime) -> tuple[dict[str, Any], dict[str, float]]:
    s3, repository = (
        boto3.client("s3"),
        DynamoLeadRepository(LEADS_TABLE.local_name, boto3.client("dynamodb")),
    )
    keys = [item["Key"] for item in s3.list_objects_v2(Bucket=ARCHIVE)["Contents"]]
    run = {
        "run": "bench",
        "started": now + timedelta(minutes=16),
        "shards": SHARDS,
        "rules_version": rules.version,
    }
    outputs: list[dict[str, Any]] = []
    seconds: dict[str, float] = defaultdict(float)
    started = time.perf_counter()
    for start in range(0, len(keys), OBJECTS_PER_SHUFFLE):
        request = ShuffleRequest.model_validate(
            {"Items": [{"Key": k} for k in keys[start : start + OBJECTS_PER_SHUFFLE]], "BatchInput": run}
        )
        outputs.append(shuffle(request, ARCHIVE, S3RescoreWork(WORK, s3), MeteredLeads(repository), now))
    seconds["shuffle"] = time.perf_counter() - started
    started = time.perf_counter()
    for shard in range(SHARDS):
        request = ShardRequest.model_validate({**run, "shard": shard})
        outputs.append(rebuild_shard(request, rules, S3RescoreWork(WORK, s3), MeteredLeads(repository), now))
    seconds["shard"] = time.perf_counter() - started
    request = FinishRequest.model_validate(run)
    outputs.append(
        finish(
            request,
            ARCHIVE,
            rules,
            work=S3RescoreWork(WORK, s3),
            leads=MeteredLeads(repository),
            clock=lambda: now,
        )
    )
    outputs[-1] = outputs[-1]["steps"]["finish"] | {"step": "finish", "deferred": []}
    return summarise(outputs), seconds


def _rebuild_ms(rules: Any, people: dict[str, list[Any]], now: datetime) -> float:
    started = time.process_time()
    for person, found in people.items():
        rescored_record(person, found, rules, now, None)
    return (time.process_time() - started) * 1000 / len(people)


def _report(
    summary: dict[str, Any],
    seconds: dict[str, float],
    reading: Any,
    sizes: tuple[int, int, int],
    cpu_ms: tuple[float, float],
) -> None:
    objects, leads, messages = sizes
    rebuild_ms, parse_ms = cpu_ms
    steps = summary["steps"]
    table = reading.table(LEADS_TABLE.local_name)
    names = ("s3_get", "s3_put", "s3_list", "read_units", "write_units")
    counted = {name: sum(step.get(name, 0) for step in steps.values()) for name in names}
    shard = steps["shard"]
    print(
        f"re-scoring on moto: {leads:,} leads, {messages:,} messages in {objects:,} archive objects "
        f"({MESSAGES_PER_OBJECT} each), {SHARDS} shards"
    )
    print(
        f"  written {shard['written']:,.0f}, unchanged {shard['unchanged']:,.0f}, deferred "
        f"{shard['deferred']:,.0f}; moto wall time: map 1 {seconds['shuffle']:.1f} s, "
        f"map 2 {seconds['shard']:.1f} s"
    )
    s3 = [reading.count("s3", operation) for operation in ("GetObject", "PutObject", "ListObjectsV2")]
    print(
        f"  S3 (meter): GET {s3[0]:,}, PUT {s3[1]:,}, LIST {s3[2]:,}; workers' counts: GET "
        f"{counted['s3_get']:,.0f}, PUT {counted['s3_put']:,.0f}, LIST {counted['s3_list']:,.0f}"
    )
    print(
        f"  DynamoDB (meter, as billed): {table.read_units:,.1f} RRU, {table.write_units:,.1f} WRU on items "
        f"+ {table.index_write_units:,.1f} on indexes; workers' counts: {counted['read_units']:,.1f} RRU, "
        f"{counted['write_units']:,.0f} WRU on items"
    )
    print(
        f"  CPU: rebuilding a lead from its history {rebuild_ms:.2f} ms ({messages / leads:.1f} messages a "
        f"lead), reading an archived line {parse_ms:.3f} ms"
    )
    per_lead = {"rru": table.read_units / leads, "wru": table.total_write_units / leads}
    print(f"  per lead: {per_lead['rru']:.2f} RRU, {per_lead['wru']:.2f} WRU (items and indexes)")
    _extrapolate(per_lead, messages / leads, rebuild_ms, parse_ms)


def _extrapolate(
    per_lead: dict[str, float], messages_per_lead: float, rebuild_ms: float, parse_ms: float
) -> None:
    """The same figures for 10 million leads, with the stack's own batch sizes and shard count."""
    leads = TARGET_LEADS
    messages = leads * messages_per_lead
    objects = ceil(messages / MESSAGES_PER_OBJECT)
    shuffles = ceil(objects / RESCORE_OBJECTS_PER_SHUFFLE)
    parts = shuffles * RESCORE_SHARDS  # at most one part per shard per shuffle
    transitions = cost.PARENT_TRANSITIONS + shuffles + RESCORE_SHARDS
    shuffle_s = (
        objects * (S3_REQUEST_SECONDS + parse_ms / 1000 * MESSAGES_PER_OBJECT) + parts * S3_REQUEST_SECONDS
    )
    shard_s = leads * (rebuild_ms / 1000 + DYNAMODB_REQUEST_SECONDS) + parts * S3_REQUEST_SECONDS
    gb_s = (
        shuffle_s * FUNCTIONS["rescore_shuffle"].memory_mb / 1024
        + shard_s * FUNCTIONS["rescore_shard"].memory_mb / 1024
    )
    lines = [
        (
            "Step Functions transitions",
            transitions,
            cost.STEP_FUNCTIONS_TRANSITION_USD,
            f"5 + {shuffles:,} map-1 children + {RESCORE_SHARDS:,} map-2 children",
        ),
        (
            "Lambda requests",
            shuffles + RESCORE_SHARDS + 1,
            cost.LAMBDA_REQUEST_USD,
            "one per child, and the catch-up",
        ),
        (
            "Lambda GB-s",
            gb_s,
            cost.LAMBDA_ARM_GB_SECOND_USD,
            f"map 1 {shuffle_s:,.0f} s at 1 GB, map 2 {shard_s:,.0f} s at 1.73 GB",
        ),
        ("S3 GET", objects + parts, cost.S3_GET_USD, f"{objects:,} archive objects + {parts:,} shard parts"),
        (
            "S3 PUT + LIST",
            parts + ceil(objects / 1000) + RESCORE_SHARDS,
            cost.S3_PUT_OR_LIST_USD,
            "shard parts, the archive listing, a listing per shard",
        ),
        (
            "DynamoDB RRU",
            leads * per_lead["rru"],
            cost.DYNAMODB_READ_UNIT_USD,
            f"{per_lead['rru']:.2f} a lead (measured)",
        ),
        (
            "DynamoDB WRU",
            leads * per_lead["wru"],
            cost.DYNAMODB_WRITE_UNIT_USD,
            f"{per_lead['wru']:.2f} a lead (measured)",
        ),
    ]
    print(f"\n{leads:,} leads, {messages:,.0f} messages in {objects:,} objects of {MESSAGES_PER_OBJECT}:")
    for what, quantity, price, how in lines:
        print(f"  {what:<28} {quantity:>16,.0f}  ${quantity * price:>10,.2f}   {how}")
    print(f"  {'total':<28} {'':>16}  ${sum(q * p for _, q, p, _ in lines):>10,.2f}")
    first, second = shuffle_s / RESCORE_SHUFFLE_CONCURRENCY / 60, shard_s / RESCORE_SHARD_CONCURRENCY / 60
    print(f"  wall time at the maps' concurrency: about {first:,.0f} + {second:,.0f} minutes")


if __name__ == "__main__":
    main()
