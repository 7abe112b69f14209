"""The lead table's stream: publish an alert for every new signal, once, with its reasons."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from leadscore.adapters.dynamodb import DynamoLeadRepository, item_to_stored
from leadscore.adapters.messaging import SnsAlertPublisher
from leadscore.adapters.metrics import CloudWatchCounter
from leadscore.alerts import RecentlySent, publish_new_alerts
from leadscore.ports import AlertPublisher, LeadRepository
from leadscore.records import LeadRecord
from leadscore.rules import RuleSet
from leadscore.settings import NotifySettings, load_settings, rules_at
from leadscore.wiring import Wiring

logger = Logger()
counter = CloudWatchCounter()
processor = BatchProcessor(event_type=EventType.DynamoDBStreams)


@dataclass(frozen=True)
class Collaborators:
    publisher: AlertPublisher
    rules: RuleSet
    repository: LeadRepository  # an alert names the account's other engaged people
    # What this execution environment published: a retried record does not send its first alerts again.
    recently_sent: RecentlySent

    @classmethod
    def from_settings(cls) -> Collaborators:
        settings = load_settings(NotifySettings)
        return cls(
            publisher=SnsAlertPublisher(settings.topic_arn),
            rules=rules_at(settings.rules_path),
            repository=DynamoLeadRepository(settings.table_name),
            recently_sent=RecentlySent(),
        )


wiring = Wiring(Collaborators.from_settings)


def alert_on_change(record: DynamoDBRecord) -> None:
    # The images as the stream sends them (attribute values), the form the stored item's model reads
    # from the table too; the data class's ``new_image`` would turn them into Python values first.
    images = record.dynamodb.raw_event if record.dynamodb else {}
    new_image = images.get("NewImage")
    if not new_image:
        return
    after = item_to_stored(new_image)
    if not isinstance(after, LeadRecord):
        return  # an id merged into a person: the person's own write raises what the merge earned
    old_image = images.get("OldImage")
    before = item_to_stored(old_image) if old_image else None
    found = wiring()
    previous = before if isinstance(before, LeadRecord) else None
    # The request (or decay run) whose write raised the signals: the same id as in collect's and score's logs.
    logger.set_correlation_id(after.correlation_id)
    alerts = publish_new_alerts(
        found.rules,
        previous,
        after,
        found.publisher,
        found.repository.leads_of_account,
        counter=counter,
        sent=found.recently_sent,
    )
    for alert in alerts:
        logger.info("alert published", extra={"lead_id": alert.lead_id, "kind": alert.kind})


@counter.log_metrics
@logger.inject_lambda_context
def handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(
        event=event, record_handler=alert_on_change, processor=processor, context=context
    )
