"""The re-scoring workers' configuration, validated from the environment at handler entry; their
collaborators, built once per container."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from leadscore import resources
from leadscore.adapters.dynamodb import DynamoLeadRepository
from leadscore.adapters.rescore_work import S3RescoreWork
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


@cache
def rescore_settings() -> RescoreSettings:
    return load_settings(RescoreSettings)


@cache
def table() -> DynamoLeadRepository:
    settings = rescore_settings()
    return DynamoLeadRepository(settings.table_name, retention=retention(settings.retention_days or 0))


def work_bucket() -> S3RescoreWork:
    """A new one per invocation: it counts the invocation's requests."""
    return S3RescoreWork(rescore_settings().work_bucket)


def deployed_rules() -> RuleSet:
    """The layer's rule file (map 2 and the catch-up: their specs name it)."""
    path = rescore_settings().rules_path
    if path is None:
        raise ValueError(f"{resources.ENV_RULES_PATH} is not set")
    return rules_at(path)


def archive_bucket() -> str:
    """The archive (map 1 and the catch-up: their specs name it)."""
    bucket = rescore_settings().archive_bucket
    if bucket is None:
        raise ValueError(f"{resources.ENV_ARCHIVE_BUCKET} is not set")
    return bucket
