"""Re-scoring, last step: the leads live activity reached during the run re-joined; the run summed up."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from leadscore.rescore.fanout import FinishRequest, MeteredLeads, finish
from leadscore.rescore.settings import RescoreCollaborators
from leadscore.wiring import Wiring

logger = Logger()
# Enough to sum the maps' results up and return: leads still deferred are reported, a later run takes them.
STOP_WITH_MILLIS_LEFT = 180_000
Collaborators = RescoreCollaborators
wiring = Wiring(Collaborators.from_settings)


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    request = FinishRequest.model_validate(event)
    found = wiring()
    summary = finish(
        request,
        found.archive_bucket(),
        found.deployed_rules(),
        work=found.new_work(),
        leads=MeteredLeads(found.leads),
        clock=lambda: datetime.now(UTC),
        has_time=lambda: context.get_remaining_time_in_millis() > STOP_WITH_MILLIS_LEFT,
    )
    logger.info("re-score finished", extra={"deferred": summary["deferred"]})
    return summary
