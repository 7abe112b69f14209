"""The textbook scorer's handler: Powertools batch processing and idempotency, a get and a put per event.

Configuration as Lambda would give it: ``TEXTBOOK_TABLE_NAME``, ``TEXTBOOK_IDEMPOTENCY_TABLE_NAME`` and
``RULES_PATH`` (defaults: the bench's table names and the repository's default rules).
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from typing import Any

import boto3
from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import TypeAdapter

from bench.textbook import ENV_IDEMPOTENCY_TABLE, ENV_TABLE, IDEMPOTENCY_TABLE, TABLE
from leadscore.engine import LeadState, evaluate
from leadscore.rules import DEFAULT_RULES_FILE, load_rules
from leadscore.segment import loads, read_message

# Segment's deduplication window: the same messageId within 24 hours counts once.
DEDUPLICATION_SECONDS = 24 * 3600

logger = Logger()
processor = BatchProcessor(event_type=EventType.SQS)
region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
table_name = os.environ.get(ENV_TABLE, TABLE)
dynamodb = boto3.client("dynamodb", region_name=region)
persistence = DynamoDBPersistenceLayer(
    table_name=os.environ.get(ENV_IDEMPOTENCY_TABLE, IDEMPOTENCY_TABLE),
    boto3_session=boto3.session.Session(region_name=region),
)
# Keyed on the queued Segment message's id; a message without one must fail, not skip the check
# (a skipped check would bill the textbook for no idempotency writes at all).
idempotency = IdempotencyConfig(
    event_key_jmespath="powertools_json(body).messageId",
    expires_after_seconds=DEDUPLICATION_SECONDS,
    raise_on_no_idempotency_key=True,
)
rules = load_rules(os.environ.get("RULES_PATH") or DEFAULT_RULES_FILE)
# The textbook keeps the whole state as JSON, as a scorer without a compact encoding would.
STATE = TypeAdapter(LeadState)
NOT_STATE: Any = {"reading_cache": True, "hits": {"__all__": {"reading_cache"}}}  # the engine's caches


@idempotent_function(  # type: ignore[untyped-decorator]
    data_keyword_argument="record", config=idempotency, persistence_store=persistence
)
def score_record(record: SQSRecord) -> dict[str, Any]:
    event = read_message(loads(record.body), message_id=record.message_id, received_at=None)
    key = {"lead_id": {"S": event.lead_id}}
    found = dynamodb.get_item(TableName=table_name, Key=key, ConsistentRead=True).get("Item")
    state = STATE.validate_json(found["state"]["S"]) if found else None
    evaluation = evaluate(rules, state, [event], datetime.now(UTC))
    score = evaluation.score
    dynamodb.put_item(
        TableName=table_name,
        Item={
            **key,
            "state": {"S": STATE.dump_json(evaluation.state, exclude=NOT_STATE).decode()},
            "score": {"N": repr(score.score)},
            "fit": {"N": repr(score.fit)},
            "engagement": {"N": repr(score.engagement)},
            "band": {"S": score.band},
            "stage": {"S": score.stage},
            "grade": {"S": score.grade},
            "updated_at": {"S": score.as_of.isoformat()},
        },
    )
    return {"lead_id": event.lead_id, "score": score.score, "band": score.band}


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    idempotency.register_lambda_context(context)
    return process_partial_response(
        event=event, record_handler=score_record, processor=processor, context=context
    )
