"""What a re-scoring run cost, as AWS bills it, from the usage its workers counted (``fanout.summarise``).

List prices, US East (N. Virginia), on demand, free tiers left out: the same figures as bench/prices.py
(a test keeps them equal), plus Step Functions' state transitions.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from math import ceil
from typing import Any

from leadscore.resources import FUNCTIONS

STEP_FUNCTIONS_TRANSITION_USD = 0.025 / 1_000  # Standard workflows, per state transition
LAMBDA_REQUEST_USD = 0.20 / 1_000_000
LAMBDA_ARM_GB_SECOND_USD = 0.0000133334
S3_PUT_OR_LIST_USD = 0.005 / 1_000
S3_GET_USD = 0.0004 / 1_000
DYNAMODB_WRITE_UNIT_USD = 0.625 / 1_000_000
DYNAMODB_READ_UNIT_USD = 0.125 / 1_000_000

# Which function runs each step, for its memory.
STEP_FUNCTIONS = {"shuffle": "rescore_shuffle", "shard": "rescore_shard", "finish": "rescore_catchup"}
# The parent execution's own states: Run, Shuffle, Shards, Rebuild, CatchUp.
PARENT_TRANSITIONS = 5
# A child execution of a Distributed Map (Standard) enters its one Task state.
TRANSITIONS_PER_CHILD = 1
LIST_PAGE = 1_000  # keys per ListObjectsV2 page: the first map's ItemReader lists the archive


@dataclass(frozen=True)
class Line:
    what: str
    quantity: float
    unit: str
    usd: float


def run_cost(
    steps: Mapping[str, Mapping[str, Any]],
    *,
    archive_objects: int,
    transitions: Sequence[Sequence[Any]] = (),
) -> list[Line]:
    """The bill of one run from each step's summed usage and its band transitions (``summary``): a lead
    whose band changed moves its ``by-band`` key (two index writes), a new lead enters it (one)."""
    children = sum(steps.get(step, {}).get("invocations", 0) for step in ("shuffle", "shard"))
    states = PARENT_TRANSITIONS + TRANSITIONS_PER_CHILD * children
    index_units = sum(
        (1 if before == "-" else 2) * count for before, after, count in transitions if before != after
    )
    invocations = sum(usage.get("invocations", 0) for usage in steps.values())
    gb_seconds = sum(
        usage.get("billed_ms", 0) / 1000 * FUNCTIONS[STEP_FUNCTIONS[step]].memory_mb / 1024
        for step, usage in steps.items()
        if step in STEP_FUNCTIONS
    )
    total = _summed(steps)
    # The ItemReader's listing, and each result writer's manifest and result file.
    lists = total["s3_list"] + ceil(archive_objects / LIST_PAGE)
    puts = total["s3_put"] + 2 * 2
    usd = {
        "transitions": STEP_FUNCTIONS_TRANSITION_USD,
        "requests": LAMBDA_REQUEST_USD,
        "GB-s": LAMBDA_ARM_GB_SECOND_USD,
        "GET": S3_GET_USD,
        "PUT/LIST": S3_PUT_OR_LIST_USD,
        "RRU": DYNAMODB_READ_UNIT_USD,
        "WRU": DYNAMODB_WRITE_UNIT_USD,
    }
    quantities = [
        ("Step Functions state transitions", states, "transitions"),
        ("Lambda requests", invocations, "requests"),
        ("Lambda duration (arm64)", gb_seconds, "GB-s"),
        ("S3 GET requests", total["s3_get"], "GET"),
        ("S3 PUT and LIST requests", puts + lists, "PUT/LIST"),
        ("DynamoDB read units", total["read_units"], "RRU"),
        ("DynamoDB write units (items)", total["write_units"], "WRU"),
        ("DynamoDB write units (by-band index)", index_units, "WRU"),
    ]
    return [Line(what, quantity, unit, quantity * usd[unit]) for what, quantity, unit in quantities]


def _summed(steps: Mapping[str, Mapping[str, Any]]) -> dict[str, float]:
    names = ("s3_get", "s3_put", "s3_list", "read_units", "write_units")
    return {name: float(sum(usage.get(name, 0) for usage in steps.values())) for name in names}


def cost_text(lines: list[Line]) -> str:
    rows = [
        f"  {line.what:<34} {line.quantity:>16,.1f} {line.unit:<12} ${line.usd:>10,.4f}" for line in lines
    ]
    rows.append(f"  {'total':<34} {'':>16} {'':<12} ${sum(line.usd for line in lines):>10,.4f}")
    return "\n".join(rows)
