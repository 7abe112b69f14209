"""The AWS job's three steps, as the state machine's Lambda workers run them (docs/rescore.md).

Map 1 (``shuffle``) reads a batch of archive objects, routes each line to its person and writes one part
per shard; map 2 (``rebuild_shard``) reads a shard's parts, rebuilds its leads and writes them, leaving
those live activity reached to the catch-up; ``finish`` re-joins those and sums the run up. Every request
each step makes is counted for the bill (``Usage``).
"""

from __future__ import annotations

import hashlib
import time
import zlib
from collections import Counter, defaultdict
from collections.abc import Callable, Collection, Iterable, Sequence
from datetime import datetime
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict, Field

from leadscore.events import Event
from leadscore.records import LeadRecord, StoredItem
from leadscore.rescore.job import SETTLE_MARGIN, Clock, catch_up, route
from leadscore.rescore.people import Leads, Line
from leadscore.rescore.writer import Tally, write_people
from leadscore.resources import RESCORE_SHARDS
from leadscore.rules import RuleSet

SEPARATOR = "\t"  # ids and object names hold no control character (the front door refuses them)


class RunInput(BaseModel):
    """What every worker is told about the run (the state machine passes it along)."""

    model_config = ConfigDict(frozen=True)

    run: str = Field(min_length=1, max_length=80, pattern=r"^[A-Za-z0-9_-]+$")
    started: datetime
    shards: int = Field(default=RESCORE_SHARDS, ge=1, le=RESCORE_SHARDS)
    rules_version: str | None = None


class ArchiveObject(BaseModel):
    """An item of the S3 listing the first map reads (its other fields are ignored)."""

    Key: str


class ShuffleRequest(BaseModel):
    Items: list[ArchiveObject] = Field(min_length=1)
    BatchInput: RunInput


class ShardRequest(RunInput):
    shard: int = Field(ge=0)


class FinishRequest(RunInput):
    # The manifests the two maps' result writers wrote (their children's outputs).
    manifests: list[str] = Field(default_factory=list)


class Work(Protocol):
    """The work bucket (``adapters.rescore_work.S3RescoreWork``)."""

    requests: Counter[str]

    def put_part(self, run: str, shard: int, part: str, lines: Sequence[str]) -> None: ...

    def shard_lines(self, run: str, shard: int) -> list[str]: ...

    def put_deferred(self, run: str, shard: int, lead_ids: Sequence[str]) -> None: ...

    def deferred(self, run: str) -> list[str]: ...

    def map_outputs(self, manifest_key: str) -> Iterable[dict[str, Any]]: ...

    def put_summary(self, run: str, summary: dict[str, Any]) -> None: ...

    def archive_lines(self, archive_bucket: str, key: str) -> list[Line]: ...

    def archive_lines_since(self, archive_bucket: str, since: datetime) -> Iterable[Line]: ...


class MeteredLeads:
    """The lead table, each call counted as DynamoDB bills it (items under 1 KB: a strongly consistent
    read 1 unit, an eventually consistent one 0.5, a write 1 plus its index entries)."""

    def __init__(self, leads: Leads) -> None:
        self._leads = leads
        self.units: dict[str, float] = {"read_units": 0.0, "write_units": 0.0}

    def read_many(self, lead_ids: Sequence[str], *, consistent: bool = True) -> dict[str, StoredItem]:
        self.units["read_units"] += len(lead_ids) * (1.0 if consistent else 0.5)
        return self._leads.read_many(lead_ids, consistent=consistent)

    def save(self, record: LeadRecord, expected_version: int) -> None:
        self.units["write_units"] += 1
        self._leads.save(record, expected_version)

    def merged_into(self, lead_id: str) -> list[str]:
        self.units["read_units"] += 0.5
        return self._leads.merged_into(lead_id)


def shard_of(person: str, shards: int) -> int:
    return zlib.crc32(person.encode()) % shards


def shuffle(
    request: ShuffleRequest, archive_bucket: str, work: Work, leads: MeteredLeads, now: datetime
) -> dict[str, Any]:
    """Map 1's child: the batch's archive objects read, each line routed to its person (stored merge
    markers first), erased people's lines dropped, one part written per shard that got lines."""
    started = time.perf_counter()
    run = request.BatchInput
    lines = [line for item in request.Items for line in work.archive_lines(archive_bucket, item.Key)]
    routed = route(lines, leads, now)
    by_shard: dict[int, list[str]] = defaultdict(list)
    for person, events in routed.people.items():
        for event in events:
            by_shard[shard_of(person, run.shards)].append(f"{person}{SEPARATOR}{event.model_dump_json()}")
    part = hashlib.sha256("\n".join(item.Key for item in request.Items).encode()).hexdigest()[:24]
    for shard, shard_lines in sorted(by_shard.items()):
        work.put_part(run.run, shard, part, shard_lines)
    return {
        "step": "shuffle",
        "objects": len(request.Items),
        "lines": len(lines),
        "unreadable": routed.unreadable,
        "erased_lines": routed.erased_lines,
        **_usage(work, leads, started),
    }


