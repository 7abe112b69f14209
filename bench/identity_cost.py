"""What identity resolution costs, as AWS bills it: visitors who browse anonymously, then identify.

The workload is the reference one (bench/workload.py, same seed), reshaped the way web leads arrive:

- **60% of the leads browse anonymously first** (drawn per lead, seeded). Such a lead's first K events,
  K drawn uniformly from 1 to 15 per lead (a visit is 3 to 15 events), are sent with only an
  ``anonymousId`` (one per lead, a UUID as analytics.js makes); its first identify moves to its
  (K+1)-th event: the two messages swap what they say (type, traits, properties), each keeping its
  time and message id, so the stream holds the same events at the same times. From the identify on,
  every message carries the ``userId`` *and* the ``anonymousId``, as analytics.js sends them. A lead
  with K events or fewer never identifies: its identify becomes a view of the home page, and so does
  a re-identify that falls before the identify (a logged-out visit). Every type of event is sent
  anonymously alike (e-mail events included).
- The other 40% send the ``userId`` alone, as in the reference stream (which identifies a lead with
  the first event it draws for it; visits interleave, so about one lead in five sends a page or track
  with its userId before its identify arrives).

Both streams go through the product's real score path exactly as bench/storage_cost.py drives the
reference workload (its ``perform``: moto in process, the meter, hour 1 on an empty table, hour 2 on
the table hour 1 left), at the stack's default batching and at 100 events a batch. Beside the meter's
totals, every request the score path makes to the lead table is logged and billed again, one by one,
with the meter's own rules (bench/meter.py), to tell what a merge marker, an anonymous visitor's item
and a person's item cost, and what reading a marker costs; the two counts must agree. At the end the
lead table is scanned: every anonymous id a message linked to a person must be a merge marker into
that person, and the live leads must be the people plus the visitors who never identified. At the
default batching notify runs on the table's changes (as in storage_cost); the alerts it publishes are
read back from the local stack's outbox queue and counted by whom they are about.

Run: ``python -m bench.identity_cost`` (or ``python -m bench identity_cost``).
"""

from __future__ import annotations

import argparse
import json
import math
import multiprocessing
import os
import random
import sys
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import boto3
import botocore
import botocore.handlers
import moto
from moto import mock_aws

from bench import prices
from bench.meter import (
    READ_OPERATIONS,
    UNMETERED_MARK,
    WRITE_OPERATIONS,
    Hooks,
    Item,
    TableSchema,
    index_write_sizes,
    install_hooks,
    item_size,
    read_units,
    uninstall_hooks,
    write_units,
)
from bench.storage_cost import DEFAULT, REGION, SQS_POLLERS, Run, Task, perform, queued_bodies
from bench.workload import PAGES, SEED, Workload, reference_workload
from leadscore import resources
from leadscore.records import Alert
from leadscore_local.aws import OUTBOX_QUEUE_NAME

ANONYMOUS_FIRST_SHARE = 0.6
ANONYMOUS_EVENTS = (1, 15)  # events an anonymous-first lead sends before it identifies, uniform
ANONYMOUS_SEED = SEED + 1
BATCHINGS = (DEFAULT, "100")
PASSES = ("new leads", "known leads")
STREAMS = ("reference", "identity")
# What a message says, as opposed to who sent it and when (userId, anonymousId, messageId, timestamp).
CONTENT = ("type", "event", "traits", "properties")
HOME_PATH, HOME_TITLE, _ = PAGES[0]
HOME_PAGE = {
    "type": "page",
    "properties": {"path": HOME_PATH, "title": HOME_TITLE, "url": f"https://example.com{HOME_PATH}"},
}
LEAD_TABLE = resources.LEADS_TABLE.local_name
_PK, _SK = resources.LEADS_TABLE.partition_key.name, resources.LEADS_TABLE.sort_key.name
LEAD_PREFIX = "L#"
_LOG_STATE = "leadscore_bench_identity_log"

# Kinds of write (by the item written) and of read (by the item found).
PERSON, VISITOR, MARKER, FAILED = "person", "anonymous visitor", "merge marker", "failed (condition)"
LIVE, ABSENT = "live lead", "no item"
WRITE_KINDS = (PERSON, VISITOR, MARKER, FAILED)
READ_KINDS = (LIVE, MARKER, ABSENT)


