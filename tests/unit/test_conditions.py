"""The condition language: value tests, event and page patterns, e-mail kinds, combinations."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from leadscore.email_kinds import email_kind
from leadscore.events import Event
from leadscore.rules.conditions import Condition, Facts, ValueTest, as_number

AT = datetime(2026, 11, 24, tzinfo=UTC)


@pytest.mark.parametrize(
    ("test", "value", "expected"),
    [
        ({"equals": "Germany"}, " germany ", True),
        ("Germany", "France", False),
        (["US", "CA"], "ca", True),
        ({"not_in": ["US"]}, "DE", True),
        ({"not_in": ["US"]}, None, True),
        ({"between": [50, 5000]}, "1,200", True),
        ({"at_least": 10000}, "$50k", True),
        ({"below": 10}, "1-9", True),
        ({"above": 5000}, "5000+", False),
        ({"at_most": 3}, "three", False),
        ({"matches": r"\b(vp|director)\b"}, "Director of IT", True),
        ({"matches": r"\b(vp|director)\b"}, "Directorate clerk", False),
        ({"glob": "/pricing*"}, "/Pricing/Teams", True),
        ({"contains": "sales"}, "Head of Sales", True),
        ({"present": True}, "", False),
        ({"present": False}, None, True),
        ({"equals": 42}, "42", True),
        ({"equals": True}, True, True),
    ],
)
def test_value_tests(test: Any, value: Any, expected: bool) -> None:
    assert ValueTest.model_validate(test).test(value) is expected


@pytest.mark.parametrize(
    ("text", "number"), [("5,000", 5000), ("$1.5m", 1_500_000), ("51-200", 51), ("x", None)]
)
def test_numbers_are_read_as_forms_send_them(text: str, number: float | None) -> None:
    assert as_number(text) == number


def test_between_needs_ordered_bounds() -> None:
    with pytest.raises(ValueError, match="between needs"):
        ValueTest.model_validate({"between": [10, 1]})


def page(path: str, **properties: Any) -> Event:
    return Event(
        message_id="m", lead_id="l", kind="page", properties={"path": path, **properties}, timestamp=AT
    )


def track(name: str, **properties: Any) -> Event:
    return Event(message_id="m", lead_id="l", kind="track", name=name, properties=properties, timestamp=AT)


def facts(event: Event | None = None, fit: float = 0, **traits: Any) -> Facts:
    return Facts(traits=traits, email_kind=email_kind(traits.get("email")), fit=fit, event=event)


def condition(**spec: Any) -> Condition:
    return Condition.model_validate(spec)


def test_a_page_glob_matches_page_calls_only() -> None:
    pricing = condition(page="/pricing*")
    assert pricing.holds(facts(page("/pricing/teams")))
    assert not pricing.holds(facts(track("/pricing")))
    assert not pricing.holds(facts())


def test_event_names_are_case_insensitive_globs_and_lists() -> None:
    downloads = condition(event=["* Downloaded", "Ebook Requested"])
    assert downloads.holds(facts(track("whitepaper downloaded")))
    assert downloads.holds(facts(track("Ebook Requested")))
    assert not downloads.holds(facts(track("Demo Requested")))


def test_properties_may_be_nested_and_everything_given_must_hold() -> None:
    long_watch = condition(event="Webinar Attended", properties={"session.minutes": {"at_least": 20}})
    assert long_watch.holds(facts(track("Webinar Attended", session={"minutes": 45})))
    assert not long_watch.holds(facts(track("Webinar Attended", session={"minutes": 5})))
    assert not long_watch.holds(facts(track("Webinar Attended")))


def test_any_all_not_and_fit_at_least_combine() -> None:
    senior_not_student = condition(
        any=[{"traits": {"title": {"matches": "vp"}}}, {"traits": {"title": {"matches": "director"}}}],
        **{"not": {"traits": {"title": {"contains": "student"}}}},
        fit_at_least=20,
    )
    assert senior_not_student.holds(facts(fit=25, title="VP Sales"))
    assert not senior_not_student.holds(facts(fit=25, title="Student director"))
    assert not senior_not_student.holds(facts(fit=10, title="VP Sales"))


def test_email_kinds_from_maintained_lists() -> None:
    assert email_kind("jane@acme-robotics.com") == "business"
    assert email_kind("bob@gmail.com") == "free"
    assert email_kind("x@mailinator.com") == "disposable"
    assert email_kind("x@eu.mailinator.com") == "disposable"
    assert email_kind("eve@rival.com", competitors={"rival.com"}) == "competitor"
    assert email_kind("nobody at example") == "invalid"
    assert email_kind(None) == "missing"
    assert condition(email=["free", "disposable"]).holds(facts(email="bob@hotmail.com"))


def test_a_condition_says_whether_it_needs_an_event() -> None:
    assert condition(any=[{"page": "/pricing"}]).about_events
    assert not condition(traits={"title": "VP"}, email="business").about_events
    assert condition(traits={"title": "VP"}, **{"not": {"traits": {"company.size": 5}}}).trait_names == {
        "title",
        "company",
    }


def test_an_empty_condition_is_refused() -> None:
    with pytest.raises(ValueError, match="empty condition"):
        Condition.model_validate({})
