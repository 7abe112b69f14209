"""The Segment tracking API's messages: what is accepted, what is refused and with which field named."""

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from leadscore.segment import (
    MAX_BATCH_MESSAGES,
    MAX_DEPTH,
    InvalidMessage,
    accept_batch,
    accept_message,
    loads,
    read_message,
)

RECEIVED = datetime(2026, 11, 24, 9, 30, tzinfo=UTC)


def test_a_batch_of_identify_and_track_becomes_events_for_the_user() -> None:
    accepted = accept_batch(
        {
            "batch": [
                {"type": "identify", "userId": "u1", "messageId": "m1", "traits": {"title": "VP Sales"}},
                {"type": "track", "userId": "u1", "messageId": "m2", "event": "Demo Requested"},
            ]
        },
        RECEIVED,
    )
    events = [item.event for item in accepted]
    assert [(e.kind, e.lead_id, e.message_id) for e in events] == [
        ("identify", "u1", "m1"),
        ("track", "u1", "m2"),
    ]
    assert events[0].traits == {"title": "VP Sales"}
    assert events[1].name == "Demo Requested"


def test_an_anonymous_visitor_is_keyed_by_the_anonymous_id() -> None:
    event = accept_message(
        {"anonymousId": "anon-7", "properties": {"path": "/pricing"}}, RECEIVED, call="page"
    )
    assert (event.event.lead_id, event.event.anonymous_id, event.event.kind) == ("anon-7", "anon-7", "page")


def test_a_page_path_is_taken_from_the_url_when_missing() -> None:
    accepted = accept_message(
        {"userId": "u", "context": {"page": {"url": "https://example.com/pricing/teams?x=1"}}},
        RECEIVED,
        call="page",
    )
    assert accepted.event.properties["path"] == "/pricing/teams"


@pytest.mark.parametrize(
    ("message", "field"),
    [
        ({"type": "track", "event": "Signed Up"}, "batch[0].userId"),
        ({"type": "track", "userId": "u"}, "batch[0].event"),
        ({"type": "group", "userId": "u"}, "batch[0].groupId"),
        ({"type": "alias", "userId": "u"}, "batch[0].previousId"),
        ({"userId": "u", "event": "x"}, "batch[0].type"),
        ({"type": "track", "userId": "u", "event": "x", "timestamp": "yesterday"}, "batch[0].timestamp"),
        ({"type": "identify", "userId": "u", "traits": ["not", "a", "map"]}, "batch[0].traits"),
        ({"type": "identify", "userId": "a\nBcc: evil@example.com"}, "batch[0].userId"),
        ({"type": "identify", "userId": "x" * 257}, "batch[0].userId"),
        ({"type": "track", "userId": "u", "event": "Demo\rRequested"}, "batch[0].event"),
        ({"type": "group", "userId": "u", "groupId": "g\x00"}, "batch[0].groupId"),
        ({"type": "identify", "userId": "u", "traits": {"n": 10**16}}, "batch[0].traits.n"),
        ({"type": "identify", "userId": "u", "traits": {"bio": "x" * 1025}}, "batch[0].traits.bio"),
        ({"type": "track", "userId": "u", "event": "x", "properties": {"a\tb": 1}}, "batch[0].properties"),
        (
            {"type": "track", "userId": "u", "event": "x", "timestamp": "0001-01-01T00:00:00Z"},
            "batch[0].timestamp",
        ),
    ],
)
def test_a_bad_message_is_refused_naming_the_field(message: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidMessage) as refused:
        accept_batch({"batch": [message]}, RECEIVED)
    assert refused.value.field == field


def nested(depth: int) -> dict[str, Any]:
    value: dict[str, Any] = {}
    for _ in range(depth):
        value = {"a": value}
    return value


def test_properties_nested_too_deep_are_refused_naming_where() -> None:
    accept_message({"userId": "u", "event": "x", "properties": nested(MAX_DEPTH - 2)}, RECEIVED, call="track")
    with pytest.raises(InvalidMessage) as refused:
        accept_message({"userId": "u", "event": "x", "properties": nested(220)}, RECEIVED, call="track")
    assert refused.value.field.startswith("properties.a.a")


def test_a_message_over_32_kb_is_refused_even_inside_a_batch() -> None:
    big = {"type": "track", "userId": "u", "event": "x", "properties": {"blob": "x" * 8000}}
    fat = {**big, "properties": {f"k{n}": "x" * 8000 for n in range(5)}}
    with pytest.raises(InvalidMessage) as refused:
        accept_batch({"batch": [big, fat]}, RECEIVED)
    assert (refused.value.field, refused.value.message) == ("batch[1]", "is larger than 32 KB")


