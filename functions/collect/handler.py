"""The tracking endpoint: Segment's calls (full and analytics.js's one-letter paths), HTML forms, and the
few other things browser SDKs ask for."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from leadscore.adapters.messaging import SqsMessageQueue
from leadscore.adapters.secrets import SecretKeys
from leadscore.api import build_api, raw_body
from leadscore.auth import presented_key, require_key
from leadscore.browser_sdks import protocol_of, rudderstack_source_config, segment_settings
from leadscore.ingest import CollectRequest, collect
from leadscore.resources import TRACKING_CALLS
from leadscore.settings import CollectSettings, load_settings

logger = Logger()
app = build_api()

CALL_OF_PATH = {f"/v1/{path}": call for call, short in TRACKING_CALLS.items() for path in (call, short)}


@cache
def _collaborators() -> tuple[SecretKeys, SqsMessageQueue]:
    settings = load_settings(CollectSettings)
    return SecretKeys(settings.write_keys_secret), SqsMessageQueue(settings.queue_url)


def track_call() -> dict[str, Any]:
    event = app.current_event
    call = CALL_OF_PATH[event.path]
    request = CollectRequest(
        call=call,
        body=raw_body(event),
        authorization=event.headers.get("authorization"),
        content_encoding=event.headers.get("content-encoding"),
        received_at=datetime.now(UTC),
    )
    accepted = collect(request, *_collaborators())
    logger.info("accepted", extra={"call": call, "events": len(accepted)})
    return {"success": True}


for _path in CALL_OF_PATH:
    app.post(_path)(track_call)


@app.get("/v1/projects/<write_key>/settings")
def analytics_js_settings(write_key: str) -> dict[str, Any]:
    """What analytics.js loads from its CDN, so a page can load it with this API as ``cdnURL``."""
    write_keys, _ = _collaborators()
    require_key(write_key, write_keys.keys())
    host = _api_host()
    return segment_settings(
        write_key, host, protocol_of(app.current_event.headers.get("x-forwarded-proto"), host)
    )


@app.get("/sourceConfig")
def rudderstack_config() -> dict[str, Any]:
    """What RudderStack's JavaScript SDK loads before it sends anything (its ``configUrl``)."""
    write_keys, _ = _collaborators()
    query = app.current_event.query_string_parameters or {}
    key = query.get("writeKey") or presented_key(app.current_event.headers.get("authorization"))
    require_key(key, write_keys.keys())
    assert key is not None
    return rudderstack_source_config(key)


@app.post("/v1/m")
def sdk_metrics() -> dict[str, Any]:
    """analytics.js's own usage metrics: answered so the SDK stays quiet, not kept."""
    return {"success": True}


def _api_host() -> str:
    headers = app.current_event.headers
    return (
        headers.get("x-forwarded-host")
        or headers.get("host")
        or app.current_event.request_context.domain_name
    )


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
