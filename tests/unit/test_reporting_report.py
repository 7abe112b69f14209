"""Report rows read back from an export as written, and the report built from rows worked out by hand."""

from __future__ import annotations

import io
import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Literal

import pytest

from leadscore_cli.report import Progress
from leadscore_cli.reporting.html import render_html
from leadscore_cli.reporting.metrics import Tally
from leadscore_cli.reporting.report import (
    NO_FOLLOW_UP,
    ReportOptions,
    as_json,
    build_report,
    wait_bucket,
    waited,
)
from leadscore_cli.reporting.rows import ReportFileError, ReportRow, read_rows, write_rows
from leadscore_cli.reporting.text import render_text

START = datetime(2026, 9, 1, tzinfo=UTC)
OPTIONS = ReportOptions(
    threshold=100, band_order=["cold", "warm", "hot", "disqualified"], rule_ids=["demo", "never"]
)


def lead(  # a lead that came in `days` after START; `waited_minutes` from turning hot to follow-up
    n: int,
    score: float,
    outcome: Literal["converted", "lost"] | None,
    *,
    band: str = "cold",
    days: int = 0,
    waited_minutes: float | None = None,
    rules: dict[str, float] | None = None,
) -> ReportRow:
    came_in = START + timedelta(days=days)
    hot = came_in + timedelta(hours=1) if waited_minutes is not None else None
    return ReportRow(
        lead_id=f"lead{n}@example.com",
        score=score,
        fit=score / 2,
        engagement=score / 2,
        band=band,
        stage="lead",
        outcome=outcome,
        outcome_at=came_in + timedelta(days=5) if outcome else None,
        first_seen=came_in,
        turned_hot_at=hot,
        followed_up_at=hot + timedelta(minutes=waited_minutes)
        if hot and waited_minutes is not None
        else None,
        scored_at=came_in + timedelta(days=5),
        rules=rules or {},
    )


ROWS = [
    lead(1, 120, "converted", band="hot", waited_minutes=3, rules={"demo": 40}),
    lead(2, 110, "lost", band="hot", waited_minutes=-1, rules={"demo": 40}),
    lead(3, 60, "converted", band="warm", days=31),
    lead(4, 40, "lost", days=31),
    lead(5, 10, "lost", days=40),
    lead(6, 5, None, days=70),
]


@pytest.mark.parametrize("name", ["snapshot.csv", "snapshot.jsonl"])
def test_an_export_reads_back_as_written(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    assert write_rows(ROWS, path) == len(ROWS)
    assert list(read_rows(path)) == ROWS


def test_a_bad_line_names_where_and_the_field(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    good = ROWS[0].model_dump_json()
    path.write_text(good + "\n" + json.dumps({**json.loads(good), "outcome": "won"}) + "\n")
    with pytest.raises(ReportFileError, match=r"bad.jsonl:2: outcome: "):
        list(read_rows(path))
    csv_path = tmp_path / "bad.csv"
    write_rows(ROWS[:1], csv_path)
    csv_path.write_text(csv_path.read_text().replace("demo=40", "demo"))
    with pytest.raises(ReportFileError, match=r"bad.csv:2: rules: 'demo' is not rule=points"):
        list(read_rows(csv_path))


def test_speed_to_lead_counts_a_follow_up_only_after_turning_hot() -> None:
    assert waited(ROWS[0]) == timedelta(minutes=3)
    assert waited(ROWS[1]) is None  # followed up before it turned hot
    assert [wait_bucket(timedelta(minutes=m)) for m in (5, 6, 60 * 24 + 1)] == [
        "within 5 minutes",
        "5 to 60 minutes",
        "over 24 hours",
    ]
    assert wait_bucket(None) == NO_FOLLOW_UP


def test_the_report_on_rows_worked_out_by_hand() -> None:
    report = build_report(ROWS, OPTIONS)
    # Five leads with an outcome, two converted; the open one is left out
    assert (report.leads, report.decided, report.overall) == (6, 5, Tally(5, 2))
    # converted {120, 60} against lost {110, 40, 10}: 5 of 6 pairs won
    assert report.auc == pytest.approx(5 / 6)
    assert report.by_band == [("cold", Tally(2, 0)), ("warm", Tally(1, 1)), ("hot", Tally(2, 1))]
    assert (report.converted_below_threshold, report.lowest_converted) == (1, 60)
    assert report.monthly == [
        ("2026-09", "hot", Tally(2, 1)),
        ("2026-10", "cold", Tally(2, 0)),
        ("2026-10", "warm", Tally(1, 1)),
    ]
    demo, never = report.rules
    assert (demo.fired, demo.lift, never.flags) == (Tally(2, 1), pytest.approx(1.25), ("never fires",))
    assert report.speed.by_wait == [("within 5 minutes", Tally(1, 1)), (NO_FOLLOW_UP, Tally(1, 0))]
    assert (report.speed.turned_hot, report.speed.followed_up, report.speed.median_hours) == (2, 1, 0.05)
    assert "every figure is rough" in report.warnings[0]


def test_open_leads_count_as_lost_when_asked_and_thresholds_use_every_lead() -> None:
    options = ReportOptions(**{**OPTIONS.__dict__, "open_as_lost": True, "capacity_per_week": 0.5})
    report = build_report(ROWS, options)
    assert (report.with_outcome, report.decided, report.overall) == (5, 6, Tally(6, 2))
    assert "5 with an outcome (the other 1 counted as not converted)" in render_text(report, "rows")
    # 70 days of leads: 10 weeks, at most 5 leads: every lead but the lowest
    assert report.weeks == 10
    assert report.capacity is not None
    assert (report.capacity.score, report.capacity.contacted.leads) == (10, 5)


def test_a_report_without_lost_leads_says_its_rates_mean_nothing() -> None:
    report = build_report([row for row in ROWS if row.outcome != "lost"], OPTIONS)
    assert report.auc is None
    assert any("--open-as-lost" in warning for warning in report.warnings)


def test_the_renderings_carry_the_figures() -> None:
    report = build_report(ROWS, OPTIONS)
    text = render_text(report, "test rows")
    assert "ROC AUC 0.833" in text
    assert re.search(r"hot\s+2\s+1\s+50\.0%", text)
    document = render_html(report, "test rows")
    assert document.count("<svg") == 6  # band, calibration, ROC, decile lift, monthly, rule lift
    assert "<script" not in document
    assert "http" not in document.replace('xmlns="http://www.w3.org/2000/svg"', "")
    as_object = as_json(report)
    assert (as_object["roc_auc"], as_object["converted_below_threshold"]) == (pytest.approx(5 / 6), 1)
    assert json.loads(json.dumps(as_object)) == as_object


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_the_progress_bar_redraws_on_a_terminal_and_writes_one_line_elsewhere() -> None:
    for stream, redrawn in ((Terminal(), True), (io.StringIO(), False)):
        progress = Progress("reading leads", 4, "items", stream)
        progress.advance(2)
        progress.advance(3)  # more than the estimate: the bar shows what was read
        progress.done("1 page")
        written = stream.getvalue()
        assert written.endswith("reading leads [" + "#" * 30 + "] 5/5 items  1 page\n")
        assert written.startswith("\rreading leads [" + "#" * 15 + "." * 15 + "] 2/4 items") == redrawn
