"""API keys kept in a Secrets Manager secret as ``{"write_keys": [...], "read_keys": [...]}``."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import boto3
from pydantic import BaseModel, Field

if TYPE_CHECKING:
    from mypy_boto3_secretsmanager import SecretsManagerClient

CACHE_SECONDS = 300


class ApiKeys(BaseModel):
    write_keys: frozenset[str] = Field(min_length=1)
    read_keys: frozenset[str] = Field(min_length=1)


class SecretsKeyStore:
    """Re-reads the secret every few minutes, so a rotated key takes effect without a deploy."""

    def __init__(self, secret_id: str, client: SecretsManagerClient | None = None) -> None:
        self._secret_id = secret_id
        self._client = client or boto3.client("secretsmanager")
        self._keys: ApiKeys | None = None
        self._read_at = 0.0

    def write_keys(self) -> frozenset[str]:
        return self._current().write_keys

    def read_keys(self) -> frozenset[str]:
        return self._current().read_keys

    def _current(self) -> ApiKeys:
        if self._keys is None or time.monotonic() - self._read_at > CACHE_SECONDS:
            secret = self._client.get_secret_value(SecretId=self._secret_id)
            self._keys = ApiKeys.model_validate_json(secret["SecretString"])
            self._read_at = time.monotonic()
        return self._keys
