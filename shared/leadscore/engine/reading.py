"""Reading a lead's score, band and stage at any moment from its facts; when the band will next change.

Decay is a pure function of time, so a reading needs no job to have run. Scores only fall while a lead
is quiet (negative points never fade), so the band and stage can only step down over time: the next
change is found by bisection over cheap readings that build no explanation.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from copy import copy
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cached_property, lru_cache
from typing import Any

from leadscore.email_kinds import email_kind
from leadscore.engine.matching import Trigger, TriggerIndex, triggers_of
from leadscore.engine.model import ExplanationItem, LeadScore
from leadscore.engine.points import curve_of, factor
from leadscore.engine.state import DAY, LeadState, RuleHits, epoch, moment
from leadscore.rules import DISQUALIFIED, RuleSet
from leadscore.rules.conditions import Facts
from leadscore.rules.model import Dimension, Disqualifier, EngagementRule, FastTrack, FitRule

BAND_CHANGE_HORIZON = timedelta(days=730)
BAND_CHANGE_PRECISION = 60


def score_lead(rules: RuleSet, state: LeadState, at: datetime) -> LeadScore:
    """The score at ``at``: decay is a pure function of time, so no job needs to have run."""
    return reading(rules, state, epoch(at)).score(rules, state, at)


def next_band_change_at(rules: RuleSet, state: LeadState, after: datetime) -> datetime | None:
    """When decay (or a fast-track running out) will next change the lead's band or stage; None if never."""
    start = epoch(after)
    return Timeline.of(rules, state, start).next_change(start)


def _search(position: Callable[[int], object], start: int) -> datetime | None:
    """Bisection for the first moment the position differs from now's, within the horizon."""
    current = position(start)
    end = start + int(BAND_CHANGE_HORIZON.total_seconds())
    if position(end) == current:
        return None
    low, high = start, end
    while high - low > BAND_CHANGE_PRECISION:
        middle = (low + high) // 2
        if position(middle) == current:
            low = middle
        else:
            high = middle
    return moment(high)


@dataclass(frozen=True)
class Profile:
    """Who the lead is and the fit points that earns: the same at every moment unless a fit group decays."""

    facts: Facts
    fit_parts: tuple[Part, ...]
    disqualified_by: frozenset[str]
    fast_tracked_by: frozenset[str]

    @classmethod
    def of(cls, rules: RuleSet, state: LeadState, at: int) -> Profile:
        return cls.of_traits(rules, state.traits, state.profile_at, at)

    @classmethod
    def of_traits(
        cls, rules: RuleSet, traits: dict[str, Any], profile_at: int | None, at: int | None
    ) -> Profile:
        """Cached: a lead's profile changes far less often than it is read. ``at`` matters only when a
        fit group decays; ``at=None`` is the profile as last updated."""
        moment = at if rules.fit_decays else None
        known = _PROFILES_BY_TRAITS.get(id(traits))
        if known is not None and known[0] is traits and known[1] == (rules, profile_at, moment):
            return known[2]
        profile = _profile(rules, json.dumps(traits, sort_keys=True, default=str), profile_at, moment)
        if len(_PROFILES_BY_TRAITS) >= PROFILES_KEPT:
            _PROFILES_BY_TRAITS.clear()
        _PROFILES_BY_TRAITS[id(traits)] = (traits, (rules, profile_at, moment), profile)
        return profile


PROFILES_KEPT = 4096
# The profile last read from each traits object (held, so its id is not reused): a state's traits are
# never changed once it is built, and a batch reads them before and after its events.
_PROFILES_BY_TRAITS: dict[int, tuple[dict[str, Any], tuple[RuleSet, int | None, int | None], Profile]] = {}


