"""In-memory implementations of the ports, for tests that need no AWS."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any, TypeVar

from leadscore.errors import ConcurrentUpdate
from leadscore.ports import QueuedMessage
from leadscore.records import Alert, FollowUp, LeadRecord, MergedLead, Outcome, StoredItem
from leadscore.resources import MetricSpec


class InMemoryLeadRepository:
    """A conditional write is atomic, as DynamoDB's is, so parallel workers can race on it."""

    def __init__(self) -> None:
        self.items: dict[str, StoredItem] = {}
        self.outcomes: dict[str, Outcome] = {}
        self.follow_ups: dict[str, FollowUp] = {}
        self.writes = 0
        self._lock = threading.Lock()

    @property
    def records(self) -> dict[str, LeadRecord]:
        return {key: item for key, item in self.items.items() if isinstance(item, LeadRecord)}

    def read(self, lead_id: str) -> StoredItem | None:
        return self.items.get(lead_id)

    def read_many(self, lead_ids: Sequence[str], *, consistent: bool = True) -> dict[str, StoredItem]:
        return {lead_id: self.items[lead_id] for lead_id in lead_ids if lead_id in self.items}

    def get(self, lead_id: str) -> LeadRecord | None:
        return self.records.get(lead_id)

    def get_many(self, lead_ids: Sequence[str], *, consistent: bool = True) -> dict[str, LeadRecord]:
        records = self.records
        return {lead_id: records[lead_id] for lead_id in lead_ids if lead_id in records}

    def save(self, record: LeadRecord, expected_version: int) -> None:
        self._put(record, expected_version)

    def mark_merged(self, merged: MergedLead, expected_version: int) -> None:
        self._put(merged, expected_version)

    def _put(self, item: StoredItem, expected_version: int) -> None:
        with self._lock:
            current = self.items.get(item.lead_id)
            if (current.version if current else 0) != expected_version:
                raise ConcurrentUpdate(item.lead_id)
            self.items[item.lead_id] = item
            self.writes += 1

    def record_outcome(self, lead_id: str, outcome: Outcome) -> bool:
        self._keep(lead_id)
        return _keep_latest(self.outcomes, lead_id, outcome)

    def _keep(self, lead_id: str) -> None:
        """As DynamoDB's: the lead marked kept once, its version moved on."""
        with self._lock:
            record = self.items.get(lead_id)
            if isinstance(record, LeadRecord) and not record.kept:
                self.items[lead_id] = record.model_copy(update={"kept": True, "version": record.version + 1})

    def outcome_of(self, lead_id: str) -> Outcome | None:
        return self.outcomes.get(lead_id)

    def record_follow_up(self, lead_id: str, follow_up: FollowUp) -> bool:
        self._keep(lead_id)
        return _keep_latest(self.follow_ups, lead_id, follow_up)

    def follow_up_of(self, lead_id: str) -> FollowUp | None:
        return self.follow_ups.get(lead_id)

    def leads_of_account(self, account_id: str) -> list[LeadRecord]:
        return [record for record in self.records.values() if record.state.account_id == account_id]

    def follow_ups_of(self, lead_ids: Sequence[str]) -> dict[str, FollowUp]:
        return {lead_id: self.follow_ups[lead_id] for lead_id in lead_ids if lead_id in self.follow_ups}

    def due_for_decay(self, now: datetime, bands: Sequence[str]) -> Iterator[str]:
        for record in list(self.records.values()):
            due = record.decay_due_at
            if record.summary.band in bands and due is not None and due <= now:
                yield record.lead_id

    def leads_in_bands(self, bands: Sequence[str]) -> list[LeadRecord]:
        return [record for record in self.records.values() if record.listed and record.summary.band in bands]


Kept = TypeVar("Kept", Outcome, FollowUp)


def _keep_latest(store: dict[str, Kept], lead_id: str, record: Kept) -> bool:
    """Keep ``record`` unless a later one is kept already (as the table's condition does)."""
    kept = store.get(lead_id)
    if kept is not None and kept.at > record.at:
        return False
    store[lead_id] = record
    return True


class RecordingQueue:
    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []
        self.correlation_ids: list[str | None] = []

    def send(self, messages: Sequence[Mapping[str, Any]], *, correlation_id: str | None = None) -> None:
        self.sent.extend(dict(message) for message in messages)
        self.correlation_ids.extend(correlation_id for _ in messages)


class CountingMetrics:
    """The counts the services reported, by metric name and dimension value."""

    def __init__(self) -> None:
        self.counts: Counter[tuple[str, str | None]] = Counter()

    def count(self, metric: MetricSpec, value: int = 1, *, of: str | None = None) -> None:
        assert (of is None) == (metric.dimension is None), metric.name
        self.counts[metric.name, of] += value

    def __getitem__(self, name: str) -> int:
        return self.counts[name, None]


class RecordingArchive:
    """Keeps each batch in memory; ``broken`` makes every put fail, as an unreachable bucket would."""

    def __init__(self, *, broken: bool = False) -> None:
        self.batches: list[list[QueuedMessage]] = []
        self._broken = broken

    def put_batch(self, messages: Sequence[QueuedMessage]) -> None:
        if self._broken:
            raise ConnectionError("the archive is unreachable")
        self.batches.append(list(messages))


class StaticKeys:
    def __init__(self, *keys: str) -> None:
        self._keys = frozenset(keys or {"test-write"})

    def keys(self) -> frozenset[str]:
        return self._keys


class RecordingPublisher:
    def __init__(self) -> None:
        self.published: list[Alert] = []

    def publish(self, alert: Alert) -> None:
        self.published.append(alert)
