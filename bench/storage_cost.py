"""What storing scores costs, counted as AWS bills it, side by side with a textbook scorer, in one run.

On moto, in process: the reference workload (bench/workload.py) goes through the product's real score
path, the score handler invoked as the local stack invokes it, in SQS batches of 10, 100 and 1,000
events and in the stack's default batching (``SCORE_QUEUE.batch_size`` events or
``max_batching_window_seconds`` after a batch's first event, simulated over the events' arrival times).
Each body is what collect queues (``accept_message(...).message`` as JSON). Hour 1 (new leads) runs on
an empty table, hour 2 (known leads) on the table hour 1 left, with the same batching. The meter
(bench/meter.py) counts every request and bills DynamoDB as the developer guide describes.

The textbook scorer (bench/textbook/) runs on the same stream at the default batching. Its cost per
event does not depend on the batch size (a get and a put per event, two idempotency writes per
message), so it runs once per pass. Moto takes about 4 ms a request here and the textbook makes five
per event, so by default it runs on every event of one lead in eight (``--textbook-share``), leads
taken evenly along their ranking by events; that leaves out the busiest few and under-states its
cost. The runs are independent: each takes its own process (one per CPU at a time).

The bill (bench/prices.py) adds the front door (API Gateway, the collect function, SQS), measured by
running the collect handler on a sample of the same messages in two traffic shapes, and the notify
function, run on the table's changes at the default batching as its stream would deliver them.

Run: ``python -m bench.storage_cost`` (or ``python -m bench``).
"""

from __future__ import annotations

import argparse
import copy
import importlib
import json
import math
import multiprocessing
import os
import statistics
import sys
import tempfile
import time
import uuid
import zlib
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import boto3
import botocore
import moto
from moto import mock_aws

from bench import prices
from bench.meter import Change, IndexTotals, Meter, Reading, TableTotals, item_size
from bench.workload import Workload, arrival, reference_workload
from leadscore import resources
from leadscore.segment import accept_message
from leadscore_local.aws import provision, table_definition
from leadscore_local.runtime import LocalContext, LocalFunction, sample_event

FIXED_BATCHES = (10, 100, 1_000)
DEFAULT = "default"
SQS_RECEIVE_LIMIT = 10  # Lambda's SQS pollers receive and delete at most 10 messages a request
QUEUE_FLUSH_MESSAGES = 100  # messages collect may queue before moto's queue is emptied (it slows as it fills)
SERVER_BATCH = 100  # server-side libraries send batches of 100 messages a request
COLLECT_SAMPLE = {"server": 3_000, "browser": 600}  # events collect is measured on, per traffic shape
# Estimates, not measurements: Lambda writes START, END and REPORT lines (about 350 bytes) per invocation,
# and API Gateway one access log line in the stack's format (about 260 bytes) per request.
PLATFORM_LOG_BYTES = 350
ACCESS_LOG_BYTES = 260
KB = 1024


@dataclass
class Invocation:
    seconds: float  # wall time, minus the meter's own work
    log_bytes: int  # what the handler wrote to stdout (its logs)

    @property
    def billed_ms(self) -> int:
        return max(1, math.ceil(self.seconds * 1000))


@dataclass
class Run:
    """One scorer on one pass at one batching."""

    scorer: str
    batching: str
    pass_name: str
    events: int
    batch_sizes: list[int]
    bound_writes: int  # distinct leads per batch, summed: one write per lead per batch
    receive_requests: int  # SQS requests Lambda's pollers make to receive these batches (64 KB chunks)
    reading: Reading = field(default_factory=lambda: Reading(Counter(), Counter(), {}))
    score: list[Invocation] = field(default_factory=list)
    notify: list[Invocation] = field(default_factory=list)
    failed_events: int = 0
    errors: Counter[str] = field(default_factory=Counter)

    def per_event(self, value: float) -> float:
        return value / self.events if self.events else 0.0

    @property
    def tables(self) -> list[TableTotals]:
        return list(self.reading.tables.values())

    @property
    def write_units(self) -> float:
        return sum(table.total_write_units for table in self.tables)

    @property
    def read_units(self) -> float:
        return sum(table.read_units for table in self.tables)

    @property
    def bound(self) -> float:
        return self.per_event(self.bound_writes)


@dataclass
class FrontDoor:
    """The collect side of one traffic shape, measured on a sample."""

    shape: str
    events: int
    requests: int
    invocations: list[Invocation]
    reading: Reading

    def per_event(self, value: float) -> float:
        return value / self.events


# --- the harness -----------------------------------------------------------------------------------------


