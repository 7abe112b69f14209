"""The scoring engine: fold events into a lead's state, and read a score, band and stage at any moment."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from leadscore.email_kinds import EmailKind, email_domain, email_kind
from leadscore.engine.model import Evaluation, ExplanationItem, LeadScore, Signal, SignalKind
from leadscore.engine.points import factor, grants, repeat_hits, tidy, value_at
from leadscore.engine.state import DAY, LeadState, RuleHits, epoch, fingerprint, moment
from leadscore.events import Event
from leadscore.rules import DISQUALIFIED, RuleSet
from leadscore.rules.conditions import Facts
from leadscore.rules.model import Dimension, Disqualifier, EngagementRule, FastTrack, FitRule

DEDUPLICATION_WINDOW = 14 * DAY
LATE_ARRIVAL_WINDOW = 14 * DAY
MAX_REMEMBERED_MESSAGES = 256
BAND_CHANGE_HORIZON = timedelta(days=730)
BAND_CHANGE_PRECISION = 60
TOP_REASONS = 3


def evaluate(rules: RuleSet, state: LeadState | None, events: Sequence[Event], at: datetime) -> Evaluation:
    """Count the events not seen before, then score as of ``at`` and raise the signals the change earned.

    Idempotent: an event whose message id the state remembers changes nothing. Events may arrive in any
    order; the facts they leave (hits, traits by time) do not depend on it.
    """
    if state is None:
        if not events:
            raise ValueError("a new lead needs at least one event")
        state = LeadState(lead_id=events[0].lead_id)
    before = state
    state = state.model_copy(deep=True)
    now = epoch(at)
    fresh = _unseen(state, events, now)
    if fresh:
        _record(rules, state, fresh)
    previous = _reading(rules, before, now) if before.band is not None else None
    if previous is not None:
        # Decay first: the band and stage the lead had just before these events, read now.
        state.band, state.stage = previous.band, previous.stage
    reading = _reading(rules, state, now)
    state.band, state.stage = reading.band, reading.stage
    signals = _signals(rules, state, previous, reading, now, scored_new_hits=bool(fresh))
    return Evaluation(state=state, score=reading.score(rules, state, at), signals=signals)


def score_lead(rules: RuleSet, state: LeadState, at: datetime) -> LeadScore:
    """The score at ``at``: decay is a pure function of time, so no job needs to have run."""
    return _reading(rules, state, epoch(at)).score(rules, state, at)


def next_band_change_at(rules: RuleSet, state: LeadState, after: datetime) -> datetime | None:
    """When decay (or a fast-track running out) will next change the lead's band or stage; None if never.

    Scores only fall while a lead is quiet, so the band and stage can only step down: a binary search
    over time finds the first moment they differ.
    """
    start = epoch(after)
    profile = None if rules.fit_decays else _Profile.of(rules, state, start)
    current = _reading(rules, state, start, profile).position
    end = start + int(BAND_CHANGE_HORIZON.total_seconds())
    if _reading(rules, state, end, profile).position == current:
        return None
    low, high = start, end
    while high - low > BAND_CHANGE_PRECISION:
        middle = (low + high) // 2
        if _reading(rules, state, middle, profile).position == current:
            low = middle
        else:
            high = middle
    return moment(high)


# --- recording events -------------------------------------------------------------------------------


def _unseen(state: LeadState, events: Iterable[Event], now: int) -> list[Event]:
    """The events whose message ids the lead has not seen in the deduplication window before ``now``."""
    fresh: dict[str, Event] = {}
    for event in sorted(events, key=lambda item: (item.timestamp, item.message_id)):
        key = fingerprint(event.message_id)
        if key not in state.seen and key not in fresh:
            fresh[key] = event
    for key in fresh:
        state.seen[key] = now
    remembered = sorted(
        ((time, key) for key, time in state.seen.items() if time >= now - DEDUPLICATION_WINDOW),
        reverse=True,
    )[:MAX_REMEMBERED_MESSAGES]
    state.seen = {key: time for time, key in sorted(remembered)}
    return list(fresh.values())


def _record(rules: RuleSet, state: LeadState, events: list[Event]) -> None:
    for event in events:
        time = epoch(event.timestamp)
        state.first_at = min(time, state.first_at if state.first_at is not None else time)
        state.last_at = max(time, state.last_at or time)
        if event.kind == "identify":
            _merge_traits(rules, state, event.traits, time)
        if event.kind == "group" and event.group_id and (state.group_at is None or time >= state.group_at):
            state.group_id, state.group_at = event.group_id, time
            _merge_traits(
                rules, state, {f"company.{key}": value for key, value in event.traits.items()}, time
            )
    profile = _Profile.of(rules, state, max(epoch(event.timestamp) for event in events))
    touched: set[str] = set()
    for event in events:
        facts = profile.facts(event)
        time = epoch(event.timestamp)
        for rule in rules.file.engagement:
            if rule.when.holds(facts):
                store = state.occurrences if rule.repeat else None
                if store is not None:
                    store.setdefault(rule.id, []).append(time)
                else:
                    state.hits.setdefault(rule.id, RuleHits()).times.append(time)
                touched.add(rule.id)
        _raise_flags(rules, state, facts, time)
    for rule_id in touched:
        rule = rules.engagement_by_id[rule_id]
        hits = state.hits.setdefault(rule_id, RuleHits())
        if rule.repeat is not None:
            within = rule.repeat.within_days * DAY
            occurred = state.occurrences[rule_id]
            derived = repeat_hits(occurred, rule.repeat.at_least, within)
            hits.times = sorted(set(hits.times) | set(derived))
            # Kept a little longer than the window, so an event arriving late still completes a streak.
            horizon = max(occurred) - within - LATE_ARRIVAL_WINDOW
            state.occurrences[rule_id] = sorted(time for time in occurred if time >= horizon)
        state.hits[rule_id] = tidy(hits, rule, rules.group(rule.group))
        if not state.hits[rule_id].times and not state.hits[rule_id].folded_count:
            del state.hits[rule_id]
    state.account_id = _account_of(rules, state)


def _merge_traits(rules: RuleSet, state: LeadState, traits: dict[str, Any], time: int) -> None:
    """Keep the traits the rules read; the newest value of each wins, whatever the arrival order."""
    for name, value in traits.items():
        if name.split(".")[0] not in rules.profile_traits and name not in rules.profile_traits:
            continue
        if time >= state.trait_times.get(name, time):
            state.traits[name] = value
            state.trait_times[name] = time


def _raise_flags(rules: RuleSet, state: LeadState, facts: Facts, time: int) -> None:
    for disqualifier in rules.file.disqualifiers:
        if disqualifier.when.about_events and disqualifier.when.holds(facts):
            state.disqualified[disqualifier.id] = min(time, state.disqualified.get(disqualifier.id, time))
    for fast_track in rules.file.fast_track:
        if fast_track.when.about_events and fast_track.when.holds(facts):
            state.fast_tracked[fast_track.id] = max(time, state.fast_tracked.get(fast_track.id, time))
    sql = rules.file.stages.sql
    if sql is not None and sql.when.about_events and sql.when.holds(facts):
        state.sales_accepted_at = min(time, state.sales_accepted_at or time)


def _account_of(rules: RuleSet, state: LeadState) -> str | None:
    """The group call's id, else the domain of a business address; free-mail leads do not roll up."""
    if state.group_id:
        return state.group_id
    email = state.traits.get("email")
    if email_kind(email, rules.competitors) == "business":
        return email_domain(email)
    return None


