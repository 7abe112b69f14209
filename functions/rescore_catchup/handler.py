"""Re-scoring, last step: the leads live activity reached during the run re-joined; the run summed up."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from leadscore.rescore.fanout import FinishRequest, MeteredLeads, finish
from leadscore.rescore.settings import deployed_rules, rescore_settings, table, work_bucket

logger = Logger()


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    request = FinishRequest.model_validate(event)
    archive = rescore_settings().archive_bucket
    if archive is None:
        raise ValueError("the catch-up needs the archive bucket")
    summary = finish(
        request,
        archive,
        deployed_rules(),
        work=work_bucket(),
        leads=MeteredLeads(table()),
        clock=lambda: datetime.now(UTC),
    )
    logger.info("re-score finished", extra={"deferred": len(summary["deferred"])})
    return summary