@contextmanager
def captured_stdout() -> Iterator[list[int]]:
    """Counts the bytes written to file descriptor 1 (the handlers' logs) without showing them."""
    sys.stdout.flush()
    saved = os.dup(1)
    written = [0]
    with tempfile.TemporaryFile() as sink:
        os.dup2(sink.fileno(), 1)
        try:
            yield written
        finally:
            sys.stdout.flush()
            os.dup2(saved, 1)
            os.close(saved)
            written[0] = sink.seek(0, os.SEEK_END)


@dataclass(frozen=True)
class Queued:
    lead_id: str
    body: str
    arrived: datetime


def queued_bodies(messages: Sequence[dict[str, Any]]) -> list[Queued]:
    """The SQS message bodies collect queues for ``messages`` (see SqsMessageQueue.send)."""
    out = []
    for message in messages:
        accepted = accept_message(message, arrival(message), call=message["type"])
        body = json.dumps(accepted.message, separators=(",", ":"))
        out.append(Queued(accepted.event.lead_id, body, arrival(message)))
    return out


def fixed_batches(items: Sequence[Queued], size: int) -> list[list[Queued]]:
    return [list(items[start : start + size]) for start in range(0, len(items), size)]


def window_batches(items: Sequence[Queued], size: int, window_seconds: float) -> list[list[Queued]]:
    """Lambda's SQS batching: a batch closes when full or when the window after its first event passed."""
    batches: list[list[Queued]] = []
    current: list[Queued] = []
    for item in items:
        if current and (
            len(current) >= size or (item.arrived - current[0].arrived).total_seconds() > window_seconds
        ):
            batches.append(current)
            current = []
        current.append(item)
    if current:
        batches.append(current)
    return batches


