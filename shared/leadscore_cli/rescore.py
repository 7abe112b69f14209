"""``leadscore rescore``: every lead re-scored from its full archived history under a rule file, and
written back; locally in this process, or in AWS as the stack's Step Functions job (``--aws``, which
prints its maps' progress while it runs, then what it did and what it cost).

Deploy the rule file first (the live service must score new events with it); then re-score. No alert is
sent for what a re-score changes: it prints the band transitions and the leads that rose.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from leadscore.adapters.dynamodb import DynamoLeadRepository
from leadscore.rescore.job import Run, rescore_lines
from leadscore.rescore.writer import Tally
from leadscore.resources import RESCORE_SHARDS
from leadscore.rules import RuleFileError, RuleSet, load_rules
from leadscore.settings import retention
from leadscore_cli.replay import SHOWN_LEADS, archive_lines, transition_lines
from leadscore_cli.rescore_cost import cost_text, run_cost


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
    rescore.add_argument(
        "--retention-days",
        type=int,
        default=0,
        help="the stack's retentionDays (leads written get the expiry score gives them; default: none)",
    )
    rescore.add_argument("--json", action="store_true", help="one JSON object")
    rescore.add_argument(
        "--aws",
        metavar="STATE_MACHINE_ARN",
        help="run the stack's re-scoring job (the RescoreStateMachineArn output) with the deployed rules",
    )
    rescore.set_defaults(func=_rescore)


def _rescore(arguments: argparse.Namespace) -> int:
    try:
        rules = load_rules(arguments.rules)
    except RuleFileError as error:
        print(f"rescore: {error}", file=sys.stderr)
        return 2
    if arguments.aws:
        return _in_aws(arguments, rules)
    if not arguments.archive or not arguments.table:
        print("rescore: --archive and --table are required (or --aws)", file=sys.stderr)
        return 2
    client = boto3.client("dynamodb", endpoint_url=arguments.endpoint_url)
    repository = DynamoLeadRepository(arguments.table, client, retention=retention(arguments.retention_days))
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


def _in_aws(arguments: argparse.Namespace, rules: RuleSet) -> int:
    if arguments.dry_run or arguments.archive or arguments.table:
        print(
            "rescore: --aws runs on the stack's own archive and table; use --dry-run locally", file=sys.stderr
        )
        return 2
    try:
        client = boto3.client("stepfunctions", endpoint_url=arguments.endpoint_url)
        summary = run_job(arguments.aws, rules, client=client, out=sys.stderr)
    except (ClientError, BotoCoreError) as error:
        print(f"rescore: {error}", file=sys.stderr)
        return 2
    if not summary:
        return 1
    print(json.dumps(summary) if arguments.json else summary_text(summary))
    return 1 if summary["deferred"] else 0  # a count: the ids are in the run's summary.json


def _as_json(run: Run) -> dict[str, Any]:
    return {
        "lines": run.lines,
        "leads": run.leads,
        "unreadable": run.unreadable,
        "erased_lines": run.erased_lines,
        "caught_up": run.caught_up,
        **run.tally.as_json(),
    }


def tally_text(
    tally: Tally, *, dry_run: bool = False, deferred: int | None = None, rose: int | None = None
) -> str:
    """What a re-score did (or would do), for a person: counts, band transitions, the leads that rose.
    ``deferred`` and ``rose``: the counts, where the tally holds only the first few ids (the AWS job)."""
    deferred = len(tally.deferred) if deferred is None else deferred
    rose = len(tally.raised) if rose is None else rose
    lines = [
        f"  {'would write' if dry_run else 'written'} {tally.written:,}, unchanged {tally.unchanged:,}, "
        f"erased people skipped {tally.erased:,}, still deferred {deferred:,}"
        + (" (live activity kept them busy: run again)" if deferred else ""),
        "",
        "band transitions (stored -> re-scored; '-' had no lead yet):",
        *transition_lines(tally.transitions, width=9, same="same band"),
    ]
    lines += [
        "",
        f"leads that rose to a higher band: {rose:,} (no alert sent; sales' lists show them)",
    ]
    for lead_id, before, after, score in sorted(tally.raised, key=lambda row: -row[3])[:SHOWN_LEADS]:
        lines.append(f"  {lead_id:<40} {before} -> {after} {score:g}")
    shown = min(len(tally.raised), SHOWN_LEADS)
    if rose > shown:
        where = "--json lists them all" if rose == len(tally.raised) else "the leads' lists show them"
        lines.append(f"  ... and {rose - shown:,} more ({where})")
    return "\n".join(lines)


POLL_SECONDS = 10.0
MAP_NAMES = {"Shuffle": "map 1, archive objects", "Rebuild": "map 2, shards"}


def run_job(
    state_machine_arn: str,
    rules: RuleSet,
    *,
    client: Any = None,
    shards: int = RESCORE_SHARDS,
    sleep: Callable[[float], None] = time.sleep,
    out: Any = sys.stdout,
) -> dict[str, Any]:
    """Start an execution for ``rules`` (the deployed rule file: the workers refuse any other version) and
    follow it to its end; its output, the run's summary, is returned (an empty one if it failed)."""
    stepfunctions = client or boto3.client("stepfunctions")
    name = f"rescore-{datetime.now(UTC):%Y%m%dT%H%M%S}-{rules.version}"
    started = stepfunctions.start_execution(
        stateMachineArn=state_machine_arn,
        name=name,
        input=json.dumps({"shards": shards, "rules_version": rules.version}),
    )
    execution = started["executionArn"]
    print(f"started {name} (shards: {shards}, rules version {rules.version})", file=out, flush=True)
    while True:
        described = stepfunctions.describe_execution(executionArn=execution)
        print(progress_line(stepfunctions, execution, described["status"]), file=out, flush=True)
        if described["status"] != "RUNNING":
            break
        sleep(POLL_SECONDS)
    if described["status"] != "SUCCEEDED":
        print(f"the job ended {described['status']}: see its execution in the console", file=out)
        return {}
    summary: dict[str, Any] = json.loads(described.get("output", "{}"))
    return summary


