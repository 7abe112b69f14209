"""`leadscore report` on moto: leads scored by the functions, outcomes and follow-ups recorded through the
API, the table read by a scan; its figures checked against the archive replayed by the offline engine and
worked out here pair by pair. Merged ids and people erased on request are not leads of the report."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from leadscore.adapters.dynamodb import DynamoLeadRepository
from leadscore.engine import score_lead
from leadscore.replay import recorded_events, replay_states
from leadscore.rules import DEFAULT_RULES_FILE, load_rules
from leadscore_cli.main import main
from leadscore_cli.replay import archive_lines
from leadscore_cli.reporting.rows import read_rows
from leadscore_local.aws import LOCAL_ADMIN_KEY, LOCAL_READ_KEY, LOCAL_WRITE_KEY, LocalResources
from tests.integration.conftest import Invoke, api_event, basic, call_api, score_queued

pytestmark = pytest.mark.integration
RULES = load_rules(DEFAULT_RULES_FILE)
NOW = datetime.now(UTC).replace(microsecond=0)
# lead: (title, employees, e-mail domain, events, outcome)
LEADS: dict[str, tuple[str, int, list[str], str | None]] = {
    "ana@initech.com": ("VP Engineering", 500, ["Demo Requested", "Webinar Attended"], "converted"),
    "ben@globex.com": ("CEO", 500, ["Quote Requested"], "converted"),
    "cy@hooli.com": ("Director of IT", 60, ["Webinar Attended"], "converted"),
    "dee@gmail.com": ("Engineer", 10, [], "lost"),
    "eli@umbrella.com": ("Engineering Manager", 500, ["Webinar Registered"], "lost"),
    "fay@state.edu": ("Student", 10, ["Webinar Attended"], "lost"),
    "gus@tiny.io": ("VP Sales", 8, ["Email Link Clicked"], "lost"),
    "hal@acme.com": ("CEO", 3000, ["Demo Requested"], "lost"),
    "ida@vandelay.com": ("Head of Data", 200, [], None),
    "jo@soylent.com": ("CTO", 500, ["Whitepaper Downloaded"], "converted"),
}
ERASED = "kim@initech.com"
VISITOR = "anon-jo"
FOLLOWED_UP = {"ana@initech.com", "ben@globex.com"}


def messages() -> list[dict[str, Any]]:
    """Each lead's identify and events two days ago; Jo browsed the pricing page anonymously first; Kim
    (to be erased) looks like Ana."""
    at = (NOW - timedelta(days=2)).isoformat()
    found: list[dict[str, Any]] = [
        {"type": "page", "anonymousId": VISITOR, "properties": {"path": "/pricing"}, "timestamp": at}
    ]
    for lead_id, (title, employees, events, _) in [*LEADS.items(), (ERASED, LEADS["ana@initech.com"])]:
        traits = {"email": lead_id, "title": title, "employees": employees, "country": "US"}
        identify = {"type": "identify", "userId": lead_id, "traits": traits, "timestamp": at}
        if lead_id == "jo@soylent.com":
            identify["anonymousId"] = VISITOR
        found.append(identify)
        found += [{"type": "track", "userId": lead_id, "event": name, "timestamp": at} for name in events]
    return [{**message, "messageId": f"m{number}"} for number, message in enumerate(found)]


def outcome_time(index: int) -> datetime:
    return NOW - timedelta(days=1, minutes=index)


@pytest.fixture
def seeded(aws: LocalResources, invoke: Invoke) -> dict[str, datetime]:
    """The leads scored; outcomes recorded (Jo's through her anonymous id); two hot leads followed up; Kim
    erased after her outcome was recorded. The outcome times by lead."""
    headers = {"authorization": basic(LOCAL_WRITE_KEY), "content-type": "application/json"}
    event = api_event("/v1/batch", json.dumps({"batch": messages()}).encode(), headers)
    assert invoke("collect", event)["statusCode"] == 200
    score_queued(invoke, aws)
    times = {}
    for index, (lead_id, (*_, outcome)) in enumerate([*LEADS.items(), (ERASED, (None, "converted"))]):
        if outcome is None:
            continue
        times[lead_id] = outcome_time(index)
        named = VISITOR if lead_id == "jo@soylent.com" else lead_id
        body = {"outcome": outcome, "at": times[lead_id].isoformat()}
        status, _ = call_api(
            invoke,
            "POST",
            "/v1/leads/{lead_id}/outcome",
            path={"lead_id": named},
            body=body,
            key=LOCAL_READ_KEY,
        )
        assert status == 200
    for lead_id in FOLLOWED_UP:
        status, _ = call_api(
            invoke,
            "POST",
            "/v1/leads/{lead_id}/status",
            path={"lead_id": lead_id},
            body={"status": "contacted", "by": "kim.s"},
            key=LOCAL_READ_KEY,
        )
        assert status == 200
    status, _ = call_api(
        invoke, "DELETE", "/v1/leads/{lead_id}", path={"lead_id": ERASED}, key=LOCAL_ADMIN_KEY
    )
    assert status == 200
    del times[ERASED]
    return times


def expected_scores(aws: LocalResources, times: dict[str, datetime]) -> dict[str, tuple[float, str]]:
    """Each lead at its outcome's time (else now): its score from the archive replayed offline, its band
    from the stored lead (a band also depends on the band the lead was in: hysteresis)."""
    lines = list(archive_lines([f"s3://{aws.bucket}"], since=None))
    states = replay_states(RULES, recorded_events(lines, NOW, erased=lambda keys: False), NOW)
    repository = DynamoLeadRepository(aws.table_name)
    found = {}
    for lead_id in LEADS:
        at = times.get(lead_id, datetime.now(UTC))
        stored = repository.get(lead_id)
        assert stored is not None
        found[lead_id] = (
            score_lead(RULES, states[lead_id][0], at).score,
            score_lead(RULES, stored.state, at).band,
        )
    return found


def pairwise_auc(scores: dict[str, float], converted: set[str]) -> float:
    wins = [
        1.0 if scores[won] > scores[lost] else 0.5 if scores[won] == scores[lost] else 0.0
        for won in converted
        for lost in scores.keys() - converted
    ]
    return sum(wins) / len(wins)


def test_the_report_on_the_table_agrees_with_the_outcomes_worked_out_here(
    seeded: dict[str, datetime],
    aws: LocalResources,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Given the scores the offline engine gives the archived history, at each outcome's time
    expected = expected_scores(aws, seeded)
    decided = {lead_id: expected[lead_id][0] for lead_id in seeded}
    converted = {lead_id for lead_id in seeded if LEADS[lead_id][3] == "converted"}
    # When the report reads the table
    export = tmp_path / "snapshot.csv"
    arguments = ["report", "--table", aws.table_name, "--json", "--export", str(export), "--value", "1000"]
    assert main([*arguments, "--cost", "100", "--capacity-per-week", "3"]) == 0
    captured = capsys.readouterr()
    report = json.loads(captured.out)
    # Then the leads are the people (no merged id, nobody erased), scored as the engine scores them
    rows = {row.lead_id: row for row in read_rows(export)}
    assert set(rows) == set(LEADS)
    assert {lead_id: (row.score, row.band) for lead_id, row in rows.items()} == expected
    assert rows["jo@soylent.com"].outcome == "converted"
    assert "pricing-page" in rows["jo@soylent.com"].rules  # her anonymous browsing counts
    assert "pages" in captured.err
    # and the figures are those worked out pair by pair and lead by lead
    assert (report["leads"], report["decided"], report["converted"]) == (10, 9, 4)
    assert report["roc_auc"] == pytest.approx(pairwise_auc(decided, converted))
    assert report["converted_below_threshold"] == sum(1 for lead_id in converted if decided[lead_id] < 100)
    assert report["suggested_thresholds"]["lowest_converted"] == min(
        decided[lead_id] for lead_id in converted
    )
    by_band = {row["band"]: (row["leads"], row["converted"]) for row in report["by_band"]}
    bands = [expected[lead_id][1] for lead_id in seeded]
    assert by_band == {
        band: (bands.count(band), sum(1 for lead_id in converted if expected[lead_id][1] == band))
        for band in set(bands)
    }
    best = report["suggested_thresholds"]["best_value"]
    nets = {
        threshold: 1000 * sum(1 for c in converted if decided[c] >= threshold)
        - 100 * sum(1 for score in decided.values() if score >= threshold)
        for threshold in decided.values()
    }
    assert best["net_value"] == max(nets.values())
    webinar = next(rule for rule in report["rules"] if rule["rule"] == "webinar-attended")
    assert (webinar["fired"], webinar["converted"]) == (3, 2)  # Ana, Cy converted; Fay did not
    assert next(r for r in report["rules"] if r["rule"] == "trial-started")["flags"] == ["never fires"]
    # Speed to lead: three leads were fast-tracked to hot; two were followed up (seconds later), Hal never
    assert {lead_id for lead_id, row in rows.items() if row.turned_hot_at is not None} == {
        "ana@initech.com",
        "ben@globex.com",
        "hal@acme.com",
    }
    speed = report["speed_to_lead"]
    assert (speed["turned_hot"], speed["followed_up"]) == (3, 2)
    assert {row["wait"]: (row["leads"], row["converted"]) for row in speed["by_wait"]} == {
        "within 5 minutes": (2, 2),
        "no follow-up": (1, 0),
    }


def test_the_export_reports_the_same_as_the_table(
    seeded: dict[str, datetime], aws: LocalResources, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    export = tmp_path / "snapshot.jsonl"
    assert main(["report", "--table", aws.table_name, "--json", "--export", str(export)]) == 0
    from_table = json.loads(capsys.readouterr().out)
    html = tmp_path / "report.html"
    assert main(["report", "--file", str(export), "--json", "--html", str(html)]) == 0
    assert json.loads(capsys.readouterr().out) == from_table
    assert html.read_text().count("<svg") == 6
