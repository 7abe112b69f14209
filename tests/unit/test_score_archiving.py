"""The score function keeps each delivered batch, poison included, before it scores any of it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from functions.score import handler as score
from leadscore.ports import QueuedMessage
from leadscore.resources import FUNCTIONS
from leadscore.rules import DEFAULT_RULES_FILE, load_rules
from leadscore_local.runtime import LocalContext
from tests.conftest import load_event
from tests.fakes import InMemoryLeadRepository, RecordingArchive

RULES = load_rules(DEFAULT_RULES_FILE)
SPEC = FUNCTIONS["score"]


@pytest.fixture
def batch() -> dict[str, Any]:
    """The sample batch and a poison message queued a minute before it."""
    event = load_event("sqs_batch.json")
    (record,) = event["Records"]
    poison = {**record, "messageId": "poison-1", "body": "{not an event"}
    poison["attributes"] = {**record["attributes"], "SentTimestamp": str(1795512540000)}
    event["Records"].append(poison)
    return event


def invoke(event: dict[str, Any], archive: RecordingArchive, repository: InMemoryLeadRepository) -> Any:
    with score.wiring.wired(score.Collaborators(archive=archive, repository=repository, rules=RULES)):
        return score.handler(event, LocalContext(SPEC.name, SPEC.memory_mb, SPEC.timeout_seconds))


def test_the_batch_is_archived_once_as_received_poison_included(batch: dict[str, Any]) -> None:
    archive, repository = RecordingArchive(), InMemoryLeadRepository()
    response = invoke(batch, archive, repository)
    assert response == {"batchItemFailures": [{"itemIdentifier": "poison-1"}]}
    sample = batch["Records"][0]
    assert archive.batches == [
        [
            QueuedMessage(sample["messageId"], sample["body"], datetime(2026, 11, 24, 9, 30, tzinfo=UTC)),
            QueuedMessage("poison-1", "{not an event", datetime(2026, 11, 24, 9, 29, tzinfo=UTC)),
        ]
    ]
    assert repository.get("jane@acme-robotics.com") is not None


def test_a_failed_put_fails_the_whole_batch_and_nothing_is_scored(batch: dict[str, Any]) -> None:
    repository = InMemoryLeadRepository()
    with pytest.raises(ConnectionError):
        invoke(batch, RecordingArchive(broken=True), repository)
    assert repository.writes == 0
