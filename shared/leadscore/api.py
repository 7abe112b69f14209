"""What the HTTP functions share: one mapping from domain errors to status codes, and the raw body."""

from __future__ import annotations

import base64
import json
from http import HTTPStatus

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, CORSConfig, Response, content_types
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEventV2

from leadscore.errors import NotFound, PayloadTooLarge, Unauthorized
from leadscore.segment import InvalidMessage

logger = Logger(child=True)


def error_response(status: HTTPStatus, code: str, message: str, **extra: str) -> Response[str]:
    """The error shape Segment's and RudderStack's SDKs read: ``code`` and ``message``."""
    headers = {"WWW-Authenticate": 'Basic realm="leadscore"'} if status == HTTPStatus.UNAUTHORIZED else None
    return Response(
        status_code=status,
        content_type=content_types.APPLICATION_JSON,
        body=json.dumps({"code": code, "message": message, **extra}),
        headers=headers,
    )


def build_api(*, cors: bool = False) -> APIGatewayHttpResolver:
    """An HTTP API resolver with the service's error mapping; ``cors`` for endpoints browsers post to."""
    api = APIGatewayHttpResolver(cors=CORSConfig(allow_origin="*", max_age=600) if cors else None)

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

    return api


def raw_body(event: APIGatewayProxyEventV2) -> bytes:
    """The body as bytes: API Gateway base64-encodes anything that is not text, gzip included."""
    body = event.body or ""
    return base64.b64decode(body) if event.is_base64_encoded else body.encode()