# --- the workload ----------------------------------------------------------------------------------------


def with_anonymous_visits(
    workload: Workload,
    *,
    share: float = ANONYMOUS_FIRST_SHARE,
    anonymous_events: tuple[int, int] = ANONYMOUS_EVENTS,
    seed: int = ANONYMOUS_SEED,
) -> Workload:
    """``workload`` with ``share`` of its leads sending their first events anonymously (module docstring).

    Each lead's events are taken in the order they are sent: hour 1, then hour 2, each in arrival order.
    """
    rng = random.Random(seed)
    messages = [dict(message) for message in [*workload.new_leads, *workload.known_leads]]
    positions: dict[str, list[int]] = defaultdict(list)
    for position, message in enumerate(messages):
        positions[message["userId"]].append(position)
    for user_id in sorted(positions):
        # Every lead takes its three draws, so one lead's draws do not depend on another's.
        anonymous_first = rng.random() < share
        anonymous_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        before = rng.randint(*anonymous_events)
        if anonymous_first:
            _identify_later([messages[position] for position in positions[user_id]], anonymous_id, before)
    split = len(workload.new_leads)
    return Workload(start=workload.start, new_leads=messages[:split], known_leads=messages[split:])


def _identify_later(messages: list[dict[str, Any]], anonymous_id: str, before: int) -> None:
    """One lead's messages, in sending order, changed in place: ``before`` anonymous ones, then both ids."""
    identify = next(message for message in messages if message["type"] == "identify")
    if before < len(messages):
        _swap_content(identify, messages[before])
    for number, message in enumerate(messages):
        if number < before:
            if message["type"] == "identify":  # never identifies, or a re-identify before the identify
                _set_content(message, HOME_PAGE)
            del message["userId"]
        message["anonymousId"] = anonymous_id


def _content(message: Mapping[str, Any]) -> dict[str, Any]:
    return {name: message[name] for name in CONTENT if name in message}


def _set_content(message: dict[str, Any], content: Mapping[str, Any]) -> None:
    for name in CONTENT:
        message.pop(name, None)
    message.update(_content(content))


def _swap_content(first: dict[str, Any], second: dict[str, Any]) -> None:
    said = _content(first)
    _set_content(first, second)
    _set_content(second, said)


def linked_ids(messages: Iterable[Mapping[str, Any]]) -> dict[str, str]:
    """Each anonymous id a message links to a person (a message with both ids), to that person."""
    links: dict[str, str] = {}
    for message in messages:
        anonymous_id, user_id = message.get("anonymousId"), message.get("userId")
        if anonymous_id is not None and user_id is not None and anonymous_id != user_id:
            links.setdefault(anonymous_id, user_id)
    return links


@dataclass(frozen=True)
class Identities:
    """Who a stream's messages come from."""

    people: frozenset[str]  # every userId
    anonymous: frozenset[str]  # every anonymousId
    links: dict[str, str]  # anonymous id -> the person a message linked it to
    linked_in: dict[str, str]  # anonymous id -> the pass of its first link
    messages: Counter[str]  # "userId only", "anonymous only", "both"

    @classmethod
    def of(cls, workload: Workload) -> Identities:
        messages: Counter[str] = Counter()
        everything = [*workload.new_leads, *workload.known_leads]
        for message in everything:
            has_user, has_anonymous = "userId" in message, "anonymousId" in message
            messages[
                "both" if has_user and has_anonymous else "userId only" if has_user else "anonymous only"
            ] += 1
        first_hour = linked_ids(workload.new_leads)
        links = linked_ids(everything)
        return cls(
            people=frozenset(m["userId"] for m in everything if "userId" in m),
            anonymous=frozenset(m["anonymousId"] for m in everything if "anonymousId" in m),
            links=links,
            linked_in={anonymous: PASSES[0] if anonymous in first_hour else PASSES[1] for anonymous in links},
            messages=messages,
        )

    @property
    def never_identified(self) -> frozenset[str]:
        return self.anonymous - self.links.keys()


