"""The bench's meter bills what the DynamoDB developer guide says, on hand-made cases (moto in process)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from bench.meter import (
    IndexSchema,
    Meter,
    TableSchema,
    index_write_sizes,
    item_size,
    number_size,
    read_units,
    write_units,
)

TABLE = "meter-test"
REGION = "us-east-1"


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name, value in {
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_DEFAULT_REGION": REGION,
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        yield


@pytest.fixture(params=[True, False], ids=["remembering", "fetching"])
def meter(aws: None, request: pytest.FixtureRequest) -> Iterator[Meter]:
    with Meter(remember_items=request.param) as installed:
        yield installed


@pytest.fixture
def dynamodb(meter: Meter) -> Any:
    """A client created after the meter, on a small table with a KEYS_ONLY and an INCLUDE index."""
    client = boto3.session.Session(region_name=REGION).client("dynamodb")
    client.create_table(
        TableName=TABLE,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[
            {"AttributeName": name, "AttributeType": "S"} for name in ("pk", "grp", "due", "cat")
        ],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        GlobalSecondaryIndexes=[
            {
                "IndexName": "keys-only",
                "KeySchema": [
                    {"AttributeName": "grp", "KeyType": "HASH"},
                    {"AttributeName": "due", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "KEYS_ONLY"},
            },
            {
                "IndexName": "include",
                "KeySchema": [{"AttributeName": "cat", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["score"]},
            },
        ],
    )
    meter.reset()
    return client


def item(pk: str, size: int, **extra: str) -> dict[str, Any]:
    """An item of exactly ``size`` bytes by the guide's rules (``pk`` and the padding are strings)."""
    attributes = {"pk": {"S": pk}, **{name: {"S": value} for name, value in extra.items()}}
    padding = size - item_size(attributes) - len("pad")
    assert padding >= 0
    attributes["pad"] = {"S": "x" * padding}
    assert item_size(attributes) == size
    return attributes


def table_units(meter: Meter) -> float:
    return meter.reading().table(TABLE).write_units


def index_writes(meter: Meter, index: str) -> tuple[int, float]:
    totals = meter.reading().table(TABLE).indexes[index]
    return totals.writes, totals.write_units


# --- sizes -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("number", "size"),
    [
        ("7", 2),  # 1 significant digit: 1 byte + 1
        ("12", 2),
        ("123", 3),
        ("12345", 4),
        ("100", 2),  # trailing zeros trimmed
        ("0.001", 2),  # leading zeros trimmed
        ("1234567890", 6),
        ("-12.5", 3),
        ("0", 2),
        ("12345678901234567890123456789012345678", 20),  # 38 digits, the most DynamoDB keeps
    ],
)
def test_a_number_takes_one_byte_per_two_significant_digits_plus_one(number: str, size: int) -> None:
    assert number_size(number) == size


def test_item_size_is_names_plus_values_with_list_and_map_overhead() -> None:
    assert item_size({"name": {"S": "héllo"}}) == 4 + 6  # UTF-8 bytes
    assert item_size({"n": {"N": "123"}, "b": {"B": b"\x00\x01\x02"}, "t": {"BOOL": True}}) == 4 + 4 + 2
    assert item_size({"nothing": {"NULL": True}}) == 7 + 1
    # A map: 3 bytes, plus per element 1 byte + its name + its value.
    assert item_size({"m": {"M": {"a": {"S": "xy"}, "bb": {"N": "1"}}}}) == 1 + 3 + (1 + 1 + 2) + (1 + 2 + 2)
    assert item_size({"l": {"L": []}}) == 1 + 3
    assert item_size({"l": {"L": [{"S": "abc"}, {"N": "10"}]}}) == 1 + 3 + (1 + 3) + (1 + 2)
    assert item_size({"ss": {"SS": ["a", "bc"]}}) == 2 + 3


