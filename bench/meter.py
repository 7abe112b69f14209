"""A meter that counts AWS requests and bills DynamoDB capacity the way the DynamoDB developer guide does.

Every request a boto3 client of this process makes (any service) is counted by service and operation,
through botocore's event hooks (``provide-client-params`` keeps the call's parameters, ``before-call``
reads the item before a write, ``after-call`` bills the outcome). For DynamoDB it computes what the
request bills, because moto reports no consumed capacity:

Item size ("DynamoDB item sizes and formats",
https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/CapacityUnitCalculations.html):
the sum of attribute names' and values' lengths. Strings: UTF-8 bytes. Numbers: about 1 byte per two
significant digits (leading and trailing zeros trimmed) plus 1. Binary: raw bytes. Null and Boolean:
1 byte. List and Map: 3 bytes of overhead plus 1 byte per element, plus the elements (a map element's
name counts as an attribute name). Sets: the sum of their elements.

Writes ("DynamoDB read and write operations",
https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/read-write-operations.html):
1 write unit per started KB of the *larger* of the item before and after the write (PutItem replacing an
item, UpdateItem, DeleteItem: the deleted item); BatchWriteItem bills each item as that single write
would; TransactWriteItems bills twice. A conditional write whose condition fails still bills the
existing item's size, at least 1 unit ("Conditional writes",
https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/WorkingWithItems.html).

Global secondary indexes ("Provisioned throughput considerations for Global Secondary Indexes",
https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/GSI.html#GSI.ThroughputConsiderations):
a table write costs each index a write of the projected entry (table keys + index keys + projected
attributes), per started KB: none when the item is in the index neither before nor after, or when its
projected entry is unchanged; one when it enters the index (the new entry), leaves it (the old entry) or
a projected attribute changes (the larger entry); two (delete the old entry, put the new) when an index
key changes. A table write is the sum of the table's and its indexes' units.

Reads: 1 read unit per started 4 KB strongly consistent, half eventually consistent, even when the item
does not exist; BatchGetItem rounds each item separately; Query and Scan round the summed size of the
items they read, per request (a global secondary index returns its projected entries and is always
eventually consistent); TransactGetItems bills twice. Requesting a subset of attributes does not change
the size billed, so for a projected read the meter sizes the whole item.

To know an item before and after a write without parsing update expressions, the meter reads it with an
un-metered client (its own boto3 client, whose calls it ignores) before the write, and after it for
UpdateItem; for PutItem the new item is the request's ``Item``. With ``remember_items`` (the default) it
keeps the last image it has seen of each item (written, or read strongly consistent in full) and reads
only the items it has not seen; a table it watched being created starts empty. That is exact as long as
every writer of the table is metered: call :meth:`Meter.forget` for a table changed behind its back.

Table and index definitions come from ``leadscore.resources.LEADS_TABLE`` for the lead table, from
:meth:`Meter.describe`, from the CreateTable calls the meter sees, or else from DescribeTable.

SQS and SNS bill each 64 KB chunk of a request's payload as one request: ``billed_requests`` counts so.
"""

from __future__ import annotations

import copy
import math
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import boto3
import botocore.handlers
from botocore.config import Config

from leadscore.resources import LEADS_TABLE, TableSpec

WRITE_UNIT_BYTES = 1024
READ_UNIT_BYTES = 4096
PAYLOAD_CHUNK_BYTES = 64 * 1024
UNMETERED_MARK = "leadscore-bench-unmetered"
_STATE = "leadscore_bench_meter"

Item = Mapping[str, Any]
"""An item in DynamoDB's attribute-value form: ``{"name": {"S": "value"}, ...}``."""

WRITE_OPERATIONS = frozenset({"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"})
READ_OPERATIONS = frozenset({"GetItem", "BatchGetItem", "Query", "Scan", "TransactGetItems"})


# --- sizes and units -------------------------------------------------------------------------------------


def number_size(text: str) -> int:
    """About one byte per two significant digits, plus one (leading and trailing zeros trimmed)."""
    digits = "".join(map(str, Decimal(text).as_tuple().digits)).strip("0")
    return math.ceil(max(1, len(digits)) / 2) + 1


