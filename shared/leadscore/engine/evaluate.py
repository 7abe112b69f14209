"""Evaluating events: record their facts, read the score before and after, raise what changed."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property

from leadscore.engine.model import LeadScore, Signal
from leadscore.engine.reading import Reading, Timeline
from leadscore.engine.record import join_states, record_events
from leadscore.engine.signals import raise_signals
from leadscore.engine.state import LeadState, epoch
from leadscore.events import Event
from leadscore.rules import RuleSet


@dataclass(frozen=True)
class Evaluation:
    """The state after an evaluation, the signals it raised, and its score, built only when read."""

    state: LeadState
    signals: list[Signal]
    reading: Reading
    timeline: Timeline
    at: datetime

    @cached_property
    def score(self) -> LeadScore:
        """With the explanation, rule by rule."""
        return self.reading.score(self.timeline.rules, self.state, self.at)

    @cached_property
    def headline(self) -> LeadScore:
        """The figures without the explanation: what a stored summary needs."""
        return self.reading.score(self.timeline.rules, self.state, self.at, explain=False)

    def next_band_change(self) -> datetime | None:
        """``next_band_change_at`` for the new state, from the facts this evaluation laid out."""
        return self.timeline.next_change(epoch(self.at), since=self.reading.position)


def evaluate(
    rules: RuleSet,
    state: LeadState | None,
    events: Sequence[Event],
    at: datetime,
    *,
    merging: Sequence[LeadState] = (),
    lead_id: str | None = None,
) -> Evaluation:
    """Join the events (and the states of leads ``merging`` into this one) into the state, then score
    as of ``at`` and raise the signals the change earned.

    Idempotent and order-blind: the state is a join of the messages' facts, so an event seen before
    changes nothing, and the facts do not depend on arrival order or batching.
    """
    if state is None:
        if not events and not merging:
            raise ValueError("a new lead needs at least one event")
        state = LeadState(lead_id=lead_id or events[0].lead_id)
    now = epoch(at)
    recorded = record_events(rules, state, events, now)
    for other in merging:
        recorded = join_states(rules, recorded, other, now)
    before = Timeline.of(rules, state, now) if state.band is not None else None
    # Decay first: the band and stage the lead had just before these events, read now.
    previous = before.reading(now) if before is not None else None
    timeline = before if before is not None and recorded is state else Timeline.of(rules, recorded, now)
    current = timeline.reading(now, since=previous.position if previous else (None, recorded.stage))
    signals, sharp_rise_at, alerted = raise_signals(
        rules, recorded, previous, current, now, scored_new_hits=recorded.hits is not state.hits
    )
    updates = {
        "band": current.band,
        "stage": current.stage,
        "sharp_rise_at": sharp_rise_at,
        "alerted": alerted,
    }
    if any(getattr(recorded, name) != value for name, value in updates.items()):
        recorded = recorded.but(**updates)
        timeline.keep_with(recorded)
    return Evaluation(state=recorded, signals=signals, reading=current, timeline=timeline, at=at)
