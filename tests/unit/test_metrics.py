"""What the services count (through the Counter port) and how the handlers' adapter writes it as EMF."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import pytest

from leadscore.adapters.metrics import CloudWatchCounter
from leadscore.alerts import _HEADLINES, publish_new_alerts
from leadscore.errors import PayloadTooLarge, Unauthorized, Unavailable
from leadscore.events import Event
from leadscore.ingest import collect
from leadscore.rescoring import decay_due_leads
from leadscore.resources import (
    ALERT_KINDS,
    ALERTS_PUBLISHED,
    EVENTS_ACCEPTED,
    METRICS,
    METRICS_NAMESPACE,
    REQUESTS_REJECTED,
    SERVICE,
)
from leadscore.scoring import QueuedEvent, evaluated_record, score_queued_events
from leadscore.segment import MAX_BATCH_BYTES, InvalidMessage
from tests.fakes import (
    CountingMetrics,
    InMemoryLeadRepository,
    RecordingPublisher,
    RecordingQueue,
    StaticKeys,
)
from tests.unit.test_ingest import request
from tests.unit.test_scoring_service import NOW, RULES, RacingRepository, identify, page, queued


def emitted(output: str) -> list[dict[str, Any]]:
    """The EMF documents printed: each a JSON line with an ``_aws`` block."""
    return [
        doc for line in output.splitlines() if line.startswith("{") and "_aws" in (doc := json.loads(line))
    ]


def values(document: dict[str, Any]) -> dict[str, Any]:
    (directive,) = document["_aws"]["CloudWatchMetrics"]
    names = [metric["Name"] for metric in directive["Metrics"]]
    dimensions = {name: document[name] for name in directive["Dimensions"][0]}
    # One total per metric, in Powertools' list form.
    return {"namespace": directive["Namespace"], "dimensions": dimensions} | {
        name: value for name in names for (value,) in [document[name]]
    }


# The adapter


def test_the_counts_of_an_invocation_are_written_once_as_totals(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("POWERTOOLS_METRICS_DISABLED", raising=False)
    counter = CloudWatchCounter()

    @counter.log_metrics
    def handler() -> str:
        counter.count(EVENTS_ACCEPTED, 2)
        counter.count(EVENTS_ACCEPTED, 3)
        counter.count(REQUESTS_REJECTED, of="invalid")
        counter.count(REQUESTS_REJECTED, of="invalid")
        counter.count(REQUESTS_REJECTED, of="unauthorized")
        return "answered"

    assert handler() == "answered"
    documents = sorted((values(doc) for doc in emitted(capsys.readouterr().out)), key=str)
    service = {"service": SERVICE}
    assert documents == sorted(
        [
            {"namespace": METRICS_NAMESPACE, "dimensions": service, "EventsAccepted": 5.0},
            {
                "namespace": METRICS_NAMESPACE,
                "dimensions": {**service, "reason": "invalid"},
                "RequestsRejected": 2.0,
            },
            {
                "namespace": METRICS_NAMESPACE,
                "dimensions": {**service, "reason": "unauthorized"},
                "RequestsRejected": 1.0,
            },
        ],
        key=str,
    )
    counter.flush()  # the next invocation starts from nothing
    assert emitted(capsys.readouterr().out) == []


def test_a_handler_that_raises_still_writes_its_counts(capsys: pytest.CaptureFixture[str]) -> None:
    counter = CloudWatchCounter()

    @counter.log_metrics
    def handler() -> None:
        counter.count(EVENTS_ACCEPTED)
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        handler()
    assert [values(doc)["EventsAccepted"] for doc in emitted(capsys.readouterr().out)] == [1.0]


def test_disabled_metrics_write_nothing(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "true")
    counter = CloudWatchCounter()
    counter.count(EVENTS_ACCEPTED)
    counter.count(ALERTS_PUBLISHED, of="reminder")
    counter.flush()
    assert emitted(capsys.readouterr().out) == []


def test_a_count_names_its_dimension_value_exactly_when_the_metric_has_one() -> None:
    counter = CloudWatchCounter()
    with pytest.raises(ValueError, match="RequestsRejected"):
        counter.count(REQUESTS_REJECTED)
    with pytest.raises(ValueError, match="EventsAccepted"):
        counter.count(EVENTS_ACCEPTED, of="invalid")


def test_metric_names_are_unique_and_the_alert_kinds_are_the_ones_alerts_has_headlines_for() -> None:
    assert len({metric.name for metric in METRICS}) == len(METRICS)
    assert set(ALERT_KINDS) == set(_HEADLINES)


# collect


def test_collect_counts_the_events_it_queues_and_the_requests_it_refuses_by_reason() -> None:
    counts, queue = CountingMetrics(), RecordingQueue()
    body = {"batch": [{"type": "track", "userId": "u", "event": "a"}, {"type": "identify", "userId": "u"}]}
    collect(request(body), StaticKeys(), queue, counts)
    refusals = [
        request({"batch": [{"type": "track", "userId": "u"}]}),
        request(body, authorization=None),
        request(b"x" * (MAX_BATCH_BYTES + 1)),
    ]
    for refused in refusals:
        with pytest.raises((InvalidMessage, Unauthorized, PayloadTooLarge)):
            collect(refused, StaticKeys(), queue, counts)

    class BrokenQueue(RecordingQueue):
        def send(self, messages: Any, *, correlation_id: str | None = None) -> None:
            raise Unavailable("down")

    with pytest.raises(Unavailable):
        collect(request(body), StaticKeys(), BrokenQueue(), counts)
    assert dict(counts.counts) == {
        ("EventsAccepted", None): 2,
        ("RequestsRejected", "invalid"): 1,
        ("RequestsRejected", "unauthorized"): 1,
        ("RequestsRejected", "too_large"): 1,
        ("RequestsRejected", "queue_unavailable"): 1,
    }


def test_collect_sends_the_request_id_with_every_message() -> None:
    queue = RecordingQueue()
    body = {"batch": [{"type": "track", "userId": "u", "event": "a"}, {"type": "identify", "userId": "u"}]}
    asked = request(body)
    collect(type(asked)(**{**asked.__dict__, "correlation_id": "req-1"}), StaticKeys(), queue)
    assert queue.correlation_ids == ["req-1", "req-1"]


# score


def test_score_counts_leads_written_and_events_seen_before() -> None:
    repository, counts = InMemoryLeadRepository(), CountingMetrics()
    batch = queued(identify("a"), page("a", "p1"), page("a", "p1"), identify("b"))
    score_queued_events(batch, repository, RULES, NOW, counts)
    assert (counts["LeadsScored"], counts["DuplicatesDropped"]) == (2, 1)  # p1 twice in the batch
    score_queued_events(batch[:2], repository, RULES, NOW, counts)  # a redelivery
    assert (counts["LeadsScored"], counts["DuplicatesDropped"]) == (2, 3)
    assert counts["LostRacesRetried"] == 0


def test_score_counts_a_lost_race_it_retried() -> None:
    repository, counts = RacingRepository(rival=page("a", "rival", "/pricing/teams")), CountingMetrics()
    repository.items["a"] = evaluated_record("a", None, [identify("a")], RULES, NOW)
    assert score_queued_events(queued(page("a", "ours")), repository, RULES, NOW, counts) == []
    assert (counts["LostRacesRetried"], counts["LeadsScored"]) == (1, 1)


def test_the_lead_item_names_the_request_of_its_latest_event() -> None:
    repository = InMemoryLeadRepository()
    first, second = page("a", "p1"), page("a", "p2")
    batch = [
        QueuedEvent("m1", first, "req-1"),
        QueuedEvent("m2", second, "req-2"),
        QueuedEvent("m3", identify("a")),
    ]
    score_queued_events(batch, repository, RULES, NOW)
    assert repository.records["a"].correlation_id == "req-2"


# notify and decay


def test_notify_counts_each_alert_by_kind() -> None:
    counts = CountingMetrics()
    before = evaluated_record("a", None, [identify("a")], RULES, NOW)
    after = evaluated_record("a", before, [page("a", "demo", "/demo"), *demo_request("a")], RULES, NOW)
    alerts = publish_new_alerts(RULES, before, after, RecordingPublisher(), counter=counts)
    assert alerts
    assert {of: n for (name, of), n in counts.counts.items() if name == "AlertsPublished"} == {
        kind: sum(alert.kind == kind for alert in alerts) for kind in {alert.kind for alert in alerts}
    }


def demo_request(lead_id: str, at: datetime = NOW) -> list[Event]:
    return [
        Event(message_id=name, lead_id=lead_id, kind="track", name=name, timestamp=at)
        for name in ("Demo Requested", "Trial Started")
    ]


def test_decay_counts_its_band_changes_and_names_its_run_on_each_write() -> None:
    repository, counts = InMemoryLeadRepository(), CountingMetrics()
    month_ago = NOW.replace(month=10)
    quiet = evaluated_record("q", None, demo_request("q", month_ago), RULES, month_ago)
    repository.items["q"] = quiet
    assert quiet.summary.band == "warm"
    run = decay_due_leads(repository, RULES, NOW, counter=counts, correlation_id="run-1")
    assert run.band_changes == counts["DecayTransitions"] == 1
    assert counts["RemindersSent"] == run.reminders
    assert repository.records["q"].correlation_id == "run-1"