def value_size(value: Mapping[str, Any]) -> int:
    ((kind, inner),) = value.items()
    if kind == "S":
        return len(inner.encode())
    if kind == "N":
        return number_size(inner)
    if kind == "B":
        return len(inner.encode()) if isinstance(inner, str) else len(inner)
    if kind in ("BOOL", "NULL"):
        return 1
    if kind in ("SS", "NS", "BS"):
        return sum(value_size({kind[0]: element}) for element in inner)
    if kind == "L":
        return 3 + sum(1 + value_size(element) for element in inner)
    if kind == "M":
        return 3 + sum(1 + len(name.encode()) + value_size(element) for name, element in inner.items())
    raise ValueError(f"unknown attribute type {kind}")


def item_size(item: Item | None) -> int:
    """Attribute names plus values, in bytes; 0 for no item."""
    if not item:
        return 0
    return sum(len(name.encode()) + value_size(value) for name, value in item.items())


def write_units(size: int) -> int:
    """Write units for one write of an item (or index entry) of ``size`` bytes: 1 per started KB."""
    return max(1, math.ceil(size / WRITE_UNIT_BYTES))


def read_units(size: int, *, consistent: bool) -> float:
    """Read units for reading ``size`` bytes in one go: 1 per started 4 KB, half if eventually consistent."""
    units = max(1, math.ceil(size / READ_UNIT_BYTES))
    return float(units) if consistent else units / 2


def _canonical(value: Any) -> Any:
    """A hashable form in which equal DynamoDB values are equal (numbers by value, sets unordered)."""
    ((kind, inner),) = value.items()
    if kind == "N":
        return ("N", Decimal(inner).normalize())
    if kind == "NS":
        return ("NS", frozenset(Decimal(element).normalize() for element in inner))
    if kind in ("SS", "BS"):
        return (kind, frozenset(bytes(e) if isinstance(e, bytearray) else e for e in inner))
    if kind == "L":
        return ("L", tuple(_canonical(element) for element in inner))
    if kind == "M":
        return ("M", frozenset((name, _canonical(element)) for name, element in inner.items()))
    if kind == "B" and isinstance(inner, bytearray):
        return ("B", bytes(inner))
    return (kind, inner)


def _same(first: Item | None, second: Item | None) -> bool:
    if first is None or second is None:
        return first is second
    return first.keys() == second.keys() and all(
        _canonical(first[name]) == _canonical(second[name]) for name in first
    )


# --- what the meter knows of a table ---------------------------------------------------------------------


@dataclass(frozen=True)
class IndexSchema:
    """A secondary index as billing sees it: its key attributes and what it projects."""

    name: str
    keys: tuple[str, ...]
    projection: str = "KEYS_ONLY"
    non_key_attributes: tuple[str, ...] = ()

    def entry(self, item: Item | None, table_keys: Sequence[str]) -> dict[str, Any] | None:
        """The item's entry in this index (None if the item lacks an index key: a sparse index skips it)."""
        if item is None or any(key not in item for key in self.keys):
            return None
        if self.projection == "ALL":
            return dict(item)
        names = [*table_keys, *self.keys]
        if self.projection == "INCLUDE":
            names += self.non_key_attributes
        return {name: item[name] for name in dict.fromkeys(names) if name in item}


@dataclass(frozen=True)
class TableSchema:
    keys: tuple[str, ...]
    indexes: tuple[IndexSchema, ...] = ()

    def key_of(self, item: Item) -> dict[str, Any]:
        return {name: item[name] for name in self.keys}

    def index(self, name: str) -> IndexSchema | None:
        return next((index for index in self.indexes if index.name == name), None)

    @classmethod
    def from_spec(cls, spec: TableSpec) -> TableSchema:
        """From the product's own description of a table (``leadscore.resources``)."""
        return cls(
            keys=_key_names(spec.partition_key, spec.sort_key),
            indexes=tuple(
                IndexSchema(
                    name=index.name,
                    keys=_key_names(index.partition_key, index.sort_key),
                    projection=index.projection,
                    non_key_attributes=tuple(index.non_key_attributes),
                )
                for index in spec.indexes
            ),
        )

    @classmethod
    def from_description(cls, description: Mapping[str, Any]) -> TableSchema:
        """From CreateTable's parameters or DescribeTable's ``Table``."""
        indexes = [
            *description.get("GlobalSecondaryIndexes", []),
            *description.get("LocalSecondaryIndexes", []),
        ]
        return cls(
            keys=tuple(element["AttributeName"] for element in description["KeySchema"]),
            indexes=tuple(
                IndexSchema(
                    name=index["IndexName"],
                    keys=tuple(element["AttributeName"] for element in index["KeySchema"]),
                    projection=index.get("Projection", {}).get("ProjectionType", "ALL"),
                    non_key_attributes=tuple(index.get("Projection", {}).get("NonKeyAttributes", ())),
                )
                for index in indexes
            ),
        )


