"""A local HTTP API: requests on 127.0.0.1 become API Gateway HTTP API (payload 2.0) proxy events, and the
front door answers as the deployed one does:

- routes from ``resources.ROUTES``; anything else goes to the ``$default`` route's function
  (``DEFAULT_ROUTE_FUNCTION``), whose resolver answers a JSON 404;
- CORS as API Gateway's CORS configuration does: it answers preflights itself (204, with the allowed
  methods, headers and max age from ``resources`` for an allowed origin; no CORS header for another) and
  puts ``Access-Control-Allow-Origin`` (and ``Vary: Origin`` unless it is ``*``) on every answer to an
  allowed origin, dropping whatever CORS headers a function sends;
- bodies over ``MAX_REQUEST_BYTES`` (10 MB, as HTTP APIs) refused with 413 before they are read; chunked
  bodies read (and capped) like any other;
- a text body that is not valid UTF-8 passed base64-encoded, as API Gateway does with bytes it cannot pass
  as text;
- a token bucket per route with the deployed rate and burst, answering 429 with ``Retry-After``;
- every error, its own included, JSON with ``code`` and ``message``: an unknown route without a
  ``$default`` function, a function that raises (500 ``internal_error``), malformed HTTP (400).

Deploy settings, as the CDK context values: the allowed origins come from the ``allowed_origins`` parameter,
else ``LEADSCORE_ALLOWED_ORIGINS`` (comma-separated, like ``allowedOrigins``), else ``*``; throttling from
``throttle``, else ``LEADSCORE_THROTTLE_RATE`` / ``LEADSCORE_THROTTLE_BURST``, else the deployed defaults.
"""

from __future__ import annotations

import base64
import copy
import json
import logging
import math
import os
import re
import socket
import sys
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol
from urllib.parse import parse_qsl, unquote, urlsplit

from leadscore.api import (
    DEFAULT_ROUTE_FUNCTION,
    DEFAULT_ROUTE_KEY,
    MAX_REQUEST_BYTES,
    Throttle,
    error_body,
    error_code,
    parse_allowed_origins,
)
from leadscore.resources import CORS_ALLOW_HEADERS, CORS_ALLOW_METHODS, CORS_MAX_AGE_SECONDS, ROUTES, Route
from leadscore_local.runtime import sample_event

logger = logging.getLogger(__name__)

ENV_ALLOWED_ORIGINS = "LEADSCORE_ALLOWED_ORIGINS"
ENV_THROTTLE_RATE = "LEADSCORE_THROTTLE_RATE"
ENV_THROTTLE_BURST = "LEADSCORE_THROTTLE_BURST"

TEXT_TYPES = ("application/json", "text/", "application/x-www-form-urlencoded")
# socketserver's default listen backlog is 5: a burst of clients connecting at once overflows it.
LISTEN_BACKLOG = 128
# A keep-alive connection idle this long is closed (a thread serves each connection).
IDLE_TIMEOUT_SECONDS = 60.0
# After an answer that ends the connection before the body was read, how long the rest is read and dropped.
LINGER_SECONDS = 10.0
# How often the server loop checks whether it was asked to stop.
SHUTDOWN_POLL_SECONDS = 0.05
MAX_LINE_BYTES = 65536
MAX_TRAILER_LINES = 100
_HEX = re.compile(rb"[0-9A-Fa-f]+")
# Headers the gateway sets on an answer itself, whatever a function says.
_HOP_BY_HOP = {"content-length", "connection", "keep-alive", "transfer-encoding"}


class Invokable(Protocol):
    """What the gateway needs of a function: ``LocalFunction`` or a test's fake."""

    def invoke(self, event: dict[str, Any]) -> Any: ...


@dataclass(frozen=True)
class Matched:
    route_key: str
    function: str
    path_parameters: dict[str, str]


def _route_pattern(path: str) -> re.Pattern[str]:
    return re.compile("^" + re.sub(r"\\{(\w+)\\}", r"(?P<\1>[^/]+)", re.escape(path)) + "$")


