"""Sales' side of the API: lists of leads and accounts by band, a lead or account with its explanation,
follow-ups and outcomes, and the console (static files) that shows them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Annotated, Any
from urllib.parse import unquote

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Query
from aws_lambda_powertools.utilities.typing import LambdaContext

from leadscore.adapters.dynamodb import DynamoLeadRepository
from leadscore.adapters.secrets import SecretKeys
from leadscore.api import build_api
from leadscore.auth import presented_key, require_key
from leadscore.console_assets import HEADERS, INDEX, console_asset
from leadscore.engine import AccountScore
from leadscore.erasure import Erasure, erase
from leadscore.listing import (
    MAX_PAGE,
    AccountPage,
    LeadListQuery,
    LeadPage,
    ListQuery,
    list_accounts,
    list_leads,
)
from leadscore.lookup import LeadView, account_score, lead_view
from leadscore.openapi import ADMIN_KEY, READ_KEY, responses, security
from leadscore.ports import KeyStore, LeadRepository
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
from leadscore.wiring import Wiring

logger = Logger()
app = build_api()


@dataclass(frozen=True)
class Collaborators:
    read_keys: KeyStore
    admin_keys: KeyStore
    repository: LeadRepository
    rules: RuleSet

    @classmethod
    def from_settings(cls) -> Collaborators:
        settings = load_settings(LeadsSettings)
        return cls(
            read_keys=SecretKeys(settings.read_keys_secret),
            admin_keys=SecretKeys(settings.admin_keys_secret),
            repository=DynamoLeadRepository(settings.table_name, retention=settings.retention),
            rules=rules_at(settings.rules_path),
        )


wiring = Wiring(Collaborators.from_settings)


def _reader() -> tuple[LeadRepository, RuleSet]:
    """The repository and rules, once the caller has shown a read key (an admin key does as well)."""
    found = wiring()
    require_key(_presented(), found.read_keys.keys() | found.admin_keys.keys())
    return found.repository, found.rules


def _admin() -> LeadRepository:
    """The repository, once the caller has shown an admin key."""
    found = wiring()
    require_key(_presented(), found.admin_keys.keys())
    return found.repository


def _presented() -> str | None:
    return presented_key(app.current_event.headers.get("authorization"))


Band = Annotated[str | None, Query(description="A band name; every band above the lowest when left out")]
Limit = Annotated[int, Query(ge=1, le=MAX_PAGE, description="Rows per page")]
Cursor = Annotated[str | None, Query(description="`next_cursor` of the previous page")]
Trait = Annotated[str | None, Query()]


@app.get(
    "/v1/leads",
    summary="The leads of a band (and stage, grade, owner, region), highest score first, a page at a time",
    responses=responses(LeadPage, 400, 401),
    security=security(READ_KEY),
    tags=["scores"],
)
def get_leads(
    *,
    band: Band = None,
    stage: Trait = None,
    grade: Trait = None,
    owner: Trait = None,
    region: Trait = None,
    limit: Limit = ListQuery.model_fields["limit"].default,
    cursor: Cursor = None,
) -> LeadPage:
    query = LeadListQuery(
        band=band, stage=stage, grade=grade, owner=owner, region=region, limit=limit, cursor=cursor
    )
    return list_leads(*_reader(), query, datetime.now(UTC))


@app.get(
    "/v1/accounts",
    summary="The accounts of an account band, highest score first, a page at a time",
    responses=responses(AccountPage, 400, 401),
    security=security(READ_KEY),
    tags=["scores"],
)
def get_accounts(
    *, band: Band = None, limit: Limit = ListQuery.model_fields["limit"].default, cursor: Cursor = None
) -> AccountPage:
    return list_accounts(*_reader(), ListQuery(band=band, limit=limit, cursor=cursor), datetime.now(UTC))


@app.get("/", include_in_schema=False)
def get_root() -> Response[str]:
    """A person who opens the API's address gets the console."""
    return Response(HTTPStatus.FOUND, headers={"Location": "/console"}, body="")


@app.get("/console", include_in_schema=False)
def get_console() -> Response[bytes]:
    return get_console_file(INDEX)


@app.get("/console/<name>", include_in_schema=False)
def get_console_file(name: str) -> Response[bytes]:
    """The console is public (static files); every call it makes asks for the read key."""
    body, content_type = console_asset(unquote(name))
    return Response(200, content_type, body, headers=HEADERS)


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


@app.delete(
    "/v1/leads/<lead_id>",
    summary="Erase a person: the lead, its linked ids, follow-up and outcome now; the archive within 30 days",
    responses=responses(Erasure, 401, 404),
    security=security(ADMIN_KEY),
    tags=["admin"],
)
def delete_lead(lead_id: str) -> Erasure:
    erasure = erase(_admin(), unquote(lead_id), datetime.now(UTC))
    logger.info("erased on request", extra={"ids": len(erasure.erased_ids)})
    return erasure


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
