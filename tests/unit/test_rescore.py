"""Re-scoring's pure parts: a rebuilt lead is the offline engine's and a second re-score of it writes
nothing, whatever the stored lead held; the run's bill; the job's progress as Step Functions reports it."""

from __future__ import annotations

import io
import json
from datetime import timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bench import prices
from leadscore.engine import score_lead
from leadscore.events import Event
from leadscore.replay import replay_person
from leadscore.rescore.fanout import summarise
from leadscore.rescore.job import catch_up
from leadscore.rescore.people import rescored_record
from leadscore.rescore.writer import nothing_to_write, write_people
from leadscore.resources import FUNCTIONS
from leadscore.rules import DEFAULT_RULES_FILE, load_rules
from leadscore.scoring import evaluated_record
from leadscore_cli import rescore_cost as cost
from leadscore_cli.rescore import run_job, summary_text
from tests.fakes import InMemoryLeadRepository
from tests.rulesets import START as NOW
from tests.unit.test_engine_properties import FAST, LEAD, histories

RULES = load_rules(DEFAULT_RULES_FILE)


@FAST
@given(histories, st.data())
def test_a_rebuilt_lead_is_the_offline_engines_and_rebuilding_it_again_changes_nothing(
    history: list[Any], data: st.DataObject
) -> None:
    # Given a lead the live service scored from part of its history, in batches
    seen = data.draw(st.lists(st.sampled_from(history), unique_by=lambda event: event.message_id))
    now = max(event.timestamp for event in history) + timedelta(hours=data.draw(st.integers(0, 500)))
    stored = evaluated_record(LEAD, None, seen, RULES, now) if seen else None

    rebuilt = rescored_record(LEAD, history, RULES, now, stored)

    offline, _ = replay_person(RULES, LEAD, history)
    assert rebuilt.state.but(alerted={}) == offline.but(
        alerted={}, band=rebuilt.state.band, stage=rebuilt.state.stage
    )
    assert score_lead(RULES, rebuilt.state, now).score == score_lead(RULES, offline, now).score
    assert rebuilt.signals == []
    assert rebuilt.version == (stored.version if stored else 0) + 1
    again = rescored_record(LEAD, list(reversed(history)), RULES, now, rebuilt)
    assert nothing_to_write(rebuilt, again, RULES)


def test_bench_and_the_run_bill_use_the_same_prices() -> None:
    assert pytest.approx(prices.LAMBDA_REQUEST.cost(1)) == cost.LAMBDA_REQUEST_USD
    assert pytest.approx(prices.LAMBDA_ARM_GB_SECOND.cost(1)) == cost.LAMBDA_ARM_GB_SECOND_USD
    assert pytest.approx(prices.S3_PUT.cost(1)) == cost.S3_PUT_OR_LIST_USD
    assert pytest.approx(prices.S3_GET.cost(1)) == cost.S3_GET_USD
    assert pytest.approx(prices.DYNAMODB_WRITE_UNIT.cost(1)) == cost.DYNAMODB_WRITE_UNIT_USD
    assert pytest.approx(prices.DYNAMODB_READ_UNIT.cost(1)) == cost.DYNAMODB_READ_UNIT_USD


def usage(step: str, invocations: int, billed_ms: int, **counts: float) -> dict[str, Any]:
    return {"step": step, "invocations": invocations, "billed_ms": billed_ms, **counts}


def test_a_runs_bill_is_its_counted_usage_at_list_prices() -> None:
    summary = summarise(
        [
            usage("shuffle", 1, 1000, s3_get=500, s3_put=1000, read_units=2000.0, lines=9, objects=500),
            usage("shuffle", 1, 3000, s3_get=200, s3_put=1000, read_units=1000.0, lines=1, objects=200),
            usage("shard", 1, 2000, s3_get=2, s3_list=1, read_units=100.0, write_units=100.0, written=100),
            usage("finish", 1, 500, s3_list=3, deferred=2, deferred_ids=["ann@roboco.com", "ben@bankly.com"]),
        ]
    )
    steps = summary["steps"]
    assert (summary["deferred"], summary["deferred_ids"]) == (2, ["ann@roboco.com", "ben@bankly.com"])
    transitions = [["warm", "hot", 10], ["cold", "cold", 80], ["-", "warm", 5]]

    bill = {line.what: line for line in cost.run_cost(steps, archive_objects=700, transitions=transitions)}

    assert bill["Step Functions state transitions"].quantity == 5 + 3  # the parent's states, 3 children
    assert bill["Lambda requests"].quantity == 4
    shuffle_gb = FUNCTIONS["rescore_shuffle"].memory_mb / 1024
    expected_gb_s = (
        4.0 * shuffle_gb
        + 2.0 * FUNCTIONS["rescore_shard"].memory_mb / 1024
        + 0.5 * (FUNCTIONS["rescore_catchup"].memory_mb / 1024)
    )
    assert bill["Lambda duration (arm64)"].quantity == pytest.approx(expected_gb_s)
    assert bill["S3 GET requests"].quantity == 702
    # 2,000 parts, 4 result-writer objects; 4 listings by the workers and 1 page of the archive's listing
    assert bill["S3 PUT and LIST requests"].quantity == 2000 + 4 + 4 + 1
    assert bill["DynamoDB read units"].quantity == 3100
    assert bill["DynamoDB write units (items)"].quantity == 100
    assert bill["DynamoDB write units (by-band index)"].quantity == 2 * 10 + 5
    assert bill["DynamoDB write units (items)"].usd == pytest.approx(100 * 0.625 / 1_000_000)