def test_units_round_up_per_started_kilobyte_and_four_kilobytes() -> None:
    assert [write_units(size) for size in (0, 1, 1024, 1025, 3072, 3073)] == [1, 1, 1, 2, 3, 4]
    assert read_units(5 * 1024, consistent=True) == 2
    assert read_units(5 * 1024, consistent=False) == 1
    assert read_units(3500, consistent=True) == 1
    assert read_units(0, consistent=False) == 0.5


# --- table writes ----------------------------------------------------------------------------------------


def test_a_500_byte_put_bills_one_write_unit(meter: Meter, dynamodb: Any) -> None:
    dynamodb.put_item(TableName=TABLE, Item=item("a", 500))
    assert table_units(meter) == 1
    assert meter.reading().table(TABLE).item_sizes == [500]


def test_a_1_5_kilobyte_put_bills_two(meter: Meter, dynamodb: Any) -> None:
    dynamodb.put_item(TableName=TABLE, Item=item("a", 1536))
    assert table_units(meter) == 2


def test_overwriting_a_3_kilobyte_item_with_500_bytes_bills_the_larger(meter: Meter, dynamodb: Any) -> None:
    dynamodb.put_item(TableName=TABLE, Item=item("a", 3 * 1024))
    meter.reset()
    dynamodb.put_item(TableName=TABLE, Item=item("a", 500))
    assert table_units(meter) == 3


def test_an_update_bills_the_larger_of_before_and_after(meter: Meter, dynamodb: Any) -> None:
    dynamodb.put_item(TableName=TABLE, Item=item("a", 900))
    meter.reset()
    dynamodb.update_item(
        TableName=TABLE,
        Key={"pk": {"S": "a"}},
        UpdateExpression="SET more = :more",
        ExpressionAttributeValues={":more": {"S": "y" * 1200}},
    )
    assert table_units(meter) == 3  # 900 + 4 + 1,200 bytes after
    meter.reset()
    dynamodb.update_item(TableName=TABLE, Key={"pk": {"S": "a"}}, UpdateExpression="REMOVE more")
    assert table_units(meter) == 3  # back to 900 bytes, but the item before was 2,104


def test_a_delete_bills_the_deleted_item(meter: Meter, dynamodb: Any) -> None:
    dynamodb.put_item(TableName=TABLE, Item=item("a", 2500))
    meter.reset()
    dynamodb.delete_item(TableName=TABLE, Key={"pk": {"S": "a"}})
    assert table_units(meter) == 3


def test_a_failed_conditional_write_still_bills_the_existing_item(meter: Meter, dynamodb: Any) -> None:
    dynamodb.put_item(TableName=TABLE, Item=item("a", 2100))
    meter.reset()
    with pytest.raises(dynamodb.exceptions.ConditionalCheckFailedException):
        dynamodb.put_item(
            TableName=TABLE, Item=item("a", 100), ConditionExpression="attribute_not_exists(pk)"
        )
    totals = meter.reading().table(TABLE)
    assert (totals.write_units, totals.writes, totals.failed_writes) == (3, 0, 1)
    meter.reset()
    with pytest.raises(dynamodb.exceptions.ConditionalCheckFailedException):
        dynamodb.put_item(TableName=TABLE, Item=item("new", 100), ConditionExpression="attribute_exists(pk)")
    assert table_units(meter) == 1  # no item: the minimum


def test_batch_write_bills_each_item_as_its_own_write(meter: Meter, dynamodb: Any) -> None:
    dynamodb.put_item(TableName=TABLE, Item=item("gone", 1500))
    meter.reset()
    dynamodb.batch_write_item(
        RequestItems={
            TABLE: [
                {"PutRequest": {"Item": item("a", 500)}},
                {"PutRequest": {"Item": item("b", 2049)}},
                {"DeleteRequest": {"Key": {"pk": {"S": "gone"}}}},
            ]
        }
    )
    assert table_units(meter) == 1 + 3 + 2


def test_a_transaction_bills_twice(meter: Meter, dynamodb: Any) -> None:
    dynamodb.transact_write_items(
        TransactItems=[
            {"Put": {"TableName": TABLE, "Item": item("a", 1500)}},
            {"Put": {"TableName": TABLE, "Item": item("b", 100)}},
        ]
    )
    assert table_units(meter) == 2 * 2 + 2 * 1


