"""POST /v1/{batch,identify,track,page,screen,group,alias}: the Segment-compatible tracking endpoint."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from leadscore.adapters.messaging import SqsEventQueue
from leadscore.adapters.secrets import SecretKeys
from leadscore.api import build_api, raw_body
from leadscore.ingest import CollectRequest, collect
from leadscore.settings import CollectSettings, load_settings

logger = Logger()
app = build_api(cors=True)


@cache
def _collaborators() -> tuple[SecretKeys, SqsEventQueue]:
    settings = load_settings(CollectSettings)
    return SecretKeys(settings.write_keys_secret), SqsEventQueue(settings.queue_url)


@app.post("/v1/<call>")
def track_call(call: str) -> dict[str, Any]:
    event = app.current_event
    request = CollectRequest(
        call=call,
        body=raw_body(event),
        authorization=event.headers.get("authorization"),
        content_encoding=event.headers.get("content-encoding"),
        received_at=datetime.now(UTC),
    )
    accepted = collect(request, *_collaborators())
    logger.info("accepted", extra={"call": call, "events": accepted})
    return {"success": True}


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
