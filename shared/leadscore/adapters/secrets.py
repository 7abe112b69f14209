"""API keys kept in Secrets Manager: one secret per kind of key (write, read).

A secret holds ``{"key": "..."}`` as the stack generates it; to rotate without downtime add
``"keys": ["<new key>"]`` beside it, move the clients over, then replace ``key``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from aws_lambda_powertools.utilities.parameters import SecretsProvider
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
    """The keys in one secret, through Powertools' secrets provider: kept ``max_age`` seconds, then read
    again, so a rotated key takes effect within five minutes without a deploy."""

    def __init__(
        self, secret_id: str, client: SecretsManagerClient | None = None, *, max_age: int = CACHE_SECONDS
    ) -> None:
        self._secret_id = secret_id
        self._max_age = max_age
        self._provider = SecretsProvider(boto3_client=client)
        self._read: tuple[str, frozenset[str]] = ("", frozenset())

    def keys(self) -> frozenset[str]:
        secret = self._provider.get(self._secret_id, max_age=self._max_age)
        if not isinstance(secret, str):
            raise TypeError(f"the secret {self._secret_id} holds no JSON text")
        if secret != self._read[0]:  # read again: validated again only when it changed
            self._read = (secret, KeySecret.model_validate_json(secret).all())
        return self._read[1]
