"""Erasing a person on request: their lead, identity links, follow-up and outcome at once; the raw
archive within ``ARCHIVE_PURGE_DAYS``; and a suppression list so that nothing brings them back.

The suppression list keeps a SHA-256 of each erased id (as the service keys it), never the id: the
score path consults it before it creates a lead, every reader of the archive before it replays a
line, and the purge job matches archived messages against it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel, Field

from leadscore.identity import erasure_key
from leadscore.lookup import person
from leadscore.ports import ArchiveObjects, LeadRepository, PurgeWork

ARCHIVE_PURGE_DAYS = 30
# The fields of a Segment message that name a lead.
ID_FIELDS = ("userId", "anonymousId", "previousId")


class Erasure(BaseModel):
    lead_id: str = Field(description="The person erased (the id asked for may have been merged into it)")
    erased_ids: list[str] = Field(description="The person's id and every id linked to it")
    erased_at: datetime
    archive_purged_by: datetime = Field(description="The raw archive holds none of them after this time")


def erase(repository: LeadRepository, lead_id: str, now: datetime) -> Erasure:
    """Erase the person ``lead_id`` names; later reads of any of their ids answer 404."""
    lead = person(repository, lead_id)
    ids = [lead.lead_id, *repository.merged_into(lead.lead_id)]
    repository.erase(ids, now)
    moment = now.replace(microsecond=0)
    return Erasure(
        lead_id=lead.lead_id,
        erased_ids=ids,
        erased_at=moment,
        archive_purged_by=moment + timedelta(days=ARCHIVE_PURGE_DAYS),
    )


def ids_of(message: Any) -> list[str]:
    """The lead ids a message (parsed) names; something that is not a JSON object names nobody."""
    if not isinstance(message, dict):
        return []
    return [message[field] for field in ID_FIELDS if isinstance(message.get(field), str)]


def names_erased(message: Any, erased: Callable[[Iterable[str]], bool]) -> bool:
    """Whether a message (one archived line, parsed) is about an erased id."""
    ids = ids_of(message)
    return bool(ids) and erased(erasure_key(lead_id) for lead_id in ids)


def without_erased(lines: Iterable[str], erased: Callable[[Iterable[str]], bool]) -> Iterator[str]:
    """The archived lines that may be kept: a line that is not JSON names nobody."""
    return (line for line in lines if not names_erased(_parsed(line), erased))


def _parsed(line: str) -> Any:
    try:
        return json.loads(line)
    except ValueError:
        return None


@dataclass(frozen=True)
class PurgeRun:
    erasures: int
    objects_read: int
    objects_rewritten: int
    lines_removed: int
    finished: bool


def purge_archive(work: PurgeWork, archive: ArchiveObjects, *, has_time: Callable[[], bool]) -> PurgeRun:
    """One pass over the archive for the erasures pending when it started, rewriting each object that
    holds one of their messages. A pass that runs out of time keeps its place; the next run goes on."""
    current = work.current_pass()
    if current is None:
        current = work.start_pass()
        if current is None:
            return PurgeRun(0, 0, 0, 0, finished=True)
    keys = frozenset(current.keys)

    def erased(candidates: Iterable[str]) -> bool:
        return any(key in keys for key in candidates)

    read = rewritten = removed = 0
    for name in archive.names_after(current.cursor):
        if not has_time():
            work.save_progress(current)
            return PurgeRun(len(keys), read, rewritten, removed, finished=False)
        lines = archive.lines(name)
        read += 1
        kept = list(without_erased(lines, erased))
        if len(kept) < len(lines):
            archive.replace(name, kept)
            rewritten += 1
            removed += len(lines) - len(kept)
        current = replace(current, cursor=name)
    work.finish_pass(current)
    return PurgeRun(len(keys), read, rewritten, removed, finished=True)