def _key_names(*keys: Any) -> tuple[str, ...]:
    """Key attribute names, whether a spec gives them as ``Key`` objects or plain names."""
    return tuple(key if isinstance(key, str) else key.name for key in keys if key is not None)


def index_write_sizes(
    index: IndexSchema, table_keys: Sequence[str], old: Item | None, new: Item | None
) -> list[int]:
    """The size of each index write a table write causes (one entry per write, none if untouched)."""
    before, after = index.entry(old, table_keys), index.entry(new, table_keys)
    if before is None and after is None:
        return []
    if before is None:
        return [item_size(after)]
    if after is None:
        return [item_size(before)]
    if not _same({k: before[k] for k in index.keys}, {k: after[k] for k in index.keys}):
        return [item_size(before), item_size(after)]  # delete the old entry, put the new one
    if _same(before, after):
        return []
    return [max(item_size(before), item_size(after))]


# --- totals ----------------------------------------------------------------------------------------------


@dataclass
class IndexTotals:
    writes: int = 0
    write_units: float = 0.0
    read_units: float = 0.0


@dataclass
class TableTotals:
    """What one table's requests billed: its own units, each index's, and the sizes of the items written."""

    requests: Counter[str] = field(default_factory=Counter)
    writes: int = 0
    failed_writes: int = 0
    write_units: float = 0.0
    read_units: float = 0.0
    item_sizes: list[int] = field(default_factory=list)
    indexes: dict[str, IndexTotals] = field(default_factory=dict)

    @property
    def index_write_units(self) -> float:
        return sum(index.write_units for index in self.indexes.values())

    @property
    def total_write_units(self) -> float:
        return self.write_units + self.index_write_units


@dataclass(frozen=True)
class Change:
    """A successful write as the table's stream would carry it (NEW_AND_OLD_IMAGES)."""

    table: str
    keys: dict[str, Any]
    old: Item | None
    new: Item | None


@dataclass
class Reading:
    """A snapshot of the meter's counts."""

    requests: Counter[tuple[str, str]]
    billed_requests: Counter[tuple[str, str]]
    tables: dict[str, TableTotals]
    errors: Counter[str] = field(default_factory=Counter)

    def count(self, service: str, operation: str | None = None) -> int:
        return sum(n for (s, o), n in self.requests.items() if s == service and operation in (None, o))

    def billed(self, service: str, operation: str | None = None) -> int:
        return sum(n for (s, o), n in self.billed_requests.items() if s == service and operation in (None, o))

    def table(self, name: str) -> TableTotals:
        return self.tables.get(name, TableTotals())


# --- the meter -------------------------------------------------------------------------------------------


Hooks = tuple[tuple[str, Callable[..., None]], ...]


def install_hooks(hooks: Hooks) -> None:
    """Register botocore event handlers on every client, made before or after (the default session's
    and each new session's built-in handlers)."""
    for registration in hooks:
        botocore.handlers.BUILTIN_HANDLERS.append(registration)
    if boto3.DEFAULT_SESSION is not None:
        for event, handler in hooks:
            boto3.DEFAULT_SESSION.events.register(event, handler)


def uninstall_hooks(hooks: Hooks) -> None:
    for registration in hooks:
        if registration in botocore.handlers.BUILTIN_HANDLERS:
            botocore.handlers.BUILTIN_HANDLERS.remove(registration)
    if boto3.DEFAULT_SESSION is not None:
        for event, handler in hooks:
            boto3.DEFAULT_SESSION.events.unregister(event, handler)