def rebuild_shard(
    request: ShardRequest, rules: RuleSet, work: Work, leads: MeteredLeads, now: datetime
) -> dict[str, Any]:
    """Map 2's child: the shard's people rebuilt from their events and written on the version read; a
    lead written since the run started (less ``SETTLE_MARGIN``) or written meanwhile is left to ``finish``."""
    started = time.perf_counter()
    _check_rules(request, rules)
    people: dict[str, list[Event]] = defaultdict(list)
    for person, event in _parsed(work.shard_lines(request.run, request.shard)):
        people[person].append(event)
    tally = write_people(leads, rules, people, now, quiet_since=request.started - SETTLE_MARGIN)
    if tally.deferred:
        work.put_deferred(request.run, request.shard, sorted(tally.deferred))
    return {"step": "shard", "leads": len(people), **_tally_out(tally), **_usage(work, leads, started)}


def finish(
    request: FinishRequest,
    archive_bucket: str,
    rules: RuleSet,
    *,
    work: Work,
    leads: MeteredLeads,
    clock: Clock,
    has_time: Callable[[], bool] = lambda: True,
) -> dict[str, Any]:
    """The last step: the deferred leads re-joined (their history from their shards and from the archive
    objects written since the run started), then the run summed up from every child's output."""
    started = time.perf_counter()
    _check_rules(request, rules)
    since = request.started - SETTLE_MARGIN

    def load(ids: Collection[str]) -> tuple[list[Line], list[Event]]:
        wanted = set(ids)
        shards = {shard_of(lead_id, request.shards) for lead_id in wanted}
        parsed = [
            event
            for shard in sorted(shards)
            for person, event in _parsed(work.shard_lines(request.run, shard))
            if person in wanted or event.lead_id in wanted
        ]
        return list(work.archive_lines_since(archive_bucket, since)), parsed

    tally = catch_up(work.deferred(request.run), load, leads, rules, clock, has_time=has_time)
    own = {"step": "finish", **_tally_out(tally), **_usage(work, leads, started)}
    outputs = [output for key in request.manifests for output in work.map_outputs(key)]
    summary = summarise([*outputs, own])
    # Every id still deferred in the bucket; the execution's output (at most 256 KB) names the first few.
    work.put_summary(request.run, {**summary, "deferred_ids": sorted(tally.deferred)})
    return summary


def _check_rules(request: RunInput, rules: RuleSet) -> None:
    if request.rules_version is not None and request.rules_version != rules.version:
        raise ValueError(
            f"the deployed rules are version {rules.version}, the run asked for {request.rules_version}: "
            "deploy the rule file first"
        )


def _parsed(lines: Iterable[str]) -> Iterable[tuple[str, Event]]:
    for line in lines:
        person, _, text = line.partition(SEPARATOR)
        yield person, Event.model_validate_json(text)


def _tally_out(tally: Tally) -> dict[str, Any]:
    """A child's output stays small (Step Functions passes at most 256 KB): counts, the first few ids."""
    out = tally.as_json()
    out["raised_count"] = len(tally.raised)
    out["raised"] = out["raised"][:SHOWN]
    out["deferred"] = len(tally.deferred)
    out["deferred_ids"] = sorted(tally.deferred)[:SHOWN]
    return out


SHOWN = 50
USAGE = ("s3_get", "s3_put", "s3_list", "read_units", "write_units")


def _usage(work: Work, leads: MeteredLeads, started: float) -> dict[str, Any]:
    """This invocation's requests and billed duration (Lambda rounds up to the millisecond)."""
    return {
        "invocations": 1,
        "billed_ms": int((time.perf_counter() - started) * 1000) + 1,
        "s3_get": work.requests["get"],
        "s3_put": work.requests["put"],
        "s3_list": work.requests["list"],
        "read_units": leads.units["read_units"],
        "write_units": leads.units["write_units"],
    }


def summarise(outputs: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Every child's output summed by step: counts, transitions, the leads that rose, the usage; what the
    last step left deferred (its count, and the first few ids)."""
    steps: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    transitions: Counter[tuple[str, str]] = Counter()
    raised: list[list[Any]] = []
    deferred: list[str] = []
    for output in outputs:
        step = output["step"]
        for name, value in output.items():
            if isinstance(value, int | float) and not isinstance(value, bool):
                steps[step][name] += value
        transitions.update({(before, after): count for before, after, count in output.get("transitions", [])})
        raised += output.get("raised", [])
        if step == "finish":
            deferred = output.get("deferred_ids", [])
    raised.sort(key=lambda row: -row[3])
    return {
        "steps": {step: dict(counts) for step, counts in steps.items()},
        "transitions": [[*pair, count] for pair, count in sorted(transitions.items()) if count],
        "raised": raised[:SHOWN],
        "deferred": int(steps["finish"].get("deferred", 0)) if "finish" in steps else 0,
        "deferred_ids": deferred,
    }
