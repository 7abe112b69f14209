"""``leadscore report``: how the score agrees with outcomes, from the lead table or an export.

The table is read with one Scan, page by page (``--table``, with ``--endpoint-url`` for the local stack's
moto), every lead scored with the rule file at the time of its outcome (``--at`` reads them all at one
moment). ``--export`` keeps what was read as a file (CSV or JSON Lines) that ``--file`` reports on later.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from leadscore.rules import DEFAULT_RULES_FILE, DISQUALIFIED, RuleFileError, RuleSet, load_rules
from leadscore_cli.replay import iso_moment
from leadscore_cli.reporting.html import render_html
from leadscore_cli.reporting.report import ReportOptions, as_json, build_report
from leadscore_cli.reporting.rows import ReportFileError, ReportRow, read_rows, row_of, write_rows
from leadscore_cli.reporting.table import estimated_items, scan_table
from leadscore_cli.reporting.text import render_text

BAR_WIDTH = 30
REDRAW_SECONDS = 0.1


def register(commands: Any) -> None:
    report = commands.add_parser(
        "report", help="how scores agree with outcomes: conversion, lift, AUC, thresholds, rules, speed"
    )
    source = report.add_mutually_exclusive_group(required=True)
    source.add_argument("--table", help="the TableName output (local stack: leadscore-leads)")
    source.add_argument("--file", type=Path, help="an export (.csv, or JSON Lines) written by --export")
    report.add_argument("--endpoint-url", default=None, help="another AWS endpoint (the local stack's moto)")
    report.add_argument(
        "--rules", type=Path, default=DEFAULT_RULES_FILE, help="the live rule file (default: the default)"
    )
    report.add_argument(
        "--at",
        type=iso_moment,
        default=None,
        help="read every score at this ISO time (default: at its outcome)",
    )
    report.add_argument("--export", type=Path, help="also write the leads read to this file (.csv or .jsonl)")
    report.add_argument("--html", type=Path, help="write the report with its plots to this HTML file")
    report.add_argument("--json", action="store_true", help="print one JSON object instead of the text")
    report.add_argument("--capacity-per-week", type=float, help="how many leads sales can contact a week")
    report.add_argument("--value", type=float, help="what a conversion is worth")
    report.add_argument("--cost", type=float, default=0.0, help="what contacting a lead costs")
    report.add_argument(
        "--open-as-lost", action="store_true", help="count leads without an outcome as not converted"
    )
    report.set_defaults(func=_report)


def _report(arguments: argparse.Namespace) -> int:
    try:
        rules = load_rules(arguments.rules)
        rows = _rows(arguments, rules)
    except (RuleFileError, ReportFileError, OSError, ClientError, BotoCoreError) as error:
        print(f"report: {error}", file=sys.stderr)
        return 2
    if arguments.export is not None:
        count = write_rows(rows, arguments.export)
        print(f"report: {count:,} leads written to {arguments.export}", file=sys.stderr)
    report = build_report(rows, options_of(rules, arguments))
    source = f"table {arguments.table}" if arguments.table else str(arguments.file)
    if arguments.html is not None:
        arguments.html.write_text(render_html(report, source), encoding="utf-8")
        print(f"report: plots written to {arguments.html}", file=sys.stderr)
    print(json.dumps(as_json(report)) if arguments.json else render_text(report, source))
    return 0


def options_of(rules: RuleSet, arguments: argparse.Namespace) -> ReportOptions:
    """The sales threshold is where the MQL band begins."""
    mql = next(band for band in rules.bands if band.name == rules.file.stages.mql.band)
    return ReportOptions(
        threshold=mql.enter,
        band_order=[band.name for band in rules.bands] + [DISQUALIFIED],
        rule_ids=[rule.id for rule in (*rules.file.fit, *rules.file.engagement)],
        capacity_per_week=arguments.capacity_per_week,
        value=arguments.value,
        cost=arguments.cost,
        open_as_lost=arguments.open_as_lost,
    )


def _rows(arguments: argparse.Namespace, rules: RuleSet) -> list[ReportRow]:
    if arguments.file is not None:
        return list(read_rows(arguments.file))
    client = boto3.client("dynamodb", endpoint_url=arguments.endpoint_url)
    scanning = Progress(f"reading {arguments.table}", estimated_items(client, arguments.table), "items")
    contents = scan_table(client, arguments.table, scanning.advance)
    scanning.done(f"{contents.pages} pages, {contents.read_units:,.1f} read units")
    now = datetime.now(UTC).replace(microsecond=0)
    scoring = Progress("scoring leads", len(contents.leads), "leads")
    rows = []
    for lead_id, record in contents.leads.items():
        outcome, followed_up = contents.outcomes.get(lead_id), contents.first_follow_ups.get(lead_id)
        rows.append(
            row_of(rules, record, outcome, followed_up, arguments.at or now, at_outcome=arguments.at is None)
        )
        scoring.advance(1)
    scoring.done(f"with {rules.source} (version {rules.version})")
    other = sum(1 for record in contents.leads.values() if record.summary.rules_version != rules.version)
    if other:
        print(f"report: {other:,} leads were last scored under another rule version", file=sys.stderr)
    return rows


class Progress:
    """A progress bar on stderr, redrawn in place on a terminal (at most every ``REDRAW_SECONDS``);
    elsewhere only the final line."""

    def __init__(self, label: str, total: int, unit: str, stream: TextIO | None = None) -> None:
        self.label, self.total, self.unit = label, total, unit
        self.stream = stream or sys.stderr
        self.count = 0
        self.live = self.stream.isatty()
        self.drawn = 0.0

    def advance(self, count: int, *_: object) -> None:
        self.count += count
        if self.live and time.monotonic() - self.drawn >= REDRAW_SECONDS:
            self.drawn = time.monotonic()
            self.stream.write(f"\r{self._line()}")
            self.stream.flush()

    def done(self, detail: str) -> None:
        start = "\r" if self.live else ""
        self.stream.write(f"{start}{self._line()}  {detail}\n")
        self.stream.flush()

    def _line(self) -> str:
        total = max(self.total, self.count)
        filled = round(BAR_WIDTH * self.count / total) if total else BAR_WIDTH
        bar = "#" * filled + "." * (BAR_WIDTH - filled)
        return f"{self.label} [{bar}] {self.count:,}/{total:,} {self.unit}"
