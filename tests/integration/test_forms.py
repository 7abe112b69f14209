"""The form endpoint through the collect function on moto, then scored: a browser form, a form builder's
webhook, and a form that links to the browsing before it."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

import pytest

from leadscore.adapters.dynamodb import DynamoLeadRepository
from leadscore_local.aws import LOCAL_WRITE_KEY, LocalResources
from tests.conftest import load_event
from tests.integration.conftest import Invoke, api_event, basic, score_queued, sqs_batch

pytestmark = pytest.mark.integration


def form_event(path: str, body: str, content_type: str, **headers: str) -> dict[str, Any]:
    headers = {"content-type": content_type, "host": "127.0.0.1:3000", **headers}
    event = api_event(path, body.encode(), headers, route="/v1/forms/{form_id}")
    event["pathParameters"] = {"form_id": path.split("?", maxsplit=1)[0].rsplit("/", 1)[1]}
    return event


def test_a_browser_form_is_scored_and_the_visitor_sent_to_the_thank_you_page(
    aws: LocalResources, invoke: Invoke
) -> None:
    fields = {
        "writeKey": LOCAL_WRITE_KEY,
        "email": " Dana@Initech.com ",
        "Job Title": "VP of Operations",
        "company_size": "800",
        "message": "We need this by Q1",
    }
    event = form_event(
        "/v1/forms/demo-request",
        urlencode(fields),
        "application/x-www-form-urlencoded",
        accept="text/html,application/xhtml+xml",
        referer="https://www.initech-example.com/contact",
    )
    response = invoke("collect", event)
    assert response["statusCode"] == 303
    assert response["headers"]["Location"] == "https://www.initech-example.com/contact"
    score_queued(invoke, aws)
    lead = DynamoLeadRepository(aws.table_name).get("dana@initech.com")
    assert lead is not None
    assert lead.state.traits["title"] == "VP of Operations"
    assert lead.summary.fit > 0


def test_a_webhook_gets_json_and_a_form_without_the_write_key_keeps_nothing(
    aws: LocalResources, invoke: Invoke
) -> None:
    body = json.dumps({"fields": {"email": "lee@globex.com", "title": "CTO"}})
    refused = invoke("collect", form_event("/v1/forms/typeform", body, "application/json"))
    assert refused["statusCode"] == 401
    assert json.loads(refused["body"])["code"] == "unauthorized"
    assert sqs_batch(aws)[0] == {"Records": []}
    accepted = invoke(
        "collect", form_event(f"/v1/forms/typeform?writeKey={LOCAL_WRITE_KEY}", body, "application/json")
    )
    assert (accepted["statusCode"], json.loads(accepted["body"])) == (200, {"success": True})
    assert sorted(json.loads(r["body"])["type"] for r in sqs_batch(aws)[0]["Records"]) == [
        "identify",
        "track",
    ]
    webhook = form_event("/v1/forms/typeform", body, "application/json", authorization=basic(LOCAL_WRITE_KEY))
    assert invoke("collect", webhook)["statusCode"] == 200


def test_a_form_links_to_the_browsing_before_it_through_the_analytics_cookie(
    aws: LocalResources, invoke: Invoke
) -> None:
    browsing = load_event("apigw_http_batch.json")
    browsing["body"] = json.dumps(
        {"batch": [{"type": "page", "anonymousId": "anon-42", "properties": {"path": "/pricing"}}]}
    )
    assert invoke("collect", browsing)["statusCode"] == 200
    score_queued(invoke, aws)
    form = form_event(
        "/v1/forms/contact",
        urlencode({"writeKey": LOCAL_WRITE_KEY, "email": "kim@initech.com"}),
        "application/x-www-form-urlencoded",
        cookie="ajs_anonymous_id=%22anon-42%22; other=1",
    )
    assert invoke("collect", form)["statusCode"] == 200
    score_queued(invoke, aws)
    repository = DynamoLeadRepository(aws.table_name)
    person = repository.get("kim@initech.com")
    assert person is not None
    assert "pricing-page" in person.state.hits
    assert repository.get("anon-42") is None  # merged: its activity is the person's