class Harness:
    def __init__(self, meter: Meter, local: Any) -> None:
        self.meter = meter
        self.local = local
        self.template = sample_event("sqs_batch.json")["Records"][0]
        self.stream_template = sample_event("dynamodb_stream_record.json")["Records"][0]
        self.score = LocalFunction("score")
        self.notify = LocalFunction("notify")
        self.collect = LocalFunction("collect")
        self._textbook: Any = None
        self.dynamodb = boto3.client("dynamodb")  # metered: the meter sees the tables created empty

    def textbook_handler(self) -> Callable[[dict[str, Any]], Any]:
        """The textbook handler, invoked as Lambda would with the score function's memory and timeout."""
        if self._textbook is None:
            self._textbook = importlib.import_module("bench.textbook.handler")
        spec = resources.FUNCTIONS["score"]
        module = self._textbook
        return lambda event: module.handler(
            event, LocalContext("textbook", spec.memory_mb, spec.timeout_seconds)
        )

    def reset_leads_table(self) -> None:
        self.dynamodb.delete_table(TableName=resources.LEADS_TABLE.local_name)
        self.dynamodb.create_table(**table_definition())

    def reset_textbook_tables(self) -> None:
        from bench.textbook import table_definitions

        for definition in table_definitions():
            with suppress(self.dynamodb.exceptions.ResourceNotFoundException):
                self.dynamodb.delete_table(TableName=definition["TableName"])
            self.dynamodb.create_table(**definition)

    def empty_queue(self) -> None:
        """Drop what collect queued (the score runs feed the handler directly): moto slows as a queue fills.

        PurgeQueue may run once a minute, so the queue is deleted and made again, with the same URL."""
        sqs = self.meter.unmetered("sqs")
        attributes = sqs.get_queue_attributes(QueueUrl=self.local.queue_url, AttributeNames=["All"])[
            "Attributes"
        ]
        kept = {
            name: attributes[name]
            for name in ("VisibilityTimeout", "MessageRetentionPeriod", "RedrivePolicy")
        }
        sqs.delete_queue(QueueUrl=self.local.queue_url)
        url = sqs.create_queue(QueueName=resources.SCORE_QUEUE.local_name, Attributes=kept)["QueueUrl"]
        assert url == self.local.queue_url, (url, self.local.queue_url)

    def sqs_event(self, batch: Sequence[Queued]) -> dict[str, Any]:
        records = []
        for item in batch:
            sent = str(int(item.arrived.timestamp() * 1000))
            record = {
                **self.template,
                "messageId": str(uuid.uuid4()),
                "body": item.body,
                "attributes": {**self.template["attributes"], "SentTimestamp": sent},
                "eventSourceARN": self.local.queue_arn,
            }
            records.append(record)
        return {"Records": records}

    def invoke(
        self, handler: Callable[[dict[str, Any]], Any], event: dict[str, Any]
    ) -> tuple[Any, Invocation]:
        overhead = self.meter.overhead_seconds
        with captured_stdout() as written:
            started = time.perf_counter()
            try:
                result = handler(event)
            except Exception as error:  # a broken handler must not hide the figures of the others
                result = error
            elapsed = time.perf_counter() - started
        return result, Invocation(elapsed - (self.meter.overhead_seconds - overhead), written[0])

    def run(self, scorer: str, batching: str, pass_name: str, batches: list[list[Queued]]) -> Run:
        started = time.perf_counter()
        run = self._run(scorer, batching, pass_name, batches)
        _progress(f"{scorer}, {batching} per batch, {pass_name}: {run.events:,} events", started)
        return run

    def _run(self, scorer: str, batching: str, pass_name: str, batches: list[list[Queued]]) -> Run:
        run = Run(
            scorer=scorer,
            batching=batching,
            pass_name=pass_name,
            events=sum(len(batch) for batch in batches),
            batch_sizes=[len(batch) for batch in batches],
            bound_writes=sum(len({item.lead_id for item in batch}) for batch in batches),
            receive_requests=sum(
                _chunks(sum(len(item.body.encode()) for item in batch[start : start + SQS_RECEIVE_LIMIT]))
                for batch in batches
                for start in range(0, len(batch), SQS_RECEIVE_LIMIT)
            ),
        )
        self.meter.reset()
        with_notify = scorer == "product" and batching == DEFAULT
        handler = self.score.invoke if scorer == "product" else self.textbook_handler()
        for batch in batches:
            result, invocation = self.invoke(handler, self.sqs_event(batch))
            run.score.append(invocation)
            if isinstance(result, Exception):
                run.failed_events += len(batch)
                run.errors[f"{type(result).__name__}: {str(result)[:160]}"] += 1
            else:
                run.failed_events += len(result.get("batchItemFailures", []))
            changes = self.meter.drain_changes()
            if with_notify and changes:
                run.notify += self.notify_changes(changes, run)
        run.reading = self.meter.reading()
        return run

    def notify_changes(self, changes: list[Change], run: Run) -> list[Invocation]:
        """The notify function on the lead table's changes, as its stream event source would batch them."""
        invocations = []
        for start in range(0, len(changes), resources.STREAM_BATCH_SIZE):
            event = {
                "Records": [
                    self.stream_record(change)
                    for change in changes[start : start + resources.STREAM_BATCH_SIZE]
                ]
            }
            result, invocation = self.invoke(self.notify.invoke, event)
            if isinstance(result, Exception):
                run.errors[f"notify {type(result).__name__}: {str(result)[:160]}"] += 1
            invocations.append(invocation)
        return invocations

    def stream_record(self, change: Change) -> dict[str, Any]:
        record = {name: value for name, value in self.stream_template.items() if name != "dynamodb"}
        record["eventID"] = uuid.uuid4().hex
        record["eventName"] = "INSERT" if change.old is None else "REMOVE" if change.new is None else "MODIFY"
        image: dict[str, Any] = {
            "ApproximateCreationDateTime": int(time.time()),
            "Keys": change.keys,
            "SequenceNumber": str(time.perf_counter_ns()),
            "SizeBytes": item_size(change.new or change.old),
            "StreamViewType": resources.LEADS_TABLE.stream_view,
        }
        if change.new is not None:
            image["NewImage"] = change.new
        if change.old is not None:
            image["OldImage"] = change.old
        record["dynamodb"] = image
        return record

    def front_door(self, shape: str, messages: Sequence[dict[str, Any]]) -> FrontDoor:
        """The collect handler on ``messages``: batches of 100 per request, or one message per request."""
        template = sample_event("apigw_http_batch.json")
        if shape == "server":
            requests = [
                ("batch", {"batch": list(messages[start : start + SERVER_BATCH])})
                for start in range(0, len(messages), SERVER_BATCH)
            ]
        else:
            requests = [
                (message["type"], {k: v for k, v in message.items() if k != "type"}) for message in messages
            ]
        self.meter.reset()
        invocations = []
        queued = 0
        for call, body in requests:
            event = copy.deepcopy(template)
            event["routeKey"] = event["requestContext"]["routeKey"] = f"POST /v1/{call}"
            event["rawPath"] = event["requestContext"]["http"]["path"] = f"/v1/{call}"
            event["body"] = json.dumps(body)
            result, invocation = self.invoke(self.collect.invoke, event)
            if isinstance(result, Exception) or result.get("statusCode") != 200:
                raise RuntimeError(f"collect refused a {call} request: {result!r}")
            invocations.append(invocation)
            queued += len(body.get("batch", [body]))
            if queued >= QUEUE_FLUSH_MESSAGES:
                self.empty_queue()
                queued = 0
        reading = self.meter.reading()
        self.empty_queue()
        return FrontDoor(shape, len(messages), len(requests), invocations, reading)


def _progress(what: str, started: float) -> None:
    print(f"[storage_cost] {what} in {time.perf_counter() - started:.0f} s", file=sys.stderr, flush=True)


