"""Invariants of the engine on the default rule file, over generated event histories."""

from __future__ import annotations

import random
from datetime import timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from leadscore.engine import ExplanationItem, LeadScore, LeadState, evaluate, score_lead
from leadscore.engine.points import curve_of, repeat_hits, value_at
from leadscore.engine.points import given as given_points
from leadscore.engine.reading import Profile, Timeline
from leadscore.engine.reading import _search as reading_search
from leadscore.engine.record import QUEUE_RETENTION
from leadscore.engine.state import epoch
from leadscore.events import Event
from leadscore.rules import DEFAULT_RULES_FILE, load_rules
from tests.rulesets import START

RULES = load_rules(DEFAULT_RULES_FILE)
LEAD = "kim@acme-robotics.com"

TRACKED = [
    "Demo Requested",
    "Quote Requested",
    "Trial Started",
    "Webinar Registered",
    "Webinar Attended",
    "Whitepaper Downloaded",
    "Form Submitted",
    "Email Link Clicked",
    "Email Opened",
    "Email Unsubscribed",
    "Job Application Submitted",
]
PAGES = ["/pricing", "/pricing/teams", "/product", "/careers/engineer", "/blog/post", "/integrations"]
TITLES = ["VP Engineering", "Director of IT", "Student", "Head of Data", "Engineer", "CEO"]
EMAILS = [LEAD, "kim@gmail.com", "kim@rivalsoft.com", "not-an-address"]


@st.composite
def events(draw: st.DrawFn, minutes: int = 60 * 24 * 60) -> Event:
    """One event at a random minute of a 60-day span."""
    message_id = draw(st.uuids()).hex
    timestamp = START + timedelta(minutes=draw(st.integers(0, minutes)))
    kind = draw(st.sampled_from(["identify", "track", "page"]))
    if kind == "identify":
        traits = {
            "email": draw(st.sampled_from(EMAILS)),
            "title": draw(st.sampled_from(TITLES)),
            "employees": draw(st.integers(1, 20_000)),
            "country": draw(st.sampled_from(["US", "DE", "BR"])),
        }
        return Event(message_id=message_id, lead_id=LEAD, kind="identify", traits=traits, timestamp=timestamp)
    if kind == "page":
        path = draw(st.sampled_from(PAGES))
        return Event(
            message_id=message_id, lead_id=LEAD, kind="page", properties={"path": path}, timestamp=timestamp
        )
    name = draw(st.sampled_from(TRACKED))
    return Event(message_id=message_id, lead_id=LEAD, kind="track", name=name, timestamp=timestamp)


histories = st.lists(events(), min_size=1, max_size=12, unique_by=lambda event: event.message_id)
FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def replay(history: list[Event]) -> LeadState:
    state: LeadState | None = None
    for event in sorted(history, key=lambda item: item.timestamp):
        state = evaluate(RULES, state, [event], event.timestamp).state
    assert state is not None
    return state


def end_of(history: list[Event]) -> timedelta:
    return max(event.timestamp for event in history) - START


@FAST
@given(histories, st.data())
def test_the_same_event_delivered_again_changes_nothing(history: list[Event], data: st.DataObject) -> None:
    state = replay(history)
    now = START + end_of(history) + timedelta(hours=data.draw(st.integers(0, 24 * 13)))
    # However many messages came in between: the state has no message-id log to forget them from.
    redelivered = data.draw(st.lists(st.sampled_from(history), min_size=1, max_size=4))
    again = evaluate(RULES, state, redelivered, now)
    assert score_lead(RULES, again.state, now) == score_lead(RULES, state, now)
    assert again.state.hits == state.hits
    assert again.state.traits == state.traits


def delivered(event: Event, delay_minutes: int) -> Event:
    return event.model_copy(update={"received_at": event.timestamp + timedelta(minutes=delay_minutes)})


# Events of five days, some received days after they happened (8 days: too late to earn points).
deliveries = st.lists(
    st.tuples(events(minutes=60 * 24 * 5), st.sampled_from([0, 1, 90, 60 * 24 * 3, 60 * 24 * 8])).map(
        lambda pair: delivered(*pair)
    ),
    min_size=1,
    max_size=25,
    unique_by=lambda event: event.message_id,
)


def retried(event: Event, rng: random.Random) -> Event:
    later = timedelta(seconds=rng.choice([0, 0, 1, 40]))
    received = event.received_at + later if event.received_at is not None else None
    return event.model_copy(update={"timestamp": event.timestamp + later, "received_at": received})