# --- index writes ----------------------------------------------------------------------------------------


def test_an_item_outside_every_index_costs_them_nothing(meter: Meter, dynamodb: Any) -> None:
    dynamodb.put_item(TableName=TABLE, Item=item("a", 300))
    assert index_writes(meter, "keys-only") == (0, 0)
    assert index_writes(meter, "include") == (0, 0)


def test_entering_a_keys_only_index_is_one_write(meter: Meter, dynamodb: Any) -> None:
    dynamodb.put_item(TableName=TABLE, Item=item("a", 3000, grp="g1", due="2026-01-01"))
    assert index_writes(meter, "keys-only") == (1, 1)  # the entry is keys only: far under 1 KB
    assert table_units(meter) == 3


def test_a_keys_only_entry_left_unchanged_costs_nothing(meter: Meter, dynamodb: Any) -> None:
    dynamodb.put_item(TableName=TABLE, Item=item("a", 300, grp="g1", due="2026-01-01"))
    meter.reset()
    dynamodb.put_item(TableName=TABLE, Item=item("a", 700, grp="g1", due="2026-01-01"))
    assert index_writes(meter, "keys-only") == (0, 0)
    assert table_units(meter) == 1


def test_changing_an_index_key_is_two_writes(meter: Meter, dynamodb: Any) -> None:
    dynamodb.put_item(TableName=TABLE, Item=item("a", 300, grp="g1", due="2026-01-01"))
    meter.reset()
    dynamodb.update_item(
        TableName=TABLE,
        Key={"pk": {"S": "a"}},
        UpdateExpression="SET due = :due",
        ExpressionAttributeValues={":due": {"S": "2026-02-01"}},
    )
    assert index_writes(meter, "keys-only") == (2, 2)


def test_leaving_an_index_is_one_write(meter: Meter, dynamodb: Any) -> None:
    dynamodb.put_item(TableName=TABLE, Item=item("a", 300, grp="g1", due="2026-01-01"))
    meter.reset()
    dynamodb.update_item(TableName=TABLE, Key={"pk": {"S": "a"}}, UpdateExpression="REMOVE due")
    assert index_writes(meter, "keys-only") == (1, 1)


def test_changing_an_included_attribute_is_one_write_and_others_none(meter: Meter, dynamodb: Any) -> None:
    dynamodb.put_item(TableName=TABLE, Item=item("a", 300, cat="c1", score="10"))
    assert index_writes(meter, "include") == (1, 1)
    meter.reset()
    dynamodb.update_item(
        TableName=TABLE,
        Key={"pk": {"S": "a"}},
        UpdateExpression="SET score = :score",
        ExpressionAttributeValues={":score": {"S": "11"}},
    )
    assert index_writes(meter, "include") == (1, 1)
    meter.reset()
    dynamodb.update_item(
        TableName=TABLE,
        Key={"pk": {"S": "a"}},
        UpdateExpression="SET note = :note",
        ExpressionAttributeValues={":note": {"S": "not projected"}},
    )
    assert index_writes(meter, "include") == (0, 0)


def test_an_index_write_bills_the_projected_entry_per_started_kilobyte() -> None:
    index = IndexSchema(name="all", keys=("grp",), projection="ALL")
    big = {"pk": {"S": "a"}, "grp": {"S": "g"}, "pad": {"S": "x" * 2100}}
    assert index_write_sizes(index, ("pk",), None, big) == [item_size(big)]
    moved = {**big, "grp": {"S": "h"}}
    assert [write_units(size) for size in index_write_sizes(index, ("pk",), big, moved)] == [3, 3]
    same_number = {**big, "n": {"N": "1.0"}}
    assert index_write_sizes(index, ("pk",), same_number, {**big, "n": {"N": "1"}}) == []


def test_the_lead_table_is_billed_with_the_indexes_resources_describes(aws: None) -> None:
    from leadscore.resources import LEADS_TABLE

    schema = Meter()._schema(LEADS_TABLE.local_name)
    assert [index.name for index in schema.indexes] == [index.name for index in LEADS_TABLE.indexes]
    assert schema == TableSchema.from_spec(LEADS_TABLE)