def _chunks(size: int) -> int:
    return max(1, math.ceil(size / (64 * KB)))


# --- the run ---------------------------------------------------------------------------------------------

TEXTBOOK_SHARE = 0.125
REGION = "us-east-1"


def run(
    *, textbook_share: float = TEXTBOOK_SHARE, jobs: int | None = None, workload: Workload | None = None
) -> None:
    """Every figure, in one run: the runs are independent, so ``jobs`` processes share them out."""
    _environment()
    started = time.perf_counter()
    workload = workload or reference_workload()
    passes = {
        "new leads": queued_bodies(workload.new_leads),
        "known leads": queued_bodies(workload.known_leads),
    }
    sampled = textbook_sample(workload, textbook_share)
    # Longest first, so the processes finish together.
    tasks = [
        Task("product", "10"),
        Task("textbook", DEFAULT),
        Task("product", DEFAULT),
        Task("product", "100"),
        Task("front door", ""),
        Task("product", "1,000"),
    ]
    jobs = max(1, min(len(tasks), jobs or os.cpu_count() or 1))
    # One fresh interpreter per task: the handlers keep their clients for the life of the process, as
    # Lambda does, and those clients belong to the moto and the meter of the task that made them.
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=jobs, mp_context=context, max_tasks_per_child=1) as pool:
        futures = [pool.submit(perform, task, workload, passes, sampled) for task in tasks]
        results = [future.result() for future in futures]
    product: dict[tuple[str, str], Run] = {}
    textbook: dict[str, Run] = {}
    fronts: dict[str, FrontDoor] = {}
    for result in results:
        for item in result:
            if isinstance(item, FrontDoor):
                fronts[item.shape] = item
            elif item.scorer == "product":
                product[(item.batching, item.pass_name)] = item
            else:
                textbook[item.pass_name] = item
    ordered = {
        key: product[key]
        for batching in [*(f"{n:,}" for n in FIXED_BATCHES), DEFAULT]
        for key in [(batching, "new leads"), (batching, "known leads")]
    }
    report(
        workload, ordered, textbook, fronts, sampled=sampled, seconds=time.perf_counter() - started, jobs=jobs
    )


@dataclass(frozen=True)
class Task:
    scorer: str  # "product", "textbook" or "front door"
    batching: str  # "10", "100", "1,000" or DEFAULT


# Lambda reads an SQS queue with five pollers to start with; each receives its share of the messages
# and fills its own batch, so a quiet stream's batches are a fifth of what one poller would gather.
SQS_POLLERS = 5


def batches_of(items: Sequence[Queued], batching: str) -> list[list[Queued]]:
    if batching == DEFAULT:
        queue = resources.SCORE_QUEUE  # read now: the stack's settings may have changed since import
        shares: list[list[Queued]] = [[] for _ in range(SQS_POLLERS)]
        for number, item in enumerate(items):
            shares[zlib.crc32(str(number).encode()) % SQS_POLLERS].append(item)
        batches = [
            batch
            for share in shares
            for batch in window_batches(share, queue.batch_size, queue.max_batching_window_seconds)
        ]
        return sorted(batches, key=lambda batch: batch[0].arrived)
    return fixed_batches(items, int(batching.replace(",", "")))


def perform(
    task: Task, workload: Workload, passes: dict[str, list[Queued]], sampled: set[str]
) -> list[Run | FrontDoor]:
    """One task on its own moto: both passes of one scorer at one batching (hour 2 on hour 1's table)."""
    _environment()
    with mock_aws(), Meter(record_changes={resources.LEADS_TABLE.local_name}) as meter:
        local = provision(boto3.client)  # type: ignore[arg-type]
        os.environ.update(local.function_environment())
        harness = Harness(meter, local)
        if task.scorer == "front door":
            fronts: list[Run | FrontDoor] = []
            for shape, count in COLLECT_SAMPLE.items():
                started = time.perf_counter()
                fronts.append(harness.front_door(shape, workload.new_leads[:count]))
                _progress(f"collect, {shape}: {count:,} events", started)
            return fronts
        if task.scorer == "textbook":
            harness.reset_textbook_tables()
        runs: list[Run | FrontDoor] = []
        for pass_name, items in passes.items():
            batches = batches_of(items, task.batching)
            if task.scorer == "textbook":
                batches = [kept for batch in batches if (kept := [i for i in batch if i.lead_id in sampled])]
            runs.append(harness.run(task.scorer, task.batching, pass_name, batches))
        return runs


def _environment() -> None:
    os.environ.update(
        AWS_ACCESS_KEY_ID="bench",
        AWS_SECRET_ACCESS_KEY="bench",
        AWS_DEFAULT_REGION=REGION,
        AWS_REGION=REGION,
        # As deployed (infra/functions.py): the handlers' logs are part of the bill.
        POWERTOOLS_SERVICE_NAME=resources.SERVICE,
        POWERTOOLS_LOG_LEVEL="INFO",
    )
    os.environ.pop("AWS_ENDPOINT_URL", None)