@st.composite
def pricing_views(draw: st.DrawFn) -> Event:
    """Many views of one page within three days: repeat rules keep only a thinned set of them."""
    minute = draw(st.integers(0, 60 * 24 * 3))
    return Event(
        message_id=draw(st.uuids()).hex,
        lead_id=LEAD,
        kind="page",
        properties={"path": "/pricing"},
        timestamp=START + timedelta(minutes=minute),
        received_at=START + timedelta(minutes=minute),
    )


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.one_of(deliveries, st.lists(pricing_views(), min_size=10, max_size=60)),
    st.randoms(use_true_random=False),
    st.integers(1, 8),
    st.integers(0, 24 * 40),
)
def test_any_batching_order_and_duplication_scores_as_the_offline_engine(
    messages: list[Event], rng: random.Random, batch_size: int, hours_later: int
) -> None:
    offline = replay(messages)
    # Copies: redeliveries as they were, and SDK retries that date the message a few seconds later.
    arriving = messages + [retried(rng.choice(messages), rng) for _ in range(rng.randint(0, len(messages)))]
    rng.shuffle(arriving)
    received = [event.received_at for event in messages if event.received_at is not None]
    # Each batch is scored after the last message arrived and before the first one left the queue.
    latest = min(received) + timedelta(seconds=QUEUE_RETENTION)
    state = None
    for start in range(0, len(arriving), batch_size):
        now = max(received) + (latest - max(received)) * rng.random()
        state = evaluate(RULES, state, arriving[start : start + batch_size], now).state
    assert state is not None
    at = latest + timedelta(hours=hours_later)
    live, reference = score_lead(RULES, state, at), score_lead(RULES, offline, at)
    assert (live.score, live.fit, live.engagement) == (reference.score, reference.fit, reference.engagement)
    # A retried identify is a newer profile update: only a fit item's last_at may move by the delay.
    assert without_profile_times(live) == without_profile_times(reference)


def without_profile_times(score: LeadScore) -> list[ExplanationItem]:
    return [
        item.model_copy(update={"last_at": None}) if item.dimension == "fit" else item
        for item in score.explanation
    ]


@FAST
@given(histories, st.integers(0, 400 * 24))
def test_the_explanation_sums_to_the_score(history: list[Event], hours_later: int) -> None:
    at = START + end_of(history) + timedelta(hours=hours_later)
    score = score_lead(RULES, replay(history), at)
    assert round(sum(item.points for item in score.explanation), 2) == score.score
    assert round(sum(item.points for item in score.explanation if item.dimension == "fit"), 2) == score.fit
    assert score.score == round(score.fit + score.engagement, 2)


@FAST
@given(histories, st.integers(0, 200 * 24), st.integers(1, 200 * 24))
def test_decay_never_raises_a_score_and_never_touches_fit(
    history: list[Event], first: int, later: int
) -> None:
    state = replay(history)
    earlier_at = START + end_of(history) + timedelta(hours=first)
    before, after = (
        score_lead(RULES, state, earlier_at),
        score_lead(RULES, state, earlier_at + timedelta(hours=later)),
    )
    assert after.score <= before.score
    assert after.engagement <= before.engagement
    assert after.fit == before.fit


@FAST
@given(histories, events(), events(), st.integers(0, 30 * 24))
def test_two_events_from_different_days_score_the_same_in_either_order(
    history: list[Event], one: Event, other: Event, hours_later: int
) -> None:
    if one.timestamp.date() == other.timestamp.date() or one.message_id == other.message_id:
        other = other.model_copy(
            update={"timestamp": other.timestamp + timedelta(days=1), "message_id": "other"}
        )
    state = replay(history)
    now = START + timedelta(days=62)
    first = evaluate(RULES, evaluate(RULES, state, [one], now).state, [other], now).state
    second = evaluate(RULES, evaluate(RULES, state, [other], now).state, [one], now).state
    at = now + timedelta(hours=hours_later)
    assert score_lead(RULES, first, at).score == score_lead(RULES, second, at).score
    assert score_lead(RULES, first, at).explanation == score_lead(RULES, second, at).explanation


@FAST
@given(histories, st.integers(-48, 24 * 120))
def test_the_next_band_change_is_the_first_moment_a_full_reading_differs(
    history: list[Event], hours_later: int
) -> None:
    """The search that follows only the score finds what the search over full readings finds."""
    state = replay(history)
    start = epoch(START + end_of(history) + timedelta(hours=hours_later))
    timeline = Timeline(RULES, state, Profile.of(RULES, state, start))
    position = timeline.reading(start).position
    expected = reading_search(lambda at: timeline.reading(at, since=position).position, start)
    assert timeline.next_change(start, since=position) == expected


@FAST
@given(histories, st.integers(-24 * 30, 24 * 400))
def test_a_rules_curve_reads_as_its_facts(history: list[Event], hours: int) -> None:
    state = replay(history)
    at = epoch(START + end_of(history) + timedelta(hours=hours))
    for rule_id, hits in state.hits.items():
        rule = RULES.engagement_by_id[rule_id]
        group = RULES.group(rule.group)
        value, raw, count = curve_of(hits, rule, group).at(hits, at)
        expected = value_at(given_points(hits, rule), hits, group, at)
        assert (round(value, 6), round(raw, 6), count) == (
            round(expected[0], 6),
            round(expected[1], 6),
            expected[2],
        )


@given(
    times=st.lists(st.integers(0, 40 * 86_400), max_size=40, unique=True),
    at_least=st.integers(1, 5),
    within_days=st.sampled_from([0.5, 1.0, 7.0, 30.0]),
    since=st.integers(0, 40 * 86_400),
)
def test_a_repeat_hit_is_an_occurrence_with_enough_others_in_the_window_before_it(
    times: list[int], at_least: int, within_days: float, since: int
) -> None:
    occurrences = sorted((time, index) for index, time in enumerate(times))
    within = within_days * 86_400
    by_definition = [
        (time, tag)
        for time, tag in occurrences
        if time >= since and sum(time - within <= other <= time for other, _ in occurrences) >= at_least
    ]
    assert repeat_hits(occurrences, at_least, within, since=since) == by_definition
