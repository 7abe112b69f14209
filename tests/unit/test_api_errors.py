"""build_api: every error an HTTP function answers is JSON with ``code`` and ``message``; the deploy settings
the CDK app and the local gateway share."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
from aws_lambda_powertools.event_handler.exceptions import BadRequestError, NotFoundError

from leadscore.api import (
    THROTTLE_BURST,
    THROTTLE_RATE_PER_SECOND,
    UNAVAILABLE_RETRY_AFTER_SECONDS,
    Throttle,
    build_api,
    error_code,
    parse_allowed_origins,
)
from leadscore.errors import NotFound, PayloadTooLarge, Unauthorized, Unavailable
from leadscore.resources import DEFAULT_ALLOWED_ORIGINS
from leadscore.segment import InvalidMessage
from leadscore_local.runtime import LocalContext
from tests.conftest import load_event

REQUEST_ID = "c6af9ac6-7b61-11e6-9a41-93e8deadbeef"


def event_for(method: str, path: str, *, route_key: str | None = None) -> dict[str, Any]:
    """An API Gateway HTTP API event (the sample in events/) for ``method`` ``path``."""
    event = copy.deepcopy(load_event("apigw_http_batch.json"))
    key = route_key or f"{method} {path}"
    event.update(routeKey=key, rawPath=path)
    event["requestContext"].update(routeKey=key, requestId=REQUEST_ID)
    event["requestContext"]["http"].update(method=method, path=path)
    return event


def api_raising(error: BaseException) -> APIGatewayHttpResolver:
    api = build_api()

    @api.post("/v1/batch")
    def batch() -> dict[str, Any]:
        raise error

    @api.get("/v1/ok")
    def ok() -> dict[str, Any]:
        return {"success": True}

    return api


def answer(api: APIGatewayHttpResolver, event: dict[str, Any]) -> tuple[int, dict[str, str], dict[str, Any]]:
    response = api.resolve(event, LocalContext("collect", 128, 10))
    headers = {name.lower(): value for name, value in (response.get("headers") or {}).items()}
    assert headers["content-type"] == "application/json"
    body: dict[str, Any] = json.loads(response["body"])
    assert isinstance(body["code"], str)
    assert isinstance(body["message"], str)
    return response["statusCode"], headers, body


@pytest.mark.parametrize(
    ("error", "status", "code"),
    [
        (Unauthorized("no valid write key"), 401, "unauthorized"),
        (NotFound("no lead ann@initech.com"), 404, "not_found"),
        (PayloadTooLarge("the body is larger than 500 KB"), 413, "payload_too_large"),
        (BadRequestError("bad"), 400, "invalid_request"),
        (NotFoundError("no such form"), 404, "not_found"),
    ],
)
def test_domain_and_http_errors_map_to_their_status_and_code(
    error: Exception, status: int, code: str
) -> None:
    found_status, _, body = answer(api_raising(error), event_for("POST", "/v1/batch"))
    assert (found_status, body["code"], body["message"]) == (status, code, str(getattr(error, "msg", error)))


def test_an_invalid_message_is_a_400_naming_the_field() -> None:
    status, _, body = answer(
        api_raising(InvalidMessage("batch[0].event", "Field required")), event_for("POST", "/v1/batch")
    )
    assert status == 400
    assert body == {
        "code": "invalid_request",
        "message": "batch[0].event: Field required",
        "field": "batch[0].event",
    }


def test_unauthorized_asks_for_basic_credentials() -> None:
    _, headers, _ = answer(api_raising(Unauthorized("no key")), event_for("POST", "/v1/batch"))
    assert headers["www-authenticate"] == 'Basic realm="leadscore"'


def test_unavailable_is_a_503_with_retry_after_so_sdks_retry() -> None:
    status, headers, body = answer(
        api_raising(Unavailable("the queue refused 3 messages")), event_for("POST", "/v1/batch")
    )
    assert (status, body["code"], body["message"]) == (503, "unavailable", "the queue refused 3 messages")
    assert headers["retry-after"] == str(UNAVAILABLE_RETRY_AFTER_SECONDS)


def test_any_other_exception_is_a_500_with_the_request_id_and_no_detail(
    caplog: pytest.LogCaptureFixture,
) -> None:
    status, _, body = answer(api_raising(KeyError("internal secret detail")), event_for("POST", "/v1/batch"))
    assert status == 500
    assert body["code"] == "internal_error"
    assert body["request_id"] == REQUEST_ID
    assert "secret" not in json.dumps(body)
    assert "Traceback" not in json.dumps(body)
    # The detail and the stack trace go to the function's log, with the request id.
    (record,) = [record for record in caplog.records if record.levelname == "ERROR"]
    assert record.exc_info is not None
    assert isinstance(record.exc_info[1], KeyError)
    assert record.request_id == REQUEST_ID


def test_an_unknown_route_is_a_json_404_as_the_default_route_answers_it() -> None:
    api = api_raising(RuntimeError())
    status, _, body = answer(api, event_for("DELETE", "/v1/nowhere", route_key="$default"))
    assert (status, body) == (404, {"code": "not_found", "message": "no route for DELETE /v1/nowhere"})
    status, _, body = answer(api, event_for("GET", "/v1/batch", route_key="$default"))
    assert (status, body["code"]) == (404, "not_found")


def test_the_resolver_leaves_cors_to_api_gateway() -> None:
    api = build_api()

    @api.post("/v1/batch")
    def batch() -> dict[str, Any]:
        return {"success": True}

    event = event_for("POST", "/v1/batch")
    event["headers"]["origin"] = "https://www.example.com"
    response = api.resolve(event, LocalContext("collect", 128, 10))
    assert response["statusCode"] == 200
    assert not [name for name in response.get("headers") or {} if name.lower().startswith("access-control-")]
    preflight = event_for("OPTIONS", "/v1/batch", route_key="$default")
    preflight["headers"].update(origin="https://www.example.com", **{"access-control-request-method": "POST"})
    assert api.resolve(preflight, LocalContext("collect", 128, 10))["statusCode"] == 404


@pytest.mark.parametrize(
    ("status", "code"),
    [
        (400, "invalid_request"),
        (429, "throttled"),
        (500, "internal_error"),
        (405, "method_not_allowed"),
        (999, "error"),
    ],
)
def test_error_codes(status: int, code: str) -> None:
    assert error_code(status) == code


# Deploy settings


@pytest.mark.parametrize(
    ("value", "origins"),
    [
        (None, DEFAULT_ALLOWED_ORIGINS),
        ("", DEFAULT_ALLOWED_ORIGINS),
        (" , ", DEFAULT_ALLOWED_ORIGINS),
        ("*", ("*",)),
        ("https://www.example.com", ("https://www.example.com",)),
        (
            "https://www.example.com, http://localhost:8080,https://www.example.com",
            ("https://www.example.com", "http://localhost:8080"),
        ),
        (
            ["https://a.example.com", "https://b.example.com"],
            ("https://a.example.com", "https://b.example.com"),
        ),
    ],
)
def test_allowed_origins_are_a_comma_separated_list_defaulting_to_any(
    value: Any, origins: tuple[str, ...]
) -> None:
    assert parse_allowed_origins(value) == origins


@pytest.mark.parametrize(
    "value", ["www.example.com", "https://www.example.com/", "https://*.example.com", "ftp://example.com"]
)
def test_an_allowed_origin_must_be_star_or_scheme_and_host(value: str) -> None:
    with pytest.raises(ValueError, match="allowed origin"):
        parse_allowed_origins(value)


def test_throttling_settings_parse_with_the_deployed_defaults() -> None:
    assert Throttle.parse() == Throttle(THROTTLE_RATE_PER_SECOND, THROTTLE_BURST) == Throttle()
    assert (THROTTLE_RATE_PER_SECOND, THROTTLE_BURST) == (500, 1000)
    assert Throttle.parse("50", "100") == Throttle(50.0, 100)
    assert Throttle.parse(2.5, None) == Throttle(2.5, THROTTLE_BURST)
    for rate, burst in (("fast", None), ("0", None), ("-1", None), ("nan", None), (None, "1.5"), (None, "0")):
        with pytest.raises(ValueError, match="throttling"):
            Throttle.parse(rate, burst)
