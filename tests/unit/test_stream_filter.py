"""notify is given only the stream records of lead writes that raised a signal (the local stack applies
the same filter pattern as Lambda's event source mapping)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from leadscore.resources import SIGNALLING_WRITES
from leadscore_local.pollers import filter_matches

EVENTS = Path(__file__).resolve().parents[2] / "events"


def stream_record(new_image: dict[str, Any] | None) -> dict[str, Any]:
    record: dict[str, Any] = {"eventName": "MODIFY", "dynamodb": {"SequenceNumber": "1"}}
    if new_image is not None:
        record["dynamodb"]["NewImage"] = new_image
    return record


def test_a_write_that_raised_a_signal_reaches_notify() -> None:
    sample = json.loads((EVENTS / "dynamodb_stream_record.json").read_text())["Records"][0]
    assert "sig" in sample["dynamodb"]["NewImage"]
    assert filter_matches(SIGNALLING_WRITES, sample)


def test_writes_that_raised_nothing_do_not() -> None:
    lead_without_signal = {"pk": {"S": "L#jane@acme-robotics.com"}, "sk": {"S": "L"}, "v": {"N": "2"}}
    outcome = {"pk": {"S": "L#jane@acme-robotics.com"}, "sk": {"S": "O"}, "oc": {"S": "converted"}}
    for image in (lead_without_signal, outcome, None):
        assert not filter_matches(SIGNALLING_WRITES, stream_record(image))


def test_the_matcher_reads_accepted_values_and_absence() -> None:
    pattern = {"dynamodb": {"NewImage": {"sk": {"S": ["L"]}, "mi": [{"exists": False}]}}}
    assert filter_matches(pattern, stream_record({"sk": {"S": "L"}}))
    assert not filter_matches(pattern, stream_record({"sk": {"S": "O"}}))
    assert not filter_matches(pattern, stream_record({"sk": {"S": "L"}, "mi": {"S": "x"}}))