def textbook_sample(workload: Workload, share: float) -> set[str]:
    """Every lead, or one lead in ``1 / share`` taken evenly along the leads ranked by their events."""
    counts = Counter(message["userId"] for message in [*workload.new_leads, *workload.known_leads])
    ranked = sorted(counts, key=lambda lead: (-counts[lead], lead))
    if share >= 1:
        return set(ranked)
    step = round(1 / share)
    return {lead for position, lead in enumerate(ranked) if position % step == step // 2}


# --- the report ------------------------------------------------------------------------------------------

LABEL = 46
COLUMN = 13
PASSES = ("new leads", "known leads")


def _row(label: str, cells: Sequence[str], width: int = COLUMN) -> None:
    print(f"  {label:<{LABEL}}" + "".join(f"{cell:>{width}}" for cell in cells))


def _each(runs: Sequence[Run], value: Callable[[Run], float], form: str = "{:.3f}") -> list[str]:
    return [form.format(value(run)) for run in runs]


def _percentile(values: Sequence[int], share: float) -> int:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(share * len(ordered)) - 1)] if ordered else 0


def _lead_table(run: Run) -> TableTotals:
    """The table lead items go to: the product's lead table, or the textbook's."""
    from bench.textbook import TABLE

    return run.reading.table(resources.LEADS_TABLE.local_name if run.scorer == "product" else TABLE)


def _sizes(run: Run) -> list[int]:
    return _lead_table(run).item_sizes


def _share_over(sizes: Sequence[int], limit: int) -> float:
    return sum(size > limit for size in sizes) / len(sizes) if sizes else 0.0


def _requests(run: Run) -> dict[str, float]:
    return {
        f"{service} {operation}": run.per_event(count)
        for (service, operation), count in sorted(run.reading.requests.items())
    }


def _ratio_to_bound(run: Run) -> float:
    return run.per_event(run.write_units) / run.bound if run.bound else math.inf


def _duration_ms(run: Run) -> float:
    return 1000 * run.per_event(sum(invocation.seconds for invocation in run.score))


def report(
    workload: Workload,
    product: dict[tuple[str, str], Run],
    textbook: dict[str, Run],
    fronts: dict[str, FrontDoor],
    *,
    sampled: set[str],
    seconds: float,
    jobs: int,
) -> None:
    queue = resources.SCORE_QUEUE
    batchings = list(dict.fromkeys(batching for batching, _ in product))
    hour_1, hour_2 = ({m["userId"] for m in ms} for ms in (workload.new_leads, workload.known_leads))
    print("Storage cost, counted as AWS bills it (bench/storage_cost.py; the meter: bench/meter.py)")
    print(
        f"  workload (bench/workload.py): {len(workload.new_leads):,} events an hour, Zipf(1.1) over 2,000 "
        f"leads; hour 1 reached {len(hour_1):,} leads, hour 2 {len(hour_2):,} of them"
    )
    print(
        f"  default batching (leadscore.resources.SCORE_QUEUE): {queue.batch_size:,} events or "
        f"{queue.max_batching_window_seconds} s after a batch's first event, over the events' arrival times,"
        f" each of Lambda's {SQS_POLLERS} pollers batching its share"
    )
    print(
        f"  moto {moto.__version__}, botocore {botocore.__version__}, Python {sys.version.split()[0]}, "
        f"{datetime.now(UTC):%Y-%m-%d}; the run took {seconds:.0f} s in {jobs} processes"
    )
    for pass_name in PASSES:
        runs = [product[(batching, pass_name)] for batching in batchings]
        _print_pass(pass_name, runs, batchings)
        _print_textbook(textbook[pass_name], product[(DEFAULT, pass_name)], sampled, hour_1 | hour_2)
    _print_targets(product, textbook)
    _print_bill(product, textbook, fronts)
    _print_not_counted(sampled, hour_1 | hour_2)