def test_a_batch_holds_at_most_2500_messages() -> None:
    one = {"type": "track", "userId": "u", "event": "x"}
    assert len(accept_batch({"batch": [one] * MAX_BATCH_MESSAGES}, RECEIVED)) == MAX_BATCH_MESSAGES
    with pytest.raises(InvalidMessage) as refused:
        accept_batch({"batch": [one] * (MAX_BATCH_MESSAGES + 1)}, RECEIVED)
    assert refused.value.field == "batch"


def test_one_bad_message_refuses_the_whole_batch() -> None:
    good = {"type": "track", "userId": "u", "event": "ok"}
    with pytest.raises(InvalidMessage) as refused:
        accept_batch({"batch": [good, good, {"type": "track", "anonymousId": "a"}]}, RECEIVED)
    assert refused.value.field == "batch[2].event"


@pytest.mark.parametrize("body", [[], {"batch": []}, {"batch": "x"}, {"nothing": 1}])
def test_a_batch_without_messages_is_refused(body: object) -> None:
    with pytest.raises(InvalidMessage):
        accept_batch(body, RECEIVED)


def test_clock_skew_is_corrected_with_sent_at() -> None:
    # The device's clock is an hour fast: it says it sent at 10:30 what happened at 10:29.
    accepted = accept_message(
        {"userId": "u", "event": "x", "timestamp": "2026-11-24T10:29:00Z", "sentAt": "2026-11-24T10:30:00Z"},
        RECEIVED,
        call="track",
    )
    assert accepted.event.timestamp == RECEIVED - timedelta(minutes=1)
    assert accepted.message["timestamp"] == "2026-11-24T09:29:00Z"
    assert accepted.message["originalTimestamp"] == "2026-11-24T10:29:00Z"
    assert "sentAt" not in accepted.message


def test_a_batch_sent_at_corrects_its_messages() -> None:
    accepted = accept_batch(
        {
            "sentAt": "2026-11-24T10:30:00Z",
            "batch": [{"type": "track", "userId": "u", "event": "x", "timestamp": "2026-11-24T10:25:00Z"}],
        },
        RECEIVED,
    )
    assert accepted[0].event.timestamp == RECEIVED - timedelta(minutes=5)


@pytest.mark.parametrize("ahead", [timedelta(seconds=75), timedelta(days=365 * 7000)])
def test_a_time_in_the_future_is_taken_as_the_time_received(ahead: timedelta) -> None:
    moment = (RECEIVED + ahead).isoformat()
    accepted = accept_message({"userId": "u", "traits": {}, "timestamp": moment}, RECEIVED, call="identify")
    assert accepted.event.timestamp == RECEIVED


def test_a_sent_at_thousands_of_years_off_is_refused_not_a_crash() -> None:
    with pytest.raises(InvalidMessage) as refused:
        accept_message(
            {
                "userId": "u",
                "event": "x",
                "timestamp": "2026-11-24T09:00:00Z",
                "sentAt": "9999-12-31T23:59:59Z",
            },
            RECEIVED,
            call="track",
        )
    assert refused.value.field == "timestamp"


def test_without_a_timestamp_the_event_happened_when_received() -> None:
    assert accept_message({"userId": "u", "event": "x"}, RECEIVED, call="track").event.timestamp == RECEIVED


def test_a_message_without_message_id_gets_its_own_and_one_with_an_id_keeps_it() -> None:
    click = {"userId": "u", "event": "x", "timestamp": "2026-11-24T09:29:00Z"}
    first, second = (accept_message(click, RECEIVED, call="track") for _ in range(2))
    assert first.event.message_id != second.event.message_id
    assert first.message["messageId"] == first.event.message_id
    retried = accept_message({**click, "messageId": "m-1"}, RECEIVED, call="track")
    assert retried.event.message_id == "m-1"


def test_the_batch_context_and_integrations_merge_under_the_message_own() -> None:
    accepted = accept_batch(
        {
            "context": {"library": {"name": "analytics-python"}, "page": {"path": "/", "title": "Home"}},
            "integrations": {"All": True},
            "batch": [
                {"type": "page", "userId": "u", "context": {"page": {"path": "/pricing"}, "ip": "1.2.3.4"}},
                {"type": "page", "userId": "u", "integrations": {"All": False}},
            ],
        },
        RECEIVED,
    )
    first, second = (item.message for item in accepted)
    assert first["context"] == {
        "library": {"name": "analytics-python"},
        "page": {"path": "/pricing", "title": "Home"},
        "ip": "1.2.3.4",
    }
    assert first["integrations"] == {"All": True}
    assert second["integrations"] == {"All": False}
    assert second["context"]["page"] == {"path": "/", "title": "Home"}
    assert accepted[0].event.properties["path"] == "/pricing"


