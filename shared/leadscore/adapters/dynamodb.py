"""The lead table: one small item per lead, written with a version condition so no update is lost.

The item (:class:`StoredLead`) carries short attribute names, because DynamoDB bills names as well as
values; the engine's state is one compact binary attribute. Index keys are written only when they
change: ``acct`` is set once, and ``due`` (the decay index) stays put while it is still early enough.
"""

from __future__ import annotations

import base64
import json
import zlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import boto3
from botocore.exceptions import ClientError
from pydantic import BaseModel, ConfigDict

from leadscore.engine import Signal, decode_state, encode_state
from leadscore.errors import ConcurrentUpdate
from leadscore.identity import MAX_HOPS, erasure_key
from leadscore.ports import PurgePass
from leadscore.records import ErasedLead, FollowUp, LeadRecord, LeadSummary, MergedLead, Outcome, StoredItem
from leadscore.resources import BAND_SHARDS, LEADS_TABLE, NEVER_DUE, TTL_ATTRIBUTE

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import AttributeValueTypeDef, WriteRequestTypeDef

Item = Mapping[str, "AttributeValueTypeDef"]

SCHEMA_VERSION = 2
LEAD_PREFIX = "L#"
LEAD_SORT_KEY = "L"
# A lead's outcome: its own item in the lead's partition (no index attribute, so in no index).
OUTCOME_SORT_KEY = "O"
# Sales' latest follow-up: the same, sort key F.
FOLLOW_UP_SORT_KEY = "F"
BATCH_GET_LIMIT = 100
BATCH_WRITE_LIMIT = 25
PARALLEL_QUERIES = 16
# The suppression list: an item per erased id, keyed by its erasure key (a hash, never the id).
SUPPRESSED_PREFIX = "X#"
SUPPRESSED_SORT_KEY = "X"
# The archive purge's work, in one partition (erasures are rare): an item per pending erasure, and the
# pass under way.
PURGE_PARTITION = "P"
PURGE_PENDING_PREFIX = "E#"
PURGE_PASS_SORT_KEY = "pass"
_PK, _SK = LEADS_TABLE.partition_key.name, LEADS_TABLE.sort_key.name
_ACCOUNT, _BAND, _MERGE = LEADS_TABLE.account_index, LEADS_TABLE.band_index, LEADS_TABLE.merge_index


