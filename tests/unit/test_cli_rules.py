"""`leadscore rules check` and `leadscore rules try`, run as the rule owner runs them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from leadscore.rules import DEFAULT_RULES_FILE
from leadscore_cli.main import main
from tests.conftest import REPO_ROOT

TRAFFIC = REPO_ROOT / "events" / "demo" / "traffic.jsonl"


def test_check_without_a_file_checks_the_default_rules(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rules", "check"]) == 0
    assert capsys.readouterr().out.startswith(f"{DEFAULT_RULES_FILE}: OK, version ")


def test_check_reports_each_problem_with_file_line_and_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = tmp_path / "broken.yaml"
    text = DEFAULT_RULES_FILE.read_text().replace("    enter: 100\n", "    enter: 10\n")
    broken.write_text(text.replace("limit: once\n", "limit: twice\n", 1))
    assert main(["rules", "check", str(broken)]) == 1
    errors = capsys.readouterr().err.splitlines()
    assert errors[0] == f"{broken}: 1 problem(s)"
    line = next(n for n, row in enumerate(broken.read_text().splitlines(), 1) if "limit: twice" in row)
    assert errors[1].startswith(f"{broken}:{line}: engagement.0.limit: ")


def test_try_prints_each_lead_with_score_band_grade_and_explanation(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["rules", "try", str(DEFAULT_RULES_FILE), str(TRAFFIC), "--at", "2026-11-24T00:00:00Z"]) == 0
    out = capsys.readouterr().out
    assert "46 events" in out
    jane = out.split("\n\n")[1]
    assert jane.startswith("jane@acme-robotics.com  score ")
    assert "band hot" in jane
    assert "grade A1" in jane
    assert "demo-request" in jane
    assert "signal 2026-11-20" in jane


def test_try_json_prints_one_object_per_lead(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rules", "try", str(DEFAULT_RULES_FILE), str(TRAFFIC), "--json", "--at", "2026-11-24"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(rows) == len({row["lead"] for row in rows}) == 10
    # The visitor who identified is the person, not a lead of their own
    leads = {row["lead"]: row for row in rows}
    assert "anon-91be07" not in leads
    assert "pricing-page" in {item["rule"] for item in leads["sam@globex.io"]["explanation"]}
    for row in rows:
        assert {"lead", "score", "fit", "engagement", "band", "grade", "explanation"} <= row.keys()
        assert round(sum(item["points"] for item in row["explanation"]), 2) == row["score"]
        assert all({"rule", "points"} <= item.keys() for item in row["explanation"])


def test_try_at_an_earlier_moment_leaves_out_later_events_and_decay(
    capsys: pytest.CaptureFixture[str],
) -> None:
    def jane(at: str) -> dict[str, object]:
        main(["rules", "try", str(DEFAULT_RULES_FILE), str(TRAFFIC), "--json", "--at", at])
        rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
        return next(row for row in rows if row["lead"] == "jane@acme-robotics.com")

    before_demo, after_demo, much_later = jane("2026-11-19"), jane("2026-11-21"), jane("2027-06-01")
    assert "demo-request" not in {item["rule"] for item in before_demo["explanation"]}  # type: ignore[attr-defined]
    assert after_demo["score"] > before_demo["score"]  # type: ignore[operator]
    assert much_later["engagement"] < after_demo["engagement"]  # type: ignore[operator]
    assert much_later["fit"] == after_demo["fit"]


def test_try_names_the_bad_line_of_an_events_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    events = tmp_path / "events.jsonl"
    events.write_text('{"type": "track", "userId": "a", "event": "X"}\n{"type": "track", "userId": "a"}\n')
    assert main(["rules", "try", str(DEFAULT_RULES_FILE), str(events)]) == 2
    assert f"{events}:2" in capsys.readouterr().err