def _print_pass(pass_name: str, runs: list[Run], batchings: list[str]) -> None:
    title = "hour 1 on an empty table" if pass_name == "new leads" else "hour 2 on the table hour 1 left"
    lead_table = resources.LEADS_TABLE.local_name
    print()
    print(f"== {pass_name} ({title}): per event, the score path (and notify at the default batching) ==")
    _row("events per SQS batch", [f"{b} /batch" if b != DEFAULT else DEFAULT for b in batchings])
    _row(
        "batches (mean events per batch)",
        [f"{len(r.batch_sizes):,} ({r.events / len(r.batch_sizes):.1f})" for r in runs],
    )
    print("  requests per event")
    for name in sorted({name for run in runs for name in _requests(run)}):
        _row(f"  {name}", [f"{_requests(run).get(name, 0.0):.3f}" for run in runs])
    print("  write units per event (1 per started KB of the larger of the item before and after)")
    _row(
        f"  table {lead_table}",
        _each(runs, lambda run: run.per_event(run.reading.table(lead_table).write_units)),
    )
    for index in resources.LEADS_TABLE.indexes:

        def totals(run: Run, name: str = index.name) -> IndexTotals:
            return run.reading.table(lead_table).indexes.get(name, IndexTotals())

        _row(
            f"  index {index.name} ({index.projection})",
            _each(runs, lambda run: run.per_event(totals(run).write_units)),
        )
        _row(
            "    index writes per table write",
            _each(
                runs, lambda run: totals(run).writes / max(1, run.reading.table(lead_table).writes), "{:.2f}"
            ),
        )
    for other in sorted({name for run in runs for name in run.reading.tables} - {lead_table}):
        _row(
            f"  table {other}",
            [f"{run.per_event(run.reading.table(other).total_write_units):.3f}" for run in runs],
        )
    _row("  total", _each(runs, lambda run: run.per_event(run.write_units)))
    _row("read units per event", _each(runs, lambda run: run.per_event(run.read_units)))
    _row(
        "lead item written, p50 / p95 (bytes)",
        [f"{_percentile(_sizes(r), 0.5)} / {_percentile(_sizes(r), 0.95)}" for r in runs],
    )
    _row("lead item written, max (bytes)", [f"{max(_sizes(r), default=0):,}" for r in runs])
    _row("writes of a lead item over 1 KB", _each(runs, lambda run: _share_over(_sizes(run), KB), "{:.1%}"))
    _row("lower bound: distinct leads per batch / events", _each(runs, lambda run: run.bound))
    _row("ratio to the lower bound", _each(runs, _ratio_to_bound, "{:.2f}x"))
    _row("events failed (batchItemFailures)", _each(runs, lambda run: run.failed_events, "{:,}"))
    _row("score duration per event (ms, moto included)", _each(runs, _duration_ms, "{:.2f}"))
    for run in runs:
        _print_errors(f"{run.batching} per batch", run)


def _print_errors(where: str, run: Run) -> None:
    for error, count in run.errors.most_common(3):
        print(f"  ! {where}: {count} invocations raised {error}")
    for error, count in run.reading.errors.most_common(3):
        print(f"  ! {where}: the meter could not bill {count} requests: {error}")


def _print_textbook(run: Run, product: Run, sampled: set[str], leads: set[str]) -> None:
    sample = " (a sample: see the end)" if len(sampled) < len(leads) else ""
    print(
        f"  textbook scorer (bench/textbook/), default batching, on {run.events:,} events of "
        f"{len(sampled):,} leads{sample}:"
    )
    print(
        "    requests per event: "
        + ", ".join(f"{name} {value:.3f}" for name, value in _requests(run).items())
    )
    tables = ", ".join(
        f"{name} {run.per_event(totals.total_write_units):.3f}"
        for name, totals in sorted(run.reading.tables.items())
    )
    print(f"    write units per event: {run.per_event(run.write_units):.3f} ({tables})")
    print(f"    read units per event: {run.per_event(run.read_units):.3f}")
    sizes = _sizes(run)
    print(
        f"    lead item written p50 / p95 / max: {_percentile(sizes, 0.5)} / {_percentile(sizes, 0.95)} / "
        f"{max(sizes, default=0):,} bytes; {_share_over(sizes, KB):.1%} over 1 KB"
    )
    print(
        f"    events failed: {run.failed_events:,}; score duration per event {_duration_ms(run):.2f} ms "
        "(moto included)"
    )
    ours = product.per_event(product.write_units)
    factor = run.per_event(run.write_units) / ours if ours else math.inf
    print(f"    textbook write units per event / the product's at the default batching: {factor:.2f}x")
    _print_errors("textbook", run)


