"""Each construct of the scoring model, on a small rule file with round numbers."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import pytest

from leadscore.engine import (
    LeadScore,
    LeadState,
    Signal,
    evaluate,
    next_band_change_at,
    score_account,
    score_lead,
)
from leadscore.engine import record as record_module
from leadscore.engine.state import DAY
from leadscore.events import Event
from leadscore.rules import RuleSet
from tests.rulesets import START, Events, days, small_rules

RULES = small_rules()


def replay(events: Sequence[Event], rules: RuleSet = RULES) -> tuple[LeadState, list[Signal]]:
    """Each event evaluated at its own moment, as the live service sees them."""
    state: LeadState | None = None
    signals: list[Signal] = []
    for event in sorted(events, key=lambda item: item.timestamp):
        evaluation = evaluate(rules, state, [event], event.timestamp)
        state, signals = evaluation.state, [*signals, *evaluation.signals]
    assert state is not None
    return state, signals


def score_at(events: Sequence[Event], at: datetime, rules: RuleSet = RULES) -> LeadScore:
    state, _ = replay(events, rules)
    return score_lead(rules, state, at)


def points_of(score: LeadScore, rule: str) -> float:
    return sum(item.points for item in score.explanation if item.rule == rule)


def item(score: LeadScore, rule: str) -> dict[str, object]:
    (found,) = [entry for entry in score.explanation if entry.rule == rule]
    return found.model_dump()


ann = Events()


def test_fit_rules_read_the_profile_and_grade_it() -> None:
    score = score_at([ann.identify(title="VP Sales")], START)
    assert (score.fit, score.engagement, score.score) == (30, 0, 30)
    assert {entry.rule for entry in score.explanation} == {"senior", "business-email"}
    assert (score.band, score.stage, score.grade) == ("cold", "lead", "A4")


def test_free_email_costs_points_and_does_not_roll_up_to_an_account() -> None:
    bob = Events("bob@gmail.com")
    score = score_at([bob.identify()], START)
    assert score.fit == -5
    assert score.account_id is None


def test_a_lead_seen_without_points_scores_zero() -> None:
    anonymous = Events("anon-1")
    score = score_at([anonymous.page("/about")], START)
    assert (score.score, score.explanation, score.band) == (0, [], "cold")


def test_a_limit_per_day_counts_the_first_hits_of_each_day() -> None:
    events = [
        ann.page("/pricing", START),
        ann.page("/pricing/teams", START + days(0.1)),
        ann.page("/pricing"),
    ]
    events.append(ann.page("/pricing", START + days(1)))
    score = score_at(events, START + days(1))
    assert item(score, "pricing")["count"] == 2
    assert item(score, "pricing")["earned"] == 20


def test_a_points_limit_per_week_grants_up_to_the_cap_then_resets_on_monday() -> None:
    week = [ann.track("Whitepaper Downloaded", START + days(offset)) for offset in (0, 1, 2)]
    next_week = [ann.track("Whitepaper Downloaded", START + days(7))]
    assert points_of(score_at(week, START + days(3)), "download") == 20
    assert points_of(score_at(week + next_week, START + days(7)), "download") == 28


def test_once_means_once_ever() -> None:
    events = [ann.track("Demo Requested", START), ann.track("Demo Requested", START + days(40))]
    assert item(score_at(events, START + days(41)), "demo")["count"] == 1


def test_half_life_halves_engagement_and_the_explanation_shows_what_decayed() -> None:
    score = score_at([ann.page("/pricing", START)], START + days(10))
    assert item(score, "pricing") | {"last_at": None} == {
        "rule": "pricing",
        "description": "pricing",
        "group": "engagement",
        "dimension": "engagement",
        "points": 5.0,
        "earned": 10.0,
        "decayed": 5.0,
        "count": 1,
        "last_at": None,
    }


def test_expiry_keeps_points_whole_until_the_day_they_expire() -> None:
    events = [ann.track("Email Link Clicked", START)]
    assert points_of(score_at(events, START + days(29.9)), "click") == 5
    assert points_of(score_at(events, START + days(30)), "click") == 0


def test_negative_points_never_fade() -> None:
    rules = small_rules(**{"group: steady\n    points: -10": "group: engagement\n    points: -10"})
    score = score_at([ann.page("/careers/engineer", START)], START + days(100), rules)
    assert points_of(score, "careers") == -10


def test_fit_does_not_decay() -> None:
    assert score_at([ann.identify(title="Director")], START + days(900)).fit == 30


def test_repeat_rule_scores_when_the_threshold_is_met_within_the_window() -> None:
    twice = [ann.page("/pricing", START + days(offset)) for offset in (0, 1)]
    assert points_of(score_at(twice, START + days(2)), "pricing-again") == 0
    spread = [*twice, ann.page("/pricing", START + days(9))]
    assert points_of(score_at(spread, START + days(9)), "pricing-again") == 0
    third = [*twice, ann.page("/pricing", START + days(2))]
    assert item(score_at(third, START + days(2)), "pricing-again")["earned"] == 15


def test_property_conditions_read_nested_values_and_lenient_numbers() -> None:
    report = ann.track("Report Downloaded", START, pages="120", format={"kind": "PDF"})
    short = ann.track("Report Downloaded", START, pages="99", format={"kind": "pdf"})
    assert points_of(score_at([report], START), "big-download") == 3
    assert points_of(score_at([short], START), "big-download") == 0


def test_the_explanation_sums_to_the_score() -> None:
    events = [
        ann.identify(title="VP"),
        ann.page("/pricing", START + days(1)),
        ann.track("Email Link Clicked", START + days(2)),
        ann.page("/careers", START + days(3)),
    ]
    score = score_at(events, START + days(17))
    assert round(sum(entry.points for entry in score.explanation), 2) == score.score
    assert score.score == round(score.fit + score.engagement, 2)


def test_a_competitor_is_disqualified_whatever_its_points() -> None:
    rival = Events("eve@rival.com")
    score = score_at([rival.identify(title="VP"), rival.track("Demo Requested")], START)
    assert (score.band, score.stage, score.disqualified) == ("disqualified", "disqualified", True)
    assert score.disqualification_reasons == ["Works for a competitor"]
    assert score.score == 70  # the points stay visible; the band says why they do not count


def test_an_event_disqualifier_sticks() -> None:
    events = [ann.identify(title="VP"), ann.track("Job Application Submitted", START + days(1))]
    assert score_at(events, START + days(300)).disqualification_reasons == ["Applied for a job"]


def test_fast_track_routes_a_fit_lead_at_once_and_holds_for_its_days() -> None:
    state, signals = replay([ann.identify(title="VP"), ann.track("Quote Requested", START + days(1))])
    assert [signal.kind for signal in signals] == ["fast_track"]
    assert signals[0].reasons[:2] == ["Asked for a quote", "Fast-tracked to hot with a score of 30"]
    held = score_lead(RULES, state, START + days(7))
    assert (held.band, held.stage, held.fast_track_reasons) == ("hot", "mql", ["Asked for a quote"])
    # The hold is over: the band falls through hysteresis to where the points (30) keep it.
    after = score_lead(RULES, state, START + days(8.1))
    assert (after.band, after.stage, after.fast_track_reasons) == ("warm", "mql", [])
    due = next_band_change_at(RULES, state, START + days(1))
    assert due is not None
    assert abs((due - (START + days(8))).total_seconds()) <= 60


def test_fast_track_needs_the_fit_it_asks_for() -> None:
    nobody = Events("nobody@acme.com")
    _, signals = replay([nobody.identify(), nobody.track("Quote Requested")])
    assert signals == []


DECAYING_DEMO = {"group: steady\n    points: 50": "group: engagement\n    points: 50"}


def test_bands_have_hysteresis_and_alert_once_per_crossing() -> None:
    rules = small_rules(**DECAYING_DEMO)
    events = [ann.identify(title="VP"), ann.track("Demo Requested", START)]
    state, signals = replay(events, rules)
    assert [(signal.kind, signal.band) for signal in signals] == [("band_entered", "hot")]
    # 30 fit + 50 halving every 10 days: below 80 at once, below the exit (70) after 3.22 days.
    assert score_lead(rules, state, START + days(2)).band == "hot"
    assert score_lead(rules, state, START + days(4)).band == "warm"
    due = next_band_change_at(rules, state, START)
    assert due is not None
    assert abs((due - START).total_seconds() - 3.2193 * 86_400) < 600  # scores round to cents
    # Back above the exit but below enter: no new alert; above enter again: a new crossing.
    later = evaluate(rules, state, [ann.page("/pricing", START + days(5))], START + days(5))
    assert later.signals == []
    assert later.state.band == "warm"
    again = evaluate(rules, later.state, [ann.track("Email Link Clicked", START + days(6))], START + days(6))
    assert (again.signals, again.state.band) == ([], "warm")
    assert 70 < score_lead(rules, again.state, START + days(6)).score < 80
    third = evaluate(rules, again.state, [ann.page("/pricing", START + days(6))], START + days(6))
    assert [(signal.kind, signal.band) for signal in third.signals] == [("band_entered", "hot")]


def test_stages_follow_bands_and_sales_acceptance() -> None:
    rules = small_rules(**DECAYING_DEMO, **{"exit: 30": "exit: 35"})
    state, _ = replay([ann.identify(title="VP"), ann.track("Demo Requested")], rules)
    assert score_lead(rules, state, START).stage == "mql"
    assert score_lead(rules, state, START + days(20)).stage == "mql"  # warm is not below warm
    assert score_lead(rules, state, START + days(60)).stage == "recycled"
    accepted, _ = replay(
        [ann.identify(title="VP"), ann.track("Demo Requested"), ann.track("Sales Accepted", START + days(1))],
        rules,
    )
    assert score_lead(rules, accepted, START + days(60)).stage == "sql"


def test_a_sharp_rise_is_a_signal_of_its_own_once_per_window() -> None:
    quiet = Events("quiet@gmail.com")
    events = [
        quiet.track("Demo Requested", START),
        quiet.page("/pricing", START + days(0.5)),
        quiet.track("Whitepaper Downloaded", START + days(0.6)),
        quiet.track("Whitepaper Downloaded", START + days(0.7)),
    ]
    _, signals = replay(events)
    assert [(signal.kind, signal.points) for signal in signals] == [("sharp_rise", 60)]


def test_the_newest_trait_wins_whatever_the_arrival_order() -> None:
    newer = ann.identify(START + days(2), title="VP Sales")
    older = ann.identify(START + days(1), title="Intern")
    first = evaluate(RULES, None, [newer], START + days(3))
    second = evaluate(RULES, first.state, [older], START + days(3))
    assert second.state.traits["title"] == "VP Sales"


def test_a_group_call_sets_the_account_and_company_traits() -> None:
    score = score_at([ann.identify(), ann.group("acct-42", employees=300)], START)
    state, _ = replay([ann.identify(), ann.group("acct-42", employees=300)])
    assert score.account_id == "acct-42"
    assert "company.employees" not in state.traits  # no rule reads it, so it is not kept


def test_accounts_roll_up_their_best_people() -> None:
    members = []
    for name, title in (("a", "VP"), ("b", "Director"), ("c", "")):
        person = Events(f"{name}@acme.com")
        members.append(score_at([person.identify(title=title), person.track("Demo Requested")], START))
    account = score_account(RULES, "acme.com", members, START)
    assert account.score == 160  # the best two: 80 + 80
    assert (account.people, account.engaged_people, account.band) == (3, 3, "active")
    assert [member.lead_id for member in account.members][:2] == ["a@acme.com", "b@acme.com"]


def test_the_same_event_twice_counts_once() -> None:
    event = ann.page("/pricing")
    first = evaluate(RULES, None, [event], START)
    again = evaluate(RULES, first.state, [event], START)
    assert again.state == first.state
    assert again.signals == []


def test_folding_old_hits_keeps_the_score(monkeypatch: pytest.MonkeyPatch) -> None:
    busy = Events("busy@acme.com")
    events = [busy.track("Email Link Clicked", START + days(index)) for index in range(60)]
    events += [busy.page("/pricing", START + days(index)) for index in range(60)]
    events += [busy.page("/careers", START + days(index)) for index in range(0, 60, 3)]
    folded, _ = replay(events)
    assert len(folded.hits["pricing"].times) < 60
    monkeypatch.setattr(record_module, "FOLD_AFTER", 10_000 * DAY)
    whole, _ = replay(events)
    assert len(whole.hits["pricing"].times) == 60
    for moment in (START + days(60), START + days(75)):
        assert score_lead(RULES, folded, moment).score == pytest.approx(
            score_lead(RULES, whole, moment).score
        )
