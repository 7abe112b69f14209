"""The local stream poller retries as Lambda's stream event source mapping does: a failed invocation (notify
raises when every record of a batch failed, e.g. SNS refusing each publish) gets the same records again,
never skips them. Fakes for the stream and the function; no moto."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any, cast

from leadscore.resources import STREAM_MAX_RETRIES
from leadscore_local.aws import LocalResources, MotoAws
from leadscore_local.pollers import StreamPoller
from leadscore_local.runtime import LocalFunction

STREAM_ARN = "arn:aws:dynamodb:us-east-1:000000000000:table/leads/stream/1"


def record(sequence: str) -> dict[str, Any]:
    """A stream record the SIGNALLING_WRITES filter lets through: a lead write carrying signals."""
    return {
        "eventName": "MODIFY",
        "dynamodb": {"SequenceNumber": sequence, "NewImage": {"sig": {"S": "[]"}}},
    }


class OneShard:
    """A stream with one shard holding ``records``, handed out once."""

    def __init__(self, records: list[dict[str, Any]]) -> None:
        self._records = records

    def describe_stream(self, **_: Any) -> dict[str, Any]:
        return {"StreamDescription": {"Shards": [{"ShardId": "shard-1"}]}}

    def get_shard_iterator(self, **_: Any) -> dict[str, Any]:
        return {"ShardIterator": "start"}

    def get_records(self, **_: Any) -> dict[str, Any]:
        records, self._records = self._records, []
        return {"Records": records, "NextShardIterator": "next"}


class Notify:
    """Fails its first ``failures`` invocations by raising, as Powertools does when every record failed."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.invoked: list[list[str]] = []

    def invoke(self, event: dict[str, Any]) -> Any:
        self.invoked.append([r["dynamodb"]["SequenceNumber"] for r in event["Records"]])
        if len(self.invoked) <= self.failures:
            raise RuntimeError("All records failed processing.")
        return {"batchItemFailures": []}


def poller(records: list[dict[str, Any]], notify: Notify) -> StreamPoller:
    aws = cast(MotoAws, SimpleNamespace(client=lambda _service: OneShard(records)))
    local = cast(LocalResources, SimpleNamespace(stream_arn=STREAM_ARN))
    return StreamPoller(aws, local, cast(LocalFunction, notify))


def test_a_failed_invocation_is_retried_with_the_same_records() -> None:
    notify = Notify(failures=1)

    handled = poller([record("1"), record("2")], notify).poll_once()

    assert handled == 2
    assert notify.invoked == [["1", "2"], ["1", "2"]]


def test_retries_stop_after_the_mappings_maximum() -> None:
    notify = Notify(failures=100)

    poller([record("1")], notify).poll_once()

    assert notify.invoked == [["1"]] * (1 + STREAM_MAX_RETRIES)