# --- reading a score --------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Profile:
    """Who the lead is and the fit points that earns: the same at every moment unless a fit group decays."""

    traits: dict[str, Any]
    email_kind: EmailKind
    fit_parts: tuple[_Part, ...]
    fit: float
    disqualified_by: frozenset[str]
    fast_tracked_by: frozenset[str]

    @classmethod
    def of(cls, rules: RuleSet, state: LeadState, at: int) -> _Profile:
        kind = email_kind(state.traits.get("email"), rules.competitors)
        facts = Facts(traits=state.traits, email_kind=kind)
        items = tuple(
            _fit_part(rules, rule, state.profile_at, at) for rule in rules.file.fit if rule.when.holds(facts)
        )
        fit = sum(item.points for item in items)
        facts = Facts(traits=state.traits, email_kind=kind, fit=fit)
        return cls(
            traits=state.traits,
            email_kind=kind,
            fit_parts=items,
            fit=fit,
            disqualified_by=_holding(rules.file.disqualifiers, facts),
            fast_tracked_by=_holding(rules.file.fast_track, facts),
        )

    def facts(self, event: Event | None = None) -> Facts:
        return Facts(traits=self.traits, email_kind=self.email_kind, fit=self.fit, event=event)


def _holding(rules: Iterable[Disqualifier | FastTrack], facts: Facts) -> frozenset[str]:
    """The ids of the profile conditions (not event ones) that hold for this profile."""
    return frozenset(rule.id for rule in rules if not rule.when.about_events and rule.when.holds(facts))


