"""Follow-up reminders, pure: when one falls due, how it is settled, and that however often the decay job
looks (and whenever sales follow up), a turn to hot gets at most one reminder."""

from __future__ import annotations

from datetime import timedelta

from hypothesis import given
from hypothesis import strategies as st

from leadscore.engine import LeadState, evaluate, reminder_due_at, settle_reminder, turned_hot_at
from leadscore.records import FollowUp
from leadscore.scoring import evaluated_record
from tests.rulesets import START, Events, small_rules

RULES = small_rules()
HOUR = 3600
T0 = int(START.timestamp())


def hot_state() -> LeadState:
    """A VP with a business e-mail who asked for a demo: hot at START."""
    lead = Events()
    events = [lead.identify(title="VP Sales", email="ann@acme.com"), lead.track("Demo Requested")]
    evaluation = evaluate(RULES, None, events, START)
    assert evaluation.state.band == "hot"
    return evaluation.state


def test_the_reminder_falls_due_the_configured_time_after_the_lead_turned_hot() -> None:
    state = hot_state()
    assert turned_hot_at(RULES, state, "hot") == T0
    assert reminder_due_at(RULES, state) == T0 + 24 * HOUR
    assert reminder_due_at(
        small_rules(**{"sharp_rise:": "alerts: {remind_after_hours: 2}\nsharp_rise:"}), state
    ) == (T0 + 2 * HOUR)
    assert (
        reminder_due_at(
            small_rules(**{"sharp_rise:": "alerts: {remind_after_hours: null}\nsharp_rise:"}), state
        )
        is None
    )
    cold = evaluate(RULES, None, [Events().page("/blog")], START).state
    assert reminder_due_at(RULES, cold) is None


def test_a_waiting_lead_is_reminded_and_a_followed_up_one_is_not() -> None:
    state = hot_state()
    due = T0 + 24 * HOUR
    settled, signal = settle_reminder(RULES, state, None, due)
    assert signal is not None
    assert (signal.kind, signal.band) == ("reminder", "hot")
    assert reminder_due_at(RULES, settled) is None
    settled, signal = settle_reminder(RULES, state, T0 + HOUR, due)
    assert signal is None
    assert reminder_due_at(RULES, settled) is None
    # A follow-up from before the lead turned hot does not count for this turn.
    _, signal = settle_reminder(RULES, state, T0 - HOUR, due)
    assert signal is not None


@given(
    visits=st.lists(st.integers(min_value=0, max_value=96), min_size=1, max_size=12),
    followed_up=st.one_of(st.none(), st.integers(min_value=0, max_value=96)),
)
def test_a_turn_to_hot_gets_at_most_one_reminder_however_often_the_job_looks(
    visits: list[int], followed_up: int | None
) -> None:
    lead = Events()
    events = [lead.identify(title="VP Sales", email="ann@acme.com"), lead.track("Demo Requested")]
    record = evaluated_record("ann@acme.com", None, events, RULES, START)
    follow_up = (
        FollowUp(status="contacted", by="kim", at=START + timedelta(hours=followed_up))
        if followed_up is not None
        else None
    )
    reminders = 0
    for hour in sorted(visits):
        now = START + timedelta(hours=hour)
        known = follow_up if follow_up is not None and follow_up.at <= now else None
        record = evaluated_record(record.lead_id, record, [], RULES, now, follow_up=lambda known=known: known)
        reminders += sum(signal.kind == "reminder" for signal in record.signals)
    # The first visit once the reminder is due settles it: a reminder unless sales followed up by then.
    first_due = min((hour for hour in visits if hour >= 24), default=None)
    waiting = first_due is not None and (followed_up is None or followed_up > first_due)
    assert reminders == (1 if waiting else 0)
