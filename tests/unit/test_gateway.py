"""The local gateway answers as API Gateway does: CORS, the body cap, bodies it cannot pass as text, many
clients at once, throttling, and JSON errors with ``code`` and ``message`` for everything that goes wrong.
Functions here are fakes serving trivial handlers; no moto."""

from __future__ import annotations

import base64
import http.client
import json
import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from leadscore.api import (
    MAX_REQUEST_BYTES,
    THROTTLE_BURST,
    THROTTLE_RATE_PER_SECOND,
    Throttle,
    build_api,
    raw_body,
)
from leadscore.resources import CORS_ALLOW_HEADERS, CORS_ALLOW_METHODS, CORS_MAX_AGE_SECONDS, Route
from leadscore.segment import InvalidMessage
from leadscore_local.gateway import (
    ENV_ALLOWED_ORIGINS,
    ENV_THROTTLE_BURST,
    ENV_THROTTLE_RATE,
    LISTEN_BACKLOG,
    LocalGateway,
)
from leadscore_local.runtime import LocalContext

ROUTES = (
    Route("POST", "/v1/track", "collect"),
    Route("POST", "/v1/batch", "collect"),
    Route("GET", "/v1/leads/{lead_id}", "leads"),
)
SITE = "https://www.example.com"


class Fake:
    """A function: records each event and answers with ``answer(event)`` (by default, what it was sent)."""

    def __init__(self, answer: Callable[[dict[str, Any]], Any] | None = None) -> None:
        self.events: list[dict[str, Any]] = []
        self._answer = answer or self.echo
        self._lock = threading.Lock()

    @staticmethod
    def echo(event: dict[str, Any]) -> dict[str, Any]:
        seen = {"routeKey": event["routeKey"], "method": event["requestContext"]["http"]["method"]}
        return {"statusCode": 200, "headers": {"content-type": "application/json"}, "body": json.dumps(seen)}

    def invoke(self, event: dict[str, Any]) -> Any:
        with self._lock:
            self.events.append(event)
        return self._answer(event)


@contextmanager
def serving(
    collect: Fake | None = None, leads: Fake | None = None, **options: Any
) -> Iterator[tuple[LocalGateway, str]]:
    options.setdefault("routes", ROUTES)
    functions = {"collect": collect or Fake(), "leads": leads or Fake()}
    gateway = LocalGateway(functions, 0, **options)
    gateway.start()
    try:
        yield gateway, gateway.url.removeprefix("http://")
    finally:
        gateway.stop()


def request(
    address: str, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], bytes]:
    connection = http.client.HTTPConnection(address, timeout=10)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        connection.close()


def raw(address: str, data: bytes, *, timeout: float = 10) -> bytes:
    """Send bytes as they are and read everything the gateway answers until it closes."""
    host, port = address.split(":")
    with socket.create_connection((host, int(port)), timeout=timeout) as connection:
        connection.sendall(data)
        received = b""
        while chunk := connection.recv(65536):
            received += chunk
    return received


def split_answer(answer: bytes) -> tuple[int, dict[str, str], bytes]:
    head, _, body = answer.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {name.lower(): value.strip() for name, value in (line.split(":", 1) for line in lines)}
    return int(status_line.split()[1]), headers, body


def assert_error(
    status: int, headers: dict[str, str], body: bytes, expected: int, code: str
) -> dict[str, Any]:
    assert status == expected
    assert headers["content-type"] == "application/json"
    error: dict[str, Any] = json.loads(body)
    assert error["code"] == code
    assert isinstance(error["message"], str)
    assert error["message"]
    return error


# CORS


