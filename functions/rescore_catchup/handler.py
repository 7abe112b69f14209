"""Re-scoring, last step: the leads live activity reached during the run re-joined; the run summed up."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from leadscore.rescore.fanout import FinishRequest, MeteredLeads, finish
from leadscore.rescore.settings import archive_bucket, deployed_rules, table, work_bucket

logger = Logger()


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    request = FinishRequest.model_validate(event)
    summary = finish(
        request,
        archive_bucket(),
        deployed_rules(),
        work=work_bucket(),
        leads=MeteredLeads(table()),
        clock=lambda: datetime.now(UTC),
    )
    logger.info("re-score finished", extra={"deferred": len(summary["deferred"])})
    return summary