def _fit_part(rules: RuleSet, rule: FitRule, profile_at: int | None, at: int) -> _Part:
    """Fit holds while the profile matches; a fit group that decays ages from the last profile update."""
    group = rules.group(rule.group)
    age = at - profile_at if profile_at is not None else 0
    value = rule.points * factor(group, rule.points, age)
    return _part(rule, group.dimension, value=value, raw=rule.points, count=1, last=profile_at)


@dataclass(frozen=True, slots=True)
class _Part:
    """One rule's share of a reading; an ExplanationItem only when someone reads the explanation."""

    rule: FitRule | EngagementRule
    dimension: Dimension
    points: float
    earned: float
    count: int
    last: int | None

    def item(self) -> ExplanationItem:
        return ExplanationItem(
            rule=self.rule.id,
            description=self.rule.label,
            group=self.rule.group,
            dimension=self.dimension,
            points=self.points,
            earned=self.earned,
            decayed=round(self.earned - self.points, 2),
            count=self.count,
            last_at=moment(self.last) if self.last is not None else None,
        )


def _part(
    rule: FitRule | EngagementRule,
    dimension: Dimension,
    *,
    value: float,
    raw: float,
    count: int,
    last: int | None,
) -> _Part:
    return _Part(rule, dimension, round(value, 2), round(raw, 2), count, last)


@dataclass(frozen=True)
class _Reading:
    parts: list[_Part]
    fit: float
    engagement: float
    total: float
    band: str
    stage: str
    disqualification_reasons: list[str]
    fast_track_reasons: list[str]
    fast_track_ids: frozenset[str]
    account_id: str | None

    @property
    def position(self) -> tuple[str, str]:
        return self.band, self.stage

    def score(self, rules: RuleSet, state: LeadState, at: datetime) -> LeadScore:
        return LeadScore(
            lead_id=state.lead_id,
            account_id=self.account_id,
            score=self.total,
            fit=self.fit,
            engagement=self.engagement,
            band=self.band,
            stage=self.stage,
            grade=rules.file.grade.of(self.fit, self.engagement),
            disqualified=self.band == DISQUALIFIED,
            disqualification_reasons=self.disqualification_reasons,
            fast_track_reasons=self.fast_track_reasons,
            explanation=[part.item() for part in self.parts],
            profile=dict(state.traits),
            first_seen=moment(state.first_at) if state.first_at is not None else None,
            last_activity=moment(state.last_at) if state.last_at is not None else None,
            rules_version=rules.version,
            as_of=at,
        )


def _reading(rules: RuleSet, state: LeadState, at: int, profile: _Profile | None = None) -> _Reading:
    profile = profile or _Profile.of(rules, state, at)
    parts = list(profile.fit_parts)
    for rule in rules.file.engagement:
        hits = state.hits.get(rule.id)
        if hits is None:
            continue
        value, raw, count = value_at(hits, rule, rules.group(rule.group), at)
        if count:
            parts.append(_part(rule, "engagement", value=value, raw=raw, count=count, last=_last(hits, at)))
    fit = round(sum(part.points for part in parts if part.dimension == "fit"), 2)
    engagement = round(sum(part.points for part in parts if part.dimension == "engagement"), 2)
    total = round(fit + engagement, 2)
    disqualifications = [
        rule.reason
        for rule in rules.file.disqualifiers
        if rule.id in profile.disqualified_by
        or (rule.id in state.disqualified and state.disqualified[rule.id] <= at)
    ]
    fast_tracks = [
        rule
        for rule in rules.file.fast_track
        if rule.id in profile.fast_tracked_by
        or (
            rule.id in state.fast_tracked
            and state.fast_tracked[rule.id] <= at < state.fast_tracked[rule.id] + rule.hold_days * DAY
        )
    ]
    band = _band(
        rules, state.band, total, bool(disqualifications), [rules.fast_track_band(r) for r in fast_tracks]
    )
    stage = _stage(rules, state, band, bool(fast_tracks), at)
    return _Reading(
        parts=parts,
        fit=fit,
        engagement=engagement,
        total=total,
        band=band,
        stage=stage,
        disqualification_reasons=disqualifications,
        fast_track_reasons=[rule.reason for rule in fast_tracks],
        fast_track_ids=frozenset(rule.id for rule in fast_tracks),
        account_id=state.account_id,
    )