class RouteTable:
    """ROUTES by method and path; what none matches goes to the ``$default`` function, if there is one."""

    def __init__(self, routes: Sequence[Route], default_function: str | None) -> None:
        self._routes = [(route, _route_pattern(route.path)) for route in routes]
        self.default_function = default_function

    @property
    def functions(self) -> set[str]:
        named = {route.function for route, _ in self._routes}
        return named | {self.default_function} if self.default_function else named

    def match(self, method: str, path: str) -> Matched | None:
        for route, pattern in self._routes:
            found = pattern.match(path)
            if found and route.method == method:
                parameters = {name: unquote(value) for name, value in found.groupdict().items()}
                return Matched(f"{route.method} {route.path}", route.function, parameters)
        if self.default_function:
            return Matched(DEFAULT_ROUTE_KEY, self.default_function, {})
        return None


@dataclass(frozen=True)
class Cors:
    """API Gateway's CORS configuration: allowed origins, and the rest from ``resources``."""

    allowed_origins: tuple[str, ...]

    def allow_origin(self, origin: str | None) -> str | None:
        """The Access-Control-Allow-Origin to answer ``origin`` with; None when it is not allowed."""
        if not origin:
            return None
        if "*" in self.allowed_origins:
            return "*"
        return origin if origin in self.allowed_origins else None

    def headers(self, origin: str | None, *, preflight: bool) -> dict[str, str]:
        allowed = self.allow_origin(origin)
        if allowed is None:
            return {}
        headers = {"Access-Control-Allow-Origin": allowed}
        if allowed != "*":
            headers["Vary"] = "Origin"
        if preflight:
            headers["Access-Control-Allow-Methods"] = ",".join(CORS_ALLOW_METHODS)
            headers["Access-Control-Allow-Headers"] = ",".join(CORS_ALLOW_HEADERS)
            headers["Access-Control-Max-Age"] = str(CORS_MAX_AGE_SECONDS)
        return headers


class TokenBucket:
    """``rate`` tokens a second up to ``burst``; a request takes one."""

    def __init__(self, throttle: Throttle, clock: Callable[[], float]) -> None:
        self._rate = throttle.rate_per_second
        self._burst = float(throttle.burst)
        self._clock = clock
        self._tokens = self._burst
        self._last = clock()
        self._lock = threading.Lock()

    def take(self) -> float:
        """0 when a token was taken; else how many seconds until one will be there."""
        with self._lock:
            now = self._clock()
            self._tokens = min(self._burst, self._tokens + max(0.0, now - self._last) * self._rate)
            self._last = now
            if self._tokens >= 1:
                self._tokens -= 1
                return 0.0
            return (1 - self._tokens) / self._rate


class Throttler:
    """One token bucket per route, as a stage's default route throttling applies to each route."""

    def __init__(self, throttle: Throttle, clock: Callable[[], float]) -> None:
        self.throttle = throttle
        self._clock = clock
        self._buckets: dict[str, TokenBucket] = {}
        self._lock = threading.Lock()

    def take(self, route_key: str) -> float:
        with self._lock:
            bucket = self._buckets.get(route_key)
            if bucket is None:
                bucket = self._buckets[route_key] = TokenBucket(self.throttle, self._clock)
        return bucket.take()


