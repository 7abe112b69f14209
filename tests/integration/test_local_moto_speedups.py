"""The local stack's patches to moto (leadscore_local.aws) answer as moto does: queues, items, streams."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from leadscore_local import aws as local_aws
from leadscore_local.aws import (
    call_in_process,
    speed_up_moto_dynamodb,
    speed_up_moto_server,
    speed_up_moto_sqs,
    speed_up_moto_streams,
)

QUEUE = "speedups"
TABLE = "speedups"


@pytest.fixture
def moto(aws_credentials: None) -> Iterator[None]:
    with mock_aws():
        speed_up_moto_sqs()
        speed_up_moto_dynamodb()
        speed_up_moto_streams()
        speed_up_moto_server()
        yield


def _queue(sqs: Any, **attributes: str) -> str:
    url: str = sqs.create_queue(QueueName=QUEUE, Attributes=attributes)["QueueUrl"]
    return url


def _counts(sqs: Any, url: str) -> tuple[int, int, int]:
    names = [
        "ApproximateNumberOfMessages",
        "ApproximateNumberOfMessagesNotVisible",
        "ApproximateNumberOfMessagesDelayed",
    ]
    found = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=names)["Attributes"]
    visible, in_flight, delayed = (int(found[name]) for name in names)
    return visible, in_flight, delayed


def test_a_queue_hands_out_its_messages_in_order_and_counts_them(moto: None) -> None:
    sqs = boto3.client("sqs")
    url = _queue(sqs, VisibilityTimeout="60")
    for start in range(0, 30, 10):
        sqs.send_message_batch(
            QueueUrl=url, Entries=[{"Id": str(n), "MessageBody": f"m{n}"} for n in range(start, start + 10)]
        )
    sqs.send_message(QueueUrl=url, MessageBody="later", DelaySeconds=60)
    assert _counts(sqs, url) == (30, 0, 1)

    received = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    assert [m["Body"] for m in received] == [f"m{n}" for n in range(10)]
    assert _counts(sqs, url) == (20, 10, 1)
    again = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    assert [m["Body"] for m in again] == [f"m{n}" for n in range(10, 20)]

    handles = [m["ReceiptHandle"] for m in received]
    deleted = sqs.delete_message_batch(
        QueueUrl=url, Entries=[{"Id": str(n), "ReceiptHandle": h} for n, h in enumerate(handles)]
    )
    assert len(deleted["Successful"]) == 10
    assert _counts(sqs, url) == (10, 10, 1)
    sqs.delete_message(QueueUrl=url, ReceiptHandle=handles[0])  # deleted already: accepted again
    with pytest.raises(ClientError, match="ReceiptHandleIsInvalid"):
        sqs.delete_message(QueueUrl=url, ReceiptHandle="not-a-handle")


def test_a_long_poll_on_messages_all_in_flight_waits_for_its_time(moto: None) -> None:
    sqs = boto3.client("sqs")
    url = _queue(sqs, VisibilityTimeout="60")
    sqs.send_message(QueueUrl=url, MessageBody="only")
    assert sqs.receive_message(QueueUrl=url)["Messages"]
    started = time.monotonic()
    assert "Messages" not in sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1)
    assert time.monotonic() - started >= 0.9


def test_only_the_latest_deleted_handles_are_remembered(moto: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(local_aws, "DELETED_HANDLES_KEPT", 3)
    sqs = boto3.client("sqs")
    url = _queue(sqs)
    sqs.send_message_batch(QueueUrl=url, Entries=[{"Id": str(n), "MessageBody": f"m{n}"} for n in range(5)])
    handles = [
        m["ReceiptHandle"] for m in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=5)["Messages"]
    ]
    for handle in handles:
        sqs.delete_message(QueueUrl=url, ReceiptHandle=handle)
    sqs.delete_message(QueueUrl=url, ReceiptHandle=handles[-1])
    with pytest.raises(ClientError, match="ReceiptHandleIsInvalid"):
        sqs.delete_message(QueueUrl=url, ReceiptHandle=handles[0])


def _table(dynamodb: Any) -> str:
    arn: str = dynamodb.create_table(
        TableName=TABLE,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )["TableDescription"]["LatestStreamArn"]
    return arn


def test_an_item_over_the_size_limit_is_refused_and_one_under_it_kept(moto: None) -> None:
    dynamodb = boto3.client("dynamodb")
    _table(dynamodb)
    small = {"pk": {"S": "small"}, **{f"a{n}": {"S": "x" * 1000} for n in range(300)}}
    dynamodb.put_item(TableName=TABLE, Item=small)
    assert dynamodb.get_item(TableName=TABLE, Key={"pk": {"S": "small"}})["Item"] == small
    large = {"pk": {"S": "large"}, **{f"a{n}": {"S": "x" * 1000} for n in range(410)}}
    with pytest.raises(ClientError, match="Item size has exceeded the maximum allowed size"):
        dynamodb.put_item(TableName=TABLE, Item=large)


def test_the_stream_gives_every_write_with_its_images_in_order(moto: None) -> None:
    dynamodb, streams = boto3.client("dynamodb"), boto3.client("dynamodbstreams")
    arn = _table(dynamodb)
    first = {"pk": {"S": "a"}, "n": {"N": "1.5"}, "b": {"B": b"\x00\xff"}, "l": {"L": [{"S": "x"}]}}
    second = {"pk": {"S": "a"}, "n": {"N": "2"}, "m": {"M": {"flag": {"BOOL": True}}}, "ns": {"NS": ["1"]}}
    dynamodb.put_item(TableName=TABLE, Item=first)
    dynamodb.put_item(TableName=TABLE, Item=second)
    dynamodb.delete_item(TableName=TABLE, Key={"pk": {"S": "a"}})
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    iterator = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")[
        "ShardIterator"
    ]
    page = streams.get_records(ShardIterator=iterator, Limit=2)
    rest = streams.get_records(ShardIterator=page["NextShardIterator"])
    records = page["Records"] + rest["Records"]
    assert [r["eventName"] for r in records] == ["INSERT", "MODIFY", "REMOVE"]
    images = [(r["dynamodb"].get("OldImage"), r["dynamodb"].get("NewImage")) for r in records]
    assert images == [(None, first), (first, second), (second, None)]
    numbers = [int(r["dynamodb"]["SequenceNumber"]) for r in records]
    assert numbers == sorted(set(numbers))
    written = [r["dynamodb"]["ApproximateCreationDateTime"].timestamp() for r in records]
    assert all(abs(moment - time.time()) < 60 for moment in written)
    assert streams.get_records(ShardIterator=rest["NextShardIterator"])["Records"] == []
    dynamodb.put_item(TableName=TABLE, Item=first)
    latest = streams.get_records(ShardIterator=rest["NextShardIterator"])["Records"]
    assert [(r["eventName"], r["dynamodb"]["NewImage"]) for r in latest] == [("INSERT", first)]


def test_a_shard_iterator_expires(moto: None, monkeypatch: pytest.MonkeyPatch) -> None:
    dynamodb, streams = boto3.client("dynamodb"), boto3.client("dynamodbstreams")
    arn = _table(dynamodb)
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    iterator = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="LATEST")[
        "ShardIterator"
    ]
    following = streams.get_records(ShardIterator=iterator)["NextShardIterator"]
    monkeypatch.setattr(local_aws, "SHARD_ITERATOR_SECONDS", 0)
    streams.get_records(ShardIterator=following)  # the one asked with is looked up after the others expire
    with pytest.raises(ClientError, match="ExpiredIteratorException"):
        streams.get_records(ShardIterator=iterator)


def test_clients_of_this_process_reach_moto_without_its_server(aws_credentials: None) -> None:
    """Through call_in_process, requests for the endpoint reach the application given, not the network."""
    seen: list[str] = []
    endpoint = "http://127.0.0.1:9"  # nothing listens there
    with mock_aws():
        from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

        moto_app = DomainDispatcherApplication(create_backend_app)

        def app(environ: dict[str, Any], start_response: Any) -> Any:
            seen.append(environ["PATH_INFO"])
            return moto_app(environ, start_response)

        call_in_process(endpoint, lambda: app)
        s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
        s3.create_bucket(Bucket="speedups")
        body = bytes(range(256)) * 4
        s3.put_object(Bucket="speedups", Key="a key/with space", Body=body)
        assert s3.get_object(Bucket="speedups", Key="a key/with space")["Body"].read() == body
        sqs = boto3.client("sqs", endpoint_url=endpoint, region_name="us-east-1")
        url = sqs.create_queue(QueueName="through")["QueueUrl"]
        sqs.send_message(QueueUrl=url, MessageBody="héllo")
        assert sqs.receive_message(QueueUrl=url)["Messages"][0]["Body"] == "héllo"
    assert "/speedups/a key/with space" in seen
