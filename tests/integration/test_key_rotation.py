"""A rotated key takes effect without a deploy: a function keeps what it read of a secret for five minutes
(Powertools' secrets provider), then reads it again."""

from __future__ import annotations

import json
import time
from dataclasses import replace
from typing import Any

import boto3
import pytest

from functions.collect import handler as collect
from leadscore.adapters.secrets import SecretKeys
from leadscore.resources import GENERATED_KEY_FIELD
from leadscore_local.aws import LOCAL_WRITE_KEY, LocalResources
from tests.integration.conftest import Invoke, api_event, basic

pytestmark = pytest.mark.integration
NEW_KEY = "rotated-write-key"


class CountingSecrets:
    """Secrets Manager, its reads counted."""

    def __init__(self) -> None:
        self._client = boto3.client("secretsmanager")
        self.reads = 0

    def get_secret_value(self, **kwargs: Any) -> Any:
        self.reads += 1
        return self._client.get_secret_value(**kwargs)


def rotate(secret_id: str, key: str, *keys: str) -> None:
    secret = {GENERATED_KEY_FIELD: key, "keys": list(keys)}
    boto3.client("secretsmanager").put_secret_value(SecretId=secret_id, SecretString=json.dumps(secret))


def status_with(invoke: Invoke, key: str) -> int:
    body = json.dumps({"type": "track", "userId": "ann@roboco.com", "event": "Demo Requested"}).encode()
    headers = {"authorization": basic(key), "content-type": "application/json"}
    status: int = invoke("collect", api_event("/v1/track", body, headers))["statusCode"]
    return status


def test_a_secret_is_read_once_and_kept_five_minutes(aws: LocalResources) -> None:
    client = CountingSecrets()
    keys = SecretKeys(aws.write_keys_secret, client)  # type: ignore[arg-type]  # a counting wrapper
    assert keys.keys() == {LOCAL_WRITE_KEY}
    rotate(aws.write_keys_secret, LOCAL_WRITE_KEY, NEW_KEY)
    for _ in range(3):
        assert keys.keys() == {LOCAL_WRITE_KEY}
    assert client.reads == 1


def test_a_rotated_key_works_once_the_kept_copy_expires_and_the_old_one_stops_when_replaced(
    aws: LocalResources, invoke: Invoke
) -> None:
    # Given collect keeping its write keys one second instead of five minutes
    kept_a_second = SecretKeys(aws.write_keys_secret, max_age=1)
    collect.wiring.wire(replace(collect.Collaborators.from_settings(), write_keys=kept_a_second))
    assert (status_with(invoke, LOCAL_WRITE_KEY), status_with(invoke, NEW_KEY)) == (200, 401)

    # When the new key is added beside the old one, it works once the kept copy has expired
    rotate(aws.write_keys_secret, LOCAL_WRITE_KEY, NEW_KEY)
    assert status_with(invoke, NEW_KEY) == 401
    time.sleep(1.05)
    assert (status_with(invoke, LOCAL_WRITE_KEY), status_with(invoke, NEW_KEY)) == (200, 200)

    # Then replacing the old key stops it, and only it
    rotate(aws.write_keys_secret, NEW_KEY)
    time.sleep(1.05)
    assert (status_with(invoke, LOCAL_WRITE_KEY), status_with(invoke, NEW_KEY)) == (401, 200)