class StoredLead(BaseModel):
    """The lead item, attribute by attribute (``sv`` names this layout, so old items can be migrated).

    ``v`` counts writes and guards them; ``st`` is the engine's state (``encode_state``); the summary
    (``sc`` ... ``at``) lets the stream and listings read a score without the rules; ``sig`` holds the
    signals the write raised; ``acct`` and ``bsh``/``due`` are the index keys; ``cid`` the request behind
    the write (the correlation id in the logs); ``exp`` when DynamoDB's TTL may delete the item (its last
    activity plus the retention) and ``kp`` (1) on a lead sales recorded a follow-up or an outcome for,
    which never expires. A merged id's item holds only its keys, ``v`` and ``mi``, the lead it was merged
    into.
    """

    model_config = ConfigDict(frozen=True)

    pk: str
    sk: str = LEAD_SORT_KEY
    sv: int = SCHEMA_VERSION
    v: int
    mi: str | None = None
    st: bytes = b""
    sc: float = 0.0
    fi: float = 0.0
    en: float = 0.0
    bd: str = ""
    sg: str = ""
    gr: str = ""
    rv: str = ""
    at: int = 0
    sig: str | None = None
    acct: str | None = None
    bsh: str | None = None
    due: int | None = None
    cid: str | None = None
    exp: int | None = None
    kp: int | None = None

    @classmethod
    def of(cls, record: LeadRecord, retention: timedelta | None = None) -> StoredLead:
        summary = record.summary
        last = record.state.last_at
        expires = (
            last + int(retention.total_seconds())
            if retention is not None and last is not None and not record.kept
            else None
        )
        due = record.decay_due_at
        indexed = record.listed or due is not None
        # Every value is typed by the record it comes from: nothing to validate again.
        return cls.model_construct(
            pk=LEAD_PREFIX + record.lead_id,
            v=record.version,
            st=encode_state(record.state),
            sc=summary.score,
            fi=summary.fit,
            en=summary.engagement,
            bd=summary.band,
            sg=summary.stage,
            gr=summary.grade,
            rv=summary.rules_version,
            at=int(summary.as_of.timestamp()),
            sig=_signals_out(record.signals) if record.signals else None,
            acct=record.state.account_id,
            bsh=band_partition(summary.band, record.lead_id) if indexed else None,
            due=(int(due.timestamp()) if due is not None else NEVER_DUE) if indexed else None,
            cid=record.correlation_id,
            exp=expires,
            kp=1 if record.kept else None,
        )

    @classmethod
    def merged(cls, merged: MergedLead) -> StoredLead:
        return cls(pk=LEAD_PREFIX + merged.lead_id, v=merged.version, mi=merged.into)

    def stored(self) -> LeadRecord | MergedLead:
        if self.sv != SCHEMA_VERSION:
            raise ValueError(f"lead item schema {self.sv} is not {SCHEMA_VERSION}: migrate it first")
        lead_id = self.pk.removeprefix(LEAD_PREFIX)
        if self.mi is not None:
            return MergedLead(lead_id=lead_id, version=self.v, into=self.mi)
        return LeadRecord(
            lead_id=lead_id,
            version=self.v,
            state=decode_state(self.st, lead_id, self.acct),
            summary=LeadSummary(
                score=self.sc,
                fit=self.fi,
                engagement=self.en,
                band=self.bd,
                stage=self.sg,
                grade=self.gr,
                rules_version=self.rv,
                as_of=datetime.fromtimestamp(self.at, UTC),
            ),
            signals=_signals_in(self.sig, lead_id) if self.sig else [],
            decay_due_at=datetime.fromtimestamp(self.due, UTC)
            if self.due is not None and self.due != NEVER_DUE
            else None,
            listed=self.bsh is not None,
            correlation_id=self.cid,
            kept=bool(self.kp),
        )

    def attribute_values(self) -> dict[str, AttributeValueTypeDef]:
        item: dict[str, AttributeValueTypeDef] = {}
        names = (_PK, _SK, "sv", "v", "mi") if self.mi is not None else type(self).model_fields
        for name in names:
            value = getattr(self, name)
            if value is None:
                continue
            if isinstance(value, bytes):
                item[name] = {"B": value}
            elif isinstance(value, int | float):
                item[name] = {"N": repr(value)}
            else:
                item[name] = {"S": value}
        return item

    @classmethod
    def from_attribute_values(cls, item: Item) -> StoredLead:
        """Also reads the images of the table's stream, which use the same attribute-value form."""
        values: dict[str, Any] = {}
        for name, value in item.items():
            if name not in cls.model_fields:
                continue
            ((kind, raw),) = value.items()
            # A Lambda event (the stream) carries binary values base64-encoded; boto3 gives bytes.
            values[name] = base64.b64decode(raw) if kind == "B" and isinstance(raw, str) else raw
        return cls.model_validate(values)


def _signals_out(signals: list[Signal]) -> str:
    """``[kind, at, band, points, reasons]`` each: the id is the lead, the kind and the time."""
    rows = [[s.kind, int(s.at.timestamp()), s.band, s.points, s.reasons] for s in signals]
    return json.dumps(rows, separators=(",", ":"))


def _signals_in(text: str, lead_id: str) -> list[Signal]:
    signals = []
    for kind, at, band, points, reasons in json.loads(text):
        moment = datetime.fromtimestamp(at, UTC)
        signal_id = Signal.id_for(lead_id, kind, moment)
        signals.append(Signal(id=signal_id, kind=kind, at=moment, band=band, points=points, reasons=reasons))
    return signals


def band_partition(band: str, lead_id: str) -> str:
    """The band and one of BAND_SHARDS shards, so no one partition takes every write of a band."""
    return _partition(band, zlib.crc32(lead_id.encode()) % BAND_SHARDS)


def _partition(band: str, shard: int) -> str:
    return f"{band}#{shard}"


def _suppression_key(key: str) -> dict[str, AttributeValueTypeDef]:
    return {_PK: {"S": SUPPRESSED_PREFIX + key}, _SK: {"S": SUPPRESSED_SORT_KEY}}


def _purge_key(sort_key: str) -> dict[str, AttributeValueTypeDef]:
    return {_PK: {"S": PURGE_PARTITION}, _SK: {"S": sort_key}}


def _band_partitions(bands: Sequence[str]) -> Iterator[str]:
    for band in bands:
        for shard in range(BAND_SHARDS):
            yield _partition(band, shard)


