"""Sales' lists through the leads function on moto: a band's leads highest score first, page after page
with the cursor, filtered by stage, grade, owner and region, from the band index (the grant has no Scan);
accounts the same; and the look-up's recent activity. Expected orders come from the offline engine."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from leadscore.engine import LeadScore, evaluate, score_lead
from leadscore.rules import DEFAULT_RULES_FILE, load_rules
from leadscore.segment import read_message
from leadscore_local.aws import LOCAL_READ_KEY, LOCAL_WRITE_KEY, LocalResources
from tests.integration.conftest import Invoke, api_event, basic, call_api, score_queued

pytestmark = pytest.mark.integration
RULES = load_rules(DEFAULT_RULES_FILE)
NOW = datetime.now(UTC).replace(microsecond=0)


def journey(index: int) -> list[dict[str, Any]]:
    """A VP at a 500-person company who viewed pricing on ``index`` days; every other one asked for a
    demo (hot), the rest are warm. Owners and regions alternate."""
    lead = f"lead{index}@company{index}.com"
    traits = {
        "email": lead,
        "name": f"Lead {index}",
        "company": f"Company {index}",
        "title": "VP Engineering",
        "employees": 500,
        "country": "US",
        "owner": ("ana", "ben")[index % 2],
        "region": ("emea", "amer")[index % 3 == 0],
    }
    at = NOW - timedelta(days=6)
    messages: list[dict[str, Any]] = [{"type": "identify", "userId": lead, "traits": traits}]
    messages += [
        {"type": "page", "userId": lead, "properties": {"path": "/pricing"}, "day": day}
        for day in range(index)
    ]
    if index % 2:
        messages.append({"type": "track", "userId": lead, "event": "Demo Requested"})
    for number, message in enumerate(messages):
        moment = at + timedelta(days=message.pop("day", 0), minutes=number)
        message.update(messageId=f"{lead}-{number}", timestamp=moment.isoformat())
    return messages


JOURNEYS = {f"lead{index}@company{index}.com": journey(index) for index in range(1, 9)}


def offline_scores(at: datetime = NOW) -> dict[str, LeadScore]:
    """Each lead scored by the offline engine from its messages, read at ``at``."""
    scores = {}
    for lead, messages in JOURNEYS.items():
        events = [read_message(message, message_id=None, received_at=NOW) for message in messages]
        state = evaluate(RULES, None, events, NOW, lead_id=lead).state
        scores[lead] = score_lead(RULES, state, at)
    return scores


@pytest.fixture
def seeded(aws: LocalResources, invoke: Invoke) -> dict[str, LeadScore]:
    batch = [message for messages in JOURNEYS.values() for message in messages]
    headers = {"authorization": basic(LOCAL_WRITE_KEY), "content-type": "application/json"}
    assert (
        invoke("collect", api_event("/v1/batch", json.dumps({"batch": batch}).encode(), headers))[
            "statusCode"
        ]
        == 200
    )
    score_queued(invoke, aws)
    return offline_scores()


def pages(invoke: Invoke, route: str, rows: str, **query: str) -> list[list[dict[str, Any]]]:
    """Every page of a list, following ``next_cursor``."""
    found, cursor = [], None
    while True:
        status, page = call_api(
            invoke,
            "GET",
            route,
            query={**query, **({"cursor": cursor} if cursor else {})},
            key=LOCAL_READ_KEY,
        )
        assert status == 200, page
        found.append(page[rows])
        cursor = page["next_cursor"]
        if cursor is None:
            return found


def test_a_band_lists_its_leads_highest_score_first_page_after_page(
    seeded: dict[str, LeadScore], invoke: Invoke
) -> None:
    for band, limit in (("hot", 4), ("warm", 1)):
        listed = pages(invoke, "/v1/leads", "leads", band=band, limit=str(limit))
        assert [len(page) for page in listed[:-1]] == [limit] * (len(listed) - 1)
        rows = [row for page in listed for row in page]
        # Scores decay by the second: compare with the offline engine at the moment the list was read.
        read_at = offline_scores(datetime.fromisoformat(rows[0]["as_of"]))
        expected = sorted(
            (s for s in read_at.values() if s.band == band), key=lambda s: (-s.score, s.lead_id)
        )
        assert len(expected) > limit
        assert {row["as_of"] for row in rows} == {rows[0]["as_of"]}
        assert [(row["lead_id"], row["score"]) for row in rows] == [(s.lead_id, s.score) for s in expected]
        assert {row["band"] for row in rows} == {band}
    every = pages(invoke, "/v1/leads", "leads", limit="200")
    assert [row["lead_id"] for row in every[0]] == [
        s.lead_id for s in sorted(seeded.values(), key=lambda s: (-s.score, s.lead_id)) if s.band != "cold"
    ]


def test_a_listed_lead_says_who_it_is_and_how_long_it_has_waited(
    seeded: dict[str, LeadScore], invoke: Invoke
) -> None:
    (row, *_) = pages(invoke, "/v1/leads", "leads", band="hot", limit="1")[0]
    assert (row["name"], row["company"], row["grade"]) == (
        f"Lead {row['lead_id'][4]}",
        f"Company {row['lead_id'][4]}",
        seeded[row["lead_id"]].grade,
    )
    assert row["turned_hot_at"] is not None
    assert row["waiting_since"] == row["turned_hot_at"]
    status, _ = call_api(
        invoke,
        "POST",
        "/v1/leads/{lead_id}/status",
        path={"lead_id": row["lead_id"]},
        body={"status": "contacted", "by": "ana"},
        key=LOCAL_READ_KEY,
    )
    assert status == 200
    (after, *_) = pages(invoke, "/v1/leads", "leads", band="hot", limit="1")[0]
    assert (after["follow_up"]["status"], after["waiting_since"]) == ("contacted", None)


FILTERS: list[tuple[dict[str, str], Callable[[LeadScore], bool]]] = [
    ({"owner": "ANA"}, lambda s: s.profile["owner"] == "ana"),
    ({"region": "amer"}, lambda s: s.profile["region"] == "amer"),
    ({"region": "us"}, lambda s: True),
    ({"stage": "mql"}, lambda s: s.stage == "mql"),
    ({"band": "warm", "owner": "ana"}, lambda s: s.band == "warm" and s.profile["owner"] == "ana"),
    ({"grade": "A1"}, lambda s: s.grade == "A1"),
]


def test_lists_filter_by_stage_grade_owner_and_region(seeded: dict[str, LeadScore], invoke: Invoke) -> None:
    for query, wanted in FILTERS:
        expected = sorted(
            (s for s in seeded.values() if s.band != "cold" and wanted(s)),
            key=lambda s: (-s.score, s.lead_id),
        )
        assert 0 < len(expected) < len(seeded) or query == {"region": "us"}, query
        rows = [row for page in pages(invoke, "/v1/leads", "leads", **query) for row in page]
        assert [row["lead_id"] for row in rows] == [s.lead_id for s in expected], query


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"band": "cold"}, "band"),
        ({"band": "scorching"}, "band"),
        ({"cursor": "not-a-cursor"}, "cursor"),
        ({"limit": "0"}, "limit"),
        ({"limit": "201"}, "limit"),
    ],
)
def test_a_bad_list_request_names_its_field(
    aws: LocalResources, invoke: Invoke, query: dict[str, str], field: str
) -> None:
    status, answer = call_api(invoke, "GET", "/v1/leads", query=query, key=LOCAL_READ_KEY)
    assert status == 400
    assert answer["field"].endswith(field)


def test_accounts_list_by_account_band_from_all_their_people(
    seeded: dict[str, LeadScore], invoke: Invoke
) -> None:
    rows = [row for page in pages(invoke, "/v1/accounts", "accounts", limit="3") for row in page]
    assert [row["account_id"] for row in rows] == [
        f"company{s.lead_id[4]}.com" for s in sorted(seeded.values(), key=lambda s: (-s.score, s.lead_id))
    ]
    band = rows[0]["band"]
    only = [row for page in pages(invoke, "/v1/accounts", "accounts", band=band) for row in page]
    assert only
    assert {row["band"] for row in only} == {band}
    status, answer = call_api(invoke, "GET", "/v1/accounts", query={"band": "nope"}, key=LOCAL_READ_KEY)
    assert (status, answer["field"]) == (400, "band")


def test_a_look_up_answers_what_the_lead_did_lately(seeded: dict[str, LeadScore], invoke: Invoke) -> None:
    status, lead = call_api(
        invoke, "GET", "/v1/leads/{lead_id}", path={"lead_id": "lead4@company4.com"}, key=LOCAL_READ_KEY
    )
    assert status == 200
    # Pricing viewed on four days: the view last hit on the fourth, the repeat rule (once a week) earlier.
    activity = lead["recent_activity"]
    assert [item["rule"] for item in activity] == ["pricing-page", "pricing-page-repeated"]
    times = [datetime.fromisoformat(item["last_at"]) for item in activity]
    assert times[0] == NOW - timedelta(days=3) + timedelta(minutes=4) > times[1]
    assert lead["follow_up"] is None
    assert lead["waiting_since"] is None  # warm: nobody waits for a call