# --- the lead table's requests, one by one ---------------------------------------------------------------


@dataclass(frozen=True)
class Request:
    """One request to the lead table: a put (its item, and the error it met), or a read (the keys read)."""

    operation: str
    items: tuple[Item, ...] = ()
    consistent: bool = False
    error: str | None = None


class LeadTableLog:
    """Every item request (reads and writes, not table management) this process's boto3 clients make to
    the lead table, in order, through botocore's hooks as the meter sees them (the meter's un-metered
    clients are left out here too)."""

    def __init__(self, table: str = LEAD_TABLE) -> None:
        self.table = table
        self.requests: list[Request] = []
        self._handlers: Hooks = (
            ("provide-client-params", self._on_params),
            ("after-call", self._after_call),
        )

    def __enter__(self) -> LeadTableLog:
        install_hooks(self._handlers)
        return self

    def __exit__(self, *_: object) -> None:
        uninstall_hooks(self._handlers)

    def _on_params(self, params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        config = context.get("client_config")
        if config is None or UNMETERED_MARK not in (config.user_agent_extra or ""):
            context[_LOG_STATE] = dict(params)

    def _after_call(
        self, http_response: Any, parsed: dict[str, Any], model: Any, context: dict[str, Any], **_: Any
    ) -> None:
        params = context.get(_LOG_STATE)
        if params is None or model.service_model.service_name != "dynamodb":
            return
        operation = model.name
        error = parsed.get("Error", {}).get("Code") if http_response.status_code >= 300 else None
        if operation == "PutItem" and params["TableName"] == self.table:
            self.requests.append(Request(operation, (params["Item"],), error=error))
        elif operation == "GetItem" and params["TableName"] == self.table:
            consistent = bool(params.get("ConsistentRead"))
            self.requests.append(Request(operation, (params["Key"],), consistent, error))
        elif operation == "BatchGetItem" and self.table in params["RequestItems"]:
            request = params["RequestItems"][self.table]
            skipped = parsed.get("UnprocessedKeys", {}).get(self.table, {}).get("Keys", [])
            keys = tuple(key for key in request["Keys"] if key not in skipped)
            self.requests.append(Request(operation, keys, bool(request.get("ConsistentRead")), error))
        elif operation in READ_OPERATIONS | WRITE_OPERATIONS and self.table in (
            params.get("TableName"),
            *params.get("RequestItems", {}),
            *(next(iter(action.values())).get("TableName") for action in params.get("TransactItems", [])),
        ):
            self.requests.append(Request(operation, error=error))  # not billed here: the totals will differ


@dataclass
class Share:
    count: int = 0
    units: float = 0.0


@dataclass
class Breakdown:
    """What one pass's requests to the lead table billed: writes by the item written, reads by the item
    found, and requests this breakdown does not bill (there should be none)."""

    writes: dict[str, Share] = field(default_factory=lambda: {kind: Share() for kind in WRITE_KINDS})
    reads: dict[str, Share] = field(default_factory=lambda: {kind: Share() for kind in READ_KINDS})
    unbilled: Counter[str] = field(default_factory=Counter)

    @property
    def write_units(self) -> float:
        return sum(share.units for share in self.writes.values())

    @property
    def read_units(self) -> float:
        return sum(share.units for share in self.reads.values())


def _key(item: Item) -> tuple[str, str]:
    return item[_PK]["S"], item[_SK]["S"]


def lead_id_of(item: Item) -> str:
    return str(item[_PK]["S"]).removeprefix(LEAD_PREFIX)


def bill_requests(
    requests: Iterable[Request],
    anonymous: frozenset[str] | set[str],
    images: dict[tuple[str, str], Item],
    schema: TableSchema | None = None,
) -> Breakdown:
    """Bill each request as bench/meter.py does (the larger of the item before and after, per started KB,
    plus each index's writes; a failed conditional write bills the item as stored; reads per item, per
    started 4 KB, half if eventually consistent). ``images`` holds the table as it stands (key -> item)
    and is kept up to date, so a second pass goes on from where the first left it."""
    schema = schema or TableSchema.from_spec(resources.LEADS_TABLE)
    out = Breakdown()
    for request in requests:
        if request.operation == "PutItem":
            (new,) = request.items
            old = images.get(_key(new))
            if request.error == "ConditionalCheckFailedException":
                kind, units = FAILED, float(write_units(item_size(old)))
            elif request.error is not None:
                continue  # refused before anything was written: nothing billed
            else:
                kind = MARKER if "mi" in new else VISITOR if lead_id_of(new) in anonymous else PERSON
                units = float(write_units(max(item_size(old), item_size(new))))
                for index in schema.indexes:
                    units += sum(
                        write_units(size) for size in index_write_sizes(index, schema.keys, old, new)
                    )
                images[_key(new)] = new
        elif request.operation in ("GetItem", "BatchGetItem") and request.error is None:
            for key in request.items:
                found = images.get(_key(key))
                kind = ABSENT if found is None else MARKER if "mi" in found else LIVE
                share = out.reads[kind]
                share.count += 1
                share.units += read_units(item_size(found), consistent=request.consistent)
            continue
        else:
            out.unbilled[
                f"{request.operation} ({request.error})" if request.error else request.operation
            ] += 1
            continue
        out.writes[kind].count += 1
        out.writes[kind].units += units
    return out


def split_passes(requests: Sequence[Request], runs: Sequence[Run]) -> list[list[Request]]:
    """The log cut where each pass's requests to the lead table end (the meter counted them per pass)."""
    cuts, start = [], 0
    for run in runs:
        count = sum(run.reading.table(LEAD_TABLE).requests.values())
        cuts.append(list(requests[start : start + count]))
        start += count
    if start != len(requests):
        raise AssertionError(f"the log holds {len(requests)} requests to the lead table, the meter {start}")
    return cuts


# --- the lead table at the end ---------------------------------------------------------------------------


@dataclass(frozen=True)
class FinalTable:
    """The lead table after both hours: live leads, and merged ids with the lead each went into."""

    live: frozenset[str]
    markers: dict[str, str]
    marker_sizes: tuple[int, ...] = ()

    @classmethod
    def of(cls, items: Iterable[Item]) -> FinalTable:
        live, markers, sizes = set(), {}, []
        for item in items:
            if "mi" in item:
                markers[lead_id_of(item)] = str(item["mi"]["S"])
                sizes.append(item_size(item))
            else:
                live.add(lead_id_of(item))
        return cls(live=frozenset(live), markers=markers, marker_sizes=tuple(sizes))


def identity_problems(table: FinalTable, identities: Identities) -> list[str]:
    """What is wrong with the table at the end, for the stream's identities (nothing, if right)."""
    problems = []
    for anonymous_id, person in sorted(identities.links.items()):
        if anonymous_id in table.live:
            problems.append(f"{anonymous_id}, linked to {person}, is still a live lead")
        elif table.markers.get(anonymous_id) != person:
            problems.append(
                f"{anonymous_id}, linked to {person}, is merged into {table.markers.get(anonymous_id)}"
            )
    if unlinked := table.markers.keys() - identities.links.keys():
        problems.append(f"{len(unlinked)} merged ids no message linked, e.g. {min(unlinked)}")
    if missing := identities.people - table.live:
        problems.append(f"{len(missing)} people have no live lead, e.g. {min(missing)}")
    if missing := identities.never_identified - table.live:
        problems.append(
            f"{len(missing)} visitors who never identified have no live lead, e.g. {min(missing)}"
        )
    if extra := table.live - identities.people - identities.never_identified - identities.links.keys():
        problems.append(f"{len(extra)} live leads are neither a person nor an unidentified visitor")
    return problems


Sent = tuple[str, str, str]
"""An alert notify published: (lead id, kind, the signal's time)."""


def read_outbox(sqs: Any) -> list[Sent]:
    """The alerts notify published, from the queue the local stack subscribes to the alert topic."""
    url = sqs.get_queue_url(QueueName=OUTBOX_QUEUE_NAME)["QueueUrl"]
    sent: list[Sent] = []
    while messages := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
        for message in messages:
            alert = Alert.model_validate_json(json.loads(message["Body"])["Message"])
            sent.append((alert.lead_id, alert.kind, alert.at.isoformat()))
        sqs.delete_message_batch(
            QueueUrl=url,
            Entries=[{"Id": str(n), "ReceiptHandle": m["ReceiptHandle"]} for n, m in enumerate(messages)],
        )
    return sent


def alert_counts(alerts: Iterable[Sent], identity: Identities) -> Counter[str]:
    """Alerts by whom they are about, by the identity stream's ids (so the reference stream's alerts can be
    counted the same way): ``identified later`` counts those about a person who browsed anonymously
    first, under either id; ``linked visitor`` those of them about the anonymous id."""
    people = set(identity.links.values())
    counts: Counter[str] = Counter(total=0)
    for lead_id, _, _ in alerts:
        counts["total"] += 1
        if lead_id in identity.links:
            counts["linked visitor"] += 1
            counts["identified later"] += 1
        elif lead_id in people:
            counts["identified later"] += 1
        elif lead_id in identity.anonymous:
            counts["visitor never identified"] += 1
    return counts


def scan_leads(client: Any) -> list[Item]:
    pages = client.get_paginator("scan").paginate(TableName=LEAD_TABLE, ConsistentRead=True)
    return [item for page in pages for item in page.get("Items", [])]


# --- the runs --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Measure:
    stream: str  # "reference" or "identity"
    batching: str  # DEFAULT or "100"


@dataclass
class Measured:
    measure: Measure
    runs: dict[str, Run]
    breakdowns: dict[str, Breakdown]
    table: FinalTable
    seconds: float
    alerts: tuple[Sent, ...] = ()  # at the default batching, where notify runs


def measure(what: Measure, workload: Workload) -> Measured:
    """One stream at one batching, both passes, in this (fresh) process: storage_cost's ``perform`` with
    the lead table's requests logged, then the table scanned.

    ``perform`` runs inside its own ``mock_aws``; this outer one keeps moto's data when it returns
    (moto resets only when the outermost mock starts or stops), so the table can be read afterwards."""
    started = time.perf_counter()
    passes = {
        "new leads": queued_bodies(workload.new_leads),
        "known leads": queued_bodies(workload.known_leads),
    }
    identities = Identities.of(workload)
    with mock_aws():
        with LeadTableLog() as log:
            done = perform(Task("product", what.batching), workload, passes, sampled=set())
        runs = [run for run in done if isinstance(run, Run)]
        session = boto3.session.Session(
            aws_access_key_id="bench", aws_secret_access_key="bench", region_name=REGION
        )
        client = session.client("dynamodb")
        items = scan_leads(client)
        alerts = read_outbox(session.client("sqs")) if what.batching == DEFAULT else []
    images: dict[tuple[str, str], Item] = {}
    breakdowns = {
        run.pass_name: bill_requests(requests, identities.anonymous, images)
        for run, requests in zip(runs, split_passes(log.requests, runs), strict=True)
    }
    if {_key(item) for item in items} != images.keys():
        raise AssertionError("the table at the end is not what the logged writes left")
    print(
        f"[identity_cost] {what.stream}, {what.batching} per batch: "
        f"{sum(run.events for run in runs):,} events in {time.perf_counter() - started:.0f} s",
        file=sys.stderr,
        flush=True,
    )
    return Measured(
        measure=what,
        runs={run.pass_name: run for run in runs},
        breakdowns=breakdowns,
        table=FinalTable.of(items),
        seconds=time.perf_counter() - started,
        alerts=tuple(alerts),
    )


def run(*, jobs: int | None = None) -> None:
    started = time.perf_counter()
    reference = reference_workload()
    streams = {"reference": reference, "identity": with_anonymous_visits(reference)}
    # Longest first (the default batching makes the most requests), so the processes finish together.
    measures = [Measure(stream, batching) for batching in BATCHINGS for stream in reversed(STREAMS)]
    jobs = max(1, min(len(measures), jobs or os.cpu_count() or 1))
    # One fresh interpreter per run, as storage_cost.run does: the handlers keep their clients for the
    # life of the process, and those clients belong to the moto and the meter of the run that made them.
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=jobs, mp_context=context, max_tasks_per_child=1) as pool:
        futures = [pool.submit(measure, what, streams[what.stream]) for what in measures]
        results = {(m.measure.stream, m.measure.batching): m for m in (f.result() for f in futures)}
    report(streams, results, seconds=time.perf_counter() - started, jobs=jobs)


