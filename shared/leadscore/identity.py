"""Who a message is about: an anonymous visitor's activity becomes the person's once a message links them.

A message links two ids when it carries both a ``userId`` and a different ``anonymousId`` (analytics.js
sends the anonymous id on every call, identify included), or when it is an ``alias`` (``previousId`` into
``userId``). A linked id's activity, before the link and after it, is scored on the person, exactly once
(the states join: see ``engine.record.join_states``). An id is linked once: the first link the service
sees wins (offline: the earliest message), and a link that would close a cycle is ignored.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping

from leadscore.events import Event
from leadscore.segment import normalised_id

Link = tuple[str, str]
"""``(merged id, the id it now belongs to)``."""

MAX_HOPS = 8


def link_of(event: Event) -> Link | None:
    if event.kind == "alias":
        previous = event.properties.get("previous_id")
        if isinstance(previous, str) and previous != event.lead_id:
            return previous, event.lead_id
        return None
    if event.anonymous_id is not None and event.anonymous_id != event.lead_id:
        return event.anonymous_id, event.lead_id
    return None


def person_of(lead_id: str, links: Mapping[str, str]) -> str:
    """Follow links from ``lead_id`` to the id that is not merged into another."""
    for _ in range(MAX_HOPS):
        target = links.get(lead_id)
        if target is None:
            return lead_id
        lead_id = target
    return lead_id


def add_links(links: dict[str, str], candidates: Iterable[Link]) -> dict[str, str]:
    """``links`` with each candidate added unless its id is linked already or it would close a cycle;
    returns the links added."""
    added = {}
    for merged, into in candidates:
        if merged in links or person_of(into, links) == merged:
            continue
        links[merged] = into
        added[merged] = into
    return added


def links_in_order(events: Iterable[Event]) -> list[Link]:
    """The links the events declare, earliest message first (so the earliest wins for an id linked twice)."""
    ordered = sorted(events, key=lambda event: (event.timestamp, event.message_id))
    return [link for link in map(link_of, ordered) if link is not None]


def erasure_key(lead_id: str) -> str:
    """What the suppression list keeps of an id erased on request: a SHA-256 of the id as the service keys
    it, never the id (see ``leadscore.erasure``)."""
    return hashlib.sha256(normalised_id(lead_id).encode()).hexdigest()
