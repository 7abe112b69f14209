"""``leadscore rules``: the rule owner's tools, offline: check a rule file, try it on recorded events."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from leadscore.engine import LeadScore, Signal, score_lead
from leadscore.events import Event
from leadscore.replay import recorded_events, replay_states
from leadscore.rules import DEFAULT_RULES_FILE, RuleFileError, RuleSet, load_rules
from leadscore.segment import InvalidMessage
from leadscore_cli.replay import archive_lines, iso_moment


def register(commands: Any) -> None:
    """Add ``rules check`` and ``rules try`` to the ``leadscore`` command."""
    rules = commands.add_parser("rules", help="check a rule file, or try it on recorded events")
    actions = rules.add_subparsers(dest="rules_command", required=True)

    check = actions.add_parser("check", help="validate a rule file and report every problem with its line")
    check.add_argument(
        "file", nargs="?", type=Path, default=DEFAULT_RULES_FILE, help="default: the default rules"
    )
    check.set_defaults(func=_check)

    trial = actions.add_parser("try", help="score Segment-shaped events (one JSON message per line) offline")
    trial.add_argument("file", type=Path, help="the rule file")
    trial.add_argument(
        "events",
        type=Path,
        help="JSON lines of Segment messages (as sent or as archived, .gz too, or a folder); - reads stdin",
    )
    trial.add_argument("--json", action="store_true", help="one JSON object per lead per line")
    trial.add_argument(
        "--at", type=iso_moment, default=None, help="read the scores at this ISO time (default now)"
    )
    trial.set_defaults(func=_try)


def _load(path: Path) -> RuleSet | None:
    try:
        return load_rules(path)
    except RuleFileError as error:
        print(f"{path}: {len(error.errors)} problem(s)", file=sys.stderr)
        for problem in error.errors:
            print(
                f"{path}:{problem.line or 1}: {problem.field or '(top level)'}: {problem.message}",
                file=sys.stderr,
            )
        return None


def _check(arguments: argparse.Namespace) -> int:
    rules = _load(arguments.file)
    if rules is None:
        return 1
    print(f"{arguments.file}: OK, version {rules.version}: {rules.summary()}")
    return 0


def _try(arguments: argparse.Namespace) -> int:
    rules = _load(arguments.file)
    if rules is None:
        return 1
    at: datetime = arguments.at or datetime.now(UTC)
    try:
        events = _read_events(arguments.events, at)
    except InvalidMessage as error:
        print(str(error), file=sys.stderr)
        return 2
    scores = [
        (score_lead(rules, state, at), signals)
        for state, signals in replay_states(rules, events, at).values()
    ]
    scores.sort(key=lambda pair: (-pair[0].score, pair[0].lead_id))
    if arguments.json:
        for score, signals in scores:
            print(json.dumps(_as_json(score, signals)))
    else:
        print(f"rules {arguments.file} (version {rules.version}); {len(events)} events")
        print(f"scores as of {at:%Y-%m-%d %H:%M} UTC")
        for score, signals in scores:
            print()
            print(_as_text(score, signals))
    return 0


def _read_events(path: Path, at: datetime) -> list[Event]:
    """Parse every line; the first bad one stops the run, naming its line and field.

    A line is a Segment message as sent or as queued and archived (with ``receivedAt``); a file may be
    gzipped as the archive keeps it, and a folder is read file by file. One with no ``messageId`` is its
    own message (two identical lines are two clicks); one with no time happened at ``at``.
    """
    return list(recorded_events(archive_lines([str(path)], since=None), at))


def _as_json(score: LeadScore, signals: list[Signal]) -> dict[str, Any]:
    body = score.model_dump(mode="json")
    return {"lead": score.lead_id, **body, "signals": [signal.model_dump(mode="json") for signal in signals]}


def _as_text(score: LeadScore, signals: list[Signal]) -> str:
    lines = [
        f"{score.lead_id}  score {score.score:g}  (fit {score.fit:g}, engagement {score.engagement:g})  "
        f"band {score.band}  stage {score.stage}  grade {score.grade}"
        + (f"  account {score.account_id}" if score.account_id else "")
    ]
    lines.extend(f"  disqualified: {reason}" for reason in score.disqualification_reasons)
    lines.extend(f"  fast-track: {reason}" for reason in score.fast_track_reasons)
    for item in sorted(score.explanation, key=lambda entry: (entry.dimension, -abs(entry.points))):
        decayed = f", {item.decayed:g} decayed" if item.decayed else ""
        last = f", last {item.last_at:%Y-%m-%d}" if item.last_at else ""
        lines.append(
            f"  {item.points:+8.2f}  {item.rule:<24} {item.dimension:<10} "
            f"{item.count}x{last}{decayed}  {item.description}"
        )
    lines.extend(
        f"  signal {signal.at:%Y-%m-%d %H:%M} {signal.kind} ({signal.band}): {'; '.join(signal.reasons)}"
        for signal in signals
    )
    return "\n".join(lines)