class Meter:
    """Counts every AWS request of this process's boto3 clients and bills DynamoDB capacity.

    ``install()`` hooks every botocore session created afterwards (Powertools, for one, makes its own) and
    boto3's default session; a client created before ``install()`` is metered only through
    :meth:`watch`. Use as a context manager, or call ``install``/``uninstall``.
    """

    def __init__(
        self,
        tables: Mapping[str, TableSchema] | None = None,
        *,
        remember_items: bool = True,
        record_changes: Iterable[str] = (),
    ) -> None:
        self._schemas: dict[str, TableSchema] = {LEADS_TABLE.local_name: TableSchema.from_spec(LEADS_TABLE)}
        self._schemas.update(tables or {})
        self._given = set(self._schemas)  # described, not learnt from CreateTable or DescribeTable
        self._remember = remember_items
        self._images: dict[tuple[str, Any], Item | None] = {}
        self._empty_tables: set[str] = set()  # created under the meter's eyes: an unseen key is absent
        self._record_changes = set(record_changes)
        self._changes: list[Change] = []
        self._unmetered: dict[tuple[str, str], Any] = {}
        self._lock = threading.RLock()
        self._handlers: Hooks = (
            ("provide-client-params", self._on_params),
            ("before-call", self._before_call),
            ("after-call", self._after_call),
        )
        self.overhead_seconds = 0.0
        self.reset()

    # -- life cycle

    def install(self) -> Meter:
        install_hooks(self._handlers)
        return self

    def uninstall(self) -> None:
        uninstall_hooks(self._handlers)

    def __enter__(self) -> Meter:
        return self.install()

    def __exit__(self, *_: object) -> None:
        self.uninstall()

    def watch(self, client: Any) -> None:
        """Meter a client created before ``install()``."""
        for event, handler in self._handlers:
            client.meta.events.register(event, handler)

    def reset(self) -> None:
        """Zero the counts (what the meter knows of tables and items stays)."""
        with self._lock:
            self.requests: Counter[tuple[str, str]] = Counter()
            self.billed_requests: Counter[tuple[str, str]] = Counter()
            self.tables: dict[str, TableTotals] = {}
            self.errors: Counter[str] = Counter()  # requests the meter failed to bill, by reason
            self._changes = []
            self.overhead_seconds = 0.0

    def reading(self) -> Reading:
        with self._lock:
            return Reading(
                requests=Counter(self.requests),
                billed_requests=Counter(self.billed_requests),
                tables=copy.deepcopy(self.tables),
                errors=Counter(self.errors),
            )

    def describe(self, table: str, schema: TableSchema) -> None:
        self._schemas[table] = schema
        self._given.add(table)

    def forget(self, table: str) -> None:
        """Drop what the meter knows of ``table``'s items (it was changed by an un-metered writer)."""
        with self._lock:
            self._images = {key: image for key, image in self._images.items() if key[0] != table}
            self._empty_tables.discard(table)

    def drain_changes(self) -> list[Change]:
        """The writes recorded for the tables named in ``record_changes`` since the last drain."""
        with self._lock:
            changes, self._changes = self._changes, []
            return changes

    def unmetered(self, service: str, region: str = "us-east-1") -> Any:
        """A client whose calls the meter ignores (its own session, marked in its configuration)."""
        key = (service, region)
        if key not in self._unmetered:
            session = boto3.session.Session(region_name=region)
            self._unmetered[key] = session.client(  # type: ignore[call-overload]
                service, config=Config(user_agent_extra=UNMETERED_MARK)
            )
        return self._unmetered[key]

    # -- hooks

    def _on_params(self, params: dict[str, Any], model: Any, context: dict[str, Any], **_: Any) -> None:
        config = context.get("client_config")
        if config is not None and UNMETERED_MARK in (config.user_agent_extra or ""):
            return
        context[_STATE] = {"params": dict(params), "region": context.get("client_region") or "us-east-1"}

    def _before_call(self, model: Any, context: dict[str, Any], **_: Any) -> None:
        state = context.get(_STATE)
        if (
            state is None
            or model.service_model.service_name != "dynamodb"
            or model.name not in WRITE_OPERATIONS
        ):
            return
        with self._lock, self._timed():
            try:
                state["before"] = list(self._targets(model.name, state["params"], state["region"]))
            except Exception as error:  # the meter must not break the call it watches; the call may fail too
                state["before_error"] = f"{model.name}: {type(error).__name__}: {error}"

    def _after_call(
        self, http_response: Any, parsed: dict[str, Any], model: Any, context: dict[str, Any], **_: Any
    ) -> None:
        state = context.get(_STATE)
        if state is None:
            return
        service, operation = model.service_model.service_name, model.name
        with self._lock, self._timed():
            self.requests[(service, operation)] += 1
            self.billed_requests[(service, operation)] += _billed_requests(
                service, operation, state["params"], parsed
            )
            if service != "dynamodb":
                return
            error = parsed.get("Error", {}).get("Code") if http_response.status_code >= 300 else None
            if "before_error" in state:
                if error is None:  # the write went through, but the meter could not see the item before it
                    self.errors[state["before_error"]] += 1
                return
            try:
                self._bill_dynamodb(operation, state, parsed, error)
            except Exception as failure:
                self.errors[f"{operation}: {type(failure).__name__}: {failure}"] += 1

    @contextmanager
    def _timed(self) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            self.overhead_seconds += time.perf_counter() - started

    # -- DynamoDB

    def _totals(self, table: str) -> TableTotals:
        return self.tables.setdefault(table, TableTotals())

    def _schema(self, table: str, region: str = "us-east-1") -> TableSchema:
        if table not in self._schemas:
            description = self.unmetered("dynamodb", region).describe_table(TableName=table)["Table"]
            self._schemas[table] = TableSchema.from_description(description)
        return self._schemas[table]

    def _image_key(self, table: str, key: Item) -> tuple[str, Any]:
        return (table, frozenset((name, _canonical(value)) for name, value in key.items()))

    def _current(self, table: str, key: Item, region: str) -> Item | None:
        """The item as stored now: remembered, or read with the un-metered client."""
        image_key = self._image_key(table, key)
        if self._remember:
            if image_key in self._images:
                return self._images[image_key]
            if table in self._empty_tables:
                return None
        response = self.unmetered("dynamodb", region).get_item(
            TableName=table, Key=dict(key), ConsistentRead=True
        )
        found: Item | None = response.get("Item")
        self._learn(table, key, found)
        return found

    def _learn(self, table: str, key: Item, image: Item | None) -> None:
        if self._remember:
            self._images[self._image_key(table, key)] = image

    def _targets(
        self, operation: str, params: Mapping[str, Any], region: str
    ) -> Iterator[tuple[str, str, Any, Any]]:
        """(action, table, key, image before) for each item a write request addresses."""
        if operation in ("PutItem", "UpdateItem", "DeleteItem"):
            table = params["TableName"]
            key = (
                self._schema(table, region).key_of(params["Item"])
                if operation == "PutItem"
                else params["Key"]
            )
            yield operation, table, key, self._current(table, key, region)
        elif operation == "BatchWriteItem":
            for table, requests in params["RequestItems"].items():
                for request in requests:
                    if "PutRequest" in request:
                        key = self._schema(table, region).key_of(request["PutRequest"]["Item"])
                        yield "PutItem", table, key, self._current(table, key, region)
                    else:
                        key = request["DeleteRequest"]["Key"]
                        yield "DeleteItem", table, key, self._current(table, key, region)
        elif operation == "TransactWriteItems":
            actions = {
                "Put": "PutItem",
                "Update": "UpdateItem",
                "Delete": "DeleteItem",
                "ConditionCheck": "ConditionCheck",
            }
            for transact_item in params["TransactItems"]:
                ((kind, action),) = transact_item.items()
                table = action["TableName"]
                key = self._schema(table, region).key_of(action["Item"]) if kind == "Put" else action["Key"]
                yield actions[kind], table, key, self._current(table, key, region)

    def _bill_dynamodb(
        self, operation: str, state: dict[str, Any], parsed: dict[str, Any], error: str | None
    ) -> None:
        params, region = state["params"], state["region"]
        for table in _tables_of(operation, params):
            self._totals(table).requests[operation] += 1
        if operation == "CreateTable" and error is None:
            if params["TableName"] not in self._given:
                self._schemas[params["TableName"]] = TableSchema.from_description(params)
            self.forget(params["TableName"])
            self._empty_tables.add(params["TableName"])
        elif operation == "DeleteTable" and error is None:
            self.forget(params["TableName"])
            if params["TableName"] not in self._given:
                self._schemas.pop(params["TableName"], None)
        elif operation in WRITE_OPERATIONS:
            self._bill_writes(operation, state.get("before", []), state, parsed, error)
        elif operation in READ_OPERATIONS and error is None:
            self._bill_reads(operation, params, parsed, region)

    def _bill_writes(
        self,
        operation: str,
        targets: list[tuple[str, str, Any, Any]],
        state: Mapping[str, Any],
        parsed: Mapping[str, Any],
        error: str | None,
    ) -> None:
        params, region = state["params"], state["region"]
        factor = 2 if operation == "TransactWriteItems" else 1
        if error is not None and error not in (
            "ConditionalCheckFailedException",
            "TransactionCanceledException",
        ):
            return  # refused before anything was written (validation, throttling): nothing billed
        unprocessed = {
            self._image_key(
                table,
                self._schema(table, region).key_of(
                    request.get("PutRequest", {}).get("Item") or request["DeleteRequest"]["Key"]
                ),
            )
            for table, requests in parsed.get("UnprocessedItems", {}).items()
            for request in requests
        }
        items = _written_items(operation, params)
        for (action, table, key, old), written in zip(targets, items, strict=True):
            if self._image_key(table, key) in unprocessed:
                continue
            if action == "ConditionCheck":  # a transaction's check bills like a write of the item, unchanged
                self._totals(table).write_units += factor * write_units(item_size(old))
                continue
            if error is not None:
                self._bill_write(table, key, old, old, factor=factor, succeeded=False)
                continue
            if action == "PutItem":
                new = written
            elif action == "DeleteItem":
                new = None
            elif params.get("ReturnValues") == "ALL_NEW" and "Attributes" in parsed:
                new = parsed["Attributes"]
            else:
                self._images.pop(self._image_key(table, key), None)
                new = (
                    self.unmetered("dynamodb", region)
                    .get_item(TableName=table, Key=dict(key), ConsistentRead=True)
                    .get("Item")
                )
            self._learn(table, key, new)
            self._bill_write(table, key, old, new, factor=factor, succeeded=True)

    def _bill_write(
        self, table: str, key: Any, old: Item | None, new: Item | None, *, factor: int, succeeded: bool
    ) -> None:
        totals, schema = self._totals(table), self._schema(table)
        if not succeeded:
            totals.failed_writes += 1
            totals.write_units += factor * write_units(item_size(old))
            return
        totals.writes += 1
        totals.write_units += factor * write_units(max(item_size(old), item_size(new)))
        if new is not None:
            totals.item_sizes.append(item_size(new))
        for index in schema.indexes:
            sizes = index_write_sizes(index, schema.keys, old, new)
            index_totals = totals.indexes.setdefault(index.name, IndexTotals())
            index_totals.writes += len(sizes)
            index_totals.write_units += factor * sum(write_units(size) for size in sizes)
        if table in self._record_changes:
            self._changes.append(Change(table=table, keys=dict(key), old=old, new=new))

    def _bill_reads(
        self, operation: str, params: Mapping[str, Any], parsed: Mapping[str, Any], region: str
    ) -> None:
        if operation == "GetItem":
            table = params["TableName"]
            consistent = bool(params.get("ConsistentRead"))
            found = parsed.get("Item")
            if _projected(params) and found is not None:
                found = self._current(table, params["Key"], region)
            elif consistent:
                self._learn(table, params["Key"], found)
            self._totals(table).read_units += read_units(item_size(found), consistent=consistent)
        elif operation == "BatchGetItem":
            for table, request in params["RequestItems"].items():
                schema, consistent = self._schema(table, region), bool(request.get("ConsistentRead"))
                unprocessed = parsed.get("UnprocessedKeys", {}).get(table, {}).get("Keys", [])
                skipped = {self._image_key(table, key) for key in unprocessed}
                found = {
                    self._image_key(table, schema.key_of(item)): item
                    for item in parsed.get("Responses", {}).get(table, [])
                }
                for key in request["Keys"]:
                    image_key = self._image_key(table, key)
                    if image_key in skipped:
                        continue
                    item = found.get(image_key)
                    if _projected(request) and item is not None:
                        item = self._current(table, key, region)
                    elif consistent:
                        self._learn(table, key, item)
                    self._totals(table).read_units += read_units(item_size(item), consistent=consistent)
        elif operation in ("Query", "Scan"):
            table = params["TableName"]
            schema = self._schema(table, region)
            index = schema.index(params["IndexName"]) if "IndexName" in params else None
            consistent = bool(params.get("ConsistentRead")) and index is None
            items = parsed.get("Items", [])
            if _projected(params):
                items = [self._current(table, schema.key_of(item), region) or item for item in items]
            sizes = [item_size(index.entry(item, schema.keys) if index else item) for item in items]
            total = sum(sizes)
            scanned, returned = parsed.get("ScannedCount", len(items)), parsed.get("Count", len(items))
            if sizes and scanned > returned:
                total = math.ceil(
                    total * scanned / returned
                )  # filtered out: billed, unseen; sized like the rest
            units = read_units(total, consistent=consistent)
            self._totals(table).read_units += units
            if index is not None:
                self._totals(table).indexes.setdefault(index.name, IndexTotals()).read_units += units
        elif operation == "TransactGetItems":
            for transact_item in params["TransactItems"]:
                get = transact_item["Get"]
                item = self._current(get["TableName"], get["Key"], region)
                self._totals(get["TableName"]).read_units += 2 * read_units(item_size(item), consistent=True)


