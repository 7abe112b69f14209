"""``leadscore rescore``: every lead re-scored from its full archived history under a rule file, and
written back; locally in this process, or in AWS as the stack's Step Functions job (``--aws``).

Deploy the rule file first (the live service must score new events with it); then re-score. No alert is
sent for what a re-score changes: it prints the band transitions and the leads that rose.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from leadscore.adapters.dynamodb import DynamoLeadRepository
from leadscore.cli_replay import archive_lines
from leadscore.rescore.job import Run, rescore_lines
from leadscore.rescore.writer import Tally
from leadscore.rules import RuleFileError, load_rules

SHOWN_LEADS = 50


def register(commands: Any) -> None:
    rescore = commands.add_parser(
        "rescore", help="re-score every lead from its archived history under a rule file, and write it"
    )
    rescore.add_argument("--rules", type=Path, required=True, help="the rule file (deploy it first)")
    rescore.add_argument(
        "--archive",
        nargs="+",
        help="s3://<ArchiveBucketName>, or local files or folders of .jsonl / .jsonl.gz (not with --aws)",
    )
    rescore.add_argument("--table", help="the TableName output (local stack: leadscore-leads)")
    rescore.add_argument("--endpoint-url", default=None, help="another AWS endpoint (the local stack's moto)")
    rescore.add_argument("--dry-run", action="store_true", help="print what would change, write nothing")
    rescore.add_argument("--json", action="store_true", help="one JSON object")
    rescore.set_defaults(func=_rescore)


def _rescore(arguments: argparse.Namespace) -> int:
    if not arguments.archive or not arguments.table:
        print("rescore: --archive and --table are required", file=sys.stderr)
        return 2
    try:
        rules = load_rules(arguments.rules)
    except RuleFileError as error:
        print(f"rescore: {error}", file=sys.stderr)
        return 2
    client = boto3.client("dynamodb", endpoint_url=arguments.endpoint_url)
    repository = DynamoLeadRepository(arguments.table, client)
    try:
        run = rescore_lines(
            lambda: list(archive_lines(arguments.archive, since=None, endpoint_url=arguments.endpoint_url)),
            repository,
            rules,
            lambda: datetime.now(UTC),
            dry_run=arguments.dry_run,
        )
    except (OSError, ClientError, BotoCoreError) as error:
        print(f"rescore: {error}", file=sys.stderr)
        return 2
    if arguments.json:
        print(json.dumps({"rules_version": rules.version, **_as_json(run)}))
    else:
        print(
            f"{'would re-score' if arguments.dry_run else 're-scored'} {run.leads:,} leads from "
            f"{run.lines:,} archived lines under {arguments.rules} (version {rules.version})"
        )
        print(
            f"  lines of erased people dropped {run.erased_lines:,}; unreadable lines skipped "
            f"{run.unreadable:,} (live scoring refused them too)"
        )
        print(tally_text(run.tally, dry_run=arguments.dry_run))
    return 1 if run.tally.deferred else 0


def _as_json(run: Run) -> dict[str, Any]:
    return {
        "lines": run.lines,
        "leads": run.leads,
        "unreadable": run.unreadable,
        "erased_lines": run.erased_lines,
        "caught_up": run.caught_up,
        **run.tally.as_json(),
    }


def tally_text(tally: Tally, *, dry_run: bool = False) -> str:
    """What a re-score did (or would do), for a person: counts, band transitions, the leads that rose."""
    lines = [
        f"  {'would write' if dry_run else 'written'} {tally.written:,}, unchanged {tally.unchanged:,}, "
        f"erased people skipped {tally.erased:,}, still deferred {len(tally.deferred):,}"
        + (" (live activity kept them busy: run again)" if tally.deferred else ""),
        "",
        "band transitions (stored -> re-scored; '-' had no lead yet):",
    ]
    for (before, after), count in sorted(tally.transitions.items(), key=lambda item: -item[1]):
        if count:
            lines.append(
                f"  {before:>12} -> {after:<12} {count:>9,}" + ("   (same band)" if before == after else "")
            )
    lines += [
        "",
        f"leads that rose to a higher band: {len(tally.raised):,} (no alert sent; sales' lists show them)",
    ]
    for lead_id, before, after, score in sorted(tally.raised, key=lambda row: -row[3])[:SHOWN_LEADS]:
        lines.append(f"  {lead_id:<40} {before} -> {after} {score:g}")
    if len(tally.raised) > SHOWN_LEADS:
        lines.append(f"  ... and {len(tally.raised) - SHOWN_LEADS:,} more (--json lists them all)")
    return "\n".join(lines)
