"""The EventBridge schedule: re-evaluate the leads whose band decay is due to change."""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime
from functools import cache
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from leadscore.adapters.dynamodb import DynamoLeadRepository
from leadscore.rescoring import decay_due_leads
from leadscore.rules import RuleSet
from leadscore.settings import ScoringSettings, load_settings, rules_at

logger = Logger()


@cache
def _collaborators() -> tuple[DynamoLeadRepository, RuleSet]:
    settings = load_settings(ScoringSettings)
    return DynamoLeadRepository(settings.table_name), rules_at(settings.rules_path)


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    run = decay_due_leads(*_collaborators(), datetime.now(UTC))
    logger.info("decay run", extra=asdict(run))
    return asdict(run)