# --- the report ------------------------------------------------------------------------------------------

LABEL = 50
COLUMN = 11


def _row(label: str, cells: Sequence[str]) -> None:
    print(f"  {label:<{LABEL}}" + "".join(f"{cell:>{COLUMN}}" for cell in cells))


def _columns(
    results: Mapping[tuple[str, str], Measured], pass_name: str, value: Callable[[Run, Breakdown], float]
) -> list[float]:
    """reference, identity, difference, for each batching."""
    cells = []
    for batching in BATCHINGS:
        plain, identity = (results[(stream, batching)] for stream in STREAMS)
        first, second = (value(m.runs[pass_name], m.breakdowns[pass_name]) for m in (plain, identity))
        cells += [first, second, second - first]
    return cells


def _share(side: str, kind: str, *, per_event: bool) -> Callable[[Run, Breakdown], float]:
    """Units per event (or the count) of one kind of write or read."""

    def value(run: Run, breakdown: Breakdown) -> float:
        share: Share = getattr(breakdown, side)[kind]
        return share.units / run.events if per_event else share.count

    return value


def report(
    streams: Mapping[str, Workload], results: Mapping[tuple[str, str], Measured], *, seconds: float, jobs: int
) -> None:
    """Print every figure; raises if the log and the meter disagree or the table fails the check."""
    identities = {stream: Identities.of(workload) for stream, workload in streams.items()}
    ours = identities["identity"]
    anonymous_first = len(ours.anonymous)
    identified = Counter(ours.linked_in.values())
    leads = len(identities["reference"].people)
    queue = resources.SCORE_QUEUE
    print(
        "Identity cost, counted as AWS bills it "
        "(bench/identity_cost.py; the harness: bench/storage_cost.py; the meter: bench/meter.py)"
    )
    print(
        f"  reference stream: bench/workload.py, {len(streams['reference'].new_leads):,} events an hour over "
        f"{len(identities['reference'].people):,} leads, userId only"
    )
    print(
        f"  identity stream: the same events; {anonymous_first:,} of the {leads:,} leads "
        f"({anonymous_first / leads:.0%}; drawn at {ANONYMOUS_FIRST_SHARE:.0%}) send their first "
        f"{ANONYMOUS_EVENTS[0]} to {ANONYMOUS_EVENTS[1]} events anonymously, then identify and send both ids"
    )
    print(
        f"    identified in hour 1: {identified[PASSES[0]]:,}, in hour 2: {identified[PASSES[1]]:,}, "
        f"never: {len(ours.never_identified):,}; messages: "
        + ", ".join(f"{kind} {ours.messages[kind]:,}" for kind in ("userId only", "anonymous only", "both"))
    )
    print(
        f"  batching: the stack's default ({queue.batch_size:,} events or "
        f"{queue.max_batching_window_seconds} s, {SQS_POLLERS} pollers, as in storage_cost) and 100 events a "
        "batch; hour 1 on an empty table, hour 2 on the table hour 1 left"
    )
    print(
        f"  moto {moto.__version__}, botocore {botocore.__version__}, Python {sys.version.split()[0]}, "
        f"{datetime.now(UTC):%Y-%m-%d}; the run took {seconds:.0f} s in {jobs} processes"
    )
    for measured in results.values():
        for pass_name, run in measured.runs.items():
            breakdown = measured.breakdowns[pass_name]
            # The log bills items by key: notify's index queries (the account's other people) are the
            # meter's alone.
            queried = sum(index.read_units for table in run.tables for index in table.indexes.values())
            for name, units, ours_units in (
                ("write", run.write_units, breakdown.write_units),
                ("read", run.read_units - queried, breakdown.read_units),
            ):
                if not math.isclose(units, ours_units, abs_tol=1e-6):
                    raise AssertionError(
                        f"{measured.measure} {pass_name}: the meter billed {units} {name} units, "
                        f"the log {ours_units}"
                    )
    for pass_name in PASSES:
        _print_pass(pass_name, results)
    _print_summary(identities, results)
    _print_leads(identities, results)
    _print_not_counted()


