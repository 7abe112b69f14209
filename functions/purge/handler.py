"""The daily schedule: purge the raw archive of the people erased on request (within 30 days)."""

from __future__ import annotations

from dataclasses import asdict
from functools import cache
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from leadscore.adapters.dynamodb import DynamoPurgeWork
from leadscore.adapters.messaging import S3EventArchive
from leadscore.erasure import purge_archive
from leadscore.settings import PurgeSettings, load_settings

logger = Logger()
# Enough to rewrite one more large object and save the pass's place.
STOP_WITH_MILLIS_LEFT = 60_000


@cache
def _collaborators() -> tuple[DynamoPurgeWork, S3EventArchive]:
    settings = load_settings(PurgeSettings)
    return DynamoPurgeWork(settings.table_name), S3EventArchive(settings.archive_bucket)


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    run = purge_archive(
        *_collaborators(), has_time=lambda: context.get_remaining_time_in_millis() > STOP_WITH_MILLIS_LEFT
    )
    logger.info("purge run", extra=asdict(run))
    return asdict(run)
