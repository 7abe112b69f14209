"""The re-scoring workers' configuration, validated from the environment; their collaborators, built from
it once per container (``leadscore.wiring``)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from leadscore import resources
from leadscore.adapters.dynamodb import DynamoLeadRepository
from leadscore.adapters.rescore_work import S3RescoreWork
from leadscore.rescore.fanout import Work
from leadscore.rescore.people import Leads
from leadscore.rules import RuleSet
from leadscore.settings import load_settings, retention, rules_at


class RescoreSettings(BaseModel):
    """What every re-scoring worker reads (the rules and the archive only where its spec names them)."""

    model_config = ConfigDict(frozen=True, populate_by_name=True)

    table_name: str = Field(alias=resources.ENV_TABLE_NAME, min_length=1)
    work_bucket: str = Field(alias=resources.ENV_RESCORE_BUCKET, min_length=1)
    archive_bucket: str | None = Field(default=None, alias=resources.ENV_ARCHIVE_BUCKET)
    rules_path: Path | None = Field(default=None, alias=resources.ENV_RULES_PATH)
    # The workers that write leads set their expiry as score does (map 1 writes none).
    retention_days: int | None = Field(default=None, alias=resources.ENV_RETENTION_DAYS, ge=0)


@dataclass(frozen=True)
class RescoreCollaborators:
    """What the re-scoring workers use (their handlers' ``Collaborators``): the lead table, a work bucket
    per invocation, and where a worker's spec names them, the deployed rules and the archive."""

    leads: Leads
    # A new one per invocation: it counts the invocation's requests.
    new_work: Callable[[], Work]
    rules: RuleSet | None = None  # the layer's rule file (map 2 and the catch-up)
    archive: str | None = None  # the archive bucket (map 1 and the catch-up)

    @classmethod
    def from_settings(cls) -> RescoreCollaborators:
        settings = load_settings(RescoreSettings)
        bucket, kept = settings.work_bucket, retention(settings.retention_days or 0)
        return cls(
            leads=DynamoLeadRepository(settings.table_name, retention=kept),
            new_work=lambda: S3RescoreWork(bucket),
            rules=rules_at(settings.rules_path) if settings.rules_path else None,
            archive=settings.archive_bucket,
        )

    def deployed_rules(self) -> RuleSet:
        if self.rules is None:
            raise ValueError(f"{resources.ENV_RULES_PATH} is not set")
        return self.rules

    def archive_bucket(self) -> str:
        if self.archive is None:
            raise ValueError(f"{resources.ENV_ARCHIVE_BUCKET} is not set")
        return self.archive
