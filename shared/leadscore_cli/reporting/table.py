"""Reading the lead table for a report: one Scan, page by page, eventually consistent (half a read unit
per 4 KB read), every lead item with the outcome and follow-up items kept beside it. Merge markers, the
suppression list and the purge's work are passed over. The client is the caller's (boto3's, or one for
the local stack's moto endpoint)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from leadscore.adapters.dynamodb import (
    FOLLOW_UP_SORT_KEY,
    LEAD_PREFIX,
    LEAD_SORT_KEY,
    OUTCOME_SORT_KEY,
    first_follow_up_at,
    item_to_outcome,
    item_to_stored,
)
from leadscore.records import LeadRecord, Outcome
from leadscore.resources import LEADS_TABLE

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

OnPage = Callable[[int, float], None]
"""Called after each page with the items it held and the read units it cost."""

_PK, _SK = LEADS_TABLE.partition_key.name, LEADS_TABLE.sort_key.name


@dataclass
class TableContents:
    leads: dict[str, LeadRecord] = field(default_factory=dict)
    outcomes: dict[str, Outcome] = field(default_factory=dict)
    # When sales first followed each lead up (the speed to lead).
    first_follow_ups: dict[str, datetime] = field(default_factory=dict)
    items: int = 0
    pages: int = 0
    read_units: float = 0.0


def estimated_items(client: DynamoDBClient, table: str) -> int:
    """The table's item count as DynamoDB last published it (refreshed about every six hours)."""
    return int(client.describe_table(TableName=table)["Table"].get("ItemCount", 0))


def scan_table(client: DynamoDBClient, table: str, on_page: OnPage | None = None) -> TableContents:
    contents = TableContents()
    pages = client.get_paginator("scan").paginate(
        TableName=table, ConsistentRead=False, ReturnConsumedCapacity="TOTAL"
    )
    for page in pages:
        items = page.get("Items", [])
        units = float(page.get("ConsumedCapacity", {}).get("CapacityUnits", 0.0))
        for item in items:
            _keep(contents, item)
        contents.items += len(items)
        contents.pages += 1
        contents.read_units += units
        if on_page is not None:
            on_page(len(items), units)
    return contents


def _keep(contents: TableContents, item: Mapping[str, Any]) -> None:
    key, kind = str(item[_PK]["S"]), str(item[_SK]["S"])
    if not key.startswith(LEAD_PREFIX):
        return
    lead_id = key.removeprefix(LEAD_PREFIX)
    if kind == LEAD_SORT_KEY:
        stored = item_to_stored(item)
        if isinstance(stored, LeadRecord):
            contents.leads[lead_id] = stored
    elif kind == OUTCOME_SORT_KEY:
        contents.outcomes[lead_id] = item_to_outcome(item)
    elif kind == FOLLOW_UP_SORT_KEY:
        contents.first_follow_ups[lead_id] = first_follow_up_at(item)
