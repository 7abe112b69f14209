"""The demo: replay events/demo traffic over HTTP through the local stack, then show scores and alerts."""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from leadscore_local.aws import LOCAL_READ_KEY, LOCAL_WRITE_KEY
from leadscore_local.runtime import EVENTS_DIR
from leadscore_local.stack import LocalStack

DEMO_TRAFFIC = EVENTS_DIR / "demo" / "traffic.jsonl"
BATCH_SIZE = 20


def load_traffic(path: Path = DEMO_TRAFFIC, now: datetime | None = None) -> list[dict[str, Any]]:
    """The recorded messages, shifted in time so the latest happened just now (decay reads real ages)."""
    messages = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    latest = max(datetime.fromisoformat(m["timestamp"]) for m in messages)
    shift = (now or datetime.now(UTC)) - latest
    for message in messages:
        message["timestamp"] = (datetime.fromisoformat(message["timestamp"]) + shift).isoformat()
    return messages


def http_json(method: str, url: str, key: str, body: Any = None) -> tuple[int, Any]:
    """One call the way a Segment SDK makes it: the key as the basic-auth user name."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method)
    request.add_header("Authorization", "Basic " + base64.b64encode(f"{key}:".encode()).decode())
    if data is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


def replay(url: str, messages: list[dict[str, Any]]) -> int:
    """Post the messages to /v1/batch in batches, as a tracker's SDK flushes its queue."""
    sent = 0
    for start in range(0, len(messages), BATCH_SIZE):
        status, answer = http_json(
            "POST", f"{url}/v1/batch", LOCAL_WRITE_KEY, {"batch": messages[start : start + BATCH_SIZE]}
        )
        if status != 200:
            raise RuntimeError(f"the endpoint refused a demo batch: {status} {answer}")
        sent += len(messages[start : start + BATCH_SIZE])
    return sent


def leaderboard(url: str, lead_ids: list[str]) -> list[dict[str, Any]]:
    """Each lead once: an anonymous visitor who identified answers as the person, counted once."""
    rows: dict[str, dict[str, Any]] = {}
    for lead_id in lead_ids:
        status, body = http_json(
            "GET", f"{url}/v1/leads/{urllib.parse.quote(lead_id, safe='')}", LOCAL_READ_KEY
        )
        if status == 200:
            rows[body["lead_id"]] = body
    return sorted(rows.values(), key=lambda row: row["score"], reverse=True)


def accounts(url: str, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The account roll-ups of the leads on the leaderboard, best first."""
    found = []
    for account_id in dict.fromkeys(row["account_id"] for row in rows if row["account_id"]):
        status, body = http_json(
            "GET", f"{url}/v1/accounts/{urllib.parse.quote(account_id, safe='')}", LOCAL_READ_KEY
        )
        if status == 200:
            found.append(body)
    return sorted(found, key=lambda account: account["score"], reverse=True)


# (title, field, width); a negative width right-aligns, as numbers read best.
Column = tuple[str, str, int]
LEADERBOARD: list[Column] = [
    ("lead", "lead_id", 34),
    ("score", "score", -7),
    ("fit", "fit", -6),
    ("engage", "engagement", -7),
    ("band", "band", 13),
    ("grade", "grade", 5),
    ("stage", "stage", 0),
]
ACCOUNTS: list[Column] = [
    ("account", "account_id", 34),
    ("score", "score", -7),
    ("people", "people", -6),
    ("engaged", "engaged_people", -7),
    ("band", "band", 0),
]


def format_table(rows: list[dict[str, Any]], columns: list[Column]) -> str:
    def cell(value: Any, width: int) -> str:
        text = f"{value:g}" if isinstance(value, float) else str(value)
        return text.rjust(-width) if width < 0 else text.ljust(width)

    header = " ".join(cell(title, width) for title, _, width in columns).rstrip()
    lines = [header, "-" * len(header)]
    lines.extend(" ".join(cell(row[field], width) for _, field, width in columns).rstrip() for row in rows)
    return "\n".join(lines)


def run_demo(port: int = 0, echo: Callable[[str], None] = print) -> int:
    messages = load_traffic()
    with LocalStack(port=port, echo=lambda _text: None) as stack:
        echo(f"Local stack up on {stack.url} (moto at {stack.aws.endpoint}).")
        sent = replay(stack.url, messages)
        echo(f"Replayed {sent} demo events from {DEMO_TRAFFIC.relative_to(EVENTS_DIR.parent)} over HTTP.")
        stack.wait_until_idle()
        lead_ids = list(dict.fromkeys(m.get("userId") or m["anonymousId"] for m in messages))
        board = leaderboard(stack.url, lead_ids)
        echo("\nLeaderboard\n" + format_table(board, LEADERBOARD))
        echo("\nAccounts\n" + format_table(accounts(stack.url, board), ACCOUNTS))
        alerts = stack.outbox.delivered
        echo(f"\nAlerts delivered by SNS ({len(alerts)}; e-mails in {stack.outbox.folder}):")
        for alert in alerts:
            echo(f"  {alert.subject}")
            for reason in alert.reasons:
                echo(f"      because: {reason}")
        errors = [error for poller in (stack.queue, stack.stream, stack.outbox) for error in poller.errors]
        for error in errors:
            echo(f"error: {error}")
        return 1 if errors else 0