@lru_cache(maxsize=4096)
def _profile(rules: RuleSet, traits_json: str, profile_at: int | None, at: int | None) -> Profile:
    traits = json.loads(traits_json)
    kind = email_kind(traits.get("email"), rules.competitors)
    facts = Facts(traits=traits, email_kind=kind)
    parts = tuple(
        _fit_part(rules, rule, profile_at, at if at is not None else profile_at or 0)
        for rule in rules.file.fit
        if rule.when.holds(facts)
    )
    facts = Facts(traits=traits, email_kind=kind, fit=sum(part.points for part in parts))
    return Profile(
        facts=facts,
        fit_parts=parts,
        disqualified_by=_holding(rules.file.disqualifiers, facts),
        fast_tracked_by=_holding(rules.file.fast_track, facts),
    )


def _holding(rules: Iterable[Disqualifier | FastTrack], facts: Facts) -> frozenset[str]:
    """The ids of the profile conditions (not event ones) that hold for this profile."""
    return frozenset(rule.id for rule in rules if not rule.when.about_events and rule.when.holds(facts))


def _fit_part(rules: RuleSet, rule: FitRule, profile_at: int | None, at: int) -> Part:
    """Fit holds while the profile matches; a fit group that decays ages from the last profile update."""
    group = rules.group(rule.group)
    age = at - profile_at if profile_at is not None else 0
    value = rule.points * factor(group, rule.points, age)
    return Part(rule, group.dimension, round(value, 2), round(rule.points, 2), 1, profile_at)


@dataclass(frozen=True, slots=True)
class Part:
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


@dataclass(frozen=True)
class Reading:
    """A score, band and stage at one moment; its per-rule parts are laid out only when read."""

    timeline: Timeline
    at: int
    fit: float
    engagement: float
    total: float
    band: str
    stage: str
    disqualification_reasons: list[str]
    fast_track_reasons: list[str]
    fast_track_ids: frozenset[str]

    @property
    def position(self) -> tuple[str, str]:
        return self.band, self.stage

    @cached_property
    def parts(self) -> list[Part]:
        return self.timeline.parts(self.at)

    def score(self, rules: RuleSet, state: LeadState, at: datetime, *, explain: bool = True) -> LeadScore:
        return LeadScore(
            lead_id=state.lead_id,
            account_id=state.account_id,
            score=self.total,
            fit=self.fit,
            engagement=self.engagement,
            band=self.band,
            stage=self.stage,
            grade=rules.file.grade.of(self.fit, self.engagement),
            disqualified=self.band == DISQUALIFIED,
            disqualification_reasons=self.disqualification_reasons,
            fast_track_reasons=self.fast_track_reasons,
            explanation=[part.item() for part in self.parts] if explain else [],
            profile=dict(state.traits),
            first_seen=moment(state.first_at) if state.first_at is not None else None,
            last_activity=moment(state.last_at) if state.last_at is not None else None,
            rules_version=rules.version,
            as_of=at,
        )


def reading(rules: RuleSet, state: LeadState, at: int) -> Reading:
    """The score, band and stage at ``at``."""
    return Timeline.of(rules, state, at).reading(at)