# --- reads -----------------------------------------------------------------------------------------------


def test_a_5_kilobyte_get_bills_two_read_units_strongly_consistent_one_eventually(
    meter: Meter, dynamodb: Any
) -> None:
    dynamodb.put_item(TableName=TABLE, Item=item("a", 5 * 1024))
    meter.reset()
    dynamodb.get_item(TableName=TABLE, Key={"pk": {"S": "a"}}, ConsistentRead=True)
    assert meter.reading().table(TABLE).read_units == 2
    meter.reset()
    dynamodb.get_item(TableName=TABLE, Key={"pk": {"S": "a"}})
    assert meter.reading().table(TABLE).read_units == 1
    meter.reset()
    dynamodb.get_item(TableName=TABLE, Key={"pk": {"S": "a"}}, ProjectionExpression="pk", ConsistentRead=True)
    assert meter.reading().table(TABLE).read_units == 2  # a projection does not make the read cheaper
    meter.reset()
    dynamodb.get_item(TableName=TABLE, Key={"pk": {"S": "missing"}}, ConsistentRead=True)
    assert meter.reading().table(TABLE).read_units == 1


def test_batch_get_rounds_each_item_up_before_summing(meter: Meter, dynamodb: Any) -> None:
    # The guide's example: 1.5 KB and 6.5 KB read as 4 KB + 8 KB = 12 KB, not 8 KB.
    dynamodb.put_item(TableName=TABLE, Item=item("a", 1536))
    dynamodb.put_item(TableName=TABLE, Item=item("b", 6656))
    meter.reset()
    dynamodb.batch_get_item(
        RequestItems={TABLE: {"Keys": [{"pk": {"S": "a"}}, {"pk": {"S": "b"}}], "ConsistentRead": True}}
    )
    assert meter.reading().table(TABLE).read_units == 3


def test_a_query_bills_the_summed_size_of_its_items_per_request(meter: Meter, dynamodb: Any) -> None:
    for name in "abc":
        dynamodb.put_item(TableName=TABLE, Item=item(name, 1500, cat="c1"))
    meter.reset()
    dynamodb.scan(TableName=TABLE, ConsistentRead=True)
    assert meter.reading().table(TABLE).read_units == 2  # 4,500 bytes: two started 4 KB
    meter.reset()
    dynamodb.query(
        TableName=TABLE,
        IndexName="include",
        KeyConditionExpression="cat = :cat",
        ExpressionAttributeValues={":cat": {"S": "c1"}},
    )
    reading = meter.reading().table(TABLE)
    assert reading.read_units == 0.5  # three small projected entries, eventually consistent
    assert reading.indexes["include"].read_units == 0.5


# --- requests --------------------------------------------------------------------------------------------


def test_every_request_is_counted_by_service_and_operation_and_sqs_by_64_kb_chunk(meter: Meter) -> None:
    sqs = boto3.client("sqs", region_name=REGION)
    url = sqs.create_queue(QueueName="q")["QueueUrl"]
    sqs.send_message_batch(
        QueueUrl=url, Entries=[{"Id": str(n), "MessageBody": "x" * 30_000} for n in range(5)]
    )
    s3 = boto3.client("s3", region_name=REGION)
    s3.create_bucket(Bucket="meter-test-archive")
    s3.put_object(Bucket="meter-test-archive", Key="k", Body=b"x")
    reading = meter.reading()
    assert reading.count("sqs", "SendMessageBatch") == 1
    assert reading.billed("sqs", "SendMessageBatch") == 3  # 150,000 bytes: three 64 KB chunks
    assert reading.count("s3", "PutObject") == 1


def test_the_meters_own_client_is_not_counted(meter: Meter, dynamodb: Any) -> None:
    meter.unmetered("dynamodb").get_item(TableName=TABLE, Key={"pk": {"S": "a"}})
    assert meter.reading().requests == {}
