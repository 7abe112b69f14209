"""The rebuilt leads written back, each on the version it was read at and never over activity the
re-score has not seen: such a lead is deferred to the catch-up, which re-joins it (``job``)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from itertools import islice
from typing import Any

from leadscore.errors import ConcurrentUpdate
from leadscore.events import Event
from leadscore.records import ErasedLead, LeadRecord, MergedLead, StoredItem
from leadscore.rescore.people import Leads, rescored_record
from leadscore.rules import RuleSet

READ_BATCH = 100


@dataclass
class Tally:
    """What a re-score did: leads written, unchanged (nothing written), erased (skipped), deferred (to the
    catch-up), band transitions (before, after), and the leads that entered a higher band."""

    written: int = 0
    unchanged: int = 0
    erased: int = 0
    deferred: set[str] = field(default_factory=set)
    transitions: Counter[tuple[str, str]] = field(default_factory=Counter)
    raised: list[tuple[str, str, str, float]] = field(default_factory=list)
    reads: int = 0

    def add(self, other: Tally) -> None:
        self.written += other.written
        self.unchanged += other.unchanged
        self.erased += other.erased
        self.deferred |= other.deferred
        self.transitions.update(other.transitions)
        self.raised += other.raised
        self.reads += other.reads

    def as_json(self) -> dict[str, Any]:
        return {
            "written": self.written,
            "unchanged": self.unchanged,
            "erased": self.erased,
            "deferred": sorted(self.deferred),
            "transitions": [
                [before, after, count] for (before, after), count in sorted(self.transitions.items())
            ],
            "raised": [list(row) for row in self.raised],
            "reads": self.reads,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Tally:
        return cls(
            written=data["written"],
            unchanged=data["unchanged"],
            erased=data["erased"],
            deferred=set(data["deferred"]),
            transitions=Counter({(before, after): count for before, after, count in data["transitions"]}),
            raised=[(lead, before, after, score) for lead, before, after, score in data["raised"]],
            reads=data["reads"],
        )


def write_people(
    repository: Leads,
    rules: RuleSet,
    people: Mapping[str, Sequence[Event]],
    now: datetime,
    *,
    quiet_since: datetime | None,
    read: Mapping[str, StoredItem | None] | None = None,
    dry_run: bool = False,
) -> Tally:
    """Write each person's rebuilt lead on the version read.

    ``quiet_since``: the history was listed at this moment (less a margin): a lead written since may
    hold messages archived after the listing, so it is deferred, not overwritten. ``read``: the items as
    the caller read them *before* it read the history (the catch-up), instead of reading them here.
    A person now merged into another, or written meanwhile (a lost race), is deferred too. ``dry_run``:
    everything but the writes.
    """
    tally = Tally()
    persons = iter(sorted(people))
    while chunk := list(islice(persons, READ_BATCH)):
        if read is None:
            found: Mapping[str, StoredItem | None] = repository.read_many(chunk)
            tally.reads += len(chunk)
        else:
            found = read
        for person in chunk:
            _write_one(
                repository,
                rules,
                person,
                people[person],
                stored=found.get(person),
                now=now,
                quiet_since=quiet_since,
                tally=tally,
                dry_run=dry_run,
            )
    return tally


def _write_one(
    repository: Leads,
    rules: RuleSet,
    person: str,
    events: Sequence[Event],
    *,
    stored: StoredItem | None,
    now: datetime,
    quiet_since: datetime | None,
    tally: Tally,
    dry_run: bool,
) -> None:
    if isinstance(stored, ErasedLead):
        tally.erased += 1
        return
    if isinstance(stored, MergedLead):
        tally.deferred.add(person)
        return
    record = stored
    if not any(event.timestamp <= now for event in events):
        # Only history dated after now (a producer's clock ahead): nothing to rebuild yet.
        tally.unchanged += record is not None
        return
    rescored = rescored_record(person, events, rules, now, record)
    before = record.summary.band if record else "-"
    after = rescored.summary.band
    if record is not None and nothing_to_write(record, rescored, rules):
        tally.transitions[before, after] += 1
        tally.unchanged += 1
        return
    if record is not None and quiet_since is not None and record.summary.as_of >= quiet_since:
        # Written since the history was listed: it may hold messages this history lacks.
        tally.deferred.add(person)
        return
    tally.transitions[before, after] += 1
    try:
        if not dry_run:
            repository.save(rescored, expected_version=record.version if record else 0)
    except ConcurrentUpdate:
        tally.transitions[before, after] -= 1
        tally.deferred.add(person)
        return
    tally.written += 1
    if rules.band_rank[after] > max(rules.band_rank.get(before, 0), 0):
        tally.raised.append((person, before, after, rescored.summary.score))


def nothing_to_write(stored: LeadRecord, rescored: LeadRecord, rules: RuleSet) -> bool:
    """Nothing to write: the same facts, read under the same rule version into the same band."""
    summary = stored.summary
    return rescored.state == stored.state and (summary.band, summary.rules_version) == (
        rescored.summary.band,
        rules.version,
    )
