"""Which calls the local stack's fault injector fails: the service and operation it reads off a signed
request, in each of the protocols the stack's clients speak, and the plan's choice of targets."""

from __future__ import annotations

import io
from typing import Any

import pytest

from leadscore_local.faults import Call, FaultPlan, identify

SIGNED = "AWS4-HMAC-SHA256 Credential=local/20261205/us-east-1/{service}/aws4_request, SignedHeaders=host"


def request(
    service: str, method: str = "POST", path: str = "/", body: bytes = b"", **extra: str
) -> dict[str, Any]:
    return {
        "HTTP_AUTHORIZATION": SIGNED.format(service=service),
        "HTTP_AMZ_SDK_REQUEST": "attempt=2; max=4",
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "QUERY_STRING": "",
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.input": io.BytesIO(body),
        **extra,
    }


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        (
            request("dynamodb", HTTP_X_AMZ_TARGET="DynamoDB_20120810.PutItem"),
            Call("dynamodb", "PutItem", "json", 2, 4),
        ),
        (
            request("dynamodb", HTTP_X_AMZ_TARGET="DynamoDBStreams_20120810.GetRecords"),
            Call("dynamodbstreams", "GetRecords", "json", 2, 4),
        ),
        (
            request("sns", body=b"Action=Publish&TopicArn=arn&Message=hi"),
            Call("sns", "Publish", "query", 2, 4),
        ),
        (request("s3", "PUT", "/archive/raw/dt=2026-12-05/a.jsonl.gz"), Call("s3", "PutObject", "s3", 2, 4)),
        (
            request("s3", "GET", "/archive", QUERY_STRING="list-type=2&prefix=raw"),
            Call("s3", "ListObjectsV2", "s3", 2, 4),
        ),
        (request("s3", "GET", "/archive/raw/a.jsonl.gz"), Call("s3", "GetObject", "s3", 2, 4)),
        (request("s3", "POST", "/archive", QUERY_STRING="delete="), Call("s3", "DeleteObjects", "s3", 2, 4)),
    ],
)
def test_the_call_is_read_off_the_signed_request(environ: dict[str, Any], expected: Call) -> None:
    assert identify(environ) == expected


def test_a_query_calls_body_is_left_for_moto_to_read() -> None:
    environ = request("sns", body=b"Action=Publish&Message=hi")

    identify(environ)

    assert environ["wsgi.input"].read() == b"Action=Publish&Message=hi"


def test_an_unsigned_request_is_never_failed() -> None:
    assert identify({"REQUEST_METHOD": "GET", "PATH_INFO": "/moto-api/"}) is None


def test_a_plan_fails_the_services_and_operations_it_names() -> None:
    plan = FaultPlan.parse(0.1, "sns, dynamodb:PutItem")

    assert plan.covers(Call("sns", "Publish", "query"))
    assert plan.covers(Call("dynamodb", "PutItem", "json"))
    assert not plan.covers(Call("dynamodb", "GetItem", "json"))
    assert not plan.covers(Call("s3", "PutObject", "s3"))
    assert plan.describe() == "10% of sns, dynamodb:PutItem calls fail (seed 0)"


@pytest.mark.parametrize(
    ("rate", "targets", "timeout", "refusal"),
    [
        (1.5, "sns", 1.0, "a fraction from 0 to 1"),
        (-0.1, "sns", 1.0, "a fraction from 0 to 1"),
        (0.1, " , ", 1.0, "none given"),
        (0.1, "sns", -1.0, "0 s or more"),
    ],
)
def test_a_plan_out_of_bounds_is_refused(rate: float, targets: str, timeout: float, refusal: str) -> None:
    with pytest.raises(ValueError, match=refusal):
        FaultPlan.parse(rate, targets, timeout_seconds=timeout)