def _print_pass(pass_name: str, results: Mapping[tuple[str, str], Measured]) -> None:
    title = "hour 1 on an empty table" if pass_name == PASSES[0] else "hour 2 on the table hour 1 left"
    print()
    print(f"== {pass_name} ({title}) ==")
    _row("", [cell for b in BATCHINGS for cell in ("", f"{b} /batch" if b != DEFAULT else DEFAULT, "")])
    _row("", ["reference", "identity", "difference"] * len(BATCHINGS))

    def cells(value: Callable[[Run, Breakdown], float], form: str = "{:.3f}") -> list[str]:
        return [form.format(cell) for cell in _columns(results, pass_name, value)]

    def batches(run: Run, _: Breakdown) -> float:
        return len(run.batch_sizes)

    _row("SQS batches", cells(batches, "{:,.0f}"))
    _row("write units per event, total", cells(lambda run, _: run.write_units / run.events))
    for kind in WRITE_KINDS:
        _row(f"  {kind} items", cells(_share("writes", kind, per_event=True)))
    _row("items written", cells(lambda _, b: sum(share.count for share in b.writes.values()), "{:,.0f}"))
    for kind in WRITE_KINDS:
        _row(f"  {kind}", cells(_share("writes", kind, per_event=False), "{:,.0f}"))
    _row("read units per event, total", cells(lambda run, _: run.read_units / run.events))
    for kind in READ_KINDS:
        _row(f"  {kind}", cells(_share("reads", kind, per_event=True)))
    _row(
        "DynamoDB US$ per million events (bench/prices.py)",
        cells(
            lambda run, _: (
                prices.DYNAMODB_WRITE_UNIT.cost(run.write_units / run.events * 1_000_000)
                + prices.DYNAMODB_READ_UNIT.cost(run.read_units / run.events * 1_000_000)
            )
        ),
    )
    _row(
        "BatchGetItem requests per event",
        cells(lambda run, _: run.reading.table(LEAD_TABLE).requests["BatchGetItem"] / run.events),
    )
    _row("events failed (batchItemFailures)", cells(lambda run, _: run.failed_events, "{:,.0f}"))
    for measured in results.values():
        run = measured.runs[pass_name]
        where = f"{measured.measure.stream}, {measured.measure.batching}"
        for error, count in [*run.errors.most_common(3), *run.reading.errors.most_common(3)]:
            print(f"  ! {where}: {count} x {error}")
        for operation, count in measured.breakdowns[pass_name].unbilled.items():
            print(f"  ! {where}: {count} requests to the lead table not broken down: {operation}")


