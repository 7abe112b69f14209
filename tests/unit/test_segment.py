"""The Segment tracking API's messages: what is accepted, what is refused and with which field named."""

from datetime import UTC, datetime, timedelta

import pytest

from leadscore.segment import InvalidMessage, parse_batch, parse_message

RECEIVED = datetime(2026, 11, 24, 9, 30, tzinfo=UTC)


def test_a_batch_of_identify_and_track_becomes_events_for_the_user() -> None:
    events = parse_batch(
        {
            "batch": [
                {"type": "identify", "userId": "u1", "messageId": "m1", "traits": {"title": "VP Sales"}},
                {"type": "track", "userId": "u1", "messageId": "m2", "event": "Demo Requested"},
            ]
        },
        RECEIVED,
    )
    assert [(e.kind, e.lead_id, e.message_id) for e in events] == [
        ("identify", "u1", "m1"),
        ("track", "u1", "m2"),
    ]
    assert events[0].traits == {"title": "VP Sales"}
    assert events[1].name == "Demo Requested"


def test_an_anonymous_visitor_is_keyed_by_the_anonymous_id() -> None:
    event = parse_message(
        {"anonymousId": "anon-7", "properties": {"path": "/pricing"}}, RECEIVED, call="page"
    )
    assert (event.lead_id, event.anonymous_id, event.kind) == ("anon-7", "anon-7", "page")


def test_a_page_path_is_taken_from_the_url_when_missing() -> None:
    event = parse_message(
        {"userId": "u", "context": {"page": {"url": "https://example.com/pricing/teams?x=1"}}},
        RECEIVED,
        call="page",
    )
    assert event.properties["path"] == "/pricing/teams"


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
    ],
)
def test_a_bad_message_is_refused_naming_the_field(message: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidMessage) as refused:
        parse_batch({"batch": [message]}, RECEIVED)
    assert refused.value.field == field


def test_one_bad_message_refuses_the_whole_batch() -> None:
    good = {"type": "track", "userId": "u", "event": "ok"}
    with pytest.raises(InvalidMessage) as refused:
        parse_batch({"batch": [good, good, {"type": "track", "anonymousId": "a"}]}, RECEIVED)
    assert refused.value.field == "batch[2].event"


@pytest.mark.parametrize("body", [[], {"batch": []}, {"batch": "x"}, {"nothing": 1}])
def test_a_batch_without_messages_is_refused(body: object) -> None:
    with pytest.raises(InvalidMessage):
        parse_batch(body, RECEIVED)


def test_clock_skew_is_corrected_with_sent_at() -> None:
    # The device's clock is an hour fast: it says it sent at 10:30 what happened at 10:29.
    event = parse_message(
        {"userId": "u", "event": "x", "timestamp": "2026-11-24T10:29:00Z", "sentAt": "2026-11-24T10:30:00Z"},
        RECEIVED,
        call="track",
    )
    assert event.timestamp == RECEIVED - timedelta(minutes=1)


def test_without_a_timestamp_the_event_happened_when_received() -> None:
    assert parse_message({"userId": "u", "event": "x"}, RECEIVED, call="track").timestamp == RECEIVED


def test_a_message_without_message_id_gets_a_stable_one() -> None:
    message = {"userId": "u", "event": "x", "timestamp": "2026-11-24T10:29:00Z"}
    first = parse_message(message, RECEIVED, call="track")
    retried = parse_message({**message, "sentAt": "2026-11-24T10:31:00Z"}, RECEIVED, call="track")
    assert first.message_id == retried.message_id
    assert first.message_id.startswith("derived-")


def test_numeric_user_ids_are_text() -> None:
    assert parse_message({"userId": 42, "traits": {}}, RECEIVED, call="identify").lead_id == "42"