def _last(hits: RuleHits, at: int) -> int | None:
    times = [time for time in hits.times if time <= at]
    if times:
        return max(times)
    return hits.folded_at if hits.folded_at is not None and hits.folded_at <= at else None


def _band(rules: RuleSet, previous: str | None, score: float, disqualified: bool, held: list[str]) -> str:
    """Enter a band at its ``enter`` points; leave it only below its ``exit`` (hysteresis)."""
    if disqualified:
        return DISQUALIFIED
    bands = rules.bands
    entered = max(
        index
        for index, band in enumerate(bands)
        if index == 0 or (band.enter is not None and score >= band.enter)
    )
    rank = max(rules.band_rank.get(previous or "", 0), 0)
    if entered >= rank:
        rank = entered
    else:
        while rank > 0 and score < (bands[rank].leave_below or 0.0):
            rank -= 1
    rank = max([rank, *(rules.band_rank[name] for name in held)])
    return bands[rank].name


def _stage(rules: RuleSet, state: LeadState, band: str, fast_tracked: bool, at: int) -> str:
    stages = rules.file.stages
    if band == DISQUALIFIED:
        return DISQUALIFIED
    if state.sales_accepted_at is not None and state.sales_accepted_at <= at:
        return "sql"
    rank = rules.band_rank[band]
    if rank >= rules.band_rank[stages.mql.band] or fast_tracked:
        return "mql"
    if state.stage in ("mql", "recycled") and stages.recycle is not None:
        return (
            "recycled" if rank < rules.band_rank[stages.recycle.below] or state.stage == "recycled" else "mql"
        )
    return "mql" if state.stage == "mql" else "lead"


# --- signals ----------------------------------------------------------------------------------------


def _signals(
    rules: RuleSet,
    state: LeadState,
    previous: _Reading | None,
    reading: _Reading,
    now: int,
    *,
    scored_new_hits: bool,
) -> list[Signal]:
    """At most one signal per evaluation, the most urgent, carrying every reason: no alert storms."""
    before_rank = rules.band_rank[previous.band] if previous else 0
    after_rank = rules.band_rank[reading.band]
    reasons: list[str] = []
    kinds: list[SignalKind] = []
    if reading.band == DISQUALIFIED:
        if previous is not None and previous.band != DISQUALIFIED and rules.bands[before_rank].alert:
            kinds.append("disqualified")
            reasons.extend(reading.disqualification_reasons)
        return _one_signal(state, kinds=kinds, reading=reading, now=now, reasons=reasons, points=None)
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
    if rise is not None:
        kinds.append("sharp_rise")
        assert rules.file.sharp_rise is not None
        reasons.append(f"+{rise:g} points within {rules.file.sharp_rise.within_hours:g} hours")
        state.sharp_rise_at = now
    if not kinds:
        return []
    reasons.extend(_top_reasons(reading))
    return _one_signal(state, kinds=kinds, reading=reading, now=now, reasons=reasons, points=rise)


def _one_signal(
    state: LeadState,
    *,
    kinds: list[SignalKind],
    reading: _Reading,
    now: int,
    reasons: list[str],
    points: float | None,
) -> list[Signal]:
    if not kinds:
        return []
    kind = kinds[0]
    return [
        Signal(
            id=f"{state.lead_id}:{kind}:{now}",
            kind=kind,
            at=moment(now),
            band=reading.band,
            points=points,
            reasons=reasons,
        )
    ]


def _top_reasons(reading: _Reading) -> list[str]:
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
        gained += sum(
            give
            for time, give in grants(hits.times, rule.points, rule.effective_limit)
            if now - window < time <= now
        )
    return round(gained, 2) if gained >= rise.points else None