def _condition_held(write: Callable[[], object]) -> bool:
    """Make a conditional write; whether its condition held (a failed condition is an answer here)."""
    try:
        write()
    except ClientError as error:
        if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
            return False
        raise
    return True


def item_to_outcome(item: Item) -> Outcome:
    """A lead's outcome item (``oc``, ``val``, ``oat``)."""
    return Outcome(
        outcome=item["oc"]["S"],
        value=float(item["val"]["N"]) if "val" in item else None,
        at=datetime.fromtimestamp(int(item["oat"]["N"]), UTC),
    )


FIRST_FOLLOW_UP_ATTRIBUTE = "ffat"
"""On the follow-up item: when sales first followed the lead up (``fat`` is the latest follow-up's)."""


def first_follow_up_at(item: Item) -> datetime:
    """The first follow-up's time on a follow-up item (items written before it was kept: the latest's)."""
    return datetime.fromtimestamp(int(item.get(FIRST_FOLLOW_UP_ATTRIBUTE, item["fat"])["N"]), UTC)


def _follow_up(item: Item) -> FollowUp:
    return FollowUp(
        status=item["fs"]["S"],
        by=item["fby"]["S"],
        at=datetime.fromtimestamp(int(item["fat"]["N"]), UTC),
    )


def lead_key(lead_id: str, sort_key: str = LEAD_SORT_KEY) -> dict[str, AttributeValueTypeDef]:
    """The key of the lead's item, or of an item beside it (its outcome, its follow-up)."""
    return {_PK: {"S": LEAD_PREFIX + lead_id}, _SK: {"S": sort_key}}


def _lead_id(item: Item) -> str:
    """The lead id of an item or index entry keyed by the lead."""
    return str(item[_PK]["S"]).removeprefix(LEAD_PREFIX)


def record_to_item(
    record: LeadRecord, retention: timedelta | None = None
) -> dict[str, AttributeValueTypeDef]:
    return StoredLead.of(record, retention).attribute_values()


def item_to_stored(item: Item) -> LeadRecord | MergedLead:
    return StoredLead.from_attribute_values(item).stored()


def item_to_record(item: Item) -> LeadRecord:
    """A live lead's item (a merged id's item is not a record: see :func:`item_to_stored`)."""
    stored = item_to_stored(item)
    if not isinstance(stored, LeadRecord):
        raise ValueError(f"{stored.lead_id!r} was merged into {stored.into!r}")
    return stored


MERGES_KEPT = 100_000


