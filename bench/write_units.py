"""The SQS path on moto: collect -> SQS -> score, counting DynamoDB requests and billed write units."""

from __future__ import annotations

import copy
import json
import os
import time
from collections import Counter
from typing import Any

import boto3
from moto import mock_aws

from bench.dynamodb_size import item_size, write_units
from bench.traffic import messages
from leadscore import resources
from leadscore.local.aws import provision
from leadscore.local.runtime import LocalFunction, sample_event
from leadscore.rules import DEFAULT_RULES_FILE

BATCH = 100


class DynamoMeter:
    """Counts DynamoDB requests by operation and the write units their items bill."""

    def __init__(self) -> None:
        self.requests: Counter[str] = Counter()
        self.write_units = 0
        self.item_sizes: list[int] = []

    def __call__(self, params: dict[str, Any], event_name: str, **_: Any) -> None:
        operation = event_name.rsplit(".", 1)[-1]
        self.requests[operation] += 1
        if operation == "PutItem":
            self.item_sizes.append(item_size(params["Item"]))
            self.write_units += write_units(params["Item"])


def run(leads: int, events_per_lead: int) -> None:
    os.environ.update(
        AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench", AWS_DEFAULT_REGION="us-east-1"
    )
    os.environ.pop("AWS_ENDPOINT_URL", None)
    os.environ["POWERTOOLS_LOG_LEVEL"] = "ERROR"
    traffic = messages(leads, events_per_lead)
    with mock_aws():
        session = boto3.setup_default_session(region_name="us-east-1") or boto3.DEFAULT_SESSION
        meter = DynamoMeter()
        session.events.register("provide-client-params.dynamodb", meter)
        created = provision(boto3.client)
        os.environ.update(created.function_environment())
        os.environ[resources.ENV_RULES_PATH] = str(DEFAULT_RULES_FILE)
        collect, score = LocalFunction("collect"), LocalFunction("score")

        request = sample_event("apigw_http_batch.json")
        sqs = boto3.client("sqs")
        template = sample_event("sqs_batch.json")["Records"][0]
        batches = scored = 0
        collected = scoring = 0.0
        meter.requests.clear()
        # Collect one request, then score what it queued: moto's queue slows down as it fills.
        for start in range(0, len(traffic), BATCH):
            event = copy.deepcopy(request)
            event["body"] = json.dumps({"batch": traffic[start : start + BATCH]})
            started = time.perf_counter()
            assert collect.invoke(event)["statusCode"] == 200
            collected += time.perf_counter() - started
            received = _drain(sqs, created.queue_url)
            records = [{**template, "messageId": m["MessageId"], "body": m["Body"]} for m in received]
            started = time.perf_counter()
            failures = score.invoke({"Records": records})["batchItemFailures"]
            scoring += time.perf_counter() - started
            assert not failures, failures
            batches += 1
            scored += len(received)

    sizes = sorted(meter.item_sizes)
    requests = sum(meter.requests.values())
    print("SQS path on moto (collect -> SQS -> score, one conditional write per lead per batch)")
    print(f"  events ingested:      {len(traffic)} for {leads} leads")
    print(f"  collect throughput:   {len(traffic) / collected:,.0f} events/s")
    print(f"  score batches:        {batches} of up to {resources.SCORE_QUEUE.batch_size} events")
    print(f"  score throughput:     {scored / scoring:,.0f} events/s (moto's in-process DynamoDB included)")
    print(f"  DynamoDB requests:    {dict(meter.requests)} = {requests / scored:.3f} per event")
    print(f"  write units (billed): {meter.write_units} = {meter.write_units / scored:.3f} WCU per event")
    print(f"  lead item size:       median {sizes[len(sizes) // 2]} B, max {sizes[-1]} B (1 WCU = 1024 B)")


def _drain(sqs: Any, queue_url: str) -> list[dict[str, Any]]:
    """Everything on the queue, deleted as the event source mapping deletes a successful batch."""
    received: list[dict[str, Any]] = []
    while got := sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", []):
        received += got
        sqs.delete_message_batch(
            QueueUrl=queue_url,
            Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(got)],
        )
    return received
