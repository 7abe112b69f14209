"""The API against its own OpenAPI document: schemathesis generates requests for every operation (valid
and not, with the right key) against the local stack over HTTP, and finds no 5xx and no answer outside the
document (status, content type, body schema, headers)."""

from __future__ import annotations

import base64

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from leadscore_local.aws import LOCAL_READ_KEY, LOCAL_WRITE_KEY

pytestmark = pytest.mark.e2e
EXAMPLES = 25
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]


def key_for(case: schemathesis.Case) -> str:
    """The key its security names: read for the score look-ups, write for everything else."""
    return LOCAL_READ_KEY if case.path.startswith(("/v1/leads", "/v1/accounts")) else LOCAL_WRITE_KEY


def test_every_answer_is_in_the_document_and_none_is_a_server_error(stack: str) -> None:
    # Each operation in turn (schemathesis' pytest plugin cannot take a fixture's schema on this pytest).
    schema = schemathesis.openapi.from_url(f"{stack}/v1/openapi.json")
    schema.config.update(base_url=stack)
    # Valid requests and malformed ones (wrong types, missing fields, bodies off the schema).
    schema.config.generation.update(modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 20

    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
        def answers_within_the_document(case: schemathesis.Case) -> None:
            basic = "Basic " + base64.b64encode(f"{key_for(case)}:".encode()).decode()
            case.call_and_validate(headers={"authorization": basic}, checks=CHECKS)

        answers_within_the_document()
