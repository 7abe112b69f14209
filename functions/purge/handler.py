"""The daily schedule: purge the raw archive of the people erased on request (within 30 days)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from leadscore.adapters.dynamodb import DynamoPurgeWork
from leadscore.adapters.messaging import S3EventArchive
from leadscore.erasure import purge_archive
from leadscore.ports import ArchiveObjects, PurgeWork
from leadscore.settings import PurgeSettings, load_settings
from leadscore.wiring import Wiring

logger = Logger()
# Enough to rewrite one more large object and save the pass's place.
STOP_WITH_MILLIS_LEFT = 60_000


@dataclass(frozen=True)
class Collaborators:
    work: PurgeWork  # the pass under way and the people it purges
    archive: ArchiveObjects

    @classmethod
    def from_settings(cls) -> Collaborators:
        settings = load_settings(PurgeSettings)
        return cls(work=DynamoPurgeWork(settings.table_name), archive=S3EventArchive(settings.archive_bucket))


wiring = Wiring(Collaborators.from_settings)


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    found = wiring()
    run = purge_archive(
        found.work,
        found.archive,
        has_time=lambda: context.get_remaining_time_in_millis() > STOP_WITH_MILLIS_LEFT,
    )
    logger.info("purge run", extra=asdict(run))
    return asdict(run)
