"""``leadscore contacts import FILE.csv``: score an existing database of contacts from their traits.

Each row becomes an ``identify`` of the contact (the e-mail column is the lead id), its columns read as a
form's fields are (``leadscore.forms.contact_traits``: "Job Title" is ``title``, "Company Size" is
``employees``, a form's ``fields:`` mapping applies with ``--form``; other columns are kept as traits),
sent through the API with a write key, a hundred a request, so it is validated and scored as live
traffic is. A row's message id is derived from its content: importing the same file twice counts once.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from leadscore.email_kinds import email_domain
from leadscore.forms import contact_traits
from leadscore.rules import DEFAULT_RULES_FILE, load_rules
from leadscore.rules.model import FormSettings
from leadscore_cli.outcomes import iso_time
from leadscore_local.demo import http_json

BATCH = 100
# A column holding when the contact was created, used as the identify's time when present.
CREATED_COLUMNS = ("created", "created_at", "createdate", "create date", "date")


def register(commands: Any) -> None:
    contacts = commands.add_parser("contacts", help="score an existing database of contacts")
    actions = contacts.add_subparsers(dest="contacts_command", required=True)
    importing = actions.add_parser(
        "import", help="send each row of a CSV file as an identify, through the API"
    )
    importing.add_argument("file", type=Path, help="CSV (',' or ';') with a header row and an e-mail column")
    importing.add_argument("--api", required=True, help="the ApiUrl output (local: http://127.0.0.1:3000)")
    importing.add_argument("--key", required=True, help="a write key")
    importing.add_argument("--form", default=None, help="read the columns with this form's mapping")
    importing.add_argument("--rules", type=Path, default=DEFAULT_RULES_FILE, help="where the forms are set")
    importing.set_defaults(func=_import)


def _import(arguments: argparse.Namespace) -> int:
    form = load_rules(arguments.rules).file.forms.get(arguments.form) if arguments.form else None
    if arguments.form and form is None:
        print(f"contacts: no form {arguments.form!r} in {arguments.rules}", file=sys.stderr)
        return 2
    sent = skipped = refused = 0
    batch: list[dict[str, Any]] = []
    for line, row in _rows(arguments.file):
        message = contact_message(row, form)
        if message is None:
            print(f"{arguments.file}:{line}: skipped: no valid e-mail address", file=sys.stderr)
            skipped += 1
            continue
        batch.append(message)
        if len(batch) == BATCH:
            sent, refused = _send(arguments, batch, sent, refused)
            batch = []
    if batch:
        sent, refused = _send(arguments, batch, sent, refused)
    print(f"sent {sent} contacts, skipped {skipped} rows, refused {refused}")
    return 1 if refused else 0


def contact_message(row: Mapping[str, str], form: FormSettings | None = None) -> dict[str, Any] | None:
    """The contact's identify, or None when the row has no valid e-mail address."""
    traits = contact_traits(row, form)
    email = traits.get("email")
    if not isinstance(email, str) or email_domain(email) is None:
        return None
    created = next(
        (row[name].strip() for name in row if name and name.strip().lower() in CREATED_COLUMNS and row[name]),
        None,
    )
    digest = hashlib.sha256(json.dumps(traits, sort_keys=True).encode()).hexdigest()[:24]
    message: dict[str, Any] = {
        "type": "identify",
        "userId": email,
        "traits": traits,
        "messageId": f"import-{digest}",
    }
    if created:
        message["timestamp"] = iso_time(created)
    return message


def _rows(file: Path) -> Iterator[tuple[int, dict[str, str]]]:
    with file.open(newline="", encoding="utf-8-sig") as source:
        sample = source.read(4096)
        source.seek(0)
        dialect = csv.Sniffer().sniff(sample, delimiters=",;") if sample else csv.excel
        for line, row in enumerate(csv.DictReader(source, dialect=dialect), start=2):
            yield line, {name: value or "" for name, value in row.items() if name is not None}


def _send(
    arguments: argparse.Namespace, batch: list[dict[str, Any]], sent: int, refused: int
) -> tuple[int, int]:
    status, answer = http_json(
        "POST", f"{arguments.api.rstrip('/')}/v1/batch", arguments.key, {"batch": batch}
    )
    if status == 200:
        return sent + len(batch), refused
    print(f"contacts: a batch of {len(batch)} refused: {status} {answer}", file=sys.stderr)
    return sent, refused + len(batch)