def test_the_write_key_a_browser_puts_in_a_message_is_not_queued() -> None:
    accepted = accept_message({"userId": "u", "event": "x", "writeKey": "wk"}, RECEIVED, call="track")
    assert "writeKey" not in accepted.message


def test_e_mail_identities_and_traits_are_normalised() -> None:
    accepted = accept_message(
        {"userId": "  Dana@Initech.COM ", "traits": {"email": " Dana@Initech.COM"}}, RECEIVED, call="identify"
    )
    assert accepted.event.lead_id == "dana@initech.com"
    assert accepted.event.traits["email"] == "dana@initech.com"


def test_numeric_user_ids_are_text() -> None:
    assert accept_message({"userId": 42, "traits": {}}, RECEIVED, call="identify").event.lead_id == "42"


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"[" * 5000 + b"]" * 5000, "nested"),
        (b'{"userId": ' + b"9" * 5000 + b"}", "digits"),
        (b'{"n": NaN}', "NaN"),
        (b"\xff\xfe", "UTF-8"),
        (b"{", "JSON"),
    ],
)
def test_undecodable_bodies_are_refused_naming_the_body(body: bytes, reason: str) -> None:
    with pytest.raises(InvalidMessage) as refused:
        loads(body)
    assert refused.value.field == "body"
    assert reason in refused.value.message


def test_what_is_queued_reads_back_as_the_same_event() -> None:
    accepted = accept_batch(
        {
            "sentAt": "2026-11-24T10:30:00Z",
            "batch": [
                {"type": "identify", "anonymousId": "a", "userId": "U@x.io", "traits": {"email": "U@x.io"}},
                {"type": "page", "anonymousId": "a", "timestamp": "2026-11-24T10:20:00Z", "name": "Pricing"},
            ],
        },
        RECEIVED,
    )
    for item in accepted:
        queued = json.loads(json.dumps(item.message))
        assert (
            read_message(queued, message_id="sqs-id", received_at=RECEIVED + timedelta(seconds=3))
            == item.event
        )


def test_another_producer_message_takes_the_queue_id_and_queue_time() -> None:
    event = read_message(
        {"type": "track", "userId": "u", "event": "x"}, message_id="sqs-1", received_at=RECEIVED
    )
    assert (event.message_id, event.timestamp, event.received_at) == ("sqs-1", RECEIVED, RECEIVED)


def test_a_recorded_message_without_receipt_is_history_taken_at_its_word() -> None:
    event = read_message(
        {
            "type": "track",
            "userId": "u",
            "event": "Demo Requested",
            "timestamp": "2026-06-02T10:00:00Z",
            "sentAt": "2026-06-02T10:00:05Z",
        },
        message_id="line-1",
        received_at=None,
    )
    assert event.timestamp == datetime(2026, 6, 2, 10, 0, tzinfo=UTC)
    assert event.received_at is None


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=30,
)


@settings(max_examples=300, deadline=None)
@given(
    payload=st.dictionaries(
        st.sampled_from(
            [
                "type",
                "userId",
                "event",
                "traits",
                "timestamp",
                "sentAt",
                "properties",
                "messageId",
                "anonymousId",
                "groupId",
            ]
        ),
        json_values,
        max_size=8,
    )
)
def test_any_message_is_accepted_or_refused_naming_a_field(payload: dict[str, Any]) -> None:
    try:
        accepted = accept_message(payload, RECEIVED)
    except InvalidMessage as refused:
        refusal = refused
    else:
        assert read_message(accepted.message, message_id="q", received_at=RECEIVED) == accepted.event
        return
    assert refusal.field


def test_rudderstack_browser_messages_are_read_as_sent() -> None:
    # An anonymous page: "userId": "", the device time in originalTimestamp, no timestamp
    page = accept_message(
        {
            "type": "page",
            "userId": "",
            "anonymousId": "rs-anon-1",
            "originalTimestamp": "2026-11-24T10:29:50Z",
            "sentAt": "2026-11-24T10:30:00Z",
            "properties": {"path": "/pricing"},
        },
        RECEIVED,
        call="page",
    )
    assert page.event.lead_id == "rs-anon-1"
    assert page.event.timestamp == RECEIVED - timedelta(seconds=10)
    # An identify whose traits are in context.traits only
    identify = accept_message(
        {"userId": "lee@globex.com", "anonymousId": "rs-anon-1", "context": {"traits": {"title": "CTO"}}},
        RECEIVED,
        call="identify",
    )
    assert identify.event.traits == {"title": "CTO"}
    with pytest.raises(InvalidMessage) as refused:
        accept_message({"userId": "u", "context": {"traits": {"bio": "x" * 2000}}}, RECEIVED, call="identify")
    assert refused.value.field == "context.traits.bio"
