"""``leadscore outcomes import FILE.csv``: a CRM export's outcomes recorded through the API.

Columns (header names, any order, case-insensitive): the lead (``id``, ``lead_id``, ``email`` or
``userId``), ``outcome`` (converted / won, lost), ``value`` (optional), ``date`` or ``at`` (optional,
ISO-8601; a bare date is midnight UTC). Each row is one ``POST /v1/leads/{id}/outcome`` with a read key,
so it is validated as the API validates it; a later outcome already recorded is kept.
"""

from __future__ import annotations

import argparse
import base64
import csv
import json
import sys
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from pathlib import Path
from typing import Any

LEAD_COLUMNS = ("id", "lead_id", "email", "userid")
OUTCOME_WORDS = {
    "converted": "converted",
    "won": "converted",
    "closed won": "converted",
    "lost": "lost",
    "closed lost": "lost",
}


def register(commands: Any) -> None:
    outcomes = commands.add_parser("outcomes", help="record what became of leads (a CRM export)")
    actions = outcomes.add_subparsers(dest="outcomes_command", required=True)
    importing = actions.add_parser("import", help="record each row of a CSV file through the API")
    importing.add_argument("file", type=Path, help="CSV with a header row: id or email, outcome, value, date")
    importing.add_argument("--api", required=True, help="the ApiUrl output (local: http://127.0.0.1:3000)")
    importing.add_argument("--key", required=True, help="a read key")
    importing.set_defaults(func=_import)


def _import(arguments: argparse.Namespace) -> int:
    tally: Counter[str] = Counter()
    with arguments.file.open(newline="", encoding="utf-8-sig") as source:
        rows = csv.DictReader(source)
        for line, row in enumerate(rows, start=2):
            fields = {(name or "").strip().lower(): (value or "").strip() for name, value in row.items()}
            verdict, detail = _record(arguments.api, arguments.key, fields)
            tally[verdict] += 1
            if verdict in {"refused", "unknown lead"}:
                print(f"{arguments.file}:{line}: {verdict}: {detail}", file=sys.stderr)
    print(
        f"recorded {tally['recorded']}, a later outcome kept {tally['later kept']}, "
        f"unknown leads {tally['unknown lead']}, refused {tally['refused']}"
    )
    return 1 if tally["refused"] else 0


def _record(api: str, key: str, fields: dict[str, str]) -> tuple[str, str]:
    lead = next((fields[column] for column in LEAD_COLUMNS if fields.get(column)), None)
    if lead is None:
        return "refused", f"no lead column ({', '.join(LEAD_COLUMNS)})"
    outcome = OUTCOME_WORDS.get(fields.get("outcome", "").lower())
    if outcome is None:
        return "refused", f"outcome: {fields.get('outcome')!r} is not one of {', '.join(OUTCOME_WORDS)}"
    body: dict[str, Any] = {"outcome": outcome}
    if fields.get("value"):
        try:
            body["value"] = float(fields["value"].replace(",", ""))
        except ValueError:
            return "refused", f"value: {fields['value']!r} is not a number"
    moment = fields.get("date") or fields.get("at")
    if moment:
        body["at"] = iso_time(moment)
    status, answer = _post(
        f"{api.rstrip('/')}/v1/leads/{urllib.parse.quote(lead, safe='')}/outcome", key, body
    )
    if status == 200:
        return ("recorded" if answer["kept"] else "later kept"), lead
    if status == 404:
        return "unknown lead", lead
    return "refused", f"{lead}: {answer.get('message', status)}"


def iso_time(text: str) -> str:
    """A CSV cell's time as the API takes it: a bare date is midnight UTC."""
    return text if "T" in text else f"{text}T00:00:00Z"


def _post(url: str, key: str, body: dict[str, Any]) -> tuple[int, Any]:
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        method="POST",
        headers={
            "content-type": "application/json",
            "authorization": "Basic " + base64.b64encode(f"{key}:".encode()).decode(),
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")
