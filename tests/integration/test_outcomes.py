"""Outcomes through the leads function on moto: recorded with a read key on the lead an id names, the
latest kept whatever the order, refused naming the field, and untouched by the lead's later scoring."""

from __future__ import annotations

import json
from typing import Any

import pytest

from leadscore.adapters.dynamodb import DynamoLeadRepository
from leadscore_local.aws import LOCAL_READ_KEY, LOCAL_WRITE_KEY, LocalResources
from tests.conftest import load_event
from tests.integration.conftest import Invoke, api_event, basic, score_queued

pytestmark = pytest.mark.integration
PERSON = "dana@initech.com"


def track(invoke: Invoke, *messages: dict[str, Any]) -> None:
    headers = {"authorization": basic(LOCAL_WRITE_KEY), "content-type": "application/json"}
    event = api_event("/v1/batch", json.dumps({"batch": list(messages)}).encode(), headers)
    assert invoke("collect", event)["statusCode"] == 200


def post(invoke: Invoke, lead_id: str, action: str, body: Any, key: str = LOCAL_READ_KEY) -> tuple[int, Any]:
    """``POST /v1/leads/{lead_id}/{action}`` (outcome, status) through the leads function."""
    event = load_event("apigw_http_lead.json")
    path = f"/v1/leads/{lead_id}/{action}"
    event["routeKey"] = event["requestContext"]["routeKey"] = f"POST /v1/leads/{{lead_id}}/{action}"
    event["rawPath"] = event["requestContext"]["http"]["path"] = path
    event["requestContext"]["http"]["method"] = "POST"
    event["pathParameters"] = {"lead_id": lead_id}
    event["headers"] = {"authorization": basic(key), "content-type": "application/json"}
    event["body"] = json.dumps(body)
    event["isBase64Encoded"] = False
    response = invoke("leads", event)
    return response["statusCode"], json.loads(response["body"])


def test_an_outcome_is_kept_on_the_person_latest_first_and_survives_scoring(
    aws: LocalResources, invoke: Invoke
) -> None:
    track(
        invoke,
        {"type": "page", "anonymousId": "anon-9", "properties": {"path": "/pricing"}},
        {"type": "identify", "userId": PERSON, "anonymousId": "anon-9", "traits": {"email": PERSON}},
    )
    score_queued(invoke, aws)
    # Recorded through the anonymous id: it lands on the person
    won = {"outcome": "converted", "value": 12000, "at": "2026-11-20T10:00:00Z"}
    status, answer = post(invoke, "anon-9", "outcome", won)
    assert (status, answer["lead_id"], answer["kept"]) == (200, PERSON, True)
    # An older report arriving later does not overwrite it
    status, answer = post(invoke, PERSON, "outcome", {"outcome": "lost", "at": "2026-11-01T10:00:00Z"})
    assert (status, answer["kept"]) == (200, False)
    repository = DynamoLeadRepository(aws.table_name)
    before = repository.outcome_of(PERSON)
    assert before is not None
    assert (before.outcome, before.value) == ("converted", 12000)
    # The lead keeps being scored: its outcome stays
    track(invoke, {"type": "track", "userId": PERSON, "event": "Demo Requested"})
    score_queued(invoke, aws)
    assert repository.outcome_of(PERSON) == before
    lead = repository.get(PERSON)
    assert lead is not None
    assert "demo-request" in lead.state.hits


@pytest.mark.parametrize(
    "case",
    [
        ({"outcome": "won"}, LOCAL_READ_KEY, 400, "outcome"),
        ({"outcome": "lost", "value": -5}, LOCAL_READ_KEY, 400, "value"),
        ({"outcome": "lost", "at": "2099-01-01T00:00:00Z"}, LOCAL_READ_KEY, 400, "at"),
        ({"outcome": "lost", "extra": 1}, LOCAL_READ_KEY, 400, "extra"),
        ({"outcome": "lost"}, LOCAL_WRITE_KEY, 401, None),
    ],
)
def test_a_bad_outcome_is_refused_and_nothing_kept(
    aws: LocalResources, invoke: Invoke, case: tuple[Any, str, int, str | None]
) -> None:
    body, key, status, field = case
    track(invoke, {"type": "identify", "userId": PERSON, "traits": {"email": PERSON}})
    score_queued(invoke, aws)
    answered, answer = post(invoke, PERSON, "outcome", body, key)
    assert answered == status
    assert answer["code"]
    if field:
        assert answer["field"] == field
    assert DynamoLeadRepository(aws.table_name).outcome_of(PERSON) is None


def test_an_outcome_for_a_lead_never_seen_is_a_404(aws: LocalResources, invoke: Invoke) -> None:
    assert post(invoke, "nobody@nowhere.example", "outcome", {"outcome": "lost"})[0] == 404


def get_lead(invoke: Invoke, lead_id: str) -> Any:
    event = load_event("apigw_http_lead.json")
    event["pathParameters"]["lead_id"] = lead_id
    event["rawPath"] = event["requestContext"]["http"]["path"] = f"/v1/leads/{lead_id}"
    event["headers"]["authorization"] = basic(LOCAL_READ_KEY)
    response = invoke("leads", event)
    assert response["statusCode"] == 200
    return json.loads(response["body"])


def test_a_hot_lead_waits_until_sales_record_a_follow_up_and_the_look_up_shows_it(
    aws: LocalResources, invoke: Invoke
) -> None:
    traits = {"email": PERSON, "title": "VP of Operations", "employees": 800, "country": "US"}
    track(
        invoke,
        {"type": "identify", "userId": PERSON, "traits": traits},
        {"type": "track", "userId": PERSON, "event": "Demo Requested"},
    )
    score_queued(invoke, aws)
    lead = get_lead(invoke, PERSON)
    assert lead["band"] == "hot"
    assert lead["waiting_since"] is not None
    assert (lead["follow_up"], lead["outcome"]) == (None, None)
    status, answer = post(invoke, PERSON, "status", {"status": "contacted", "by": "kim.s"})
    assert (status, answer["kept"], answer["by"]) == (200, True, "kim.s")
    refused, error = post(invoke, PERSON, "status", {"status": "called", "by": "kim.s"})
    assert (refused, error["field"]) == (400, "status")
    lead = get_lead(invoke, PERSON)
    assert lead["waiting_since"] is None
    assert lead["follow_up"]["status"] == "contacted"