class DynamoLeadRepository:
    """Merge markers are never written again once written, so the ones seen are kept (up to
    ``MERGES_KEPT``, a few MB) and not read again: analytics.js puts the anonymous id on every message,
    and each batch would otherwise re-read the marker of every visitor who identified."""

    def __init__(
        self, table_name: str, client: DynamoDBClient | None = None, *, retention: timedelta | None = None
    ) -> None:
        self._table = table_name
        self._client = client or boto3.client("dynamodb")
        self._merges: dict[str, MergedLead] = {}
        self._retention = retention

    def read(self, lead_id: str) -> StoredItem | None:
        return self.read_many([lead_id]).get(lead_id)

    def get(self, lead_id: str) -> LeadRecord | None:
        stored = self.read(lead_id)
        return stored if isinstance(stored, LeadRecord) else None

    def read_many(self, lead_ids: Sequence[str], *, consistent: bool = True) -> dict[str, StoredItem]:
        found: dict[str, StoredItem] = {key: self._merges[key] for key in lead_ids if key in self._merges}
        keys = [lead_key(lead_id) for lead_id in lead_ids if lead_id not in found]
        for item in self._batch_get(keys, consistent=consistent):
            stored = self._kept(item_to_stored(item))
            found[stored.lead_id] = stored
        missing = [lead_id for lead_id in lead_ids if lead_id not in found]
        return found | {lead_id: ErasedLead(lead_id=lead_id) for lead_id in self.suppressed(missing)}

    def suppressed(self, lead_ids: Sequence[str]) -> list[str]:
        """The ids on the suppression list, strongly consistent (so that no write can follow an erasure's
        delete and bring the lead back). Scoring asks only for ids without an item (a new lead, or one
        erased); a replay asks for every id it meets."""
        by_key = {erasure_key(lead_id): lead_id for lead_id in lead_ids}
        keys = [_suppression_key(key) for key in by_key]
        return [
            by_key[item[_PK]["S"].removeprefix(SUPPRESSED_PREFIX)]
            for item in self._batch_get(keys, consistent=True)
        ]

    def get_many(self, lead_ids: Sequence[str], *, consistent: bool = True) -> dict[str, LeadRecord]:
        return {
            lead_id: stored
            for lead_id, stored in self.read_many(lead_ids, consistent=consistent).items()
            if isinstance(stored, LeadRecord)
        }

    def _batch_get(
        self, keys: Sequence[dict[str, AttributeValueTypeDef]], *, consistent: bool
    ) -> Iterator[Item]:
        """Every item of ``keys`` that exists, a hundred keys per request, unprocessed keys asked again."""
        for start in range(0, len(keys), BATCH_GET_LIMIT):
            pending: list[Any] = list(keys[start : start + BATCH_GET_LIMIT])
            while pending:
                response = self._client.batch_get_item(
                    RequestItems={self._table: {"Keys": pending, "ConsistentRead": consistent}}
                )
                yield from response["Responses"].get(self._table, [])
                unprocessed = response.get("UnprocessedKeys", {}).get(self._table)
                pending = list(unprocessed["Keys"]) if unprocessed else []

    def save(self, record: LeadRecord, expected_version: int) -> None:
        self._put(record.lead_id, record_to_item(record, self._retention), expected_version)

    def mark_merged(self, merged: MergedLead, expected_version: int) -> None:
        self._put(merged.lead_id, StoredLead.merged(merged).attribute_values(), expected_version)
        self._kept(merged)

    def merged_into(self, lead_id: str) -> list[str]:
        """Breadth first along the merge markers that name ``lead_id``, then the ids merged into those."""
        found: list[str] = []
        targets = [lead_id]
        for _ in range(MAX_HOPS):
            merged = [
                _lead_id(item)
                for target in targets
                for item in self._query(
                    _MERGE.name,
                    "#into = :into",
                    {"#into": _MERGE.partition_key.name},
                    {":into": {"S": target}},
                )
            ]
            targets = [merged_id for merged_id in merged if merged_id not in found and merged_id != lead_id]
            if not targets:
                break
            found += targets
        return found

    def erase(self, lead_ids: Sequence[str], at: datetime) -> None:
        """The suppression entries and the purge's work first: from then on no score write can recreate
        the lead (its conditional put fails on the deleted item, and the re-read finds it suppressed)."""
        moment: AttributeValueTypeDef = {"N": str(int(at.timestamp()))}
        keys = [erasure_key(lead_id) for lead_id in lead_ids]
        _batch_write(
            self._client,
            self._table,
            [{"PutRequest": {"Item": {**_suppression_key(key), "at": moment}}} for key in keys]
            + [
                {"PutRequest": {"Item": {**_purge_key(PURGE_PENDING_PREFIX + key), "at": moment}}}
                for key in keys
            ],
        )
        _batch_write(
            self._client,
            self._table,
            [
                {"DeleteRequest": {"Key": lead_key(lead_id, sort_key)}}
                for lead_id in lead_ids
                for sort_key in (LEAD_SORT_KEY, OUTCOME_SORT_KEY, FOLLOW_UP_SORT_KEY)
            ],
        )
        for lead_id in lead_ids:
            self._merges.pop(lead_id, None)

    def _kept(self, stored: StoredItem) -> StoredItem:
        if isinstance(stored, MergedLead) and len(self._merges) < MERGES_KEPT:
            self._merges[stored.lead_id] = stored
        return stored

    def _put(self, lead_id: str, item: dict[str, AttributeValueTypeDef], expected_version: int) -> None:
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
            self._client.put_item(TableName=self._table, Item=item, **condition)
        except ClientError as error:
            if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
                raise ConcurrentUpdate(lead_id) from error
            raise

    def record_outcome(self, lead_id: str, outcome: Outcome) -> bool:
        """``oc``, ``val``, ``oat``: the CRM's latest word wins whatever order it arrives in."""
        values: dict[str, AttributeValueTypeDef] = {"oc": {"S": outcome.outcome}}
        if outcome.value is not None:
            values["val"] = {"N": repr(outcome.value)}
        self._keep(lead_id)
        return self._put_latest(lead_id, OUTCOME_SORT_KEY, "oat", outcome.at, values)

    def outcome_of(self, lead_id: str) -> Outcome | None:
        item = self._side_item(lead_id, OUTCOME_SORT_KEY)
        return item_to_outcome(item) if item is not None else None

    def record_follow_up(self, lead_id: str, follow_up: FollowUp) -> bool:
        """``fs``, ``fby``, ``fat``: the latest follow-up wins; ``ffat``: the first follow-up's time stays
        (the calibration report's speed to lead), whatever order they are recorded in."""
        self._keep(lead_id)
        key = lead_key(lead_id, FOLLOW_UP_SORT_KEY)
        moment: AttributeValueTypeDef = {"N": str(int(follow_up.at.timestamp()))}
        kept = self._update_if(
            key,
            "SET #status = :status, #by = :by, #at = :at",
            "attribute_not_exists(#at) OR #at <= :at",
            {"#status": "fs", "#by": "fby", "#at": "fat"},
            {":status": {"S": follow_up.status}, ":by": {"S": follow_up.by}, ":at": moment},
        )
        self._update_if(
            key,
            "SET #first = :at",
            "attribute_not_exists(#first) OR #first > :at",
            {"#first": FIRST_FOLLOW_UP_ATTRIBUTE},
            {":at": moment},
        )
        return kept

    def _update_if(
        self,
        key: dict[str, AttributeValueTypeDef],
        update: str,
        condition: str,
        names: dict[str, str],
        values: dict[str, AttributeValueTypeDef],
    ) -> bool:
        """One conditional update; whether its condition held."""
        return _condition_held(
            lambda: self._client.update_item(
                TableName=self._table,
                Key=key,
                UpdateExpression=update,
                ConditionExpression=condition,
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
            )
        )

    def _keep(self, lead_id: str) -> None:
        """Mark the lead kept (``kp``) and drop its expiry, once: what sales recorded on it must not lose
        its lead. The version moves on, so a score write that read the lead before fails its condition
        and re-reads the mark; the lead first, so no follow-up or outcome outlives it."""
        self._update_if(
            lead_key(lead_id),
            "SET #kp = :one, #v = #v + :one REMOVE #exp",
            "attribute_exists(#v) AND attribute_not_exists(#mi) AND attribute_not_exists(#kp)",
            {"#kp": "kp", "#v": "v", "#exp": TTL_ATTRIBUTE, "#mi": "mi"},
            {":one": {"N": "1"}},
        )

    def follow_up_of(self, lead_id: str) -> FollowUp | None:
        item = self._side_item(lead_id, FOLLOW_UP_SORT_KEY)
        return _follow_up(item) if item is not None else None

    def _put_latest(
        self,
        lead_id: str,
        sort_key: str,
        time_name: str,
        at: datetime,
        values: dict[str, AttributeValueTypeDef],
    ) -> bool:
        """A small item beside the lead (no index attribute), written unless a later one is there."""
        moment: AttributeValueTypeDef = {"N": str(int(at.timestamp()))}
        item = {**lead_key(lead_id, sort_key), time_name: moment, **values}
        return _condition_held(
            lambda: self._client.put_item(
                TableName=self._table,
                Item=item,
                ConditionExpression="attribute_not_exists(#at) OR #at <= :at",
                ExpressionAttributeNames={"#at": time_name},
                ExpressionAttributeValues={":at": moment},
            )
        )

    def _side_item(self, lead_id: str, sort_key: str) -> Item | None:
        key = lead_key(lead_id, sort_key)
        return self._client.get_item(TableName=self._table, Key=key, ConsistentRead=True).get("Item")

    def leads_of_account(self, account_id: str) -> list[LeadRecord]:
        """The account's members: their keys from the index, their items in batches."""
        keys = self._query(
            _ACCOUNT.name,
            "#account = :account",
            {"#account": _ACCOUNT.partition_key.name},
            {":account": {"S": account_id}},
        )
        ids = [_lead_id(item) for item in keys]
        return list(self.get_many(ids).values())

    def due_for_decay(self, now: datetime, bands: Sequence[str]) -> Iterator[str]:
        """Every band's and shard's leads due by ``now``, earliest first within a partition."""
        for partition in _band_partitions(bands):
            items = self._query(
                _BAND.name,
                "#band = :band AND #due <= :now",
                {"#band": _BAND.partition_key.name, "#due": _BAND.sort_key.name},
                {":band": {"S": partition}, ":now": {"N": str(int(now.timestamp()))}},
            )
            for item in items:
                yield _lead_id(item)

    def leads_in_bands(self, bands: Sequence[str]) -> list[LeadRecord]:
        """The leads the band index holds under ``bands``: keys from every shard (queried in parallel:
        a person waits for the list), items in batches, both eventually consistent (half the read
        units; a list may lag a write by a second)."""

        def ids_in(partition: str) -> list[str]:
            values: dict[str, AttributeValueTypeDef] = {":band": {"S": partition}}
            keys = self._query(_BAND.name, "#band = :band", {"#band": _BAND.partition_key.name}, values)
            return [_lead_id(item) for item in keys]

        with ThreadPoolExecutor(max_workers=PARALLEL_QUERIES) as pool:
            ids = [lead_id for found in pool.map(ids_in, _band_partitions(bands)) for lead_id in found]
        return list(self.get_many(ids, consistent=False).values())

    def follow_ups_of(self, lead_ids: Sequence[str]) -> dict[str, FollowUp]:
        """The follow-ups kept for ``lead_ids`` (those that have one), in batches."""
        keys = [lead_key(lead_id, FOLLOW_UP_SORT_KEY) for lead_id in lead_ids]
        return {_lead_id(item): _follow_up(item) for item in self._batch_get(keys, consistent=False)}

    def _query(
        self,
        index: str,
        condition: str,
        names: dict[str, str],
        values: dict[str, AttributeValueTypeDef],
    ) -> Iterator[Item]:
        """Every item of an index query, page after page (the indexes project keys only)."""
        pages = self._client.get_paginator("query").paginate(
            TableName=self._table,
            IndexName=index,
            KeyConditionExpression=condition,
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=values,
        )
        for page in pages:
            yield from page.get("Items", [])


