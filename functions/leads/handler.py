"""GET /v1/leads/{lead_id} and /v1/accounts/{account_id}: scores with their explanation, for sales."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache
from typing import Annotated, Any
from urllib.parse import unquote

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler.openapi.params import Body
from aws_lambda_powertools.utilities.typing import LambdaContext

from leadscore.adapters.dynamodb import DynamoLeadRepository
from leadscore.adapters.secrets import SecretKeys
from leadscore.api import build_api
from leadscore.auth import presented_key, require_key
from leadscore.engine import AccountScore
from leadscore.lookup import LeadView, account_score, lead_view
from leadscore.openapi import READ_KEY, responses, security
from leadscore.rules import RuleSet
from leadscore.sales import (
    FollowUpRequest,
    OutcomeRequest,
    RecordedFollowUp,
    RecordedOutcome,
    record_follow_up,
    record_outcome,
)
from leadscore.settings import LeadsSettings, load_settings, rules_at

logger = Logger()
app = build_api()


@cache
def _collaborators() -> tuple[SecretKeys, DynamoLeadRepository, RuleSet]:
    settings = load_settings(LeadsSettings)
    return (
        SecretKeys(settings.read_keys_secret),
        DynamoLeadRepository(settings.table_name),
        rules_at(settings.rules_path),
    )


def _reader() -> tuple[DynamoLeadRepository, RuleSet]:
    """The repository and rules, once the caller has shown a read key."""
    read_keys, repository, rules = _collaborators()
    require_key(presented_key(app.current_event.headers.get("authorization")), read_keys.keys())
    return repository, rules


@app.get(
    "/v1/leads/<lead_id>",
    summary="A lead's score now, why, its follow-up and outcome (an anonymous id answers its person)",
    responses=responses(LeadView, 401, 404),
    security=security(READ_KEY),
    tags=["scores"],
)
def get_lead(lead_id: str) -> LeadView:
    # Routes match the raw path, where an e-mail's @ arrives as %40.
    return lead_view(*_reader(), unquote(lead_id), datetime.now(UTC))


@app.post(
    "/v1/leads/<lead_id>/outcome",
    summary="Record that the lead converted or was lost (a later outcome wins; re-scoring keeps it)",
    responses=responses(RecordedOutcome, 401, 404),
    security=security(READ_KEY),
    tags=["sales"],
)
def post_outcome(lead_id: str, outcome: Annotated[OutcomeRequest, Body()]) -> RecordedOutcome:
    repository, _ = _reader()
    return record_outcome(repository, unquote(lead_id), outcome, datetime.now(UTC))


@app.post(
    "/v1/leads/<lead_id>/status",
    summary="Record that sales followed the lead up (contacted, meeting booked, disqualified)",
    responses=responses(RecordedFollowUp, 401, 404),
    security=security(READ_KEY),
    tags=["sales"],
)
def post_status(lead_id: str, status: Annotated[FollowUpRequest, Body()]) -> RecordedFollowUp:
    repository, _ = _reader()
    return record_follow_up(repository, unquote(lead_id), status, datetime.now(UTC))


@app.get(
    "/v1/accounts/<account_id>",
    summary="An account's score: its people rolled up",
    responses=responses(AccountScore, 401, 404),
    security=security(READ_KEY),
    tags=["scores"],
)
def get_account(account_id: str) -> AccountScore:
    return account_score(*_reader(), unquote(account_id), datetime.now(UTC))


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
