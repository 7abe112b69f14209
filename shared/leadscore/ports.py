"""The small interfaces the services need from storage and messaging; adapters/ implements them on AWS."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from leadscore.records import Alert, FollowUp, LeadRecord, MergedLead, Outcome, StoredItem
from leadscore.resources import MetricSpec


class LeadRepository(Protocol):
    def read(self, lead_id: str) -> StoredItem | None:
        """The lead, or the record of its merge into another."""
        ...

    def read_many(self, lead_ids: Sequence[str], *, consistent: bool = True) -> dict[str, StoredItem]: ...

    def get(self, lead_id: str) -> LeadRecord | None:
        """The lead if it is one (not merged into another)."""
        ...

    def get_many(self, lead_ids: Sequence[str], *, consistent: bool = True) -> dict[str, LeadRecord]: ...

    def save(self, record: LeadRecord, expected_version: int) -> None:
        """Write the record if the stored version is still ``expected_version`` (0: not stored yet)."""
        ...

    def mark_merged(self, merged: MergedLead, expected_version: int) -> None:
        """Replace the id's item by its merge (same condition as ``save``)."""
        ...

    def leads_of_account(self, account_id: str) -> list[LeadRecord]: ...

    def record_outcome(self, lead_id: str, outcome: Outcome) -> bool:
        """Keep the lead's outcome unless a later one is kept already; whether it was kept."""
        ...

    def outcome_of(self, lead_id: str) -> Outcome | None: ...

    def record_follow_up(self, lead_id: str, follow_up: FollowUp) -> bool:
        """Keep the follow-up unless a later one is kept already; whether it was kept."""
        ...

    def follow_up_of(self, lead_id: str) -> FollowUp | None: ...

    def follow_ups_of(self, lead_ids: Sequence[str]) -> dict[str, FollowUp]: ...

    def due_for_decay(self, now: datetime, bands: Sequence[str]) -> Iterator[str]:
        """Ids of the leads in ``bands`` whose band or stage decay may have changed, or whose follow-up
        reminder fell due, by ``now``."""
        ...

    def leads_in_bands(self, bands: Sequence[str]) -> list[LeadRecord]:
        """The listed leads (see ``LeadRecord.listed``) last written in one of ``bands``."""
        ...

    def merged_into(self, lead_id: str) -> list[str]:
        """Every id merged into ``lead_id``, directly or along a chain of merges."""
        ...

    def erase(self, lead_ids: Sequence[str], at: datetime) -> None:
        """Suppress the ids (``read`` answers ``ErasedLead`` for them from now on) and queue their archive
        purge, then delete their items and what sales kept on them."""
        ...


class MessageQueue(Protocol):
    def send(self, messages: Sequence[Mapping[str, Any]], *, correlation_id: str | None = None) -> None:
        """Queue every message (normalised Segment messages) or raise ``Unavailable``; each carries
        ``correlation_id`` (the request's) beside its body."""
        ...


@dataclass(frozen=True)
class QueuedMessage:
    """A message as the queue delivered it: its id, its body untouched, and when it was queued."""

    message_id: str
    body: str
    queued_at: datetime


class EventArchive(Protocol):
    def put_batch(self, messages: Sequence[QueuedMessage]) -> None:
        """Keep one delivered batch, every body as received; the same message ids make the same object."""
        ...


@dataclass(frozen=True)
class PurgePass:
    """One pass of the archive purge: the erasure keys it removes, and the last object it finished."""

    keys: tuple[str, ...]
    cursor: str = ""


class PurgeWork(Protocol):
    """The erasures whose archive purge is pending, and the pass under way."""

    def current_pass(self) -> PurgePass | None: ...

    def start_pass(self) -> PurgePass | None:
        """A pass for every erasure pending now (none pending: None)."""
        ...

    def save_progress(self, purge: PurgePass) -> None: ...

    def finish_pass(self, purge: PurgePass) -> None:
        """The pass's erasures are purged: forget them (their suppression stays)."""
        ...


class ArchiveObjects(Protocol):
    """The archive's objects, read and rewritten by name (the purge)."""

    def names_after(self, name: str) -> Iterator[str]:
        """Every object's name after ``name`` ("": from the first), in order."""
        ...

    def lines(self, name: str) -> list[str]: ...

    def replace(self, name: str, lines: Sequence[str]) -> None: ...


class AlertPublisher(Protocol):
    def publish(self, alert: Alert) -> None: ...


class KeyStore(Protocol):
    """The keys that grant one kind of access (writing events, or reading scores)."""

    def keys(self) -> frozenset[str]: ...


class Counter(Protocol):
    """Where the services count what they did (``leadscore.resources.METRICS``); the handlers' adapter
    turns the counts into CloudWatch metrics."""

    def count(self, metric: MetricSpec, value: int = 1, *, of: str | None = None) -> None:
        """Add ``value`` to ``metric``; ``of`` is the value of its dimension (a reason, a kind)."""
        ...


class _Uncounted:
    def count(self, metric: MetricSpec, value: int = 1, *, of: str | None = None) -> None:
        """Counts nothing: the CLI, replays and tests that do not look."""


UNCOUNTED: Counter = _Uncounted()
