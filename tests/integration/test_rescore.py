"""`leadscore rescore` on moto: the archive the score function wrote, re-scored under a rule file that reads
a trait the live rules ignore. The stored leads become what replay gives; erased people stay erased; merged
ids stay merged; outcomes and follow-ups are untouched; no signal is raised; a second run writes nothing;
a live batch scored between the re-score's read and its write is neither lost nor counted twice."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest

from functions.rescore_catchup import handler as catchup_handler
from leadscore import resources
from leadscore.adapters.dynamodb import DynamoLeadRepository
from leadscore.engine import score_lead
from leadscore.errors import ConcurrentUpdate
from leadscore.records import FollowUp, LeadRecord, MergedLead, Outcome
from leadscore.replay import recorded_events, replay_states
from leadscore.rescore.job import rescore_lines
from leadscore.rules import DEFAULT_RULES_FILE, RuleSet, load_rules
from leadscore_cli.main import main
from leadscore_cli.replay import archive_lines
from leadscore_cli.rescore import summary_text
from leadscore_local.aws import LOCAL_ADMIN_KEY, LOCAL_WRITE_KEY, LocalResources
from tests.integration.conftest import Invoke, api_event, basic, call_api, redeployed, score_queued

pytestmark = pytest.mark.integration
ROBOTICS = """fit:
  - id: builds-robots
    description: Robotics companies buy most
    points: 40
    when:
      traits:
        industry: {equals: robotics}
"""
VISITOR = "anon-7f3a"


def history_messages() -> list[dict[str, Any]]:
    """Two robotics leads (one who browsed anonymously first), one in banking, one to be erased."""
    messages: list[dict[str, Any]] = [
        {"type": "page", "anonymousId": VISITOR, "properties": {"path": "/pricing"}, "messageId": "v-1"},
        {"type": "page", "anonymousId": VISITOR, "properties": {"path": "/docs"}, "messageId": "v-2"},
    ]
    for name, industry in (
        ("ann@roboco.com", "robotics"),
        ("ben@bankly.com", "banking"),
        ("cat@servo.io", "robotics"),
        ("dan@gone.com", "robotics"),
    ):
        traits = {"email": name, "title": "Head of Operations", "employees": 300, "industry": industry}
        identify: dict[str, Any] = {
            "type": "identify",
            "userId": name,
            "traits": traits,
            "messageId": f"{name}-i",
        }
        if name == "ann@roboco.com":
            identify["anonymousId"] = VISITOR
        messages.append(identify)
        messages.append(
            {"type": "page", "userId": name, "properties": {"path": "/pricing"}, "messageId": f"{name}-p"}
        )
    return messages


def send(invoke: Invoke, aws: LocalResources, messages: list[dict[str, Any]]) -> None:
    headers = {"authorization": basic(LOCAL_WRITE_KEY), "content-type": "application/json"}
    event = api_event("/v1/batch", json.dumps({"batch": messages}).encode(), headers)
    assert invoke("collect", event)["statusCode"] == 200
    score_queued(invoke, aws)


@pytest.fixture
def candidate(tmp_path: Path) -> Path:
    path = tmp_path / "candidate.yaml"
    path.write_text(DEFAULT_RULES_FILE.read_text().replace("\nfit:\n", "\n" + ROBOTICS, 1))
    return path


@pytest.fixture
def history(aws: LocalResources, invoke: Invoke) -> DynamoLeadRepository:
    """The live rules scored the history; Dan was erased; Ben has an outcome and a follow-up."""
    send(invoke, aws, history_messages())
    status, _ = call_api(
        invoke, "DELETE", "/v1/leads/{lead_id}", path={"lead_id": "dan@gone.com"}, key=LOCAL_ADMIN_KEY
    )
    assert status == 200
    repository = DynamoLeadRepository(aws.table_name)
    at = datetime(2026, 11, 20, 10, tzinfo=UTC)
    assert repository.record_outcome("ben@bankly.com", Outcome(outcome="converted", value=9000, at=at))
    assert repository.record_follow_up("ben@bankly.com", FollowUp(status="contacted", by="sam", at=at))
    return repository


def replayed(rules: RuleSet, bucket: str, at: datetime, erased: set[str]) -> dict[str, Any]:
    """What the offline engine gives on the archive, erased people's lines left out as a reader must."""
    lines = list(archive_lines([f"s3://{bucket}"], since=None))
    events = [e for e in recorded_events(lines, at, erased=lambda keys: False) if e.lead_id not in erased]
    return {lead_id: state for lead_id, (state, _) in replay_states(rules, events, at).items()}