def test_a_preflight_is_answered_by_the_gateway_with_the_configured_cors() -> None:
    collect = Fake()
    with serving(collect) as (_, address):
        status, headers, body = request(
            address,
            "OPTIONS",
            "/v1/track",
            headers={"Origin": SITE, "Access-Control-Request-Method": "POST"},
        )
    assert (status, body) == (204, b"")
    assert headers["access-control-allow-origin"] == "*"
    assert headers["access-control-allow-methods"] == ",".join(CORS_ALLOW_METHODS)
    assert headers["access-control-allow-headers"] == ",".join(CORS_ALLOW_HEADERS)
    assert headers["access-control-max-age"] == str(CORS_MAX_AGE_SECONDS)
    assert "vary" not in headers
    assert collect.events == []


def test_with_listed_origins_a_preflight_names_the_origin_and_another_origin_gets_no_cors() -> None:
    with serving(allowed_origins=f"{SITE}, https://app.example.com") as (_, address):
        preflight = {
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type",
        }
        status, allowed, _ = request(address, "OPTIONS", "/v1/batch", headers={"Origin": SITE, **preflight})
        assert status == 204
        assert allowed["access-control-allow-origin"] == SITE
        assert allowed["vary"] == "Origin"
        assert allowed["access-control-max-age"] == str(CORS_MAX_AGE_SECONDS)
        status, refused, body = request(
            address, "OPTIONS", "/v1/batch", headers={"Origin": "https://evil.example", **preflight}
        )
        assert (status, body) == (204, b"")
        assert not [name for name in refused if name.startswith("access-control-")]


def test_an_options_request_that_is_not_a_preflight_is_routed_like_any_other() -> None:
    collect = Fake()
    with serving(collect) as (_, address):
        status, _, body = request(address, "OPTIONS", "/v1/track", headers={"Origin": SITE})
    assert status == 200
    assert json.loads(body) == {"routeKey": "$default", "method": "OPTIONS"}


def test_answers_to_an_allowed_origin_carry_the_gateways_cors_headers_not_the_functions() -> None:
    def with_own_cors(event: dict[str, Any]) -> dict[str, Any]:
        headers = {"Access-Control-Allow-Origin": "https://other.example", "Vary": "Accept-Encoding"}
        return {"statusCode": 200, "headers": headers, "body": "{}"}

    with serving(Fake(with_own_cors), allowed_origins=[SITE]) as (_, address):
        _, allowed, _ = request(address, "POST", "/v1/track", b"{}", {"Origin": SITE})
        _, other, _ = request(address, "POST", "/v1/track", b"{}", {"Origin": "https://evil.example"})
        _, without, _ = request(address, "POST", "/v1/track", b"{}")
    assert allowed["access-control-allow-origin"] == SITE
    assert allowed["vary"] == "Accept-Encoding, Origin"
    assert not [name for name in other if name.startswith("access-control-")]
    assert not [name for name in without if name.startswith("access-control-")]


def test_any_origin_is_answered_with_a_star_and_no_vary() -> None:
    with serving() as (_, address):
        _, headers, _ = request(address, "POST", "/v1/track", b"{}", {"Origin": SITE})
    assert headers["access-control-allow-origin"] == "*"
    assert "vary" not in headers


