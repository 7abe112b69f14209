"""Routes declared once and checked: each function's resolver answers exactly its routes of the resource
table (which API Gateway and the local gateway are built from), and the checked-in OpenAPI document is
what the code declares."""

from __future__ import annotations

import json

import pytest

from infra.openapi import current, render, resolvers
from leadscore.openapi import OPENAPI_FILE, schema_of
from leadscore.resources import ROUTES


@pytest.mark.parametrize("function", ["collect", "leads"])
def test_each_function_resolver_routes_equal_the_resource_table(function: str) -> None:
    schema = schema_of(resolvers()[function])
    declared = {
        (method.upper(), path)
        for path, item in schema.paths.items()
        for method in ("get", "post", "delete")
        if getattr(item, method) is not None
    }
    # The console's static files are pages, not API operations: routed, left out of the document.
    operations = {
        (route.method, route.path) for route in ROUTES if route.function == function and not route.page
    }
    assert declared == operations


def test_the_checked_in_document_is_what_the_code_declares() -> None:
    assert OPENAPI_FILE.read_text() == render(current()), "run `make openapi` and commit docs/openapi.json"


def test_every_operation_is_secured_or_public_on_purpose_and_documents_its_errors() -> None:
    document = json.loads(OPENAPI_FILE.read_text())
    public = {"/v1/m", "/v1/openapi.json", "/v1/projects/{write_key}/settings"}
    for path, item in document["paths"].items():
        for method, operation in item.items():
            assert path in public or operation.get("security"), (method, path)
            errors = {status for status in operation["responses"] if status.startswith(("4", "5"))}
            assert {"400", "429", "500"} <= errors, (method, path)
    assert document["components"]["schemas"]["TrackCall"]["required"] == ["event"]
