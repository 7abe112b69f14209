"""When a lead waits for sales: since it last turned hot, until a follow-up; and its one reminder."""

from __future__ import annotations

from typing import Final

from leadscore.engine.model import Signal
from leadscore.engine.state import LeadState, moment
from leadscore.rules import RuleSet

REMINDER: Final = "reminder"


def turned_hot_at(rules: RuleSet, state: LeadState, band: str) -> int | None:
    """When a lead in an alerting ``band`` last entered it (as alerted) or was fast-tracked."""
    rank = rules.band_rank[band]
    if rank < 0 or not rules.bands[rank].alert:
        return None
    times = [state.alerted.get("band_entered"), max(state.fast_tracked.values(), default=None)]
    return max((time for time in times if time is not None), default=None)


def reminder_due_at(rules: RuleSet, state: LeadState) -> int | None:
    """When the reminder for the lead's latest turn to hot falls due, unless it was settled since (sent,
    or found followed up or cooled when due). Read from the state alone: the decay job visits then."""
    after = rules.file.alerts.remind_after_hours
    turned = turned_hot_at(rules, state, state.band) if state.band is not None else None
    if after is None or turned is None or state.alerted.get(REMINDER, -1) >= turned:
        return None
    return turned + round(after * 3600)


def settle_reminder(
    rules: RuleSet, state: LeadState, followed_up_at: int | None, now: int
) -> tuple[LeadState, Signal | None]:
    """The due reminder settled as of ``now``: a signal if the lead still waits (still in an alerting band,
    no follow-up since it turned hot), none otherwise; either way not due again for this turn to hot."""
    settled = state.but(alerted={**state.alerted, REMINDER: now})
    turned = turned_hot_at(rules, state, state.band) if state.band is not None else None
    if turned is None or state.band is None or (followed_up_at is not None and followed_up_at >= turned):
        return settled, None
    signal = Signal(
        id=Signal.id_for(state.lead_id, REMINDER, moment(now)),
        kind=REMINDER,
        at=moment(now),
        band=state.band,
        reasons=[
            f"{state.band.capitalize()} since {moment(turned):%Y-%m-%d %H:%M} UTC "
            f"({(now - turned) / 3600:.0f} hours) with no follow-up recorded"
        ],
    )
    return settled, signal