def _projected(params: Mapping[str, Any]) -> bool:
    return bool(params.get("ProjectionExpression") or params.get("AttributesToGet")) or params.get(
        "Select"
    ) in (
        "SPECIFIC_ATTRIBUTES",
        "COUNT",
    )


def _tables_of(operation: str, params: Mapping[str, Any]) -> list[str]:
    if "TableName" in params:
        return [params["TableName"]]
    if "RequestItems" in params:
        return list(params["RequestItems"])
    if operation.startswith("Transact"):
        return list(dict.fromkeys(next(iter(item.values()))["TableName"] for item in params["TransactItems"]))
    return []


def _written_items(operation: str, params: Mapping[str, Any]) -> list[Item | None]:
    """The ``Item`` each addressed item is put with (None for updates, deletes and checks), in order."""
    if operation == "PutItem":
        return [params["Item"]]
    if operation in ("UpdateItem", "DeleteItem"):
        return [None]
    if operation == "BatchWriteItem":
        return [
            request.get("PutRequest", {}).get("Item")
            for requests in params["RequestItems"].values()
            for request in requests
        ]
    return [next(iter(item.values())).get("Item") for item in params["TransactItems"]]


def _chunks(size: int) -> int:
    return max(1, math.ceil(size / PAYLOAD_CHUNK_BYTES))


