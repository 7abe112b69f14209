"""What the engine keeps per lead between evaluations: facts, not scores, bounded, and order-blind.

The state is a join of the lead's messages: traits and the group are newest-wins registers (ties broken
by value), first and last activity are min and max, flags keep their earliest or latest time, and each
engagement rule keeps the set of its facts, a fact being ``(time, tag)`` with ``tag`` a 24-bit
digest of the message id: one fact per tag, at the earliest time any copy of the message gave (an SDK
retry may date the same message a little differently). Adding a message twice adds nothing, in any
order and however many messages came in between: no message-id log is needed.

Facts a rule's limit can never count are dropped; whole weeks older than the fold horizon are folded
into one decayed value per rule (see ``points``). The state is stored as a compact blob
(:func:`encode_state`), so the lead item stays far below 1 KB.
"""

from __future__ import annotations

import json
import zlib
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

DAY = 86_400

Fact = tuple[int, int]
"""``(time in epoch seconds, tag)``: one message's contribution to one rule."""


def epoch(moment: datetime) -> int:
    return int(moment.timestamp())


def moment(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def tag(message_id: str) -> int:
    """A 24-bit stand-in for a message id, unique among one rule's facts of one lead (a collision, about
    one in 16 million per fact kept, would count a message once too few)."""
    return zlib.crc32(message_id.encode()) & 0xFFFFFF


@dataclass(frozen=True, slots=True)
class RuleHits:
    """The facts one engagement rule counts, plus what older ones add once folded together."""

    facts: tuple[Fact, ...] = ()
    folded_count: int = 0
    folded_raw: float = 0.0
    folded_value: float = 0.0
    folded_at: int | None = None
    # What reading these facts needs, worked out once per rule (``points.curve_of``); not part of the facts.
    reading_cache: tuple[Any, Any] | None = field(default=None, init=False, repr=False, compare=False)

    @property
    def times(self) -> list[int]:
        return [time for time, _ in self.facts]


@dataclass(frozen=True, slots=True)
class LeadState:
    """A lead's facts. ``band``, ``stage`` and ``sharp_rise_at`` are what the last evaluation concluded.

    A plain frozen dataclass, not a pydantic model: the engine copies it on every evaluation that changes
    something, and it never crosses a boundary unparsed (the stored form is :func:`encode_state`).
    """

    lead_id: str
    account_id: str | None = None
    group_id: str | None = None
    group_at: int | None = None
    traits: dict[str, Any] = field(default_factory=dict)
    trait_times: dict[str, int] = field(default_factory=dict)
    hits: dict[str, RuleHits] = field(default_factory=dict)
    occurrences: dict[str, tuple[Fact, ...]] = field(default_factory=dict)
    disqualified: dict[str, int] = field(default_factory=dict)
    fast_tracked: dict[str, int] = field(default_factory=dict)
    sales_accepted_at: int | None = None
    sharp_rise_at: int | None = None
    # When each cooled-down signal kind (band_entered, disqualified) was last raised.
    alerted: dict[str, int] = field(default_factory=dict)
    band: str | None = None
    stage: str = "lead"
    first_at: int | None = None
    last_at: int | None = None
    folded_until: int = 0
    # How the facts read (``reading.Timeline``), laid out once; not part of the facts.
    reading_cache: Any = field(default=None, init=False, repr=False, compare=False)

    def but(self, **changes: Any) -> LeadState:
        """A copy with ``changes``."""
        return replace(self, **changes)

    @property
    def profile_at(self) -> int | None:
        return max(self.trait_times.values(), default=None)


# --- the stored form --------------------------------------------------------------------------------

STATE_FORMAT = 1
"""First byte of an encoded state; a new layout gets a new number and a decoder beside the old one."""


def encode_state(state: LeadState) -> bytes:
    """A compact blob: short keys, times relative to the first activity, deflated.

    ``lead_id`` and ``account_id`` are left out: the item carries them as key attributes.
    """
    base = state.first_at or 0

    def rel(time: int | None) -> int | None:
        return None if time is None else time - base

    body: dict[str, Any] = {
        "b": state.first_at,
        "l": rel(state.last_at),
        "t": {name: [rel(state.trait_times[name]), value] for name, value in state.traits.items()},
        "h": {rule: _hits_out(hits, base) for rule, hits in state.hits.items()},
        "o": {rule: [[t - base, g] for t, g in facts] for rule, facts in state.occurrences.items()},
        "d": {rule: t - base for rule, t in state.disqualified.items()},
        "f": {rule: t - base for rule, t in state.fast_tracked.items()},
        "g": [state.group_id, rel(state.group_at)] if state.group_id is not None else None,
        "a": rel(state.sales_accepted_at),
        "r": rel(state.sharp_rise_at),
        "k": {kind: t - base for kind, t in state.alerted.items()},
        "n": state.band,
        "s": state.stage,
        "u": state.folded_until or None,
    }
    text = json.dumps({k: v for k, v in body.items() if v is not None and v != {}}, separators=(",", ":"))
    return bytes([STATE_FORMAT]) + zlib.compress(text.encode(), 9)


def decode_state(blob: bytes, lead_id: str, account_id: str | None) -> LeadState:
    if not blob or blob[0] != STATE_FORMAT:
        raise ValueError(f"unknown state format {blob[:1]!r}")
    body = json.loads(zlib.decompress(blob[1:]))
    base = body.get("b", 0)

    def absolute(time: int | None) -> int | None:
        return None if time is None else time + base

    traits = body.get("t", {})
    group = body.get("g") or [None, None]
    return LeadState(
        lead_id=lead_id,
        account_id=account_id,
        group_id=group[0],
        group_at=absolute(group[1]),
        traits={name: value for name, (_, value) in traits.items()},
        trait_times={name: time + base for name, (time, _) in traits.items()},
        hits={rule: _hits_in(raw, base) for rule, raw in body.get("h", {}).items()},
        occurrences={
            rule: tuple((t + base, g) for t, g in facts) for rule, facts in body.get("o", {}).items()
        },
        disqualified={rule: t + base for rule, t in body.get("d", {}).items()},
        fast_tracked={rule: t + base for rule, t in body.get("f", {}).items()},
        sales_accepted_at=absolute(body.get("a")),
        sharp_rise_at=absolute(body.get("r")),
        alerted={kind: t + base for kind, t in body.get("k", {}).items()},
        band=body.get("n"),
        stage=body.get("s", "lead"),
        first_at=base if "b" in body else None,
        last_at=absolute(body.get("l")),
        folded_until=body.get("u", 0),
    )


def _hits_out(hits: RuleHits, base: int) -> list[Any]:
    facts = [[t - base, g] for t, g in hits.facts]
    if not hits.folded_count:
        return [facts]
    assert hits.folded_at is not None
    return [facts, hits.folded_count, hits.folded_raw, hits.folded_value, hits.folded_at - base]


def _hits_in(raw: list[Any], base: int) -> RuleHits:
    facts = tuple((t + base, g) for t, g in raw[0])
    if len(raw) == 1:
        return RuleHits(facts=facts, folded_count=0, folded_raw=0.0, folded_value=0.0, folded_at=None)
    count, raw_points, value, at = raw[1:]
    return RuleHits(
        facts=facts, folded_count=count, folded_raw=raw_points, folded_value=value, folded_at=at + base
    )
