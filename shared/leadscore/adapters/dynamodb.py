"""The lead table: one item per lead, written with a version condition so no update is lost."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import boto3
from botocore.exceptions import ClientError

from leadscore.engine import LeadState, Signal
from leadscore.errors import ConcurrentUpdate
from leadscore.records import LeadRecord, LeadSummary
from leadscore.resources import LEADS_TABLE

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import AttributeValueTypeDef

Item = Mapping[str, "AttributeValueTypeDef"]

LEAD_PREFIX = "LEAD#"
LEAD_SORT_KEY = "LEAD"
DECAY_SHARD = "due"
BATCH_GET_LIMIT = 100
_ACCOUNT_INDEX, _DECAY_INDEX = (index.name for index in LEADS_TABLE.indexes)
_PK, _SK = LEADS_TABLE.partition_key, LEADS_TABLE.sort_key


def lead_key(lead_id: str) -> dict[str, AttributeValueTypeDef]:
    return {_PK: {"S": LEAD_PREFIX + lead_id}, _SK: {"S": LEAD_SORT_KEY}}


def _timestamp(value: datetime) -> str:
    """Sortable: the same UTC offset and precision everywhere."""
    return value.astimezone(UTC).isoformat(timespec="seconds")


def record_to_item(record: LeadRecord) -> dict[str, AttributeValueTypeDef]:
    summary = record.summary
    item: dict[str, AttributeValueTypeDef] = {
        **lead_key(record.lead_id),
        "lead_id": {"S": record.lead_id},
        "v": {"N": str(record.version)},
        "st": {"S": record.state.model_dump_json(exclude_defaults=True)},
        "score": {"N": repr(summary.score)},
        "fit": {"N": repr(summary.fit)},
        "eng": {"N": repr(summary.engagement)},
        "band": {"S": summary.band},
        "stage": {"S": summary.stage},
        "grade": {"S": summary.grade},
        "rv": {"S": summary.rules_version},
        "at": {"S": _timestamp(summary.as_of)},
    }
    if record.signals:
        item["sig"] = {"S": json.dumps([signal.model_dump(mode="json") for signal in record.signals])}
    if record.state.account_id:
        item[LEADS_TABLE.indexes[0].partition_key] = {"S": record.state.account_id}
    if record.decay_due_at is not None:
        item[LEADS_TABLE.indexes[1].partition_key] = {"S": DECAY_SHARD}
        item[LEADS_TABLE.indexes[1].sort_key] = {"S": _timestamp(record.decay_due_at)}
    return item


def item_to_record(item: Item) -> LeadRecord:
    """Also reads the images of the table's stream, which use the same attribute-value form."""

    def text(name: str) -> str:
        return item[name]["S"]

    def number(name: str) -> float:
        return float(item[name]["N"])

    due = item.get(LEADS_TABLE.indexes[1].sort_key)
    return LeadRecord(
        lead_id=text("lead_id"),
        version=int(number("v")),
        state=LeadState.model_validate_json(text("st")),
        summary=LeadSummary(
            score=number("score"),
            fit=number("fit"),
            engagement=number("eng"),
            band=text("band"),
            stage=text("stage"),
            grade=text("grade"),
            rules_version=text("rv"),
            as_of=datetime.fromisoformat(text("at")),
        ),
        signals=[Signal.model_validate(raw) for raw in json.loads(text("sig"))] if "sig" in item else [],
        decay_due_at=datetime.fromisoformat(due["S"]) if due else None,
    )


class DynamoLeadRepository:
    def __init__(self, table_name: str, client: DynamoDBClient | None = None) -> None:
        self._table = table_name
        self._client = client or boto3.client("dynamodb")

    def get(self, lead_id: str) -> LeadRecord | None:
        response = self._client.get_item(TableName=self._table, Key=lead_key(lead_id), ConsistentRead=True)
        return item_to_record(response["Item"]) if "Item" in response else None

    def get_many(self, lead_ids: Sequence[str]) -> dict[str, LeadRecord]:
        found: dict[str, LeadRecord] = {}
        for start in range(0, len(lead_ids), BATCH_GET_LIMIT):
            keys: list[Any] = [lead_key(lead_id) for lead_id in lead_ids[start : start + BATCH_GET_LIMIT]]
            while keys:
                response = self._client.batch_get_item(
                    RequestItems={self._table: {"Keys": keys, "ConsistentRead": True}}
                )
                for item in response["Responses"].get(self._table, []):
                    record = item_to_record(item)
                    found[record.lead_id] = record
                unprocessed = response.get("UnprocessedKeys", {}).get(self._table)
                keys = list(unprocessed["Keys"]) if unprocessed else []
        return found

    def save(self, record: LeadRecord, expected_version: int) -> None:
        condition: dict[str, Any] = (
            {"ConditionExpression": "attribute_not_exists(#pk)", "ExpressionAttributeNames": {"#pk": _PK}}
            if expected_version == 0
            else {
                "ConditionExpression": "#v = :expected",
                "ExpressionAttributeNames": {"#v": "v"},
                "ExpressionAttributeValues": {":expected": {"N": str(expected_version)}},
            }
        )
        try:
            self._client.put_item(TableName=self._table, Item=record_to_item(record), **condition)
        except ClientError as error:
            if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
                raise ConcurrentUpdate(record.lead_id) from error
            raise

    def leads_of_account(self, account_id: str) -> list[LeadRecord]:
        index = LEADS_TABLE.indexes[0]
        items = self._query(
            index.name, "#account = :account", {"#account": index.partition_key}, {":account": account_id}
        )
        return [item_to_record(item) for item in items]

    def due_for_decay(self, now: datetime) -> Iterator[str]:
        index = LEADS_TABLE.indexes[1]
        items = self._query(
            index.name,
            "#shard = :shard AND #due <= :now",
            {"#shard": index.partition_key, "#due": index.sort_key},
            {":shard": DECAY_SHARD, ":now": _timestamp(now)},
            projection="lead_id",
        )
        for item in items:
            yield item["lead_id"]["S"]

    def _query(
        self,
        index: str,
        condition: str,
        names: dict[str, str],
        values: dict[str, str],
        projection: str | None = None,
    ) -> Iterator[Item]:
        """Every item of an index query, page after page; ``values`` are strings, as the index keys are."""
        extra: dict[str, Any] = {}
        if projection is not None:
            names = {**names, "#projected": projection}
            extra["ProjectionExpression"] = "#projected"
        pages = self._client.get_paginator("query").paginate(
            TableName=self._table,
            IndexName=index,
            KeyConditionExpression=condition,
            ExpressionAttributeNames=names,
            ExpressionAttributeValues={name: {"S": value} for name, value in values.items()},
            **extra,
        )
        for page in pages:
            yield from page.get("Items", [])