class DynamoPurgeWork:
    """The archive purge's work items (``PURGE_PARTITION``): pending erasures and the pass under way."""

    def __init__(self, table_name: str, client: DynamoDBClient | None = None) -> None:
        self._table = table_name
        self._client = client or boto3.client("dynamodb")

    def current_pass(self) -> PurgePass | None:
        item = self._client.get_item(
            TableName=self._table, Key=_purge_key(PURGE_PASS_SORT_KEY), ConsistentRead=True
        ).get("Item")
        if item is None:
            return None
        return PurgePass(keys=tuple(json.loads(item["keys"]["S"])), cursor=item["cursor"]["S"])

    def start_pass(self) -> PurgePass | None:
        pages = self._client.get_paginator("query").paginate(
            TableName=self._table,
            KeyConditionExpression="#pk = :pk AND begins_with(#sk, :pending)",
            ExpressionAttributeNames={"#pk": _PK, "#sk": _SK},
            ExpressionAttributeValues={
                ":pk": {"S": PURGE_PARTITION},
                ":pending": {"S": PURGE_PENDING_PREFIX},
            },
            ConsistentRead=True,
        )
        keys = tuple(
            item[_SK]["S"].removeprefix(PURGE_PENDING_PREFIX)
            for page in pages
            for item in page.get("Items", [])
        )
        if not keys:
            return None
        started = PurgePass(keys=keys)
        self.save_progress(started)
        return started

    def save_progress(self, purge: PurgePass) -> None:
        item = {
            **_purge_key(PURGE_PASS_SORT_KEY),
            "keys": {"S": json.dumps(purge.keys)},
            "cursor": {"S": purge.cursor},
        }
        self._client.put_item(TableName=self._table, Item=item)

    def finish_pass(self, purge: PurgePass) -> None:
        done = [PURGE_PENDING_PREFIX + key for key in purge.keys] + [PURGE_PASS_SORT_KEY]
        _batch_write(self._client, self._table, [{"DeleteRequest": {"Key": _purge_key(key)}} for key in done])


def _batch_write(client: DynamoDBClient, table: str, requests: Sequence[WriteRequestTypeDef]) -> None:
    """Every request, 25 per BatchWriteItem, the unprocessed ones sent again."""
    for start in range(0, len(requests), BATCH_WRITE_LIMIT):
        pending: list[Any] = list(requests[start : start + BATCH_WRITE_LIMIT])
        while pending:
            response = client.batch_write_item(RequestItems={table: pending})
            pending = list(response.get("UnprocessedItems", {}).get(table, []))
