"""A local HTTP API: requests on 127.0.0.1 become API Gateway HTTP API (payload 2.0) proxy events."""

from __future__ import annotations

import base64
import copy
import re
import threading
import uuid
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote, urlsplit

from leadscore.local.runtime import LocalFunction, sample_event
from leadscore.resources import ROUTES, Route

TEXT_TYPES = ("application/json", "text/", "application/x-www-form-urlencoded")


def _route_pattern(path: str) -> re.Pattern[str]:
    return re.compile("^" + re.sub(r"\\{(\w+)\\}", r"(?P<\1>[^/]+)", re.escape(path)) + "$")


_ROUTE_PATTERNS = [(route, _route_pattern(route.path)) for route in ROUTES]


def match_route(method: str, path: str) -> tuple[Route, dict[str, str]] | None:
    for route, pattern in _ROUTE_PATTERNS:
        found = pattern.match(path)
        if found and route.method == method:
            return route, {name: unquote(value) for name, value in found.groupdict().items()}
    return None


def proxy_event(
    *,
    route: Route,
    path_parameters: dict[str, str],
    raw_path: str,
    query: str,
    headers: dict[str, str],
    body: bytes,
    source_ip: str,
) -> dict[str, Any]:
    """The event API Gateway would send, built on the sample in events/."""
    event = copy.deepcopy(sample_event("apigw_http_batch.json"))
    now = datetime.now(UTC)
    content_type = headers.get("content-type", "")
    is_text = not headers.get("content-encoding") and (not body or content_type.startswith(TEXT_TYPES))
    route_key = f"{route.method} {route.path}"
    event.update(
        routeKey=route_key,
        rawPath=raw_path,
        rawQueryString=query,
        headers=headers,
        pathParameters=path_parameters,
        body=body.decode() if is_text else base64.b64encode(body).decode(),
        isBase64Encoded=not is_text,
    )
    if not path_parameters:
        event.pop("pathParameters")
    context = event["requestContext"]
    context.update(
        routeKey=route_key,
        requestId=str(uuid.uuid4()),
        time=now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
        timeEpoch=int(now.timestamp() * 1000),
        domainName="127.0.0.1",
    )
    context["http"].update(
        method=route.method, path=raw_path, sourceIp=source_ip, userAgent=headers.get("user-agent", "")
    )
    return event


class LocalGateway:
    """Serves ROUTES on 127.0.0.1, each request invoking its function's real handler."""

    def __init__(self, functions: dict[str, LocalFunction], port: int, host: str = "127.0.0.1") -> None:
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                gateway.handle(self)

            def do_POST(self) -> None:
                gateway.handle(self)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._functions = functions
        self._server = ThreadingHTTPServer((host, port), Handler)
        self._server.daemon_threads = True
        self.url = f"http://{host}:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, name="gateway", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def handle(self, request: BaseHTTPRequestHandler) -> None:
        url = urlsplit(request.path)
        length = int(request.headers.get("content-length") or 0)
        body = request.rfile.read(length) if length else b""
        matched = match_route(request.command, url.path)
        if matched is None:
            self._respond(request, 404, {"content-type": "application/json"}, b'{"message":"Not Found"}')
            return
        route, parameters = matched
        headers = {name.lower(): value for name, value in request.headers.items()}
        event = proxy_event(
            route=route,
            path_parameters=parameters,
            raw_path=url.path,
            query=url.query,
            headers=headers,
            body=body,
            source_ip=request.client_address[0],
        )
        response = self._functions[route.function].invoke(event)
        payload = response.get("body") or ""
        data = base64.b64decode(payload) if response.get("isBase64Encoded") else payload.encode()
        self._respond(request, int(response["statusCode"]), response.get("headers") or {}, data)

    @staticmethod
    def _respond(request: BaseHTTPRequestHandler, status: int, headers: dict[str, str], data: bytes) -> None:
        request.send_response(status)
        for name, value in headers.items():
            if name.lower() != "content-length":
                request.send_header(name, value)
        request.send_header("Content-Length", str(len(data)))
        request.end_headers()
        request.wfile.write(data)