def proxy_event(
    *,
    route_key: str,
    method: str,
    path_parameters: dict[str, str],
    raw_path: str,
    query: str,
    headers: dict[str, str],
    body: bytes,
    source_ip: str,
    request_id: str,
) -> dict[str, Any]:
    """The event API Gateway would send, built on the sample in events/."""
    event = copy.deepcopy(sample_event("apigw_http_batch.json"))
    now = datetime.now(UTC)
    event.update(
        routeKey=route_key,
        rawPath=raw_path,
        rawQueryString=query,
        headers=headers,
        pathParameters=path_parameters,
        **_event_body(headers, body),
    )
    if not path_parameters:
        event.pop("pathParameters")
    parameters: dict[str, list[str]] = {}
    for name, value in parse_qsl(query, keep_blank_values=True):
        parameters.setdefault(name, []).append(value)
    if parameters:
        event["queryStringParameters"] = {name: ",".join(values) for name, values in parameters.items()}
    if headers.get("cookie"):
        event["cookies"] = [cookie.strip() for cookie in headers["cookie"].split(";") if cookie.strip()]
    context = event["requestContext"]
    context.update(
        routeKey=route_key,
        requestId=request_id,
        time=now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
        timeEpoch=int(now.timestamp() * 1000),
        domainName="127.0.0.1",
    )
    context["http"].update(
        method=method, path=raw_path, sourceIp=source_ip, userAgent=headers.get("user-agent", "")
    )
    return event


def _event_body(headers: Mapping[str, str], body: bytes) -> dict[str, Any]:
    """Text as text; anything else, and text that is not valid UTF-8, base64-encoded (as API Gateway)."""
    content_type = headers.get("content-type", "").lower()
    if not headers.get("content-encoding") and (not body or content_type.startswith(TEXT_TYPES)):
        try:
            return {"body": body.decode("utf-8"), "isBase64Encoded": False}
        except UnicodeDecodeError:
            pass
    return {"body": base64.b64encode(body).decode(), "isBase64Encoded": True}


class _Refusal(Exception):
    """The gateway answers this error itself; ``close``: the rest of the request is not read."""

    def __init__(self, status: HTTPStatus, message: str, *, close: bool = True) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.close = close


class _Disconnected(Exception):
    """The client went away before its request was complete."""


class InvalidResponse(Exception):
    """A function answered something API Gateway could not turn into an HTTP response."""