class StepFunctionsFake:
    """Step Functions as the CLI sees it: an execution that runs for two polls, then succeeds."""

    def __init__(self, output: dict[str, Any], status: str = "SUCCEEDED") -> None:
        self.started: list[dict[str, Any]] = []
        self._polls = 0
        self._output = output
        self._status = status

    def start_execution(self, **request: Any) -> dict[str, Any]:
        self.started.append(request)
        return {"executionArn": "arn:aws:states:us-east-1:1:execution:Job:run"}

    def describe_execution(self, executionArn: str) -> dict[str, Any]:  # noqa: N803 (boto3's name)
        self._polls += 1
        if self._polls < 3:
            return {"status": "RUNNING"}
        return {"status": self._status, "output": json.dumps(self._output)}

    def list_map_runs(self, executionArn: str) -> dict[str, Any]:  # noqa: N803
        runs = [
            "arn:aws:states:us-east-1:1:mapRun:Job/Shuffle:1",
            "arn:aws:states:us-east-1:1:mapRun:Job/Rebuild:2",
        ]
        return {"mapRuns": [{"mapRunArn": arn} for arn in runs[: self._polls]]}

    def describe_map_run(self, mapRunArn: str) -> dict[str, Any]:  # noqa: N803
        done = 1000 if "Rebuild" in mapRunArn else 7
        return {"itemCounts": {"succeeded": done - 1, "total": done, "running": 1, "failed": 0}}


def test_the_job_is_started_for_the_rule_version_and_followed_to_its_end() -> None:
    summary = summarise(
        [usage("shard", 2, 10, written=3, leads=3, transitions=[["warm", "hot", 3]], deferred=[])]
    )
    summary["raised"] = [["ann@roboco.com", "warm", "hot", 120.0]]
    fake, out = StepFunctionsFake(summary), io.StringIO()

    result = run_job("arn:sm", RULES, client=fake, sleep=lambda seconds: None, out=out)

    assert result == summary
    (started,) = fake.started
    assert json.loads(started["input"]) == {"shards": 1000, "rules_version": RULES.version}
    progress = out.getvalue().splitlines()
    assert progress[1] == "running | map 1, archive objects: 6/7 done, 1 running, 0 failed"
    assert progress[-1].endswith("map 2, shards: 999/1,000 done, 1 running, 0 failed")
    text = summary_text(result)
    assert "written 3," in text
    assert "ann@roboco.com" in text
    assert "DynamoDB write units (items)" in text


def test_a_failed_job_returns_no_summary() -> None:
    out = io.StringIO()
    assert (
        run_job("arn:sm", RULES, client=StepFunctionsFake({}, "FAILED"), sleep=lambda s: None, out=out) == {}
    )
    assert "ended FAILED" in out.getvalue()


def test_a_catch_up_out_of_time_leaves_its_leads_deferred_untouched() -> None:
    repository = InMemoryLeadRepository()
    loaded: list[Any] = []

    tally = catch_up(
        {"ann@roboco.com"},
        lambda ids: loaded.append(ids) or ([], []),
        repository,
        RULES,
        lambda: NOW,
        has_time=lambda: False,
    )

    assert (tally.deferred, tally.written, loaded, repository.items) == ({"ann@roboco.com"}, 0, [], {})


def test_a_person_whose_history_is_all_dated_later_is_left_as_it_is() -> None:
    repository = InMemoryLeadRepository()
    later = Event(message_id="m-1", lead_id=LEAD, kind="page", properties={"path": "/pricing"}, timestamp=NOW)

    tally = write_people(repository, RULES, {LEAD: [later]}, NOW - timedelta(days=1), quiet_since=None)

    assert (tally.written, tally.unchanged, repository.items) == (0, 0, {})
