"""Re-scoring, map 2 (a Distributed Map over the shards): one shard's leads rebuilt and written."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from leadscore.rescore.fanout import MeteredLeads, ShardRequest, rebuild_shard
from leadscore.rescore.settings import RescoreCollaborators
from leadscore.wiring import Wiring

logger = Logger()
Collaborators = RescoreCollaborators
wiring = Wiring(Collaborators.from_settings)


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    request = ShardRequest.model_validate(event)
    found = wiring()
    output = rebuild_shard(
        request, found.deployed_rules(), found.new_work(), MeteredLeads(found.leads), datetime.now(UTC)
    )
    logger.info("shard rebuilt", extra={key: value for key, value in output.items() if key != "raised"})
    return output
