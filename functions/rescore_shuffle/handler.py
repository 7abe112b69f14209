"""Re-scoring, map 1 (a Distributed Map over the archive's objects): one batch of objects shuffled into
shards by person."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from leadscore.rescore.fanout import MeteredLeads, ShuffleRequest, shuffle
from leadscore.rescore.settings import RescoreCollaborators
from leadscore.wiring import Wiring

logger = Logger()
Collaborators = RescoreCollaborators
wiring = Wiring(Collaborators.from_settings)


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    request = ShuffleRequest.model_validate(event)
    found = wiring()
    output = shuffle(
        request, found.archive_bucket(), found.new_work(), MeteredLeads(found.leads), datetime.now(UTC)
    )
    logger.info("shuffled", extra=output)
    return output