def http_response(response: Any) -> tuple[int, list[tuple[str, str]], bytes]:
    """Status, headers and body from a function's answer, read as API Gateway reads payload 2.0's: a dict
    with ``statusCode``, or any other JSON value, which is a 200 answering that JSON."""
    if not isinstance(response, dict) or "statusCode" not in response:
        data = response.encode() if isinstance(response, str) else json.dumps(response).encode()
        return 200, [("Content-Type", "application/json")], data
    try:
        status = int(response["statusCode"])
        if not 100 <= status <= 599:
            raise ValueError(status)
        headers = [(str(name), str(value)) for name, value in (response.get("headers") or {}).items()]
        headers += [("Set-Cookie", str(cookie)) for cookie in response.get("cookies") or ()]
        body = response.get("body") or ""
        if not isinstance(body, str):
            body = json.dumps(body)
        data = base64.b64decode(body, validate=True) if response.get("isBase64Encoded") else body.encode()
    except (TypeError, ValueError, AttributeError) as error:
        raise InvalidResponse(f"the function's answer is not an HTTP response: {error}") from error
    return status, headers, data


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = LISTEN_BACKLOG

    def __init__(self, address: tuple[str, int], gateway: LocalGateway) -> None:
        self.gateway = gateway
        super().__init__(address, _Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        error = sys.exc_info()[1]
        if isinstance(error, ConnectionError | TimeoutError):
            return  # the client went away
        logger.exception("the local gateway failed on a connection from %s", client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = IDLE_TIMEOUT_SECONDS
    server: _Server

    def do_GET(self) -> None:
        self.server.gateway.handle(self)

    def do_POST(self) -> None:
        self.server.gateway.handle(self)

    def do_PUT(self) -> None:
        self.server.gateway.handle(self)

    def do_PATCH(self) -> None:
        self.server.gateway.handle(self)

    def do_DELETE(self) -> None:
        self.server.gateway.handle(self)

    def do_HEAD(self) -> None:
        self.server.gateway.handle(self)

    def do_OPTIONS(self) -> None:
        self.server.gateway.handle(self)

    def handle_expect_100(self) -> bool:
        return self.server.gateway.expect_100(self)

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        self.server.gateway.protocol_error(self, HTTPStatus(code), explain or message)

    def log_message(self, format: str, *args: Any) -> None:
        pass


class LocalGateway:
    """Serves ROUTES on 127.0.0.1, each request invoking its function's real handler."""

    def __init__(
        self,
        functions: Mapping[str, Invokable],
        port: int = 0,
        host: str = "127.0.0.1",
        *,
        allowed_origins: str | Sequence[str] | None = None,
        throttle: Throttle | None = None,
        routes: Sequence[Route] = ROUTES,
        default_function: str | None = DEFAULT_ROUTE_FUNCTION,
        max_body_bytes: int = MAX_REQUEST_BYTES,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._routes = RouteTable(routes, default_function)
        missing = self._routes.functions - set(functions)
        if missing:
            raise ValueError(f"no function for the routes of {sorted(missing)}")
        self._functions = functions
        if allowed_origins is None:
            allowed_origins = os.environ.get(ENV_ALLOWED_ORIGINS)
        self.cors = Cors(parse_allowed_origins(allowed_origins))
        if throttle is None:
            throttle = Throttle.parse(os.environ.get(ENV_THROTTLE_RATE), os.environ.get(ENV_THROTTLE_BURST))
        self.throttler = Throttler(throttle, clock)
        self.max_body_bytes = max_body_bytes
        self._server = _Server((host, port), self)
        self.url = f"http://{host}:{self._server.server_address[1]}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(SHUTDOWN_POLL_SECONDS,), name="gateway", daemon=True
        )

    @property
    def listen_backlog(self) -> int:
        return self._server.request_queue_size

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    # A request

    def handle(self, request: BaseHTTPRequestHandler) -> None:
        request_id = str(uuid.uuid4())
        if request.request_version == "HTTP/0.9":
            self.protocol_error(request, HTTPStatus.BAD_REQUEST, "HTTP/0.9 requests are not supported")
            return
        try:
            body = self._read_body(request)
        except _Refusal as refusal:
            self._refuse(request, refusal, request_id)
            return
        except (_Disconnected, OSError):
            request.close_connection = True
            return
        url = urlsplit(request.path)
        headers = self._event_headers(request, body)
        if (
            request.command == "OPTIONS"
            and "origin" in headers
            and "access-control-request-method" in headers
        ):
            self._respond(request, HTTPStatus.NO_CONTENT, [], b"", request_id=request_id, preflight=True)
            return
        matched = self._routes.match(request.command, url.path)
        if matched is None:
            message = f"no route for {request.command} {url.path}"
            self._error(request, HTTPStatus.NOT_FOUND, message, request_id=request_id)
            return
        wait = self.throttler.take(matched.route_key)
        if wait:
            retry_after = max(1, math.ceil(wait))
            throttle = self.throttler.throttle
            message = (
                f"too many requests: {throttle.rate_per_second:g} a second are allowed, in bursts of "
                f"{throttle.burst}; retry after {retry_after} s"
            )
            retry = [("Retry-After", str(retry_after))]
            self._error(request, HTTPStatus.TOO_MANY_REQUESTS, message, request_id=request_id, headers=retry)
            return
        event = proxy_event(
            route_key=matched.route_key,
            method=request.command,
            path_parameters=matched.path_parameters,
            raw_path=url.path,
            query=url.query,
            headers=headers,
            body=body,
            source_ip=request.client_address[0],
            request_id=request_id,
        )
        try:
            status, response_headers, data = http_response(self._functions[matched.function].invoke(event))
        except Exception:
            logger.exception(
                "%s failed on %s %s (request %s)", matched.function, request.command, url.path, request_id
            )
            message = "the function failed to answer; retry, and quote the request id if it persists"
            self._error(
                request,
                HTTPStatus.INTERNAL_SERVER_ERROR,
                message,
                request_id=request_id,
                body_request_id=True,
            )
            return
        self._respond(request, status, response_headers, data, request_id=request_id)

    def expect_100(self, request: BaseHTTPRequestHandler) -> bool:
        """``Expect: 100-continue``: refuse a body over the cap before the client sends it."""
        try:
            length = _declared_length(request)
            if length is not None and length > self.max_body_bytes:
                raise self._too_large()
        except _Refusal as refusal:
            self._refuse(request, refusal, str(uuid.uuid4()))
            return False
        return BaseHTTPRequestHandler.handle_expect_100(request)

    def protocol_error(
        self, request: BaseHTTPRequestHandler, status: HTTPStatus, message: str | None
    ) -> None:
        """Malformed HTTP (a bad request line, headers too long, an unknown method): JSON, then close."""
        if request.request_version in ("HTTP/0.9", ""):
            request.request_version = "HTTP/1.0"  # so that the status line and headers are written
        request.close_connection = True
        self._error(request, status, message or status.phrase, request_id=str(uuid.uuid4()), cors=False)
        _close_gracefully(request)

    # The body

    def _read_body(self, request: BaseHTTPRequestHandler) -> bytes:
        transfer_encoding = request.headers.get("transfer-encoding")
        if transfer_encoding is not None:
            codings = [coding.strip().lower() for coding in transfer_encoding.split(",") if coding.strip()]
            if not codings or codings[-1] != "chunked":
                raise _Refusal(HTTPStatus.BAD_REQUEST, "Transfer-Encoding must end with chunked")
            if codings != ["chunked"]:
                message = f"unsupported Transfer-Encoding {transfer_encoding!r}"
                raise _Refusal(HTTPStatus.NOT_IMPLEMENTED, message)
            if "content-length" in request.headers:
                request.close_connection = True  # RFC 9112: both given, the connection ends after the answer
            return self._read_chunked(request)
        length = _declared_length(request)
        if length is None:
            return b""
        if length > self.max_body_bytes:
            raise self._too_large()
        body = request.rfile.read(length)
        if len(body) < length:
            raise _Disconnected
        return body

    def _too_large(self) -> _Refusal:
        limit = self.max_body_bytes
        size = f"{limit // (1024 * 1024)} MB" if limit % (1024 * 1024) == 0 else f"{limit} bytes"
        return _Refusal(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, f"the request body is larger than {size}")

    def _read_chunked(self, request: BaseHTTPRequestHandler) -> bytes:
        rfile = request.rfile
        parts: list[bytes] = []
        total = 0
        while True:
            size_field = _read_line(rfile).split(b";", 1)[0].strip()
            if not _HEX.fullmatch(size_field):
                raise _Refusal(HTTPStatus.BAD_REQUEST, "malformed chunked body: bad chunk size")
            size = int(size_field, 16)
            if size == 0:
                break
            total += size
            if total > self.max_body_bytes:
                raise self._too_large()
            chunk = rfile.read(size)
            if len(chunk) < size:
                raise _Disconnected
            parts.append(chunk)
            if _read_line(rfile).strip():
                raise _Refusal(HTTPStatus.BAD_REQUEST, "malformed chunked body: a chunk overruns its size")
        for _ in range(MAX_TRAILER_LINES):
            if not _read_line(rfile).strip():
                return b"".join(parts)
        raise _Refusal(HTTPStatus.BAD_REQUEST, "malformed chunked body: too many trailer fields")

    # Answers

    def _event_headers(self, request: BaseHTTPRequestHandler, body: bytes) -> dict[str, str]:
        """Header names in lower case, repeated ones joined with commas (payload 2.0), plus the
        X-Forwarded-* API Gateway adds."""
        headers: dict[str, str] = {}
        for name, value in request.headers.items():
            key = name.lower()
            headers[key] = f"{headers[key]},{value}" if key in headers else value
        if headers.pop("transfer-encoding", None) is not None:
            headers["content-length"] = str(len(body))
        client_ip = request.client_address[0]
        forwarded = headers.get("x-forwarded-for")
        headers["x-forwarded-for"] = f"{forwarded}, {client_ip}" if forwarded else client_ip
        headers["x-forwarded-proto"] = "http"
        headers["x-forwarded-port"] = self.url.rsplit(":", 1)[1]
        return headers

    def _refuse(self, request: BaseHTTPRequestHandler, refusal: _Refusal, request_id: str) -> None:
        if refusal.close:
            request.close_connection = True
        self._error(request, refusal.status, refusal.message, request_id=request_id)
        if refusal.close:
            _close_gracefully(request)

    def _error(
        self,
        request: BaseHTTPRequestHandler,
        status: HTTPStatus,
        message: str,
        *,
        request_id: str,
        headers: Sequence[tuple[str, str]] = (),
        body_request_id: bool = False,
        cors: bool = True,
    ) -> None:
        extra = {"request_id": request_id} if body_request_id else {}
        data = error_body(error_code(status), message, **extra)
        all_headers = [("Content-Type", "application/json"), *headers]
        self._respond(request, status, all_headers, data, request_id=request_id, cors=cors)

    def _respond(
        self,
        request: BaseHTTPRequestHandler,
        status: int,
        headers: Sequence[tuple[str, str]],
        data: bytes,
        *,
        request_id: str,
        preflight: bool = False,
        cors: bool = True,
    ) -> None:
        origin = request.headers.get("origin") if cors and request.headers is not None else None
        cors_headers = self.cors.headers(origin, preflight=preflight)
        # With CORS configured, API Gateway ignores the CORS headers a function sends.
        kept = [
            (name, value)
            for name, value in headers
            if name.lower() not in _HOP_BY_HOP and not name.lower().startswith("access-control-")
        ]
        vary = cors_headers.pop("Vary", None)
        if vary:
            varies = [value for name, value in kept if name.lower() == "vary"]
            kept = [(name, value) for name, value in kept if name.lower() != "vary"]
            listed = {item.strip().lower() for value in varies for item in value.split(",")}
            kept.append(("Vary", ", ".join([*varies, vary]) if "origin" not in listed else ", ".join(varies)))
        no_body = request.command == "HEAD" or status in (204, 304) or status < 200
        request.send_response(status)
        for name, value in [*kept, *cors_headers.items(), ("Apigw-Requestid", request_id)]:
            request.send_header(name, value)
        if status != HTTPStatus.NO_CONTENT and status >= 200:
            request.send_header("Content-Length", str(len(data)))
        if request.close_connection:
            request.send_header("Connection", "close")
        request.end_headers()
        if not no_body and data:
            request.wfile.write(data)


def _declared_length(request: BaseHTTPRequestHandler) -> int | None:
    """The Content-Length the client declared (None without one); a malformed one is refused."""
    values = request.headers.get_all("content-length") or []
    if not values:
        return None
    declared = {item.strip() for value in values for item in value.split(",")}
    if len(declared) != 1 or not next(iter(declared)).isdigit():
        raise _Refusal(HTTPStatus.BAD_REQUEST, f"invalid Content-Length {', '.join(values)!r}")
    return int(declared.pop())


def _read_line(rfile: Any) -> bytes:
    line: bytes = rfile.readline(MAX_LINE_BYTES + 1)
    if not line:
        raise _Disconnected
    if len(line) > MAX_LINE_BYTES:
        raise _Refusal(HTTPStatus.BAD_REQUEST, "malformed chunked body: a line is too long")
    return line


def _close_gracefully(request: BaseHTTPRequestHandler) -> None:
    """After an answer that ends the connection before the request was read: stop writing, then read and
    drop what the client still sends (up to LINGER_SECONDS), so that closing does not reset the connection
    under a client that is still sending and has not read the answer yet."""
    request.close_connection = True
    connection: socket.socket = request.connection
    try:
        request.wfile.flush()
        connection.shutdown(socket.SHUT_WR)
    except OSError:
        return
    deadline = time.monotonic() + LINGER_SECONDS
    try:
        while (left := deadline - time.monotonic()) > 0:
            connection.settimeout(min(left, 1.0))
            try:
                if not connection.recv(65536):
                    return
            except TimeoutError:
                continue
    except OSError:
        return
