"""The EventBridge schedule: re-evaluate the leads whose band decay is due to change."""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from leadscore.rescoring import decay_due_leads
from leadscore.wiring import scoring_collaborators

logger = Logger()
# Enough for one more read of a hundred due leads and their writes; the next run picks up the rest.
STOP_WITH_MILLIS_LEFT = 30_000


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    run = decay_due_leads(
        *scoring_collaborators(),
        datetime.now(UTC),
        has_time=lambda: context.get_remaining_time_in_millis() > STOP_WITH_MILLIS_LEFT,
    )
    logger.info("decay run", extra=asdict(run))
    return asdict(run)
