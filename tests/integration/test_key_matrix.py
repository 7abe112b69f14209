"""Every kind of key against every endpoint, through the real handlers on moto: write keys only send
events, read keys read and record sales' work, admin keys do that and erase; the public routes ask for
none. The table of routes is the one API Gateway is built from, so a new route fails here until it is
placed in the matrix."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest

from leadscore.resources import ROUTES, TRACKING_CALLS
from leadscore_local.aws import LOCAL_ADMIN_KEY, LOCAL_READ_KEY, LOCAL_WRITE_KEY, LocalResources
from tests.integration.conftest import Invoke, api_event, archived, basic, call_api, score_queued

pytestmark = pytest.mark.integration
LEAD = "kim@initech.com"
KEYS = {
    "none": None,
    "wrong": "not-a-key",
    "write": LOCAL_WRITE_KEY,
    "read": LOCAL_READ_KEY,
    "admin": LOCAL_ADMIN_KEY,
}
TRACKING = {f"/v1/{path}" for call in TRACKING_CALLS.items() for path in call}
SALES = {
    ("GET", "/v1/leads"),
    ("GET", "/v1/accounts"),
    ("GET", "/v1/leads/{lead_id}"),
    ("GET", "/v1/accounts/{account_id}"),
    ("POST", "/v1/leads/{lead_id}/status"),
    ("POST", "/v1/leads/{lead_id}/outcome"),
}
CALL_BODIES: dict[str, dict[str, Any]] = {
    "batch": {"batch": [{"type": "identify", "userId": LEAD, "traits": {"email": LEAD}}]},
    "identify": {"userId": LEAD, "traits": {"email": LEAD}},
    "track": {"userId": LEAD, "event": "Webinar Registered"},
    "page": {"userId": LEAD, "name": "Pricing", "properties": {"path": "/pricing"}},
    "screen": {"userId": LEAD, "name": "Settings"},
    "group": {"userId": LEAD, "groupId": "initech"},
    "alias": {"userId": LEAD, "previousId": "anon-kim"},
}
PUBLIC = {("POST", "/v1/m"), ("GET", "/v1/openapi.json")} | {(r.method, r.path) for r in ROUTES if r.page}


def allowed(method: str, path: str) -> set[str]:
    """The kinds of key that may call a route."""
    if path in TRACKING or path in {
        "/v1/forms/{form_id}",
        "/v1/projects/{write_key}/settings",
        "/sourceConfig",
    }:
        return {"write"}
    if (method, path) in SALES:
        return {"read", "admin"}
    if (method, path) == ("DELETE", "/v1/leads/{lead_id}"):
        return {"admin"}
    if (method, path) in PUBLIC:
        return set(KEYS)
    raise AssertionError(f"{method} {path} is not in the key matrix")


def request(method: str, path: str) -> dict[str, Any]:
    """A valid request to the route, but for its key."""
    if path in TRACKING:
        call = next(call for call, short in TRACKING_CALLS.items() if path in {f"/v1/{call}", f"/v1/{short}"})
        return {"body": CALL_BODIES[call]}
    bodies = {
        "/v1/forms/{form_id}": {"email": LEAD},
        "/v1/leads/{lead_id}/status": {"status": "contacted", "by": "ana"},
        "/v1/leads/{lead_id}/outcome": {"outcome": "converted", "value": 5000},
        "/v1/m": {"series": []},
    }
    path_values = {
        "lead_id": LEAD,
        "account_id": "initech.com",
        "form_id": "contact",
        "name": "index.html",
    }
    return {
        "body": bodies.get(path),
        "path": {name: value for name, value in path_values.items() if f"{{{name}}}" in path} or None,
    }


def answer(invoke: Invoke, method: str, path: str, kind: str) -> int:
    key = KEYS[kind]
    if path == "/v1/projects/{write_key}/settings":
        # The write key is in the path (analytics.js's CDN URL): without one, it is no such route.
        return call_api(invoke, method, path, path={"write_key": key or "-"})[0]
    if path.startswith("/v1/") and path in TRACKING:
        # The tracking SDKs send the write key as the basic-auth user name.
        headers = {"content-type": "application/json", **({"authorization": basic(key)} if key else {})}
        event = api_event(path, json.dumps(request(method, path)["body"]).encode(), headers)
        return int(invoke("collect", event)["statusCode"])
    return call_api(invoke, method, path, key=key, **request(method, path))[0]


def test_every_kind_of_key_against_every_endpoint(aws: LocalResources, invoke: Invoke) -> None:
    answer(invoke, "POST", "/v1/batch", "write")
    score_queued(invoke, aws)
    # Erasure last (its admin call last of all): it removes the lead the other routes answer for.
    matrix = {
        (route.method, route.path, kind): answer(invoke, route.method, route.path, kind)
        for route in sorted(ROUTES, key=lambda route: route.method == "DELETE")
        for kind in KEYS
    }
    wrong = {
        (method, path, kind): status
        for (method, path, kind), status in matrix.items()
        if (status in {401, 403}) == (kind in allowed(method, path)) or status >= 500
    }
    assert wrong == {}
    # Allowed means done, not merely past the key check.
    done = {
        (m, p, k): s for (m, p, k), s in matrix.items() if k in allowed(m, p) and s not in {200, 302, 303}
    }
    assert done == {}


def test_no_key_is_kept_in_the_table_or_the_archive(aws: LocalResources, invoke: Invoke) -> None:
    """A write key sent in the body (as some SDKs do) is removed before the message is queued."""
    body = {"writeKey": LOCAL_WRITE_KEY, "userId": LEAD, "event": "Webinar Registered"}
    event = api_event("/v1/track", json.dumps(body).encode(), {"content-type": "application/json"})
    assert invoke("collect", event)["statusCode"] == 200
    score_queued(invoke, aws)
    lines = [line for lines in archived(aws.bucket).values() for line in lines]
    items = boto3.client("dynamodb").scan(TableName=aws.table_name)["Items"]
    assert lines
    assert items
    for key in (LOCAL_WRITE_KEY, LOCAL_READ_KEY, LOCAL_ADMIN_KEY):
        assert not [line for line in lines if key in line]
        assert not [item for item in items if key in json.dumps(item, default=repr)]
