"""SQS batches of accepted events: score them, one conditional write per lead, partial batch failures."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.data_classes import SQSEvent
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import ValidationError

from leadscore.events import Event
from leadscore.scoring import QueuedEvent, score_queued_events
from leadscore.wiring import scoring_collaborators

logger = Logger()


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    queued, failed = [], []
    for record in SQSEvent(event).records:
        try:
            queued.append(QueuedEvent(record.message_id, Event.model_validate_json(record.body)))
        except ValidationError:
            # A poison message fails alone and reaches the dead-letter queue after its retries.
            logger.exception("unreadable queued event", extra={"message_id": record.message_id})
            failed.append(record.message_id)
    failed += score_queued_events(queued, *scoring_collaborators(), now=datetime.now(UTC))
    return {"batchItemFailures": [{"itemIdentifier": message_id} for message_id in failed]}