def test_origins_come_from_the_parameter_else_the_environment_else_any(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(ENV_ALLOWED_ORIGINS, raising=False)
    with serving() as (gateway, _):
        assert gateway.cors.allowed_origins == ("*",)
    monkeypatch.setenv(ENV_ALLOWED_ORIGINS, f"{SITE},http://localhost:8080")
    with serving() as (gateway, _):
        assert gateway.cors.allowed_origins == (SITE, "http://localhost:8080")
    with serving(allowed_origins="https://app.example.com") as (gateway, _):
        assert gateway.cors.allowed_origins == ("https://app.example.com",)
    monkeypatch.setenv(ENV_ALLOWED_ORIGINS, "www.example.com/")
    with pytest.raises(ValueError, match=r"www\.example\.com/"):
        LocalGateway({"collect": Fake(), "leads": Fake()}, 0, routes=ROUTES)


# The body


def test_a_body_over_10_mb_is_refused_before_it_is_read() -> None:
    collect = Fake()
    with serving(collect) as (_, address):
        # Only the headers are sent: the answer comes without the gateway waiting for the body.
        answer = raw(
            address,
            f"POST /v1/batch HTTP/1.1\r\nHost: x\r\nContent-Length: {MAX_REQUEST_BYTES + 1}\r\n\r\n".encode(),
        )
    status, headers, body = split_answer(answer)
    error = assert_error(status, headers, body, 413, "payload_too_large")
    assert "10 MB" in error["message"]
    assert headers["connection"] == "close"
    assert collect.events == []


def test_a_refused_body_still_being_sent_does_not_reset_the_connection() -> None:
    collect = Fake()
    with serving(collect, max_body_bytes=1024) as (_, address):
        # 4 MB: far more than the sockets buffer, so the client is still sending when the answer is sent.
        status, headers, body = request(address, "POST", "/v1/batch", b"x" * (4 * 1024 * 1024))
    assert_error(status, headers, body, 413, "payload_too_large")
    assert collect.events == []


def test_a_too_large_body_announced_with_expect_100_continue_is_refused_without_a_100() -> None:
    with serving(max_body_bytes=1024) as (_, address):
        answer = raw(
            address,
            b"POST /v1/batch HTTP/1.1\r\nHost: x\r\nContent-Length: 2048\r\nExpect: 100-continue\r\n\r\n",
        )
    assert answer.startswith(b"HTTP/1.1 413 ")
    assert b"100 Continue" not in answer
    assert json.loads(split_answer(answer)[2])["code"] == "payload_too_large"


def test_a_body_within_the_cap_announced_with_expect_100_continue_is_read() -> None:
    collect = Fake()
    with serving(collect) as (_, address):
        answer = raw(
            address,
            b"POST /v1/track HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nExpect: 100-continue\r\n"
            b"Content-Type: application/json\r\nConnection: close\r\n\r\n{}",
        )
    assert answer.startswith(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 ")
    assert collect.events[0]["body"] == "{}"


def test_a_chunked_body_is_read_whole() -> None:
    collect = Fake()
    chunks = [b'{"batch": [', b'{"type": "track"}', b"]}"]
    with serving(collect) as (_, address):
        connection = http.client.HTTPConnection(address, timeout=10)
        connection.request(
            "POST",
            "/v1/batch",
            body=iter(chunks),
            headers={"Content-Type": "application/json"},
            encode_chunked=True,
        )
        assert connection.getresponse().status == 200
        connection.close()
    event = collect.events[0]
    assert event["body"] == b"".join(chunks).decode()
    assert "transfer-encoding" not in event["headers"]
    assert event["headers"]["content-length"] == str(len(b"".join(chunks)))


def test_a_chunked_body_over_the_cap_is_refused() -> None:
    collect = Fake()
    with serving(collect, max_body_bytes=1000) as (_, address):
        connection = http.client.HTTPConnection(address, timeout=10)
        connection.request("POST", "/v1/batch", body=iter([b"x" * 600, b"y" * 600]), encode_chunked=True)
        response = connection.getresponse()
        status, headers, body = (
            response.status,
            {k.lower(): v for k, v in response.getheaders()},
            response.read(),
        )
        connection.close()
    assert_error(status, headers, body, 413, "payload_too_large")
    assert collect.events == []


@pytest.mark.parametrize(
    "head",
    [
        b"Transfer-Encoding: chunked\r\n\r\nzz\r\n",  # not a chunk size
        b"Content-Length: ten\r\n\r\n",
        b"Content-Length: 1, 2\r\n\r\nab",
        b"Transfer-Encoding: chunked, gzip\r\n\r\n",
    ],
)
def test_a_malformed_body_framing_is_a_json_400(head: bytes) -> None:
    with serving() as (_, address):
        answer = raw(address, b"POST /v1/track HTTP/1.1\r\nHost: x\r\n" + head)
    assert_error(*split_answer(answer), 400, "invalid_request")


def test_a_text_body_that_is_not_utf8_goes_base64_encoded_and_the_function_answers_400() -> None:
    """What API Gateway does with bytes it cannot pass as text; collect's decoding answers 400."""
    api = build_api()

    @api.post("/v1/track")
    def track() -> dict[str, Any]:
        try:
            json.loads(raw_body(api.current_event))
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            raise InvalidMessage("body", f"is not valid JSON ({error})") from None
        return {"success": True}

    collect = Fake(lambda event: api.resolve(event, LocalContext("collect", 128, 10)))
    latin1 = '{"userId": "zoë"}'.encode("latin-1")
    with serving(collect) as (_, address):
        status, headers, body = request(
            address, "POST", "/v1/track", latin1, {"Content-Type": "application/json"}
        )
        ok, _, _ = request(
            address,
            "POST",
            "/v1/track",
            latin1.decode("latin-1").encode(),
            {"Content-Type": "application/json"},
        )
    error = assert_error(status, headers, body, 400, "invalid_request")
    assert error["field"] == "body"
    assert "not valid JSON" in error["message"]
    refused, accepted = collect.events
    assert refused["isBase64Encoded"] is True
    assert base64.b64decode(refused["body"]) == latin1
    assert (accepted["isBase64Encoded"], accepted["body"], ok) == (False, '{"userId": "zoë"}', 200)


def test_binary_and_encoded_bodies_go_base64_encoded() -> None:
    collect = Fake()
    with serving(collect) as (_, address):
        request(
            address,
            "POST",
            "/v1/batch",
            b"\x1f\x8b\x08",
            {"Content-Encoding": "gzip", "Content-Type": "application/json"},
        )
        request(address, "POST", "/v1/batch", b"\x00\x01", {"Content-Type": "application/octet-stream"})
    assert [(e["isBase64Encoded"], base64.b64decode(e["body"])) for e in collect.events] == [
        (True, b"\x1f\x8b\x08"),
        (True, b"\x00\x01"),
    ]


# Many clients


def test_twenty_four_clients_at_once_are_all_answered() -> None:
    def slow_echo(event: dict[str, Any]) -> dict[str, Any]:
        time.sleep(0.002)
        return Fake.echo(event)

    clients, per_client = 24, 5
    start = threading.Barrier(clients)
    answered: list[int] = []
    failures: list[BaseException] = []
    lock = threading.Lock()

    def keep_alive(address: str) -> None:
        connection = http.client.HTTPConnection(address, timeout=30)
        start.wait()
        for _ in range(per_client):
            connection.request("POST", "/v1/track", body=b"{}", headers={"Content-Type": "application/json"})
            response = connection.getresponse()
            response.read()
            with lock:
                answered.append(response.status)
        connection.close()

    def one_connection_each(address: str) -> None:
        start.wait()
        for _ in range(per_client):
            post = urllib.request.Request(f"http://{address}/v1/track", data=b"{}", method="POST")
            with urllib.request.urlopen(post, timeout=30) as response:
                response.read()
                with lock:
                    answered.append(response.status)

    def client(run: Callable[[str], None], address: str) -> None:
        try:
            run(address)
        except BaseException as error:
            with lock:
                failures.append(error)

    with serving(Fake(slow_echo)) as (gateway, address):
        assert gateway.listen_backlog >= LISTEN_BACKLOG >= 128
        threads = [
            threading.Thread(target=client, args=(keep_alive if n % 2 else one_connection_each, address))
            for n in range(clients)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
    assert failures == []
    assert answered == [200] * (clients * per_client)


# Throttling


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_past_the_burst_a_route_answers_429_with_retry_after_until_tokens_come_back() -> None:
    clock = Clock()
    with serving(throttle=Throttle(rate_per_second=0.5, burst=2), clock=clock) as (_, address):
        assert [request(address, "POST", "/v1/track", b"{}")[0] for _ in range(2)] == [200, 200]
        status, headers, body = request(address, "POST", "/v1/track", b"{}")
        error = assert_error(status, headers, body, 429, "throttled")
        assert headers["retry-after"] == "2"
        assert "retry after 2 s" in error["message"]
        # Buckets are per route, as a stage's default route throttling applies to each route.
        assert request(address, "POST", "/v1/batch", b"{}")[0] == 200
        clock.now += 2
        assert request(address, "POST", "/v1/track", b"{}")[0] == 200
        assert request(address, "POST", "/v1/track", b"{}")[0] == 429


def test_throttling_defaults_to_the_deployed_settings_or_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(ENV_THROTTLE_RATE, raising=False)
    monkeypatch.delenv(ENV_THROTTLE_BURST, raising=False)
    with serving() as (gateway, _):
        assert gateway.throttler.throttle == Throttle(THROTTLE_RATE_PER_SECOND, THROTTLE_BURST)
    monkeypatch.setenv(ENV_THROTTLE_RATE, "2.5")
    monkeypatch.setenv(ENV_THROTTLE_BURST, "7")
    with serving() as (gateway, _):
        assert gateway.throttler.throttle == Throttle(2.5, 7)
    monkeypatch.setenv(ENV_THROTTLE_BURST, "lots")
    with pytest.raises(ValueError, match="burst"):
        LocalGateway({"collect": Fake(), "leads": Fake()}, 0, routes=ROUTES)


# Routes and JSON errors


def test_what_no_route_matches_goes_to_the_default_route_function() -> None:
    collect, leads = Fake(), Fake()
    with serving(collect, leads) as (_, address):
        assert request(address, "DELETE", "/v1/nowhere?x=1")[0] == 200
        assert request(address, "POST", "/v1/leads/ann")[0] == 200  # a known path, another method
        assert request(address, "GET", "/v1/leads/ann%40initech.com")[0] == 200
    unknown, wrong_method = collect.events
    assert (unknown["routeKey"], unknown["requestContext"]["routeKey"]) == ("$default", "$default")
    assert unknown["requestContext"]["http"]["method"] == "DELETE"
    assert (unknown["rawPath"], unknown["rawQueryString"]) == ("/v1/nowhere", "x=1")
    assert "pathParameters" not in unknown
    assert (wrong_method["routeKey"], wrong_method["requestContext"]["http"]["method"]) == (
        "$default",
        "POST",
    )
    (lookup,) = leads.events
    assert lookup["routeKey"] == "GET /v1/leads/{lead_id}"
    assert lookup["pathParameters"] == {"lead_id": "ann@initech.com"}


def test_without_a_default_route_an_unknown_route_is_a_json_404() -> None:
    with serving(default_function=None) as (_, address):
        error = assert_error(*request(address, "GET", "/v1/nowhere"), 404, "not_found")
        assert error["message"] == "no route for GET /v1/nowhere"
        assert_error(*request(address, "GET", "/v1/track"), 404, "not_found")


def test_a_function_that_raises_answers_a_json_500_and_the_connection_lives_on() -> None:
    def broken(event: dict[str, Any]) -> Any:
        if event["rawPath"] == "/v1/track":
            raise RuntimeError("secret detail")
        return Fake.echo(event)

    with serving(Fake(broken)) as (_, address):
        connection = http.client.HTTPConnection(address, timeout=10)
        connection.request("POST", "/v1/track", body=b"{}")
        response = connection.getresponse()
        headers = {k.lower(): v for k, v in response.getheaders()}
        body = response.read()
        connection.request("POST", "/v1/batch", body=b"{}")
        after = connection.getresponse()
        after.read()
        connection.close()
    error = assert_error(response.status, headers, body, 500, "internal_error")
    assert error["request_id"] == headers["apigw-requestid"]
    assert "secret" not in body.decode()
    assert "Traceback" not in body.decode()
    assert after.status == 200


@pytest.mark.parametrize(
    "answer", [{"statusCode": "teapot"}, {"statusCode": 200, "isBase64Encoded": True, "body": "%%"}]
)
def test_an_answer_that_is_not_an_http_response_is_a_json_500(answer: dict[str, Any]) -> None:
    with serving(Fake(lambda _: answer)) as (_, address):
        assert_error(*request(address, "POST", "/v1/track", b"{}"), 500, "internal_error")


def test_an_answer_without_a_status_code_is_a_200_with_that_json() -> None:
    with serving(Fake(lambda _: {"success": True})) as (_, address):
        status, headers, body = request(address, "POST", "/v1/track", b"{}")
    assert (status, headers["content-type"], json.loads(body)) == (200, "application/json", {"success": True})


@pytest.mark.parametrize(
    ("line", "status", "code"),
    [
        (b"GARBAGE\r\n\r\n", 400, "invalid_request"),
        (b"GET /v1/track HTTP/x.y\r\n\r\n", 400, "invalid_request"),
        (b"GET /v1/track\r\n\r\n", 400, "invalid_request"),  # HTTP/0.9
        (b"GET /v1/track HTTP/2.0\r\n\r\n", 505, "http_version_not_supported"),
        (b"BREW /v1/track HTTP/1.1\r\nHost: x\r\n\r\n", 501, "not_implemented"),
    ],
)
def test_malformed_http_is_answered_with_json(line: bytes, status: int, code: str) -> None:
    with serving() as (_, address):
        answer = raw(address, line)
    assert_error(*split_answer(answer), status, code)


def test_a_head_request_gets_headers_and_no_body() -> None:
    with serving() as (_, address):
        answer = raw(address, b"HEAD /v1/leads/ann HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    status, headers, body = split_answer(answer)
    assert (status, body) == (200, b"")
    assert int(headers["content-length"]) > 0


def test_the_event_is_api_gateways_payload_2() -> None:
    collect = Fake()
    with serving(collect) as (_, address):
        connection = http.client.HTTPConnection(address, timeout=10)
        connection.putrequest("POST", "/v1/track?a=1&a=2&b=")
        for name, value in [
            ("X-Thing", "one"),
            ("X-Thing", "two"),
            ("Content-Length", "2"),
            ("Content-Type", "application/json"),
            ("Cookie", "a=1; b=2"),
        ]:
            connection.putheader(name, value)
        connection.endheaders(b"{}")
        connection.getresponse().read()
        connection.close()
    (event,) = collect.events
    assert event["version"] == "2.0"
    assert event["queryStringParameters"] == {"a": "1,2", "b": ""}
    assert event["headers"]["x-thing"] == "one,two"
    assert event["headers"]["x-forwarded-for"] == "127.0.0.1"
    assert event["headers"]["x-forwarded-proto"] == "http"
    assert event["headers"]["x-forwarded-port"] == address.split(":")[1]
    assert event["cookies"] == ["a=1", "b=2"]
    assert event["requestContext"]["http"]["sourceIp"] == "127.0.0.1"
    assert (event["body"], event["isBase64Encoded"]) == ("{}", False)


def test_every_route_needs_a_function() -> None:
    with pytest.raises(ValueError, match="leads"):
        LocalGateway({"collect": Fake()}, 0, routes=ROUTES)


def test_a_client_sees_a_failing_function_as_a_json_http_error() -> None:
    """An HTTP answer with a JSON body, never a dropped connection."""
    with serving(Fake(lambda _: 1 / 0)) as (_, address), pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(urllib.request.Request(f"http://{address}/v1/track", data=b"{}"), timeout=10)
    assert refused.value.code == 500
    assert json.loads(refused.value.read())["code"] == "internal_error"
