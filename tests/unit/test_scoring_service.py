"""Scoring queued events on an in-memory repository: one write per lead, no lost update, poison alone."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

from leadscore.engine import evaluate, score_lead
from leadscore.errors import ConcurrentUpdate
from leadscore.events import Event
from leadscore.records import LeadRecord
from leadscore.rescoring import decay_due_leads
from leadscore.rules import DEFAULT_RULES_FILE, load_rules
from leadscore.scoring import QueuedEvent, evaluated_record, score_queued_events
from tests.fakes import InMemoryLeadRepository

NOW = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
RULES = load_rules(DEFAULT_RULES_FILE)


def page(lead_id: str, message_id: str, path: str = "/pricing", at: datetime = NOW) -> Event:
    return Event(message_id=message_id, lead_id=lead_id, kind="page", properties={"path": path}, timestamp=at)


def identify(lead_id: str, message_id: str = "identify") -> Event:
    traits = {"email": f"{lead_id}@acme-robotics.com", "title": "VP Engineering", "employees": 420}
    return Event(message_id=message_id, lead_id=lead_id, kind="identify", traits=traits, timestamp=NOW)


def queued(*events: Event) -> list[QueuedEvent]:
    return [QueuedEvent(f"sqs-{event.message_id}-{event.lead_id}", event) for event in events]


def test_a_batch_costs_one_write_per_lead() -> None:
    repository = InMemoryLeadRepository()
    batch = queued(identify("a"), page("a", "p1"), page("a", "p2"), identify("b"), page("b", "p1"))
    assert score_queued_events(batch, repository, RULES, NOW) == []
    assert repository.writes == 2
    assert {record.version for record in repository.records.values()} == {1}


def test_redelivered_events_change_nothing_and_cost_no_write() -> None:
    repository = InMemoryLeadRepository()
    batch = queued(identify("a"), page("a", "p1"))
    score_queued_events(batch, repository, RULES, NOW)
    before = repository.records["a"]
    score_queued_events(batch, repository, RULES, NOW + timedelta(minutes=5))
    assert repository.records["a"] == before
    assert repository.writes == 1


class RacingRepository(InMemoryLeadRepository):
    """Another score function writes the same lead between our read and our write, once."""

    def __init__(self, rival: Event) -> None:
        super().__init__()
        self._rival: Event | None = rival

    def save(self, record: LeadRecord, expected_version: int) -> None:
        if self._rival is not None:
            rival, self._rival = self._rival, None
            current = self.records.get(record.lead_id)
            super().save(evaluated_record(record.lead_id, current, [rival], RULES, NOW), expected_version)
        super().save(record, expected_version)


def test_a_concurrent_write_is_not_lost() -> None:
    repository = RacingRepository(rival=page("a", "rival", "/pricing/teams"))
    repository.items["a"] = evaluated_record("a", None, [identify("a")], RULES, NOW)
    assert score_queued_events(queued(page("a", "ours")), repository, RULES, NOW) == []
    final = repository.records["a"]
    assert final.version == 3
    alone = evaluated_record(
        "a", None, [identify("a"), page("a", "rival", "/pricing/teams"), page("a", "ours")], RULES, NOW
    )
    assert final.summary.score == alone.summary.score


class AlwaysLosing(InMemoryLeadRepository):
    def save(self, record: LeadRecord, expected_version: int) -> None:
        if record.lead_id == "contended":
            raise ConcurrentUpdate(record.lead_id)
        super().save(record, expected_version)


def test_a_lead_that_keeps_losing_fails_alone() -> None:
    repository = AlwaysLosing()
    batch = queued(page("contended", "c1"), page("fine", "f1"))
    failed = score_queued_events(batch, repository, RULES, NOW)
    assert failed == ["sqs-c1-contended"]
    assert "fine" in repository.records


def demo(lead_id: str, message_id: str = "demo") -> Event:
    return Event(message_id=message_id, lead_id=lead_id, kind="track", name="Demo Requested", timestamp=NOW)


def test_decay_visits_only_due_leads_and_moves_them_on() -> None:
    repository = InMemoryLeadRepository()
    # "quiet" earns 50 from intent alone (warm, leaves below 40 as it decays); "steady" has fit that keeps it.
    batch = queued(page("quiet", "p1"), demo("quiet"), identify("steady"), page("steady", "p1"))
    score_queued_events(batch, repository, RULES, NOW)
    quiet, steady = repository.records["quiet"], repository.records["steady"]
    assert (quiet.summary.band, steady.summary.band) == ("warm", "warm")
    assert steady.decay_due_at is None
    assert quiet.decay_due_at is not None
    assert decay_due_leads(repository, RULES, quiet.decay_due_at - timedelta(minutes=5)).visited == 0
    run = decay_due_leads(repository, RULES, quiet.decay_due_at + timedelta(minutes=1))
    assert (run.visited, run.band_changes, run.skipped) == (1, 1, 0)
    after = repository.records["quiet"]
    assert (after.summary.band, after.version, after.decay_due_at) == ("cold", 2, None)


def test_a_poison_event_fails_alone_and_its_leads_other_events_are_scored() -> None:
    repository = InMemoryLeadRepository()
    poison = Event(
        message_id="huge", lead_id="a", kind="identify", traits={"employees": 10**400}, timestamp=NOW
    )
    batch = queued(demo("a"), poison, page("a", "p1"), page("b", "p1"))
    assert score_queued_events(batch, repository, RULES, NOW) == ["sqs-huge-a"]
    scored = {item.rule for item in score_lead(RULES, repository.records["a"].state, NOW).explanation}
    assert {"demo-request", "pricing-page"} <= scored
    assert repository.writes == 2


def test_parallel_workers_on_one_lead_lose_nothing_and_count_nothing_twice() -> None:
    # Given 200 events for one lead (some duplicated), spread over 20 workers scoring at once
    events = [identify("busy")]
    for number in range(199):
        kind = number % 4
        at = NOW - timedelta(hours=number)
        if kind == 0:
            events.append(page("busy", f"p{number}", "/pricing", at))
        elif kind == 1:
            events.append(page("busy", f"p{number}", "/product/api", at))
        else:
            name = "Email Link Clicked" if kind == 2 else "Whitepaper Downloaded"
            events.append(
                Event(message_id=f"t{number}", lead_id="busy", kind="track", name=name, timestamp=at)
            )
    pending = queued(*events, *events[::7])
    repository = InMemoryLeadRepository()

    # When they race, and SQS redelivers whatever failed until nothing does
    rounds = 0
    while pending:
        rounds += 1
        slices = [pending[start::20] for start in range(20)]
        with ThreadPoolExecutor(max_workers=20) as pool:
            failed = pool.map(lambda part: score_queued_events(part, repository, RULES, NOW), slices)
        receipts = {receipt for part in failed for receipt in part}
        pending = [item for item in pending if item.receipt in receipts]
        assert rounds < 50

    # Then the lead scores exactly what the offline engine gives for the set of messages
    offline = evaluate(RULES, None, sorted(events, key=lambda event: event.timestamp), NOW)
    live = score_lead(RULES, repository.records["busy"].state, NOW)
    assert live.score == offline.score.score
    assert live.explanation == offline.score.explanation


def test_an_interrupted_decay_run_continues_where_it_stopped_and_visits_no_lead_twice() -> None:
    repository = InMemoryLeadRepository()
    warm = [event for n in range(250) for event in (page(f"quiet{n}", "p1"), demo(f"quiet{n}"))]
    score_queued_events(queued(*warm), repository, RULES, NOW)
    due = max(record.decay_due_at for record in repository.records.values() if record.decay_due_at)
    later = due + timedelta(minutes=1)
    reads = iter([True, False])
    first = decay_due_leads(repository, RULES, later, has_time=lambda: next(reads, False))
    assert (first.visited, first.finished) == (100, False)
    rest = decay_due_leads(repository, RULES, later)
    assert (rest.visited, rest.finished) == (150, True)
    assert {record.version for record in repository.records.values()} == {2}
    assert decay_due_leads(repository, RULES, later).visited == 0