class Timeline:
    """A lead's facts laid out once to be read at many moments: each rule's granted points, each flag's
    span of time. Reading it is the same arithmetic as :func:`points.value_at`, minus the set-up."""

    @classmethod
    def of(cls, rules: RuleSet, state: LeadState, at: int) -> Timeline:
        """Kept with the state when it does not depend on ``at`` (no fit group decays): the state
        evaluated next is read from the same facts."""
        kept = state.reading_cache
        if isinstance(kept, Timeline) and kept.rules is rules:
            return kept
        timeline = cls(rules, state, Profile.of(rules, state, at))
        timeline.keep_with(state)
        return timeline

    def keep_with(self, state: LeadState) -> None:
        """Keep this timeline with ``state``, a copy of its state that differs at most in the band and
        stage concluded (which a timeline only uses as the default position)."""
        if not self.rules.fit_decays:
            kept = self if state is self.state else copy(self)
            kept.state = state
            object.__setattr__(state, "reading_cache", kept)  # a cache, not a change of the facts

    def __init__(self, rules: RuleSet, state: LeadState, profile: Profile) -> None:
        self.rules, self.state, self.profile = rules, state, profile
        triggers = triggers_of(rules)
        self.terms = [
            (rule, curve_of(hits, rule, rules.group(rule.group)), hits)
            for rule, hits in _counted(rules, state, profile, triggers.engagement)
        ]
        self.fit = round(sum(part.points for part in profile.fit_parts if part.dimension == "fit"), 2)
        self.fit_engagement = sum(part.points for part in profile.fit_parts if part.dimension == "engagement")
        always = float("-inf")
        self.disqualifiers = [
            (rule, always if rule.id in profile.disqualified_by else state.disqualified[rule.id])
            for rule in rules.file.disqualifiers
            if rule.id in profile.disqualified_by
            or (rule.id in state.disqualified and _profile_holds(triggers.disqualifiers, rule.id, profile))
        ]
        self.fast_tracks = [
            (rule, always, float("inf"))
            if rule.id in profile.fast_tracked_by
            else (rule, state.fast_tracked[rule.id], state.fast_tracked[rule.id] + rule.hold_days * DAY)
            for rule in rules.file.fast_track
            if rule.id in profile.fast_tracked_by
            or (rule.id in state.fast_tracked and _profile_holds(triggers.fast_tracks, rule.id, profile))
        ]

    def reading(self, at: int, *, since: tuple[str | None, str] | None = None) -> Reading:
        """The reading at ``at`` for a lead that was in ``since`` (band, stage): the state's by default."""
        engagement, total = self._points(at)
        disqualifications = [rule.reason for rule, start in self.disqualifiers if start <= at]
        fast_tracks = [rule for rule, start, end in self.fast_tracks if start <= at < end]
        band, stage = self._position(at, since, total, bool(disqualifications), fast_tracks)
        return Reading(
            timeline=self,
            at=at,
            fit=self.fit,
            engagement=engagement,
            total=total,
            band=band,
            stage=stage,
            disqualification_reasons=disqualifications,
            fast_track_reasons=[rule.reason for rule in fast_tracks],
            fast_track_ids=frozenset(rule.id for rule in fast_tracks),
        )

    def position(self, at: int, since: tuple[str | None, str]) -> tuple[str, str]:
        """The band and stage of :meth:`reading`, without the rest of it."""
        disqualified = any(start <= at for _, start in self.disqualifiers)
        fast_tracks = [rule for rule, start, end in self.fast_tracks if start <= at < end]
        return self._position(at, since, self._points(at)[1], disqualified, fast_tracks)

    def _points(self, at: int) -> tuple[float, float]:
        """(engagement, total) at ``at``, each rule's points rounded as the explanation shows them."""
        engagement = self.fit_engagement
        for _, curve, hits in self.terms:
            engagement += round(curve.value(at) if at >= curve.latest else curve.at(hits, at)[0], 2)
        engagement = round(engagement, 2)
        return engagement, round(self.fit + engagement, 2)

    def _position(
        self,
        at: int,
        since: tuple[str | None, str] | None,
        total: float,
        disqualified: bool,
        fast_tracks: list[FastTrack],
    ) -> tuple[str, str]:
        band_before, stage_before = since or (self.state.band, self.state.stage)
        rules = self.rules
        band = _band(rules, band_before, total, disqualified, [rules.fast_track_band(r) for r in fast_tracks])
        stage = _stage(
            rules,
            band,
            previous=stage_before,
            sales_accepted_at=self.state.sales_accepted_at,
            fast_tracked=bool(fast_tracks),
            at=at,
        )
        return band, stage

    def parts(self, at: int) -> list[Part]:
        """Each rule's share of the reading at ``at``: the explanation."""
        parts = list(self.profile.fit_parts)
        for rule, curve, hits in self.terms:
            value, raw, count = curve.at(hits, at)
            if count:
                parts.append(Part(rule, "engagement", round(value, 2), round(raw, 2), count, _last(hits, at)))
        return parts

    def next_change(self, start: int, since: tuple[str, str] | None = None) -> datetime | None:
        """When the band or stage of a lead in ``since`` at ``start`` will change by decay alone."""
        position = since or (self.state.band, self.state.stage)
        if self._settled_after(start, position):
            return None
        if self.rules.fit_decays:  # the profile itself changes with time: lay the facts out per moment
            state = self.state.but(band=position[0], stage=position[1])
            return _search(lambda at: reading(self.rules, state, at).position, start)
        floor = self._band_floor(start, position[0])
        if floor is not None:
            return _search(lambda at: self._points(at)[1] >= floor, start)
        return _search(lambda at: self.position(at, position), start)

    def _band_floor(self, start: int, band: str | None) -> float | None:
        """The score below which the band (and with it the stage) changes, when nothing but the score
        can change them after ``start``: no flag, no fast-track, no fact dated later. The score then only
        falls, so the position stays exactly while the score holds this floor."""
        rank = self.rules.band_rank.get(band or "", 0)
        state = self.state
        if (
            rank <= 0
            or any(since > start for _, since in self.disqualifiers)
            or any(end > start for _, _, end in self.fast_tracks)
            or (state.sales_accepted_at is not None and state.sales_accepted_at > start)
            or any(curve.latest > start for _, curve, _ in self.terms)
        ):
            return None
        current = self.rules.bands[rank]
        return min(current.enter or 0.0, current.leave_below or 0.0)

    def _settled_after(self, at: int, position: tuple[str | None, str]) -> bool:
        """Whether nothing can change the band or stage after ``at``: the lead sits in the lowest band
        as a plain lead (or is disqualified) with no flag dated later and nothing left to decay away."""
        state, rules = self.state, self.rules
        later = [time for time in (*state.disqualified.values(), *state.fast_tracked.values()) if time > at]
        if later or (state.sales_accepted_at is not None and state.sales_accepted_at > at):
            return False
        in_force = any(since <= at for _, since in self.disqualifiers)
        if position == (DISQUALIFIED, DISQUALIFIED) and in_force and not rules.fit_decays:
            return True  # a disqualification in force stays: its profile part cannot change by time alone
        if any(end != float("inf") and end > at for _, _, end in self.fast_tracks):
            return False
        return position in ((rules.bands[0].name, "lead"), (DISQUALIFIED, DISQUALIFIED))