def _print_targets(product: dict[tuple[str, str], Run], textbook: dict[str, Run]) -> None:
    print()
    print("== targets (issue 12), from the figures above ==")
    checks: list[tuple[str, str, str, bool]] = []
    for batching, limit in (("10", 1.5), ("100", 1.25), ("1,000", 1.25)):
        ratio = _ratio_to_bound(product[(batching, "known leads")])
        checks.append(
            (
                f"known leads, {batching} per batch: x the lower bound",
                f"{ratio:.2f}",
                f"<= {limit}",
                ratio <= limit,
            )
        )
    for batching in ("10", "100", "1,000", DEFAULT):
        ratio = _ratio_to_bound(product[(batching, "new leads")])
        checks.append(
            (f"new leads, {batching} per batch: x the lower bound", f"{ratio:.2f}", "<= 2", ratio <= 2)
        )
    sizes = [size for run in product.values() for size in _sizes(run)]
    small = 1 - _share_over(sizes, KB)
    checks.append(("lead item writes of at most 1 KB (every run)", f"{small:.1%}", ">= 99%", small >= 0.99))
    largest = max(sizes, default=0)
    checks.append(("largest lead item written (bytes)", f"{largest:,}", "<= 4,096", largest <= 4 * KB))
    for pass_name in PASSES:
        ours, theirs = product[(DEFAULT, pass_name)], textbook[pass_name]
        factor = (
            theirs.per_event(theirs.write_units) / ours.per_event(ours.write_units)
            if ours.write_units
            else math.inf
        )
        checks.append(
            (f"{pass_name}, default batching: textbook WCU / ours", f"{factor:.2f}", ">= 5", factor >= 5)
        )
    for label, value, target, passed in checks:
        print(f"  {label:<56}{value:>8}   target {target:<9} {'pass' if passed else 'FAIL'}")


# --- the bill --------------------------------------------------------------------------------------------


def _gb_seconds(invocations: Sequence[Invocation], function: str) -> float:
    memory_gb = resources.FUNCTIONS[function].memory_mb / 1024
    return sum(invocation.billed_ms for invocation in invocations) / 1000 * memory_gb


def bill(front: FrontDoor, runs: Sequence[Run], stream: Sequence[Run]) -> dict[str, float]:
    """US dollars per million events, line by line, for one traffic shape and one scorer's ``runs``.

    ``stream`` are the runs of the whole stream at the same batching (the product's): how many batches,
    hence invocations and SQS receives, the queue hands the score function does not depend on the scorer,
    and a sampled run would over-count them."""
    events = sum(run.events for run in runs)
    stream_events = sum(run.events for run in stream)

    def scored(value: float) -> float:  # per million events, from the score side's runs
        return value / events * 1_000_000

    def batched(value: float) -> float:  # per million events, from the whole stream's batches
        return value / stream_events * 1_000_000

    def collected(value: float) -> float:  # per million events, from the collect sample
        return front.per_event(value) * 1_000_000

    score = [invocation for run in runs for invocation in run.score]
    notify = [invocation for run in runs for invocation in run.notify]
    batches = sum(len(run.batch_sizes) for run in stream)
    pollers = sum(
        run.receive_requests + sum(math.ceil(n / SQS_RECEIVE_LIMIT) for n in run.batch_sizes)
        for run in stream
    )
    sqs = (
        collected(front.reading.billed("sqs"))
        + batched(pollers)
        + scored(sum(run.reading.billed("sqs") for run in runs))
    )
    front_logs = (
        sum(i.log_bytes + PLATFORM_LOG_BYTES for i in front.invocations) + ACCESS_LOG_BYTES * front.requests
    )
    back_logs = scored(
        sum(invocation.log_bytes for invocation in [*score, *notify]) + PLATFORM_LOG_BYTES * len(notify)
    ) + batched(PLATFORM_LOG_BYTES * batches)
    s3_puts = collected(front.reading.count("s3", "PutObject")) + scored(
        sum(r.reading.count("s3", "PutObject") for r in runs)
    )
    return {
        "API Gateway HTTP API requests": prices.API_GATEWAY_HTTP_REQUEST.cost(collected(front.requests)),
        "Lambda requests": prices.LAMBDA_REQUEST.cost(
            collected(len(front.invocations)) + batched(batches) + scored(len(notify))
        ),
        "Lambda duration, collect": prices.LAMBDA_ARM_GB_SECOND.cost(
            collected(_gb_seconds(front.invocations, "collect"))
        ),
        "Lambda duration, score": prices.LAMBDA_ARM_GB_SECOND.cost(scored(_gb_seconds(score, "score"))),
        "Lambda duration, notify": prices.LAMBDA_ARM_GB_SECOND.cost(scored(_gb_seconds(notify, "notify"))),
        "SQS requests": prices.SQS_REQUEST.cost(sqs),
        "S3 PUT requests": prices.S3_PUT.cost(s3_puts),
        "DynamoDB write units": prices.DYNAMODB_WRITE_UNIT.cost(scored(sum(run.write_units for run in runs))),
        "DynamoDB read units": prices.DYNAMODB_READ_UNIT.cost(scored(sum(run.read_units for run in runs))),
        "SNS publishes": prices.SNS_PUBLISH.cost(scored(sum(run.reading.billed("sns") for run in runs))),
        "SNS e-mail deliveries": prices.SNS_EMAIL.cost(
            scored(sum(r.reading.count("sns", "Publish") for r in runs))
        ),
        "CloudWatch Logs ingestion": prices.CLOUDWATCH_LOGS_INGESTED.cost(collected(front_logs) + back_logs),
    }


