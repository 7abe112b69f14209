"""The HTTP front door's shared parts: the error mapping every HTTP function's resolver uses, the raw body,
and the API-wide deploy settings (allowed origins, throttling) that the CDK app and the local gateway both
read, so the two answer alike.

Every error is JSON with ``code`` and ``message``, the shape Segment's and RudderStack's SDKs read. CORS is
not the functions' business: API Gateway answers preflights and adds the CORS headers (ignoring any a
function sends), and the local gateway does the same.
"""

from __future__ import annotations

import base64
import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from http import HTTPStatus

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.event_handler.exceptions import NotFoundError, ServiceError
from aws_lambda_powertools.event_handler.openapi.exceptions import (
    RequestUnsupportedContentType,
    RequestValidationError,
)
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEventV2

from leadscore.errors import NotFound, PayloadTooLarge, Unauthorized, Unavailable
from leadscore.resources import DEFAULT_ALLOWED_ORIGINS
from leadscore.segment import InvalidMessage

logger = Logger(child=True)

# The function behind API Gateway's `$default` route: every request no route of ROUTES matches goes to it,
# and its resolver answers the JSON 404 (API Gateway's own would be a bare {"message":"Not Found"}).
DEFAULT_ROUTE_FUNCTION = "collect"
DEFAULT_ROUTE_KEY = "$default"
# API Gateway's stage throttling (a token bucket per route): steady requests per second, and burst.
THROTTLE_RATE_PER_SECOND = 500.0
THROTTLE_BURST = 1000
# HTTP APIs refuse a request body over 10 MB before any function sees it.
MAX_REQUEST_BYTES = 10 * 1024 * 1024
# How long a client should wait before retrying when a service behind the API (the queue) failed.
UNAVAILABLE_RETRY_AFTER_SECONDS = 5

# The code each status answers with when nothing more specific applies.
_CODE_OF_STATUS = {
    HTTPStatus.BAD_REQUEST: "invalid_request",
    HTTPStatus.UNAUTHORIZED: "unauthorized",
    HTTPStatus.NOT_FOUND: "not_found",
    HTTPStatus.REQUEST_ENTITY_TOO_LARGE: "payload_too_large",
    HTTPStatus.TOO_MANY_REQUESTS: "throttled",
    HTTPStatus.INTERNAL_SERVER_ERROR: "internal_error",
    HTTPStatus.SERVICE_UNAVAILABLE: "unavailable",
}


def error_code(status: int) -> str:
    """The ``code`` of an error answer with this status: ours where we have one, else the status's phrase
    in snake case (``method_not_allowed``)."""
    try:
        known = HTTPStatus(status)
    except ValueError:
        return "error"
    return _CODE_OF_STATUS.get(known) or re.sub(r"\W+", "_", known.phrase.lower()).strip("_")


def error_body(code: str, message: str, **extra: str) -> bytes:
    """The JSON every error answers with."""
    return json.dumps({"code": code, "message": message, **extra}).encode()


def error_response(
    status: HTTPStatus, code: str, message: str, *, headers: Mapping[str, str] | None = None, **extra: str
) -> Response[str]:
    """The error shape Segment's and RudderStack's SDKs read: ``code`` and ``message``."""
    all_headers = dict(headers or {})
    if status == HTTPStatus.UNAUTHORIZED:
        all_headers["WWW-Authenticate"] = 'Basic realm="leadscore"'
    return Response(
        status_code=status,
        content_type=content_types.APPLICATION_JSON,
        body=error_body(code, message, **extra).decode(),
        headers=all_headers or None,
    )


