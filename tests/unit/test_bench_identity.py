"""The identity benchmark's pure parts: the anonymous-first stream it derives, how it bills requests."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import pytest

from bench.identity_cost import (
    ABSENT,
    FAILED,
    LIVE,
    MARKER,
    PERSON,
    VISITOR,
    FinalTable,
    Identities,
    Request,
    alert_counts,
    bill_requests,
    identity_problems,
    linked_ids,
    with_anonymous_visits,
)
from bench.workload import Workload, reference_workload

REFERENCE = reference_workload(leads=60, events_per_hour=600)


def sent(workload: Workload) -> list[dict[str, Any]]:
    return [*workload.new_leads, *workload.known_leads]


def by_lead(reference: Workload, derived: Workload) -> dict[str, list[dict[str, Any]]]:
    """The derived stream's messages per reference lead (the derived messages keep the message ids)."""
    lead_of = {message["messageId"]: message["userId"] for message in sent(reference)}
    out: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for message in sent(derived):
        out[lead_of[message["messageId"]]].append(message)
    return out


def test_the_derived_stream_is_seeded_and_keeps_every_event_in_place() -> None:
    derived = with_anonymous_visits(REFERENCE)
    assert derived == with_anonymous_visits(REFERENCE)
    assert derived != with_anonymous_visits(REFERENCE, seed=1)
    for ours, theirs in (
        (derived.new_leads, REFERENCE.new_leads),
        (derived.known_leads, REFERENCE.known_leads),
    ):
        assert [(m["messageId"], m["timestamp"]) for m in ours] == [
            (m["messageId"], m["timestamp"]) for m in theirs
        ]


def test_anonymous_first_leads_send_the_anonymous_id_alone_then_both_from_their_identify() -> None:
    derived = with_anonymous_visits(REFERENCE, anonymous_events=(2, 6))
    traits = {m["userId"]: m["traits"] for m in reversed(sent(REFERENCE)) if m["type"] == "identify"}
    anonymous_first = 0
    for user_id, messages in by_lead(REFERENCE, derived).items():
        if "anonymousId" not in messages[0]:
            assert all(m.get("userId") == user_id and "anonymousId" not in m for m in messages)
            continue
        anonymous_first += 1
        assert len({m["anonymousId"] for m in messages}) == 1
        known = [number for number, m in enumerate(messages) if "userId" in m]
        if not known:  # never identified: no identify, no userId
            assert len(messages) <= 6
            assert all(m["type"] != "identify" for m in messages)
            continue
        first = known[0]
        assert 2 <= first <= 6
        assert known == list(range(first, len(messages)))
        assert messages[first]["type"] == "identify"
        assert messages[first]["traits"] == traits[user_id]
        assert all(m["type"] != "identify" for m in messages[:first])
    assert 0.3 < anonymous_first / len(traits) < 0.9


def test_the_share_of_anonymous_first_leads_is_a_setting() -> None:
    assert sent(with_anonymous_visits(REFERENCE, share=0)) == sent(REFERENCE)
    everyone = Identities.of(with_anonymous_visits(REFERENCE, share=1))
    assert len(everyone.anonymous) == len(Identities.of(REFERENCE).people)


def test_a_link_is_a_message_with_both_ids_and_the_first_one_wins() -> None:
    messages = [
        {"anonymousId": "a1", "type": "page"},
        {"userId": "u1", "type": "page"},
        {"userId": "u1", "anonymousId": "u1", "type": "page"},
        {"userId": "u1", "anonymousId": "a1", "type": "identify"},
        {"userId": "u2", "anonymousId": "a1", "type": "page"},
    ]
    assert linked_ids(messages) == {"a1": "u1"}


def item(lead_id: str, **attributes: dict[str, Any]) -> dict[str, Any]:
    return {"pk": {"S": f"L#{lead_id}"}, "sk": {"S": "L"}, "sv": {"N": "2"}, **attributes}