def lead(repository: DynamoLeadRepository, lead_id: str) -> LeadRecord:
    record = repository.get(lead_id)
    assert record is not None
    return record


def rescore(capsys: pytest.CaptureFixture[str], *arguments: str) -> tuple[int, dict[str, Any]]:
    code = main(["rescore", *arguments, "--json"])
    return code, json.loads(capsys.readouterr().out)


def test_a_rule_on_an_ignored_trait_rescores_past_activity_to_what_replay_gives(
    history: DynamoLeadRepository, aws: LocalResources, candidate: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rules = load_rules(candidate)
    live_rules = load_rules(DEFAULT_RULES_FILE)
    before = {name: lead(history, name) for name in ("ann@roboco.com", "ben@bankly.com", "cat@servo.io")}

    code, answer = rescore(
        capsys, "--rules", str(candidate), "--archive", f"s3://{aws.bucket}", "--table", aws.table_name
    )

    assert code == 0
    at = datetime.now(UTC)
    expected = replayed(rules, aws.bucket, at, erased={"dan@gone.com"})
    assert set(expected) == {"ann@roboco.com", "ben@bankly.com", "cat@servo.io"}
    assert (answer["leads"], answer["written"], answer["erased"], answer["deferred"]) == (3, 3, 0, [])
    for name, state in expected.items():
        stored = lead(history, name)
        assert stored.summary.rules_version == rules.version
        assert stored.signals == []  # a re-score raises no alert
        assert score_lead(rules, stored.state, at).score == score_lead(rules, state, at).score
        assert score_lead(rules, stored.state, at).band == score_lead(rules, state, at).band
    # The robotics leads gained the new rule's points over their past identify; banking did not.
    for name, gained in (("ann@roboco.com", 40), ("cat@servo.io", 40), ("ben@bankly.com", 0)):
        old = score_lead(live_rules, before[name].state, at).score
        assert score_lead(rules, lead(history, name).state, at).score == pytest.approx(old + gained), name


def test_erased_people_stay_erased_merged_ids_stay_merged_and_sales_items_are_untouched(
    history: DynamoLeadRepository, aws: LocalResources, candidate: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    outcome, follow_up = history.outcome_of("ben@bankly.com"), history.follow_up_of("ben@bankly.com")
    assert isinstance(history.read(VISITOR), MergedLead)

    code, _ = rescore(
        capsys, "--rules", str(candidate), "--archive", f"s3://{aws.bucket}", "--table", aws.table_name
    )

    assert code == 0
    assert history.read("dan@gone.com") is not None  # on the suppression list ...
    assert history.get("dan@gone.com") is None  # ... and no lead
    assert history.read(VISITOR) == MergedLead(lead_id=VISITOR, version=1, into="ann@roboco.com")
    # The visitor's anonymous pages are Ann's, as replay links them.
    expected = replayed(load_rules(candidate), aws.bucket, datetime.now(UTC), erased={"dan@gone.com"})
    ann = lead(history, "ann@roboco.com")
    assert ann.state == expected["ann@roboco.com"].but(alerted=ann.state.alerted)
    assert VISITOR not in expected
    assert history.outcome_of("ben@bankly.com") == outcome
    assert history.follow_up_of("ben@bankly.com") == follow_up
    assert len(history.merged_into("ann@roboco.com")) == 1


def test_a_second_run_changes_nothing_and_a_dry_run_writes_nothing(
    history: DynamoLeadRepository, aws: LocalResources, candidate: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    table = boto3.client("dynamodb")
    untouched = table.scan(TableName=aws.table_name)["Items"]
    code, dry = rescore(
        capsys,
        "--rules",
        str(candidate),
        "--archive",
        f"s3://{aws.bucket}",
        "--table",
        aws.table_name,
        "--dry-run",
    )
    assert (code, dry["written"]) == (0, 3)
    assert table.scan(TableName=aws.table_name)["Items"] == untouched

    assert (
        rescore(
            capsys, "--rules", str(candidate), "--archive", f"s3://{aws.bucket}", "--table", aws.table_name
        )[0]
        == 0
    )
    first = table.scan(TableName=aws.table_name)["Items"]
    code, again = rescore(
        capsys, "--rules", str(candidate), "--archive", f"s3://{aws.bucket}", "--table", aws.table_name
    )

    # Written moments ago by the first run, yet found unchanged at once: no catch-up needed.
    assert (code, again["written"], again["unchanged"], again["caught_up"]) == (0, 0, 3, 0)
    assert table.scan(TableName=aws.table_name)["Items"] == first


class LiveBatchBeforeFirstWrite(DynamoLeadRepository):
    """The table, with a live batch scored for Ann just before the re-score's first write to her."""

    def __init__(self, table: str, live: Callable[[], None]) -> None:
        super().__init__(table)
        self._live: Callable[[], None] | None = live
        self.lost: list[str] = []

    def save(self, record: LeadRecord, expected_version: int) -> None:
        if record.lead_id != "ann@roboco.com" or self._live is None:
            super().save(record, expected_version)
            return
        self._live()
        self._live = None
        try:
            super().save(record, expected_version)
        except ConcurrentUpdate:
            self.lost.append(record.lead_id)
            raise


DEMO = {
    "type": "track",
    "userId": "ann@roboco.com",
    "event": "Demo Requested",
    "messageId": "ann-demo",
    "timestamp": datetime.now(UTC).isoformat(),
}


@pytest.fixture
def deployed(aws: LocalResources, candidate: Path, monkeypatch: pytest.MonkeyPatch) -> RuleSet:
    """The candidate deployed: live scoring and the job's workers use it from now on."""
    monkeypatch.setenv(resources.ENV_RULES_PATH, str(candidate))
    redeployed()
    return load_rules(candidate)


@pytest.fixture
def racing(history: DynamoLeadRepository, aws: LocalResources, invoke: Invoke) -> LiveBatchBeforeFirstWrite:
    """Ann's demo request sent live (archived in a new object, then scored) just before the re-score's
    first write to her."""
    return LiveBatchBeforeFirstWrite(aws.table_name, lambda: send(invoke, aws, [DEMO]))


def test_a_live_batch_between_the_read_and_the_write_is_neither_lost_nor_counted_twice(
    racing: LiveBatchBeforeFirstWrite, aws: LocalResources, invoke: Invoke, deployed: RuleSet
) -> None:
    run = rescore_lines(
        lambda: list(archive_lines([f"s3://{aws.bucket}"], since=None)),
        racing,
        deployed,
        lambda: datetime.now(UTC),
        margin=timedelta(0),
    )

    assert racing.lost == ["ann@roboco.com"]  # the live write came between: the re-score's write lost
    assert (run.caught_up, run.tally.deferred, run.tally.written) == (1, set(), 3)
    ann = assert_ann_holds_everything_once(racing, aws, deployed)
    # Another live copy of the demo request changes nothing.
    send(invoke, aws, [DEMO])
    assert lead(racing, "ann@roboco.com").state == ann.state


def assert_ann_holds_everything_once(
    repository: DynamoLeadRepository, aws: LocalResources, rules: RuleSet
) -> LeadRecord:
    """Ann's lead is the replay of every archived message, the live demo request included."""
    at = datetime.now(UTC)
    assert "ann-demo" in json.dumps(list(archive_lines([f"s3://{aws.bucket}"], since=None)))
    expected = replayed(rules, aws.bucket, at, erased={"dan@gone.com"})["ann@roboco.com"]
    ann = lead(repository, "ann@roboco.com")
    assert ann.state == expected.but(alerted=ann.state.alerted)
    assert score_lead(rules, ann.state, at).score == score_lead(rules, expected, at).score
    assert score_lead(rules, ann.state, at).fast_track_reasons
    return ann


# The AWS job: its workers invoked the way the state machine's maps invoke them (moto has no Distributed Map).

SHARDS = 4


@dataclass(frozen=True)
class Job:
    bucket: str
    rules: RuleSet


@pytest.fixture
def job(aws: LocalResources, deployed: RuleSet, monkeypatch: pytest.MonkeyPatch) -> Job:
    """The work bucket, and the deployed candidate the workers score with (the layer's rule file)."""
    bucket = "leadscore-rescore-work"
    boto3.client("s3").create_bucket(Bucket=bucket)
    monkeypatch.setenv(resources.ENV_RESCORE_BUCKET, bucket)
    redeployed()
    return Job(bucket, deployed)


def run_job(invoke: Invoke, aws: LocalResources, job: Job, run: dict[str, Any]) -> dict[str, Any]:
    """Map 1 over the archive's objects (two to a child), map 2 over the shards, each map's outputs kept
    as its result writer keeps them, then the last step."""
    s3 = boto3.client("s3")
    keys = [
        {"Key": item["Key"], "Size": item["Size"]}
        for item in s3.list_objects_v2(Bucket=aws.bucket)["Contents"]
    ]
    shuffled = [
        invoke("rescore_shuffle", {"Items": keys[start : start + 2], "BatchInput": run})
        for start in range(0, len(keys), 2)
    ]
    rebuilt = [invoke("rescore_shard", {**run, "shard": shard}) for shard in range(SHARDS)]
    manifests = []
    for name, outputs in (("shuffle", shuffled), ("shards", rebuilt)):
        prefix = f"runs/{run['run']}/results/{name}"
        results = [
            {"ExecutionArn": f"arn:{index}", "Output": json.dumps(out)} for index, out in enumerate(outputs)
        ]
        s3.put_object(Bucket=job.bucket, Key=f"{prefix}/SUCCEEDED_0.json", Body=json.dumps(results).encode())
        manifest = {"ResultFiles": {"SUCCEEDED": [{"Key": f"{prefix}/SUCCEEDED_0.json", "Size": 1}]}}
        s3.put_object(Bucket=job.bucket, Key=f"{prefix}/manifest.json", Body=json.dumps(manifest).encode())
        manifests.append(f"{prefix}/manifest.json")
    summary: dict[str, Any] = invoke("rescore_catchup", {**run, "manifests": manifests})
    return summary


def test_the_aws_job_writes_what_replay_gives_and_a_second_run_nothing(
    history: DynamoLeadRepository, aws: LocalResources, invoke: Invoke, job: Job
) -> None:
    rules = job.rules
    # Started a while after the live writes: map 2 writes every lead itself.
    started = (datetime.now(UTC) + timedelta(minutes=16)).isoformat()
    run = {"run": "first", "started": started, "shards": SHARDS, "rules_version": rules.version}

    summary = run_job(invoke, aws, job, run)

    steps = summary["steps"]
    objects = len(boto3.client("s3").list_objects_v2(Bucket=aws.bucket)["Contents"])
    assert (steps["shuffle"]["objects"], steps["shuffle"]["invocations"]) == (objects, (objects + 1) // 2)
    assert (steps["shard"]["leads"], steps["shard"]["written"], steps["shard"]["invocations"]) == (
        3,
        3,
        SHARDS,
    )
    assert steps["shuffle"]["erased_lines"] == 2  # Dan's identify and page
    assert (steps["finish"]["written"], summary["deferred"], summary["deferred_ids"]) == (0, 0, [])
    assert steps["shard"]["write_units"] == 3
    assert "re-scored 3 leads from 10 archived lines" in summary_text(summary)
    at = datetime.now(UTC)
    for name, state in replayed(rules, aws.bucket, at, erased={"dan@gone.com"}).items():
        stored = lead(history, name)
        assert stored.state == state.but(alerted=stored.state.alerted)
        assert stored.summary.rules_version == rules.version
    assert history.get("dan@gone.com") is None
    assert isinstance(history.read(VISITOR), MergedLead)

    again = run_job(invoke, aws, job, {**run, "run": "second"})
    assert (again["steps"]["shard"]["written"], again["steps"]["shard"]["unchanged"]) == (0, 3)


def test_the_aws_job_refuses_rules_other_than_the_deployed_ones(
    history: DynamoLeadRepository, aws: LocalResources, invoke: Invoke, job: Job
) -> None:
    run = {
        "run": "r",
        "started": datetime.now(UTC).isoformat(),
        "shards": SHARDS,
        "rules_version": "0123456789ab",
    }
    with pytest.raises(ValueError, match="deploy the rule file first"):
        invoke("rescore_shard", {**run, "shard": 0})


def test_the_aws_job_re_joins_a_live_batch_that_lands_between_its_read_and_its_write(
    racing: LiveBatchBeforeFirstWrite,
    aws: LocalResources,
    invoke: Invoke,
    job: Job,
) -> None:
    # The catch-up's table is the racing one (the maps write through the plain table).
    catchup_handler.wiring.wire(replace(catchup_handler.Collaborators.from_settings(), leads=racing))
    # Started just now: every lead was written within the margin, so map 2 leaves them all to the catch-up.
    run = {
        "run": "race",
        "started": datetime.now(UTC).isoformat(),
        "shards": SHARDS,
        "rules_version": job.rules.version,
    }

    summary = run_job(invoke, aws, job, run)

    assert (summary["steps"]["shard"]["written"], summary["steps"]["shard"]["deferred"]) == (0, 3)
    assert racing.lost == ["ann@roboco.com"]
    assert (summary["steps"]["finish"]["written"], summary["deferred"], summary["deferred_ids"]) == (3, 0, [])
    assert_ann_holds_everything_once(racing, aws, job.rules)


def test_the_job_sets_the_expiry_of_the_leads_it_writes_as_score_does(
    history: DynamoLeadRepository,
    aws: LocalResources,
    invoke: Invoke,
    job: Job,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(resources.ENV_RETENTION_DAYS, "90")
    redeployed()
    started = (datetime.now(UTC) + timedelta(minutes=16)).isoformat()
    run_job(
        invoke,
        aws,
        job,
        {"run": "ttl", "started": started, "shards": SHARDS, "rules_version": job.rules.version},
    )
    items = boto3.client("dynamodb").scan(TableName=aws.table_name)["Items"]
    leads = {item["pk"]["S"]: item for item in items if item["sk"]["S"] == "L" and "mi" not in item}
    assert set(leads) == {"L#ann@roboco.com", "L#ben@bankly.com", "L#cat@servo.io"}
    for pk, item in leads.items():
        last = lead(history, pk.removeprefix("L#")).state.last_at
        assert last is not None
        if pk == "L#ben@bankly.com":  # sales recorded an outcome for Ben: kept, never expires
            assert ("exp" in item, item["kp"]) == (False, {"N": "1"})
        else:
            assert (int(item["exp"]["N"]), "kp" in item) == (last + 90 * 86400, False), pk
