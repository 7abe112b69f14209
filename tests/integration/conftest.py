"""moto-backed AWS with the service's resources, created from the same specifications as the stack."""

from __future__ import annotations

import gzip
import importlib
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from leadscore import resources
from leadscore.local.aws import LocalResources, provision
from leadscore.local.runtime import LocalContext
from leadscore.openapi import OPENAPI_FILE
from leadscore.rules import DEFAULT_RULES_FILE
from leadscore.wiring import scoring_collaborators

Invoke = Callable[[str, dict[str, Any]], Any]


@pytest.fixture
def aws(aws_credentials: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[LocalResources]:
    with mock_aws():
        created = provision(boto3.client)
        for name, value in created.function_environment().items():
            monkeypatch.setenv(name, value)
        monkeypatch.setenv(resources.ENV_RULES_PATH, str(DEFAULT_RULES_FILE))
        monkeypatch.setenv(resources.ENV_OPENAPI_PATH, str(OPENAPI_FILE))
        yield created


@pytest.fixture
def invoke(aws: LocalResources) -> Invoke:
    """Call a function's real handler as Lambda would, with clients made for this test's moto."""
    fresh: set[str] = set()
    scoring_collaborators.cache_clear()

    def call(name: str, event: dict[str, Any]) -> Any:
        module = importlib.import_module(f"functions.{name}.handler")
        if name not in fresh and hasattr(module, "_collaborators"):
            module._collaborators.cache_clear()
            fresh.add(name)
        spec = resources.FUNCTIONS[name]
        return module.handler(event, LocalContext(spec.name, spec.memory_mb, spec.timeout_seconds))

    return call


def archived(bucket: str) -> dict[str, list[str]]:
    """Each object in the archive bucket: its key and its lines, ungzipped."""
    s3 = boto3.client("s3")
    keys = [item["Key"] for item in s3.list_objects_v2(Bucket=bucket).get("Contents", [])]
    return {
        key: gzip.decompress(s3.get_object(Bucket=bucket, Key=key)["Body"].read()).decode().split("\n")[:-1]
        for key in keys
    }
