"""moto-backed AWS with the service's resources, created from the same specifications as the stack."""

from __future__ import annotations

import base64
import gzip
import importlib
import json
from collections.abc import Callable, Iterator
from types import ModuleType
from typing import Any
from urllib.parse import quote, urlencode

import boto3
import pytest
from moto import mock_aws

from leadscore import resources
from leadscore_local.aws import LocalResources, provision
from leadscore_local.pollers import lambda_message_attributes
from leadscore_local.runtime import LocalContext
from tests.conftest import load_event

Invoke = Callable[[str, dict[str, Any]], Any]


@pytest.fixture
def aws(aws_credentials: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[LocalResources]:
    with mock_aws():
        created = provision(boto3.client)
        for name, value in created.function_environment().items():
            monkeypatch.setenv(name, value)
        yield created


def handler_module(name: str) -> ModuleType:
    """``functions/<name>/handler.py``: its ``handler``, its ``Collaborators`` and their ``wiring``."""
    return importlib.import_module(f"functions.{name}.handler")


@pytest.fixture
def invoke(aws: LocalResources) -> Iterator[Invoke]:
    """Call a function's real handler as Lambda would: its collaborators built from this test's settings
    (its moto) on its first call, as in a new container, unless the test wired its own."""
    redeployed()

    def call(name: str, event: dict[str, Any]) -> Any:
        spec = resources.FUNCTIONS[name]
        context = LocalContext(spec.name, spec.memory_mb, spec.timeout_seconds)
        return handler_module(name).handler(event, context)

    yield call
    redeployed()


def redeployed() -> None:
    """What a deploy does to every function: its next invocation, in a new container, builds its
    collaborators from the settings then in force (after a test changed the environment)."""
    for name in resources.FUNCTIONS:
        handler_module(name).wiring.unwire()


def archived(bucket: str) -> dict[str, list[str]]:
    """Each object in the archive bucket: its key and its lines, ungzipped."""
    s3 = boto3.client("s3")
    keys = [item["Key"] for item in s3.list_objects_v2(Bucket=bucket).get("Contents", [])]
    return {
        key: gzip.decompress(s3.get_object(Bucket=bucket, Key=key)["Body"].read()).decode().split("\n")[:-1]
        for key in keys
    }


def sqs_batch(aws: LocalResources, *, visibility_seconds: int = 0) -> tuple[dict[str, Any], list[str]]:
    """Up to ten queued messages as the SQS event source hands them to score, and their receipt handles
    (received with ``visibility_seconds``: 0 leaves them in the queue, as a failed invocation would)."""
    received = (
        boto3.client("sqs")
        .receive_message(
            QueueUrl=aws.queue_url,
            MaxNumberOfMessages=10,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
            VisibilityTimeout=visibility_seconds,
        )
        .get("Messages", [])
    )
    return {"Records": sqs_records(received)}, [m["ReceiptHandle"] for m in received]


def sqs_records(received: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Messages from ReceiveMessage as the SQS event source puts them in score's event."""
    template = load_event("sqs_batch.json")["Records"][0]
    return [
        {
            **template,
            "messageId": m["MessageId"],
            "body": m["Body"],
            "attributes": m["Attributes"],
            "messageAttributes": lambda_message_attributes(m),
        }
        for m in received
    ]


def score_queued(invoke: Invoke, aws: LocalResources) -> None:
    """Score everything queued and delete it, as the event source does after a successful batch."""
    sqs = boto3.client("sqs")
    while (batch := sqs_batch(aws, visibility_seconds=30))[0]["Records"]:
        event, handles = batch
        assert invoke("score", event) == {"batchItemFailures": []}
        for handle in handles:
            sqs.delete_message(QueueUrl=aws.queue_url, ReceiptHandle=handle)


def api_event(path: str, body: bytes, headers: dict[str, str], route: str | None = None) -> dict[str, Any]:
    """An API Gateway request for collect (``route``: the route's own path when it has parameters)."""
    event = load_event("apigw_http_batch.json")
    route_path = route or path.split("?", maxsplit=1)[0]
    event["routeKey"] = event["requestContext"]["routeKey"] = f"POST {route_path}"
    event["rawPath"] = event["requestContext"]["http"]["path"] = path.split("?", maxsplit=1)[0]
    event["rawQueryString"] = path.partition("?")[2]
    event["headers"] = headers
    event["body"] = base64.b64encode(body).decode()
    event["isBase64Encoded"] = True
    return event


def basic(key: str) -> str:
    return "Basic " + base64.b64encode(f"{key}:".encode()).decode()


def call_api(
    invoke: Invoke,
    method: str,
    route: str,
    *,
    path: dict[str, str] | None = None,
    query: dict[str, str] | None = None,
    body: Any = None,
    key: str | None = None,
) -> tuple[int, Any]:
    """A request to the function that serves ``method route`` (as API Gateway routes it), with ``key``
    as a bearer token; its status and its JSON body (or its text, when it is not JSON)."""
    (function,) = [r.function for r in resources.ROUTES if (r.method, r.path) == (method, route)]
    raw_path = route
    for name, value in (path or {}).items():
        raw_path = raw_path.replace(f"{{{name}}}", quote(value, safe="@"))
    event = load_event("apigw_http_lead.json")
    event["routeKey"] = event["requestContext"]["routeKey"] = f"{method} {route}"
    event["rawPath"] = event["requestContext"]["http"]["path"] = raw_path
    event["requestContext"]["http"]["method"] = method
    event["rawQueryString"] = urlencode(query or {})
    event["queryStringParameters"] = query or None
    event["pathParameters"] = path or None
    event["headers"] = {
        "content-type": "application/json",
        **({"authorization": f"Bearer {key}"} if key else {}),
    }
    event["body"] = json.dumps(body) if body is not None else None
    event["isBase64Encoded"] = False
    response = invoke(function, event)
    try:
        return response["statusCode"], json.loads(response["body"])
    except ValueError:
        return response["statusCode"], response["body"]
