"""Operations on moto through the real handlers: one correlation id from the API request to the alert,
and the metrics each function writes."""

from __future__ import annotations

import importlib
import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from leadscore.adapters.dynamodb import DynamoLeadRepository
from leadscore_local.aws import LocalResources
from tests.conftest import load_event
from tests.integration.conftest import Invoke, sqs_batch

pytestmark = pytest.mark.integration

LEAD = "jane@acme-robotics.com"


def printed(output: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in output.splitlines() if line.startswith("{")]


def metric_totals(lines: list[dict[str, Any]]) -> dict[str, float]:
    totals: dict[str, float] = {}
    for line in lines:
        for directive in line.get("_aws", {}).get("CloudWatchMetrics", []):
            for metric in directive["Metrics"]:
                dimension = next((d for d in directive["Dimensions"][0] if d != "service"), None)
                name = f"{metric['Name']}[{line[dimension]}]" if dimension else metric["Name"]
                totals[name] = totals.get(name, 0) + sum(line[metric["Name"]])
    return totals


@pytest.fixture
def logs() -> Iterator[io.StringIO]:
    """What the functions' loggers write (their handler keeps the stdout it was created with)."""
    buffer = io.StringIO()
    handlers = {
        importlib.import_module(f"functions.{name}.handler").logger.registered_handler
        for name in ("collect", "score", "notify")
    }
    streams = {
        handler: handler.setStream(buffer)
        for handler in handlers
        if isinstance(handler, logging.StreamHandler)
    }
    yield buffer
    for handler, stream in streams.items():
        handler.setStream(stream)


def stream_event(aws: LocalResources) -> dict[str, Any]:
    """Every record of the table's stream so far, as the event source hands them to notify."""
    streams = boto3.client("dynamodbstreams")
    records = []
    for shard in streams.describe_stream(StreamArn=aws.stream_arn)["StreamDescription"]["Shards"]:
        iterator = streams.get_shard_iterator(
            StreamArn=aws.stream_arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        records += streams.get_records(ShardIterator=iterator)["Records"]
    return {"Records": [{**record, "eventSourceARN": aws.stream_arn} for record in records]}


def test_one_request_id_runs_from_collect_through_score_to_notify_with_each_functions_metrics(
    aws: LocalResources, invoke: Invoke, logs: io.StringIO, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a tracking call that API Gateway numbered
    request = load_event("apigw_http_batch.json")
    request_id = request["requestContext"]["requestId"]
    request["body"] = json.dumps(
        {
            "batch": [
                {"type": "identify", "userId": LEAD, "traits": {"email": LEAD, "title": "VP Engineering"}},
                {"type": "track", "userId": LEAD, "event": "Demo Requested"},
            ]
        }
    )
    # When collect, score and notify handle it
    assert invoke("collect", request)["statusCode"] == 200
    event, _ = sqs_batch(aws, visibility_seconds=30)
    assert {record["messageAttributes"]["correlation_id"]["stringValue"] for record in event["Records"]} == {
        request_id
    }
    assert invoke("score", event) == {"batchItemFailures": []}
    record = DynamoLeadRepository(aws.table_name).get(LEAD)
    assert record is not None
    assert record.correlation_id == request_id
    assert invoke("notify", stream_event(aws)) == {"batchItemFailures": []}

    # Then each function's logs carry the request's id, and each wrote its counts
    logged = {
        (line.get("function_name"), line["message"]): line.get("correlation_id")
        for line in printed(logs.getvalue())
    }
    assert logged[("collect", "accepted")] == request_id
    assert logged[("score", "batch scored")] == request_id
    assert logged[("notify", "alert published")] == request_id
    totals = metric_totals(printed(capsys.readouterr().out))
    assert totals["EventsAccepted"] == 2
    assert (totals["ArchiveObjectsWritten"], totals["LeadsScored"]) == (1, 1)
    assert totals["AlertsPublished[fast_track]"] >= 1


def test_a_refused_request_is_counted_by_its_reason(
    aws: LocalResources, invoke: Invoke, capsys: pytest.CaptureFixture[str]
) -> None:
    event = load_event("apigw_http_batch.json")
    event["headers"]["authorization"] = "Bearer local-read-key"
    assert invoke("collect", event)["statusCode"] == 401
    assert metric_totals(printed(capsys.readouterr().out)) == {"RequestsRejected[unauthorized]": 1}