def test_each_request_is_billed_by_kind_as_the_meter_bills_it() -> None:
    warm_visitor = item(
        "anon-1", v={"N": "1"}, st={"B": b"x" * 300}, bsh={"S": "warm#3"}, due={"N": "1800000000"}
    )
    person = item("user-1", v={"N": "1"}, st={"B": b"y" * 1100}, acct={"S": "initech.com"})
    marker = item("anon-1", v={"N": "2"}, mi={"S": "user-1"})
    images: dict[tuple[str, str], Any] = {}
    requests = [
        Request("BatchGetItem", (item("anon-1"),), consistent=True),
        Request("PutItem", (warm_visitor,)),
        Request("BatchGetItem", (item("anon-1"), item("user-1")), consistent=True),
        Request("PutItem", (person,)),
        Request("PutItem", (marker,)),
        Request("PutItem", (item("user-1", v={"N": "1"}),), error="ConditionalCheckFailedException"),
        Request("GetItem", (item("anon-1"),), consistent=False),
        Request("UpdateItem"),
    ]
    billed = bill_requests(requests, {"anon-1"}, images)
    # A new item: 1 table unit, and its entry in each index that has its keys (by-band).
    assert (billed.writes[VISITOR].count, billed.writes[VISITOR].units) == (1, 2)
    # Over 1 KB: 2 table units, and its by-account entry.
    assert (billed.writes[PERSON].count, billed.writes[PERSON].units) == (1, 3)
    # The marker bills the larger item, the visitor's (1 unit), the visitor's leaving by-band and the
    # marker's entering by-merge.
    assert (billed.writes[MARKER].count, billed.writes[MARKER].units) == (1, 3)
    # A lost race bills the item as stored (the person's, over 1 KB).
    assert (billed.writes[FAILED].count, billed.writes[FAILED].units) == (1, 2)
    assert (billed.reads[ABSENT].count, billed.reads[ABSENT].units) == (2, 2)
    assert (billed.reads[LIVE].count, billed.reads[LIVE].units) == (1, 1)
    assert (billed.reads[MARKER].count, billed.reads[MARKER].units) == (1, 0.5)
    assert billed.unbilled == {"UpdateItem": 1}
    assert billed.write_units == 10
    assert billed.read_units == pytest.approx(3.5)
    assert images[("L#anon-1", "L")] == marker


def test_the_table_at_the_end_must_hold_every_link_as_a_marker_into_its_person() -> None:
    identities = Identities.of(
        Workload(
            start=REFERENCE.start,
            new_leads=[
                {"anonymousId": "a1", "type": "page"},
                {"userId": "u1", "anonymousId": "a1", "type": "identify"},
                {"anonymousId": "a2", "type": "page"},
            ],
            known_leads=[{"userId": "u2", "type": "page"}],
        )
    )
    assert identities.links == {"a1": "u1"}
    assert identities.never_identified == {"a2"}
    right = FinalTable(live=frozenset({"u1", "u2", "a2"}), markers={"a1": "u1"})
    assert identity_problems(right, identities) == []
    left_live = FinalTable(live=frozenset({"u1", "u2", "a2", "a1"}), markers={})
    assert identity_problems(left_live, identities) == ["a1, linked to u1, is still a live lead"]
    elsewhere = FinalTable(live=frozenset({"u1", "u2", "a2"}), markers={"a1": "u2"})
    assert identity_problems(elsewhere, identities) == ["a1, linked to u1, is merged into u2"]


def test_alerts_are_counted_by_whom_they_are_about() -> None:
    identities = Identities.of(
        Workload(
            start=REFERENCE.start,
            new_leads=[
                {"anonymousId": "a1", "type": "page"},
                {"userId": "u1", "anonymousId": "a1", "type": "identify"},
                {"anonymousId": "a2", "type": "page"},
                {"userId": "u3", "type": "page"},
            ],
            known_leads=[],
        )
    )
    alerts = [
        ("a1", "sharp_rise", "10:00"),
        ("u1", "fast_track", "10:05"),
        ("a2", "fast_track", "10:02"),
        ("u3", "band_entered", "10:03"),
    ]
    assert alert_counts(alerts, identities) == {
        "total": 4,
        "identified later": 2,
        "linked visitor": 1,
        "visitor never identified": 1,
    }
    assert alert_counts([("u1", "fast_track", "10:00"), ("u3", "band_entered", "10:03")], identities) == {
        "total": 2,
        "identified later": 1,
    }
