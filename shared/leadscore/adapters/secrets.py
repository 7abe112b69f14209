"""API keys kept in Secrets Manager: one secret per kind of key (write, read).

A secret holds ``{"key": "..."}`` as the stack generates it; to rotate without downtime add
``"keys": ["<new key>"]`` beside it, move the clients over, then replace ``key``.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import boto3
from pydantic import BaseModel, ConfigDict, Field, model_validator

from leadscore.resources import GENERATED_KEY_FIELD

if TYPE_CHECKING:
    from mypy_boto3_secretsmanager import SecretsManagerClient

CACHE_SECONDS = 300


class KeySecret(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    key: str | None = Field(default=None, alias=GENERATED_KEY_FIELD, min_length=1)
    keys: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _some_key(self) -> KeySecret:
        if not self.all():
            raise ValueError("the secret holds no key")
        return self

    def all(self) -> frozenset[str]:
        return frozenset([*self.keys, *([self.key] if self.key else [])])


class SecretKeys:
    """Re-reads its secret every few minutes, so a rotated key takes effect without a deploy."""

    def __init__(self, secret_id: str, client: SecretsManagerClient | None = None) -> None:
        self._secret_id = secret_id
        self._client = client or boto3.client("secretsmanager")
        self._keys: frozenset[str] = frozenset()
        self._read_at = 0.0

    def keys(self) -> frozenset[str]:
        if not self._keys or time.monotonic() - self._read_at > CACHE_SECONDS:
            secret = self._client.get_secret_value(SecretId=self._secret_id)
            self._keys = KeySecret.model_validate_json(secret["SecretString"]).all()
            self._read_at = time.monotonic()
        return self._keys