def progress_line(stepfunctions: Any, execution: str, status: str) -> str:
    """Each map run's item counts (Step Functions' own: objects for map 1, shards for map 2)."""
    parts = [status.lower()]
    for listed in stepfunctions.list_map_runs(executionArn=execution)["mapRuns"]:
        run = stepfunctions.describe_map_run(mapRunArn=listed["mapRunArn"])
        counts = run["itemCounts"]
        label = next((text for key, text in MAP_NAMES.items() if f"/{key}:" in listed["mapRunArn"]), "map")
        parts.append(
            f"{label}: {counts['succeeded']:,}/{counts['total']:,} done, {counts['running']:,} running, "
            f"{counts['failed']:,} failed"
        )
    return " | ".join(parts)


def summary_text(summary: dict[str, Any]) -> str:
    steps = summary["steps"]
    shard, finish, shuffle = steps.get("shard", {}), steps.get("finish", {}), steps.get("shuffle", {})
    tally = Tally(
        written=int(shard.get("written", 0) + finish.get("written", 0)),
        unchanged=int(shard.get("unchanged", 0) + finish.get("unchanged", 0)),
        erased=int(shard.get("erased", 0) + finish.get("erased", 0)),
        deferred=set(summary["deferred_ids"]),
    )
    tally.transitions.update({(before, after): count for before, after, count in summary["transitions"]})
    tally.raised = [(lead, before, after, score) for lead, before, after, score in summary["raised"]]
    objects = int(shuffle.get("objects", 0))
    lines = [
        f"re-scored {int(shard.get('leads', 0)):,} leads from {int(shuffle.get('lines', 0)):,} archived "
        f"lines ({objects:,} objects); caught up after live activity {int(finish.get('written', 0)):,}",
        f"  lines of erased people dropped {int(shuffle.get('erased_lines', 0)):,}; unreadable lines skipped "
        f"{int(shuffle.get('unreadable', 0)):,}",
        tally_text(
            tally,
            deferred=int(summary["deferred"]),
            rose=int(shard.get("raised_count", 0) + finish.get("raised_count", 0)),
        ),
        "",
        "cost, as billed (us-east-1 list prices, no free tier):",
        cost_text(
            run_cost(
                steps, archive_objects=int(shuffle.get("objects", 0)), transitions=summary["transitions"]
            )
        ),
    ]
    return "\n".join(lines)