def _print_summary(identities: Mapping[str, Identities], results: Mapping[tuple[str, str], Measured]) -> None:
    print()
    print("== the cost of identity: both hours, identity stream minus reference stream ==")
    for batching in BATCHINGS:
        plain, identity = (results[(stream, batching)] for stream in STREAMS)
        events = sum(run.events for run in plain.runs.values())
        writes, reads, usd = [], [], []
        for measured in (plain, identity):
            write = sum(run.write_units for run in measured.runs.values()) / events
            read = sum(run.read_units for run in measured.runs.values()) / events
            writes.append(write)
            reads.append(read)
            usd.append(
                prices.DYNAMODB_WRITE_UNIT.cost(write * 1_000_000)
                + prices.DYNAMODB_READ_UNIT.cost(read * 1_000_000)
            )
        markers = [b.writes[MARKER] for b in identity.breakdowns.values()]
        marker_count, marker_units = sum(m.count for m in markers), sum(m.units for m in markers)
        marker_reads = sum(b.reads[MARKER].units for b in identity.breakdowns.values()) / events
        label = "default batching" if batching == DEFAULT else f"{batching} events a batch"
        print(
            f"  {label}: write units per event {writes[0]:.3f} -> {writes[1]:.3f} "
            f"({writes[1] / writes[0] - 1:+.1%}), read units {reads[0]:.3f} -> {reads[1]:.3f} "
            f"({reads[1] / reads[0] - 1:+.1%}), DynamoDB ${usd[0]:.3f} -> ${usd[1]:.3f} per million events "
            f"({usd[1] / usd[0] - 1:+.1%})"
        )
        each = marker_units / max(1, marker_count)
        print(
            f"    {marker_count:,} merge markers written, {each:.2f} write units "
            "each (the visitor's item replaced, its by-band entry, if any, removed, its by-merge entry "
            "added); marker reads "
            f"{marker_reads:.3f} read units per event"
        )
    plain, identity = (results[(stream, DEFAULT)] for stream in STREAMS)
    invocations = [sum(len(run.notify) for run in m.runs.values()) for m in (plain, identity)]
    ours = identities["identity"]
    before, after = (alert_counts(m.alerts, ours) for m in (plain, identity))
    published = [
        sum(run.reading.count("sns", "Publish") for run in m.runs.values()) for m in (plain, identity)
    ]
    if published != [before["total"], after["total"]]:
        raise AssertionError(
            f"SNS publishes {published}, alerts in the outbox {before['total']}, {after['total']}"
        )
    print(
        f"  notify (default batching, on the table's changes as its stream delivers them): {invocations[0]:,}"
        f" -> {invocations[1]:,} invocations; alerts published {before['total']:,} -> {after['total']:,}"
        f" ({after['total'] / max(1, before['total']) - 1:+.1%})"
    )
    print(
        f"    about the {len(set(ours.links.values())):,} people who browsed anonymously first, then "
        f"identified: {before['identified later']:,} -> {after['identified later']:,} "
        f"({after['linked visitor']:,} of them under the anonymous id); about an anonymous visitor who "
        f"never identified: {after['visitor never identified']:,} (in the reference stream, these visitors "
        "are people)"
    )


