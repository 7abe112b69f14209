"""SQS batches of Segment messages (from collect or any producer): archive each batch raw, validate each
message as collect does, score them, with partial batch failures."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.data_classes import SQSEvent
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from leadscore.adapters.collaborators import ScoringCollaborators
from leadscore.adapters.messaging import S3EventArchive
from leadscore.adapters.metrics import CloudWatchCounter
from leadscore.ports import EventArchive, LeadRepository, QueuedMessage
from leadscore.resources import ARCHIVE_OBJECTS_WRITTEN, CORRELATION_ATTRIBUTE
from leadscore.rules import RuleSet
from leadscore.scoring import QueuedEvent, correlation_ids, score_queued_events
from leadscore.segment import InvalidMessage, loads, read_message
from leadscore.settings import ScoreSettings, load_settings
from leadscore.wiring import Wiring

if TYPE_CHECKING:  # the batch utility itself is not imported: it does not do score's job (see handler)
    from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse

logger = Logger()
counter = CloudWatchCounter()


@dataclass(frozen=True)
class Collaborators:
    archive: EventArchive  # each delivered batch, raw, before any of it is scored
    repository: LeadRepository
    rules: RuleSet

    @classmethod
    def from_settings(cls) -> Collaborators:
        settings = load_settings(ScoreSettings)
        scoring = ScoringCollaborators.from_settings(settings)
        return cls(S3EventArchive(settings.archive_bucket), scoring.repository, scoring.rules)


wiring = Wiring(Collaborators.from_settings)


@counter.log_metrics
@logger.inject_lambda_context
def handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    """A partial batch response built here, not by Powertools' ``BatchProcessor``: its record handler
    sees one record at a time, and a batch here is archived whole (poison included) before any of it is
    scored, then scored a lead at a time, so that a lead's events in the batch make one write (the write
    count is the bill: docs/architecture.md). A message fails alone when it does not read, or when its
    lead's write fails (``score_queued_events`` returns those)."""
    found = wiring()
    messages, queued, failed = [], [], []
    for record in SQSEvent(event).records:
        queued_at = _queued_at(record)
        messages.append(QueuedMessage(record.message_id, record.body, queued_at))
        try:
            payload = loads(record.body)
            scored = read_message(payload, message_id=record.message_id, received_at=queued_at)
        except InvalidMessage as error:
            # Fails alone, and reaches the dead-letter queue after its retries.
            logger.error(
                "invalid queued message",
                extra={
                    "message_id": record.message_id,
                    "field": error.field,
                    "reason": error.message,
                    "correlation_id": _correlation_id(record),
                },
            )
            failed.append(record.message_id)
            continue
        queued.append(QueuedEvent(record.message_id, scored, _correlation_id(record)))
    # Before scoring, poison included: a failed put fails the invocation and SQS redelivers the whole batch.
    found.archive.put_batch(messages)
    counter.count(ARCHIVE_OBJECTS_WRITTEN)
    requests = correlation_ids(queued)
    # A batch of one request's events logs under its id; a mixed batch names them all once, below.
    logger.set_correlation_id(requests[0] if len(requests) == 1 else None)
    failed += score_queued_events(
        queued, found.repository, found.rules, now=datetime.now(UTC), counter=counter
    )
    logger.info(
        "batch scored", extra={"messages": len(messages), "failed": len(failed), "correlation_ids": requests}
    )
    return {"batchItemFailures": [{"itemIdentifier": message_id} for message_id in failed]}


def _correlation_id(record: SQSRecord) -> str | None:
    attribute = record.message_attributes[CORRELATION_ATTRIBUTE]
    return attribute.string_value if attribute else None


def _queued_at(record: SQSRecord) -> datetime:
    return datetime.fromtimestamp(int(record.attributes.sent_timestamp) / 1000, UTC)