def _counted(
    rules: RuleSet, state: LeadState, profile: Profile, index: TriggerIndex
) -> Iterable[tuple[EngagementRule, RuleHits]]:
    """The engagement rules with facts whose profile part (if any) holds now, in the rule file's order."""
    for rule in rules.file.engagement:
        hits = state.hits.get(rule.id)
        if hits is not None and index.by_rule[rule.id].profile_holds(profile.facts):
            yield rule, hits


def _profile_holds(index: TriggerIndex, rule_id: str, profile: Profile) -> bool:
    trigger: Trigger | None = index.by_rule.get(rule_id)
    return trigger is None or trigger.profile_holds(profile.facts)


def _last(hits: RuleHits, at: int) -> int | None:
    times = [time for time, _ in hits.facts if time <= at]
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


def _stage(
    rules: RuleSet, band: str, *, previous: str, sales_accepted_at: int | None, fast_tracked: bool, at: int
) -> str:
    stages = rules.file.stages
    if band == DISQUALIFIED:
        return DISQUALIFIED
    if sales_accepted_at is not None and sales_accepted_at <= at:
        return "sql"
    rank = rules.band_rank[band]
    if rank >= rules.band_rank[stages.mql.band] or fast_tracked:
        return "mql"
    if previous in ("mql", "recycled") and stages.recycle is not None:
        return "recycled" if rank < rules.band_rank[stages.recycle.below] or previous == "recycled" else "mql"
    return "mql" if previous == "mql" else "lead"