def _attributes_size(attributes: Mapping[str, Any] | None) -> int:
    total = 0
    for name, value in (attributes or {}).items():
        total += len(name.encode()) + len(str(value.get("DataType", "")).encode())
        total += len(str(value.get("StringValue", value.get("BinaryValue", ""))).encode())
    return total


def _billed_requests(
    service: str, operation: str, params: Mapping[str, Any], parsed: Mapping[str, Any]
) -> int:
    """SQS and SNS bill each 64 KB chunk of a request's payload as one request; the rest one per call."""
    if service == "sqs" and operation == "SendMessage":
        return _chunks(
            len(params.get("MessageBody", "").encode()) + _attributes_size(params.get("MessageAttributes"))
        )
    if service == "sqs" and operation == "SendMessageBatch":
        return _chunks(
            sum(
                len(entry.get("MessageBody", "").encode()) + _attributes_size(entry.get("MessageAttributes"))
                for entry in params.get("Entries", [])
            )
        )
    if service == "sqs" and operation == "ReceiveMessage":
        return _chunks(sum(len(message.get("Body", "").encode()) for message in parsed.get("Messages", [])))
    if service == "sns" and operation == "Publish":
        return _chunks(
            len(params.get("Message", "").encode()) + _attributes_size(params.get("MessageAttributes"))
        )
    if service == "sns" and operation == "PublishBatch":
        return sum(
            _chunks(len(entry.get("Message", "").encode()) + _attributes_size(entry.get("MessageAttributes")))
            for entry in params.get("PublishBatchRequestEntries", [])
        )
    return 1
