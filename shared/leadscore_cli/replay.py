"""``leadscore replay``: what a candidate rule file would change, replayed over the archived history.

The archive is read where it is: a local copy (files or folders of ``.jsonl`` / ``.jsonl.gz``, as the
archive holds them) or the bucket itself (``s3://bucket``, the ``ArchiveBucketName`` output). Nothing is
written anywhere. People erased on request stay erased: every id the history names is looked up on the
suppression list in the table (``--table``), and their lines are dropped before anything is scored.
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
import sys
from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import boto3

from leadscore.adapters.dynamodb import DynamoLeadRepository
from leadscore.adapters.messaging import S3EventArchive
from leadscore.identity import erasure_key
from leadscore.replay import Comparison, compare, recorded_events
from leadscore.rescore.people import ids_named
from leadscore.rules import DEFAULT_RULES_FILE, RuleFileError, load_rules
from leadscore.segment import InvalidMessage

Line = tuple[str, str]
"""Where a line was read (file or object, and line number), and the line."""

ARCHIVE_DAY = re.compile(r"dt=(\d{4}-\d{2}-\d{2})")
SHOWN_LEADS = 50


def register(commands: Any) -> None:
    replay = commands.add_parser(
        "replay", help="what a candidate rule file would change on the archived history (changes nothing)"
    )
    replay.add_argument("--rules", type=Path, required=True, help="the candidate rule file")
    replay.add_argument(
        "--current",
        type=Path,
        default=DEFAULT_RULES_FILE,
        help="the rule file live now (default: the default)",
    )
    replay.add_argument(
        "--archive",
        required=True,
        help="s3://<ArchiveBucketName>, or local files or folders of .jsonl / .jsonl.gz",
        nargs="+",
    )
    replay.add_argument(
        "--since", type=date.fromisoformat, default=None, help="only history from this day on"
    )
    replay.add_argument(
        "--at", type=iso_moment, default=None, help="read the scores at this ISO time (default now)"
    )
    replay.add_argument(
        "--table",
        default=None,
        help="the TableName output: erased people are looked up there (required for s3)",
    )
    replay.add_argument("--endpoint-url", default=None, help="another AWS endpoint (the local stack's moto)")
    replay.add_argument("--json", action="store_true", help="one JSON object")
    replay.set_defaults(func=_replay)


def _replay(arguments: argparse.Namespace) -> int:
    remote = any(source.startswith("s3://") for source in arguments.archive)
    if remote and arguments.table is None:
        print(
            "replay: --table is required with an s3:// archive (erased people must stay erased)",
            file=sys.stderr,
        )
        return 2
    try:
        current, candidate = load_rules(arguments.current), load_rules(arguments.rules)
    except RuleFileError as error:
        print(f"replay: {error}", file=sys.stderr)
        return 2
    at: datetime = arguments.at or datetime.now(UTC)
    since = datetime.combine(arguments.since, datetime.min.time(), UTC) if arguments.since else None
    lines = list(archive_lines(arguments.archive, since=arguments.since, endpoint_url=arguments.endpoint_url))
    erased: set[str] = set()
    if arguments.table is not None:
        repository = DynamoLeadRepository(
            arguments.table, boto3.client("dynamodb", endpoint_url=arguments.endpoint_url)
        )
        erased = {erasure_key(lead_id) for lead_id in repository.suppressed(sorted(ids_named(lines)))}
    else:
        print("replay: no --table: erasures are not checked", file=sys.stderr)
    try:
        events = list(
            recorded_events(lines, at, since=since, erased=lambda keys: not erased.isdisjoint(keys))
        )
    except InvalidMessage as error:
        print(f"replay: {error}", file=sys.stderr)
        return 2
    comparison = compare(current, candidate, events, at)
    if arguments.json:
        print(json.dumps(_as_json(comparison, at)))
    else:
        print(
            f"replayed {comparison.events:,} events of {comparison.leads:,} leads, "
            f"scores as of {at:%Y-%m-%d %H:%M} UTC"
        )
        print(f"  current   {arguments.current} (version {current.version})")
        print(f"  candidate {arguments.rules} (version {candidate.version})")
        print(_as_text(comparison))
    return 0


def archive_lines(
    sources: Iterable[str], *, since: date | None, endpoint_url: str | None = None
) -> Iterator[Line]:
    """Every line of the sources, in name order; archive objects of days before ``since`` are skipped."""
    for source in sources:
        if source.startswith("s3://"):
            bucket, _, prefix = source.removeprefix("s3://").partition("/")
            archive = S3EventArchive(bucket, boto3.client("s3", endpoint_url=endpoint_url))
            for name in archive.names_after(""):
                if name.startswith(prefix) and _from(name, since):
                    yield from _numbered(f"s3://{bucket}/{name}", archive.lines(name))
            continue
        path = Path(source)
        files = sorted(path.rglob("*.jsonl*")) if path.is_dir() else [path]
        for file in files:
            if str(file) == "-":
                yield from _numbered("-", (line.rstrip("\n") for line in sys.stdin))
            elif _from(str(file), since):
                yield from _numbered(str(file), _file_lines(file))


def _file_lines(file: Path) -> list[str]:
    data = file.read_bytes()
    text = gzip.decompress(data).decode() if data[:2] == b"\x1f\x8b" else data.decode()
    return text.split("\n")


def _numbered(where: str, lines: Iterable[str]) -> Iterator[Line]:
    for number, line in enumerate(lines, start=1):
        yield f"{where}:{number}", line


def _from(name: str, since: date | None) -> bool:
    day = ARCHIVE_DAY.search(name)
    return since is None or day is None or date.fromisoformat(day.group(1)) >= since


def iso_moment(text: str) -> datetime:
    """An ISO time on the command line (UTC when it names no zone)."""
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO time: {text!r}") from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def transition_lines(transitions: Mapping[tuple[str, str], int], *, width: int, same: str) -> list[str]:
    """One line per band transition that happened, most frequent first; ``same`` marks a band kept."""
    return [
        f"  {before:>12} -> {after:<12} {count:>{width},}" + (f"   ({same})" if before == after else "")
        for (before, after), count in sorted(transitions.items(), key=lambda item: -item[1])
        if count
    ]


def _as_text(comparison: Comparison) -> str:
    lines = ["", "band transitions (current -> candidate):"]
    lines += transition_lines(comparison.transitions, width=7, same="unchanged")
    lines += ["", f"leads that change band: {len(comparison.changed):,}"]
    for change in comparison.changed[:SHOWN_LEADS]:
        lines.append(
            f"  {change.lead_id:<40} {change.before.band} {change.before.score:g} -> "
            f"{change.after.band} {change.after.score:g}"
        )
    if len(comparison.changed) > SHOWN_LEADS:
        lines.append(f"  ... and {len(comparison.changed) - SHOWN_LEADS:,} more (--json lists them all)")
    return "\n".join(lines)


def _as_json(comparison: Comparison, at: datetime) -> dict[str, Any]:
    return {
        "at": at.isoformat(),
        "events": comparison.events,
        "leads": comparison.leads,
        "transitions": [
            {"from": before, "to": after, "leads": count}
            for (before, after), count in sorted(comparison.transitions.items())
        ],
        "changed": [
            {
                "lead_id": change.lead_id,
                "before": {"band": change.before.band, "score": change.before.score},
                "after": {"band": change.after.band, "score": change.after.score},
            }
            for change in comparison.changed
        ],
    }
