"""Writes docs/openapi.json from the functions' resolvers: ``python -m infra.openapi`` (``make openapi``).

A test fails while the checked-in document differs from what the code declares.
"""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver

from functions.collect.handler import app as collect
from functions.leads.handler import app as leads
from leadscore.openapi import OPENAPI_FILE, document


def resolvers() -> dict[str, APIGatewayHttpResolver]:
    """Each HTTP function's resolver, by function name (importing a handler reads no settings)."""
    return {"collect": collect, "leads": leads}


def current() -> dict[str, Any]:
    return document(list(resolvers().values()))


def render(value: dict[str, Any]) -> str:
    return json.dumps(value, indent=2, sort_keys=False) + "\n"


def main() -> None:
    OPENAPI_FILE.write_text(render(current()))
    print(f"wrote {OPENAPI_FILE}")


if __name__ == "__main__":
    main()
