"""`leadscore replay` and `rules try` on the archive the score function wrote on moto: a candidate rule
that reads a trait the live rules ignore changes bands over past activity; the replay of the live rules
equals what live scoring stored; people erased on request are never replayed; nothing is written."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest

from leadscore.adapters.dynamodb import DynamoLeadRepository
from leadscore.engine import score_lead
from leadscore.replay import recorded_events, replay_states
from leadscore.rules import DEFAULT_RULES_FILE, load_rules
from leadscore_cli.main import main
from leadscore_cli.replay import archive_lines
from leadscore_local.aws import LOCAL_ADMIN_KEY, LOCAL_WRITE_KEY, LocalResources
from tests.integration.conftest import Invoke, api_event, archived, basic, call_api, score_queued

pytestmark = pytest.mark.integration
RULES = load_rules(DEFAULT_RULES_FILE)
# A fit rule on a trait the live rules ignore: robotics companies are our best customers.
ROBOTICS = """fit:
  - id: industry-robotics
    description: Builds robots
    points: 45
    when:
      traits:
        industry: {equals: robotics}
"""


def people() -> list[dict[str, Any]]:
    """Three warm leads (one in robotics), a hot one, and one who will be erased."""
    messages: list[dict[str, Any]] = []
    for name, industry, demo in (
        ("ada@northwind.com", "robotics", False),
        ("bo@initech.com", "banking", False),
        ("cy@globex.com", None, True),
        ("di@hooli.com", "robotics", False),
    ):
        traits = {"email": name, "title": "VP Engineering", "employees": 500, "country": "US"}
        if industry:
            traits["industry"] = industry
        messages.append({"type": "identify", "userId": name, "traits": traits, "messageId": f"{name}-1"})
        messages.append(
            {"type": "page", "userId": name, "properties": {"path": "/pricing"}, "messageId": f"{name}-2"}
        )
        if demo:
            messages.append(
                {"type": "track", "userId": name, "event": "Demo Requested", "messageId": f"{name}-3"}
            )
    return messages


@pytest.fixture
def history(aws: LocalResources, invoke: Invoke, tmp_path: Path) -> Path:
    headers = {"authorization": basic(LOCAL_WRITE_KEY), "content-type": "application/json"}
    event = api_event("/v1/batch", json.dumps({"batch": people()}).encode(), headers)
    assert invoke("collect", event)["statusCode"] == 200
    score_queued(invoke, aws)
    status, _ = call_api(
        invoke, "DELETE", "/v1/leads/{lead_id}", path={"lead_id": "di@hooli.com"}, key=LOCAL_ADMIN_KEY
    )
    assert status == 200
    candidate = tmp_path / "candidate.yaml"
    candidate.write_text(DEFAULT_RULES_FILE.read_text().replace("\nfit:\n", "\n" + ROBOTICS, 1))
    return candidate


def replay(capsys: pytest.CaptureFixture[str], *arguments: str) -> tuple[int, str]:
    code = main(["replay", *arguments])
    return code, capsys.readouterr().out


def test_a_candidate_rule_on_an_ignored_trait_changes_bands_over_past_activity(
    history: Path, aws: LocalResources, capsys: pytest.CaptureFixture[str]
) -> None:
    at = (datetime.now(UTC) + timedelta(seconds=1)).isoformat()
    before = boto3.client("dynamodb").scan(TableName=aws.table_name)["Items"]
    code, out = replay(
        capsys,
        "--rules",
        str(history),
        "--archive",
        f"s3://{aws.bucket}",
        "--table",
        aws.table_name,
        "--json",
        "--at",
        at,
    )
    assert code == 0
    answer = json.loads(out)
    # Di is erased: her history is never replayed, so she is not a lead at all.
    assert answer["leads"] == 3
    assert [
        (change["lead_id"], change["before"]["band"], change["after"]["band"]) for change in answer["changed"]
    ] == [("ada@northwind.com", "warm", "hot")]
    assert {(row["from"], row["to"]): row["leads"] for row in answer["transitions"]} == {
        ("warm", "hot"): 1,
        ("warm", "warm"): 1,
        ("hot", "hot"): 1,
    }
    # Nothing written: the table is as it was.
    assert boto3.client("dynamodb").scan(TableName=aws.table_name)["Items"] == before


def test_the_replay_of_the_live_rules_equals_what_live_scoring_stored(
    history: Path, aws: LocalResources
) -> None:
    at = datetime.now(UTC)
    lines = list(archive_lines([f"s3://{aws.bucket}"], since=None))
    replayed = replay_states(RULES, recorded_events(lines, at, erased=lambda keys: False), at)
    repository = DynamoLeadRepository(aws.table_name)
    for lead_id, (state, _) in replayed.items():
        live = repository.get(lead_id)
        if lead_id == "di@hooli.com":  # erased: only the replay without the suppression list sees her
            assert live is None
            continue
        assert live is not None
        assert score_lead(RULES, live.state, at).score == score_lead(RULES, state, at).score


def test_rules_try_and_replay_read_the_archive_as_files(
    history: Path, aws: LocalResources, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "archive"
    s3 = boto3.client("s3")
    for name in archived(aws.bucket):
        target = folder / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(s3.get_object(Bucket=aws.bucket, Key=name)["Body"].read())
    (gzipped,) = folder.rglob("*.jsonl.gz")
    assert main(["rules", "try", str(DEFAULT_RULES_FILE), str(gzipped), "--json"]) == 0
    tried = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert {row["lead"] for row in tried} == {
        "ada@northwind.com",
        "bo@initech.com",
        "cy@globex.com",
        "di@hooli.com",
    }
    # A local copy, erasures looked up in the table: the same answer as from the bucket.
    code, out = replay(
        capsys, "--rules", str(history), "--archive", str(folder), "--table", aws.table_name, "--json"
    )
    assert code == 0
    assert json.loads(out)["leads"] == 3
    # From the bucket, the table is required: erased people must stay erased.
    assert main(["replay", "--rules", str(history), "--archive", f"s3://{aws.bucket}"]) == 2