def _print_leads(identities: Mapping[str, Identities], results: Mapping[tuple[str, str], Measured]) -> None:
    print()
    print("== leads at the end of hour 2 ==")
    failures = []
    for (stream, batching), measured in results.items():
        table, who = measured.table, identities[stream]
        people = len(table.live & who.people)
        visitors = len(table.live & who.never_identified)
        print(
            f"  {stream}, {batching} per batch: {len(table.live):,} leads = {people:,} people + {visitors:,} "
            f"anonymous visitors never identified; {len(table.markers):,} merge markers (not leads)"
            + (
                f" of {min(table.marker_sizes)} to {max(table.marker_sizes)} bytes"
                if table.marker_sizes
                else ""
            )
        )
        problems = identity_problems(table, who)
        for problem in problems[:5]:
            print(f"  ! {problem}")
        if problems:
            failures.append(f"{stream}, {batching}: {len(problems)} problems")
    linked = len(identities["identity"].links)
    print(
        f"  check: each of the {linked:,} anonymous ids a message linked to a person is a merge marker into "
        f"that person, no identified person's activity left on a live anonymous lead: "
        f"{'FAIL' if failures else 'pass'}"
    )
    if failures:
        raise AssertionError("; ".join(failures))


def _print_not_counted() -> None:
    print()
    print("== what these figures do not count ==")
    notes = [
        "Only the lead table's capacity is shown: the score function's other costs (Lambda, the archive's "
        "S3 PUT per batch, SQS) depend on the batches, which are the same in both streams.",
        "The stream side: a merge marker is one more stream record (MODIFY, or INSERT for an id with no "
        "item); notify reads it for free and ignores it. notify's duration is not shown, nor what the extra "
        "alerts cost (an SNS publish and an e-mail each: see storage_cost's bill).",
        "Look-ups: GET /v1/leads on a merged id reads the marker, then the person (the leads function).",
        "Storage: one marker (its size above) stays for good per linked anonymous id.",
        "Aliases (previousId into userId) are not in this stream; they link ids as a message with both does.",
        "Concurrency: batches run one at a time, so no conditional write lost a race (the 'failed' rows).",
    ]
    for note in notes:
        print(f"  - {note}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--jobs", type=int, default=None, help="processes (default: one per CPU)")
    run(jobs=parser.parse_args().jobs)


if __name__ == "__main__":
    main()
