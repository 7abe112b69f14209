"""Each function's configuration: a validated model read from the environment at handler entry."""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import timedelta
from functools import cache
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel, ConfigDict, Field

from leadscore import resources
from leadscore.rules import RuleSet, load_rules

Settings = TypeVar("Settings", bound=BaseModel)


class _FromEnvironment(BaseModel):
    model_config = ConfigDict(frozen=True, populate_by_name=True)


class CollectSettings(_FromEnvironment):
    queue_url: str = Field(alias=resources.ENV_QUEUE_URL, min_length=1)
    write_keys_secret: str = Field(alias=resources.ENV_WRITE_KEYS_SECRET, min_length=1)
    # The rule file's ``forms:`` section configures the form endpoint.
    rules_path: Path = Field(alias=resources.ENV_RULES_PATH)
    openapi_path: Path = Field(alias=resources.ENV_OPENAPI_PATH)


class LeadsSettings(_FromEnvironment):
    table_name: str = Field(alias=resources.ENV_TABLE_NAME, min_length=1)
    read_keys_secret: str = Field(alias=resources.ENV_READ_KEYS_SECRET, min_length=1)
    admin_keys_secret: str = Field(alias=resources.ENV_ADMIN_KEYS_SECRET, min_length=1)
    rules_path: Path = Field(alias=resources.ENV_RULES_PATH)
    retention_days: int = Field(alias=resources.ENV_RETENTION_DAYS, ge=0)

    @property
    def retention(self) -> timedelta | None:
        return retention(self.retention_days)


class ScoringSettings(_FromEnvironment):
    """What the score and decay functions both read."""

    table_name: str = Field(alias=resources.ENV_TABLE_NAME, min_length=1)
    rules_path: Path = Field(alias=resources.ENV_RULES_PATH)
    # The lead items they write expire this long after the lead's last activity (0: never).
    retention_days: int = Field(alias=resources.ENV_RETENTION_DAYS, ge=0)

    @property
    def retention(self) -> timedelta | None:
        return retention(self.retention_days)


class ScoreSettings(ScoringSettings):
    archive_bucket: str = Field(alias=resources.ENV_ARCHIVE_BUCKET, min_length=1)


class PurgeSettings(_FromEnvironment):
    table_name: str = Field(alias=resources.ENV_TABLE_NAME, min_length=1)
    archive_bucket: str = Field(alias=resources.ENV_ARCHIVE_BUCKET, min_length=1)


class NotifySettings(_FromEnvironment):
    topic_arn: str = Field(alias=resources.ENV_TOPIC_ARN, min_length=1)
    rules_path: Path = Field(alias=resources.ENV_RULES_PATH)
    # An alert names the account's other engaged people (read through the account index).
    table_name: str = Field(alias=resources.ENV_TABLE_NAME, min_length=1)


def retention(days: int) -> timedelta | None:
    """The retention of inactive leads; 0 days is none (they are kept for ever)."""
    return timedelta(days=days) if days else None


def load_settings(model: type[Settings], environ: Mapping[str, str] | None = None) -> Settings:
    """Validate ``model`` from the environment; a missing variable fails loudly, naming it."""
    return model.model_validate(dict(os.environ if environ is None else environ))


@cache
def rules_at(path: Path) -> RuleSet:
    """The rule file, parsed once per container."""
    return load_rules(path)