def build_api() -> APIGatewayHttpResolver:
    """An HTTP API resolver with the service's error mapping: every error it answers is JSON with ``code``
    and ``message``, an unknown route included (what the ``$default`` route's function answers).

    No CORS here: it is configured once, on API Gateway (the local gateway emulates it), which answers
    preflights itself and overrides any CORS header a function would send.
    """
    api = APIGatewayHttpResolver(enable_validation=True)

    @api.exception_handler(InvalidMessage)
    def _invalid(error: InvalidMessage) -> Response[str]:
        logger.info("refused an invalid request", extra={"field": error.field, "reason": error.message})
        return error_response(
            HTTPStatus.BAD_REQUEST, "invalid_request", f"{error.field}: {error.message}", field=error.field
        )

    @api.exception_handler(Unauthorized)
    def _unauthorized(error: Unauthorized) -> Response[str]:
        return error_response(HTTPStatus.UNAUTHORIZED, "unauthorized", str(error))

    @api.exception_handler(NotFound)
    def _not_found(error: NotFound) -> Response[str]:
        return error_response(HTTPStatus.NOT_FOUND, "not_found", str(error))

    @api.exception_handler(PayloadTooLarge)
    def _too_large(error: PayloadTooLarge) -> Response[str]:
        return error_response(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "payload_too_large", str(error))

    @api.exception_handler(Unavailable)
    def _unavailable(error: Unavailable) -> Response[str]:
        logger.warning("a service behind the API failed", extra={"reason": str(error)})
        return error_response(
            HTTPStatus.SERVICE_UNAVAILABLE,
            "unavailable",
            str(error) or "the service is briefly unavailable; retry",
            headers={"Retry-After": str(UNAVAILABLE_RETRY_AFTER_SECONDS)},
        )

    # Powertools' own: the route table's miss (registered explicitly, or the catch-all below would take it
    # through NotFoundError's bases), an HTTP error a route raises, and its optional request validation.
    @api.not_found
    def _no_route(error: NotFoundError) -> Response[str]:
        event = api.current_event
        message = str(error.msg)
        if message == _UNNAMED_NOT_FOUND:  # the resolver's own miss, not a route's NotFoundError("...")
            message = f"no route for {event.request_context.http.method} {event.path}"
        return error_response(HTTPStatus.NOT_FOUND, "not_found", message)

    @api.exception_handler(ServiceError)
    def _service_error(error: ServiceError) -> Response[str]:
        status = HTTPStatus(error.status_code)
        return error_response(status, error_code(status), str(error.msg))

    @api.exception_handler(RequestValidationError)
    def _validation(error: RequestValidationError) -> Response[str]:
        first = (list(error.errors()) or [{}])[0]
        field = ".".join(str(part) for part in first.get("loc", ()) if part != "body") or "body"
        reason = str(first.get("type", "invalid"))
        return error_response(HTTPStatus.BAD_REQUEST, "invalid_request", f"{field}: {reason}", field=field)

    @api.exception_handler(RequestUnsupportedContentType)
    def _content_type(_: RequestUnsupportedContentType) -> Response[str]:
        return error_response(
            HTTPStatus.UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type", "unsupported content type"
        )

    @api.exception_handler(Exception)
    def _internal(error: Exception) -> Response[str]:
        request_id = _request_id(api)
        logger.exception("unhandled error", extra={"request_id": request_id})
        return error_response(
            HTTPStatus.INTERNAL_SERVER_ERROR,
            "internal_error",
            "the service failed to answer this request; retry, and quote the request id if it persists",
            request_id=request_id,
        )

    return api


_UNNAMED_NOT_FOUND = str(NotFoundError().msg)


def _request_id(api: APIGatewayHttpResolver) -> str:
    """API Gateway's id of the request being answered (also in the access log), or "" without one."""
    try:
        return str(api.current_event.request_context.request_id or "")
    except (AttributeError, KeyError, TypeError):
        return ""


def raw_body(event: APIGatewayProxyEventV2) -> bytes:
    """The body as bytes: API Gateway base64-encodes anything that is not text, gzip included."""
    body = event.body or ""
    return base64.b64decode(body) if event.is_base64_encoded else body.encode()


# Deploy settings: the `allowedOrigins`, `throttleRate` and `throttleBurst` context values of the CDK app,
# and the local gateway's LEADSCORE_ALLOWED_ORIGINS, LEADSCORE_THROTTLE_RATE, LEADSCORE_THROTTLE_BURST.

_ORIGIN = re.compile(r"^https?://[^/\s*?#@]+$")


def parse_allowed_origins(value: str | Sequence[str] | None) -> tuple[str, ...]:
    """Origins allowed to call the API from a browser: ``*`` (any) or exact origins, as a comma-separated
    string or a list; nothing given means ``DEFAULT_ALLOWED_ORIGINS``."""
    items = value.split(",") if isinstance(value, str) else list(value or ())
    origins = tuple(dict.fromkeys(str(item).strip() for item in items if str(item).strip()))
    if not origins:
        return DEFAULT_ALLOWED_ORIGINS
    for origin in origins:
        if origin != "*" and not _ORIGIN.match(origin):
            raise ValueError(
                f"allowed origin {origin!r} is neither * nor an origin such as https://www.example.com "
                "(scheme and host, optionally a port; no path, no trailing slash, no partial wildcard)"
            )
    return origins


@dataclass(frozen=True)
class Throttle:
    """API Gateway's throttling of each route: ``rate_per_second`` steady, bursts of ``burst``."""

    rate_per_second: float = THROTTLE_RATE_PER_SECOND
    burst: int = THROTTLE_BURST

    def __post_init__(self) -> None:
        if not (math.isfinite(self.rate_per_second) and self.rate_per_second > 0):
            raise ValueError(f"the throttling rate must be a positive number, not {self.rate_per_second!r}")
        if self.burst < 1:
            raise ValueError(f"the throttling burst must be a whole number of at least 1, not {self.burst!r}")

    @classmethod
    def parse(cls, rate: object = None, burst: object = None) -> Throttle:
        """From deploy settings given as text or numbers; a missing or empty one keeps its default."""
        try:
            parsed_rate = float(str(rate)) if rate not in (None, "") else THROTTLE_RATE_PER_SECOND
        except ValueError:
            raise ValueError(f"the throttling rate must be a positive number, not {rate!r}") from None
        try:
            parsed_burst = int(str(burst)) if burst not in (None, "") else THROTTLE_BURST
        except ValueError:
            raise ValueError(f"the throttling burst must be a whole number, not {burst!r}") from None
        return cls(parsed_rate, parsed_burst)
