"""The local stack's fault injector in front of moto's server: botocore reads each injected fault as the
error AWS sends (and retries it), a timed-out DynamoDB write was made, and the draws follow the seed."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import boto3
import botocore.endpoint
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError, ConnectionClosedError

from leadscore_local.aws import REGION, MotoAws
from leadscore_local.faults import Call, FaultInjector, FaultPlan

pytestmark = pytest.mark.integration

CALLS = 40


@pytest.fixture
def name() -> str:
    """The table's, the bucket's and the topic's: moto's backends outlive its server in this process."""
    return f"faults-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def moto(monkeypatch: pytest.MonkeyPatch, name: str) -> Iterator[MotoAws]:
    """moto's server with a table and a bucket; this process's AWS variables put back after."""
    for variable in ("ENDPOINT_URL", "ACCESS_KEY_ID", "SECRET_ACCESS_KEY", "DEFAULT_REGION", "REGION"):
        monkeypatch.delenv(f"AWS_{variable}", raising=False)
    server = MotoAws()
    server.start()
    server.client("dynamodb").create_table(
        TableName=name,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
    )
    server.client("s3").create_bucket(Bucket=name)
    yield server
    server.stop()


def client(moto: MotoAws, service: str, attempts: int) -> Any:
    return boto3.client(  # type: ignore[call-overload]
        service,
        endpoint_url=moto.endpoint,
        region_name=REGION,
        config=Config(retries={"mode": "standard", "total_max_attempts": attempts}),
    )


def outcome(call: Any) -> str:
    """What botocore made of one call: ok, the error code it read, or the connection closing on it."""
    try:
        call()
    except ClientError as error:
        return str(error.response["Error"]["Code"])
    except ConnectionClosedError:
        return "timeout"
    return "ok"


@pytest.mark.parametrize(
    ("service", "expected"),
    [
        (
            "dynamodb",
            {"ProvisionedThroughputExceededException", "ThrottlingException", "InternalServerError"},
        ),
        ("sns", {"Throttling", "InternalError"}),
        ("s3", {"SlowDown", "InternalError"}),
        ("secretsmanager", {"ThrottlingException", "InternalServerError"}),
    ],
)
def test_each_fault_reads_as_the_error_aws_sends_in_the_services_protocol(
    moto: MotoAws, name: str, service: str, expected: set[str]
) -> None:
    topic = moto.client("sns").create_topic(Name=name)["TopicArn"]
    secret = moto.client("secretsmanager").create_secret(Name=name, SecretString="{}")["ARN"]
    injector = FaultInjector(FaultPlan(1.0, (service,), seed=1, timeout_seconds=0))
    moto.serve_through(injector.wrap)
    once = client(moto, service, attempts=1)
    calls = {
        "dynamodb": lambda: once.get_item(TableName=name, Key={"pk": {"S": "a"}}),
        "sns": lambda: once.publish(TopicArn=topic, Message="hello"),
        "s3": lambda: once.put_object(Bucket=name, Key="a", Body=b"a"),
        "secretsmanager": lambda: once.get_secret_value(SecretId=secret),
    }

    seen = {outcome(calls[service]) for _ in range(CALLS)}

    assert seen == expected | {"timeout"}
    assert sum(injector.injected.values()) == CALLS
    assert sum(injector.ran_out.values()) == CALLS  # one attempt each: every fault reached the caller


def test_a_timed_out_dynamodb_write_was_made_and_retries_ride_out_a_tenth_of_calls_failing(
    moto: MotoAws, name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(botocore.endpoint, "time", SimpleNamespace(sleep=lambda _: None, time=time.time))
    injector = FaultInjector(FaultPlan(0.1, ("dynamodb:PutItem",), seed=2, timeout_seconds=0))
    moto.serve_through(injector.wrap)
    patient = client(moto, "dynamodb", attempts=10)

    for n in range(CALLS * 5):
        patient.put_item(TableName=name, Item={"pk": {"S": f"lead{n}"}})
    once = client(moto, "dynamodb", attempts=1)
    counts = {outcome(lambda: once.scan(TableName=name, Select="COUNT")) for _ in range(CALLS)}

    assert moto.client("dynamodb").scan(TableName=name, Select="COUNT")["Count"] == CALLS * 5
    assert injector.injected["dynamodb timeout"] > 0
    assert 0.05 < sum(injector.injected.values()) / (CALLS * 5) < 0.2
    assert not injector.ran_out
    assert counts == {"ok"}  # only the chosen operation fails


def test_the_same_seed_draws_the_same_faults() -> None:
    def drawn(seed: int) -> list[str]:
        injector = FaultInjector(FaultPlan(0.3, ("dynamodb",), seed=seed))
        faults = [injector.draw(Call("dynamodb", "GetItem", "json")) for _ in range(CALLS)]
        return [fault.code if fault else "ok" for fault in faults]

    first = drawn(5)
    assert first == drawn(5)
    assert first != drawn(6)
    assert {"ok", "timeout", "ThrottlingException"} <= set(first)
