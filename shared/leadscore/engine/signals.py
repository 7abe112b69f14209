"""Raising signals for sales: at most one per evaluation, the most urgent, carrying every reason."""

from __future__ import annotations

from leadscore.engine.model import Signal, SignalKind
from leadscore.engine.points import curve_of
from leadscore.engine.reading import Reading
from leadscore.engine.state import LeadState, moment
from leadscore.rules import DISQUALIFIED, RuleSet

TOP_REASONS = 3
COOLED_DOWN: tuple[SignalKind, ...] = ("band_entered", "disqualified")


def raise_signals(
    rules: RuleSet,
    state: LeadState,
    previous: Reading | None,
    reading: Reading,
    now: int,
    *,
    scored_new_hits: bool,
) -> tuple[list[Signal], int | None, dict[str, int]]:
    """The signal this evaluation earned (no alert storms), the new ``sharp_rise_at`` and ``alerted``."""
    before_rank = rules.band_rank[previous.band] if previous else 0
    after_rank = rules.band_rank[reading.band]
    reasons: list[str] = []
    kinds: list[SignalKind] = []
    if reading.band == DISQUALIFIED:
        if previous is not None and previous.band != DISQUALIFIED and rules.bands[before_rank].alert:
            kinds.append("disqualified")
            reasons.extend(reading.disqualification_reasons)
        kinds, alerted = _cooled_down(rules, state, kinds, now)
        signals = _one_signal(state, kinds, reading=reading, now=now, reasons=reasons, points=None)
        return signals, state.sharp_rise_at, alerted
    new_fast_tracks = reading.fast_track_ids - (previous.fast_track_ids if previous else frozenset())
    if new_fast_tracks:
        kinds.append("fast_track")
        reasons.extend(rule.reason for rule in rules.file.fast_track if rule.id in new_fast_tracks)
    if after_rank > before_rank and rules.bands[after_rank].alert:
        kinds.append("band_entered")
        band = rules.bands[after_rank]
        if reading.total >= (band.enter or 0):
            reasons.append(f"Score {reading.total:g} reached {band.name} (enters at {band.enter or 0:g})")
        else:
            reasons.append(f"Fast-tracked to {band.name} with a score of {reading.total:g}")
    rise = _sharp_rise(rules, state, now) if scored_new_hits else None
    sharp_rise_at = state.sharp_rise_at
    if rise is not None:
        kinds.append("sharp_rise")
        assert rules.file.sharp_rise is not None
        reasons.append(f"+{rise:g} points within {rules.file.sharp_rise.within_hours:g} hours")
        sharp_rise_at = now
    kinds, alerted = _cooled_down(rules, state, kinds, now)
    if not kinds:
        return [], sharp_rise_at, alerted
    reasons.extend(_top_reasons(reading))
    signals = _one_signal(state, kinds, reading=reading, now=now, reasons=reasons, points=rise)
    return signals, sharp_rise_at, alerted


def _cooled_down(
    rules: RuleSet, state: LeadState, kinds: list[SignalKind], now: int
) -> tuple[list[SignalKind], dict[str, int]]:
    """``kinds`` less a band entered or a disqualification raised within the cool-down (its reasons
    stay with any other kind raised now); the times each cooled-down kind was last raised."""
    cool_down = rules.file.alerts.cool_down_hours * 3600
    kept = [
        kind
        for kind in kinds
        if kind not in COOLED_DOWN or (last := state.alerted.get(kind)) is None or now - last >= cool_down
    ]
    alerted = dict(state.alerted)
    alerted.update({kind: now for kind in kept if kind in COOLED_DOWN})
    return kept, alerted


def _one_signal(
    state: LeadState,
    kinds: list[SignalKind],
    *,
    reading: Reading,
    now: int,
    reasons: list[str],
    points: float | None,
) -> list[Signal]:
    if not kinds:
        return []
    kind = kinds[0]
    return [
        Signal(
            id=Signal.id_for(state.lead_id, kind, moment(now)),
            kind=kind,
            at=moment(now),
            band=reading.band,
            points=points,
            reasons=reasons,
        )
    ]


def _top_reasons(reading: Reading) -> list[str]:
    strongest = sorted(
        (part.item() for part in reading.parts if part.points > 0), key=lambda item: -item.points
    )
    return [
        f"{item.description}: +{item.points:g}"
        + (f" ({item.count}x, last {item.last_at.date().isoformat()})" if item.last_at else "")
        for item in strongest[:TOP_REASONS]
    ]


def _sharp_rise(rules: RuleSet, state: LeadState, now: int) -> float | None:
    """Points earned (before decay) within the window ending now, if they reach the threshold."""
    rise = rules.file.sharp_rise
    if rise is None:
        return None
    window = int(rise.within_hours * 3600)
    if state.sharp_rise_at is not None and state.sharp_rise_at > now - window:
        return None
    gained = 0.0
    for rule in rules.file.engagement:
        hits = state.hits.get(rule.id)
        if hits is None or rule.points <= 0:
            continue
        granted = curve_of(hits, rule, rules.group(rule.group)).granted
        gained += sum(give for time, give in granted if now - window < time <= now)
    return round(gained, 2) if gained >= rise.points else None
