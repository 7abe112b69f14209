"""The EventBridge schedule: re-evaluate the leads whose band decay is due to change."""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from leadscore.adapters.collaborators import ScoringCollaborators
from leadscore.adapters.metrics import CloudWatchCounter
from leadscore.rescoring import decay_due_leads
from leadscore.wiring import Wiring

logger = Logger()
counter = CloudWatchCounter()
# Enough for one more read of a hundred due leads and their writes; the next run picks up the rest.
STOP_WITH_MILLIS_LEFT = 30_000
# The lead table and the deployed rules, as score has them.
Collaborators = ScoringCollaborators
wiring = Wiring(Collaborators.from_settings)


@counter.log_metrics
@logger.inject_lambda_context(correlation_id_path=correlation_paths.EVENT_BRIDGE)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    found = wiring()
    run = decay_due_leads(
        found.repository,
        found.rules,
        datetime.now(UTC),
        has_time=lambda: context.get_remaining_time_in_millis() > STOP_WITH_MILLIS_LEFT,
        counter=counter,
        correlation_id=logger.get_correlation_id(),
    )
    logger.info("decay run", extra=asdict(run))
    return asdict(run)