def _print_bill(
    product: dict[tuple[str, str], Run], textbook: dict[str, Run], fronts: dict[str, FrontDoor]
) -> None:
    ours = [product[(DEFAULT, pass_name)] for pass_name in PASSES]
    theirs = [textbook[pass_name] for pass_name in PASSES]
    columns = {
        "ours, server": bill(fronts["server"], ours, ours),
        "ours, browser": bill(fronts["browser"], ours, ours),
        "textbook, server": bill(fronts["server"], theirs, ours),
        "textbook, browser": bill(fronts["browser"], theirs, ours),
    }
    width = 19
    print()
    print("== the bill: US dollars per million events, us-east-1 list prices (bench/prices.py) ==")
    print(
        f"  server: batches of {SERVER_BATCH} messages a request; browser: one message a request "
        "(analytics.js)."
    )
    print(
        "  Score side: the default batching, both hours. The textbook keeps the same front door "
        "(collect, SQS)."
    )
    _row("", list(columns), width)
    for line in next(iter(columns.values())):
        _row(line, [f"{lines[line]:.3f}" for lines in columns.values()], width)
    _row("total", [f"{sum(lines.values()):.2f}" for lines in columns.values()], width)
    for name, lines in columns.items():
        (first, first_usd), (second, second_usd) = sorted(lines.items(), key=lambda line: -line[1])[:2]
        total = sum(lines.values())
        print(
            f"  {name}: {first} dominates ({first_usd / total:.0%}), then {second} ({second_usd / total:.0%})"
        )
    for shape, front in fronts.items():
        mean_ms = 1000 * statistics.fmean(invocation.seconds for invocation in front.invocations)
        print(
            f"  collect, {shape}: measured on {front.events:,} events in {front.requests:,} requests: "
            f"{mean_ms:.1f} ms, {front.reading.count('s3', 'PutObject') / front.requests:.2f} S3 PUTs and "
            f"{front.reading.billed('sqs') / front.requests:.2f} SQS requests a request"
        )
    print(f"  prices, retrieved {prices.RETRIEVED}:")
    for name, price in prices.ALL.items():
        print(f"    {name}: ${price.usd:g} per {price.per:,.0f} ({price.unit}), {price.source}")


def _print_not_counted(sampled: set[str], leads: set[str]) -> None:
    print()
    print("== what these figures do not count ==")
    notes = [
        "Lambda durations are measured on this machine with moto in process (about 4 ms a DynamoDB, S3 or "
        "SQS call here), minus the meter's own work: an over-estimate of arm64 Lambda on AWS. Cold starts' "
        "init is not included (each handler was warm after its first invocation).",
        "CloudWatch Logs: what the handlers wrote at INFO (the deployed level) is measured; Lambda's START, "
        f"END and REPORT lines ({PLATFORM_LOG_BYTES} B an invocation) and API Gateway's access log line "
        f"({ACCESS_LOG_BYTES} B a request) are estimates.",
        "SQS: the pollers' receives and deletes are modelled (10 messages a request, 64 KB chunks), not "
        "seen; their idle long polls (a fixed cost a month) and redeliveries of failed events are not "
        "counted.",
        "notify: invoked on the lead table's changes as its stream would deliver them (one stream batch per "
        "score invocation; the stream's filter on signals would skip batches that raised none, so its "
        "invocations are over-counted); Lambda reads streams for free. One e-mail per published alert.",
        "Not counted at all: DynamoDB and S3 storage, S3 GETs for replay, the decay function's runs, "
        "CloudWatch metrics and alarms, Secrets Manager reads (one per container every 5 minutes), KMS, data "
        "transfer, free tiers (X-Ray tracing is off).",
        "Failed events are counted once: SQS would redeliver them (more invocations, reads and writes).",
    ]
    if len(sampled) < len(leads):
        notes.append(
            f"The textbook ran on {len(sampled):,} of the {len(leads):,} leads (every event of each, batched "
            "as in the full stream, leads taken evenly along their ranking by events; its invocations and "
            "SQS requests are the full stream's). The sample leaves out the few busiest leads, whose items "
            "grow the largest: it under-states the textbook's cost per event. --textbook-share 1 runs it on "
            "every lead (about ten minutes more)."
        )
    for note in notes:
        print(f"  - {note}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--textbook-share", type=float, default=TEXTBOOK_SHARE, help="share of the leads the textbook scores"
    )
    parser.add_argument("--jobs", type=int, default=None, help="processes (default: one per CPU)")
    arguments = parser.parse_args()
    run(textbook_share=arguments.textbook_share, jobs=arguments.jobs)


if __name__ == "__main__":
    main()
