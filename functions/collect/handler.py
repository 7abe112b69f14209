"""The tracking endpoint: Segment's calls (full and analytics.js's one-letter paths), HTML forms, and the
few other things browser SDKs ask for."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from http import HTTPStatus
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from leadscore.adapters.messaging import SqsMessageQueue
from leadscore.adapters.metrics import CloudWatchCounter
from leadscore.adapters.secrets import SecretKeys
from leadscore.api import build_api, raw_body
from leadscore.auth import presented_key, require_key
from leadscore.browser_sdks import protocol_of, rudderstack_source_config, segment_settings
from leadscore.forms import FormPost
from leadscore.ingest import CollectRequest, collect, collect_form, decompressed
from leadscore.openapi import FORM_BODY, WRITE_KEY, Success, responses, security, tracking_body
from leadscore.ports import KeyStore, MessageQueue
from leadscore.resources import TRACKING_CALLS
from leadscore.segment import MAX_BATCH_BYTES
from leadscore.settings import CollectSettings, load_settings, rules_at
from leadscore.wiring import Wiring

logger = Logger()
counter = CloudWatchCounter()
app = build_api()

CALL_OF_PATH = {f"/v1/{path}": call for call, short in TRACKING_CALLS.items() for path in (call, short)}


@dataclass(frozen=True)
class Collaborators:
    write_keys: KeyStore
    queue: MessageQueue
    # Its ``forms:`` configure the form endpoint: parsed at the first form post, never for a tracking call.
    rules_path: Path
    openapi_path: Path

    @classmethod
    def from_settings(cls) -> Collaborators:
        settings = load_settings(CollectSettings)
        return cls(
            write_keys=SecretKeys(settings.write_keys_secret),
            queue=SqsMessageQueue(settings.queue_url),
            rules_path=settings.rules_path,
            openapi_path=settings.openapi_path,
        )


wiring = Wiring(Collaborators.from_settings)


def track_call() -> Success:
    """A Segment tracking call: one message, or a batch (the write key as basic auth or in the body)."""
    event = app.current_event
    call = CALL_OF_PATH[event.path]
    request = CollectRequest(
        call=call,
        body=raw_body(event),
        authorization=event.headers.get("authorization"),
        content_encoding=event.headers.get("content-encoding"),
        received_at=datetime.now(UTC),
        correlation_id=logger.get_correlation_id(),
    )
    found = wiring()
    accepted = collect(request, found.write_keys, found.queue, counter)
    logger.info("accepted", extra={"call": call, "events": len(accepted)})
    return Success()


for _path, _call in CALL_OF_PATH.items():
    app.post(
        _path,
        summary=f"Segment {_call} call",
        operation_id=f"{_call}_{_path.rsplit('/', 1)[1]}",
        responses=responses(Success, 401, 413, 503),
        security=security(WRITE_KEY),
        openapi_extensions=tracking_body(_call),
        tags=["tracking"],
    )(track_call)


@app.post(
    "/v1/forms/<form_id>",
    summary="An HTML form or a form builder's webhook (303 to the thank-you page for a browser)",
    responses={
        **responses(Success, 401, 413, 503),
        303: {"description": "A browser post: on to the thank-you page (Location)"},
    },
    security=security(WRITE_KEY),
    openapi_extensions=FORM_BODY,
    tags=["tracking"],
)
def form_post(form_id: str):  # type: ignore[no-untyped-def]  # two answers: no single response model
    """A plain HTML form or a form builder's webhook; a browser is sent on to the thank-you page."""
    event = app.current_event
    headers = event.headers
    post = FormPost(
        form_id=unquote(form_id),
        # A form may attach files (ignored, never stored): the cap is a batch's, not a message's.
        body=decompressed(raw_body(event), headers.get("content-encoding"), MAX_BATCH_BYTES),
        content_type=headers.get("content-type"),
        query=event.raw_query_string or "",
        # API Gateway's payload 2.0 moves the Cookie header into ``cookies``.
        cookie=headers.get("cookie") or "; ".join(event.cookies or []) or None,
        accept=headers.get("accept"),
        referer=headers.get("referer"),
    )
    found = wiring()
    submission = collect_form(
        post,
        headers.get("authorization"),
        forms=rules_at(found.rules_path).file.forms,
        write_keys=found.write_keys,
        queue=found.queue,
        received_at=datetime.now(UTC),
        correlation_id=logger.get_correlation_id(),
        counter=counter,
    )
    logger.info("form accepted", extra={"form_id": post.form_id})
    if submission.redirect_to:
        return Response(
            status_code=HTTPStatus.SEE_OTHER, headers={"Location": submission.redirect_to}, body=""
        )
    return Response(
        status_code=HTTPStatus.OK,
        content_type=content_types.APPLICATION_JSON,
        body=Success().model_dump_json(),
    )


@app.get(
    "/v1/projects/<write_key>/settings",
    summary="analytics.js's settings, so a page can load it with this API as its cdnURL",
    responses=responses(None, 401),
    tags=["browser SDKs"],
)
def analytics_js_settings(write_key: str) -> dict[str, Any]:
    """What analytics.js loads from its CDN, so a page can load it with this API as ``cdnURL``."""
    require_key(write_key, wiring().write_keys.keys())
    host = _api_host()
    return segment_settings(
        write_key, host, protocol_of(app.current_event.headers.get("x-forwarded-proto"), host)
    )


@app.get(
    "/sourceConfig",
    summary="RudderStack's source configuration (its configUrl)",
    responses=responses(None, 401),
    security=security(WRITE_KEY),
    tags=["browser SDKs"],
)
@app.get("/sourceConfig/", include_in_schema=False)
def rudderstack_config() -> dict[str, Any]:
    """What RudderStack's JavaScript SDK loads before it sends anything (its ``configUrl``)."""
    query = app.current_event.query_string_parameters or {}
    key = query.get("writeKey") or presented_key(app.current_event.headers.get("authorization"))
    require_key(key, wiring().write_keys.keys())
    assert key is not None
    return rudderstack_source_config(key)


@app.post(
    "/v1/m",
    summary="analytics.js's usage metrics: answered, not kept",
    responses=responses(Success),
    tags=["browser SDKs"],
)
def sdk_metrics() -> Success:
    """analytics.js's own usage metrics: answered so the SDK stays quiet, not kept."""
    return Success()


@app.get("/v1/openapi.json", summary="This document", responses=responses(None), tags=["meta"])
def openapi_document() -> dict[str, Any]:
    return _openapi(wiring().openapi_path)


@cache
def _openapi(path: Path) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(path.read_text())
    return document


def _api_host() -> str:
    headers = app.current_event.headers
    return (
        headers.get("x-forwarded-host")
        or headers.get("host")
        or app.current_event.request_context.domain_name
    )


@counter.log_metrics
@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
