"""Erasure on moto: an admin key erases a person (their lead, linked ids, follow-up, outcome) at once;
every later read answers 404; a replay of their messages never brings them back; the purge job rewrites
the archive objects that hold them, across runs when it runs out of time, and leaves everyone else."""

from __future__ import annotations

import json
from itertools import count
from typing import Any

import boto3
import pytest

from leadscore.adapters.dynamodb import DynamoLeadRepository, DynamoPurgeWork
from leadscore.adapters.messaging import S3EventArchive
from leadscore.erasure import purge_archive
from leadscore.identity import erasure_key
from leadscore.records import ErasedLead
from leadscore_local.aws import LOCAL_ADMIN_KEY, LOCAL_READ_KEY, LOCAL_WRITE_KEY, LocalResources
from tests.conftest import load_event
from tests.integration.conftest import Invoke, api_event, archived, basic, call_api, score_queued

pytestmark = pytest.mark.integration
PERSON = "dana@initech.com"
VISITOR = "anon-dana"
COLLEAGUE = "lee@initech.com"


def journey(tag: str) -> list[dict[str, Any]]:
    """Dana browses anonymously, identifies, asks for a demo; a colleague at the same company too."""
    traits = {"email": PERSON, "name": "Dana Scully", "title": "VP Engineering", "employees": 500}
    return [
        {"type": "page", "anonymousId": VISITOR, "properties": {"path": "/pricing"}, "messageId": f"{tag}-1"},
        {
            "type": "identify",
            "userId": PERSON,
            "anonymousId": VISITOR,
            "traits": traits,
            "messageId": f"{tag}-2",
        },
        {"type": "track", "userId": PERSON, "event": "Demo Requested", "messageId": f"{tag}-3"},
        {"type": "identify", "userId": COLLEAGUE, "traits": {"email": COLLEAGUE}, "messageId": f"{tag}-4"},
    ]


def send(invoke: Invoke, aws: LocalResources, messages: list[dict[str, Any]]) -> None:
    headers = {"authorization": basic(LOCAL_WRITE_KEY), "content-type": "application/json"}
    event = api_event("/v1/batch", json.dumps({"batch": messages}).encode(), headers)
    assert invoke("collect", event)["statusCode"] == 200
    score_queued(invoke, aws)


def look_up(invoke: Invoke, lead_id: str) -> int:
    return call_api(invoke, "GET", "/v1/leads/{lead_id}", path={"lead_id": lead_id}, key=LOCAL_READ_KEY)[0]


def erase(invoke: Invoke, lead_id: str, key: str = LOCAL_ADMIN_KEY) -> tuple[int, Any]:
    return call_api(invoke, "DELETE", "/v1/leads/{lead_id}", path={"lead_id": lead_id}, key=key)


@pytest.fixture
def dana(aws: LocalResources, invoke: Invoke) -> DynamoLeadRepository:
    send(invoke, aws, journey("first"))
    for action, body in (("status", {"status": "contacted", "by": "ana"}), ("outcome", {"outcome": "lost"})):
        status, _ = call_api(
            invoke,
            "POST",
            f"/v1/leads/{{lead_id}}/{action}",
            path={"lead_id": PERSON},
            body=body,
            key=LOCAL_READ_KEY,
        )
        assert status == 200
    assert (look_up(invoke, PERSON), look_up(invoke, VISITOR)) == (200, 200)
    return DynamoLeadRepository(aws.table_name, boto3.client("dynamodb"))


def test_an_admin_erases_a_person_at_once_and_nothing_answers_for_them_after(
    dana: DynamoLeadRepository, aws: LocalResources, invoke: Invoke
) -> None:
    for key in (LOCAL_READ_KEY, LOCAL_WRITE_KEY, "nope"):
        assert erase(invoke, PERSON, key)[0] == 401
    # Asked through the anonymous id: the person it became is erased, with every id linked to it.
    status, erasure = erase(invoke, VISITOR)
    assert status == 200
    assert (erasure["lead_id"], sorted(erasure["erased_ids"])) == (PERSON, sorted([PERSON, VISITOR]))
    assert (look_up(invoke, PERSON), look_up(invoke, VISITOR), look_up(invoke, COLLEAGUE)) == (404, 404, 200)
    assert erase(invoke, PERSON)[0] == 404
    assert (dana.outcome_of(PERSON), dana.follow_up_of(PERSON)) == (None, None)
    status, account = call_api(
        invoke, "GET", "/v1/accounts/{account_id}", path={"account_id": "initech.com"}, key=LOCAL_READ_KEY
    )
    assert [member["lead_id"] for member in account["members"]] == [COLLEAGUE]
    _, listed = call_api(invoke, "GET", "/v1/leads", key=LOCAL_READ_KEY)
    assert PERSON not in {row["lead_id"] for row in listed["leads"]}
    # The table keeps no trace of the ids, only their hashes on the suppression list.
    items = boto3.client("dynamodb").scan(TableName=aws.table_name)["Items"]
    texts = [json.dumps(item, default=repr) for item in items]
    assert not [text for text in texts if PERSON in text or VISITOR in text]
    assert {item["pk"]["S"] for item in items} >= {f"X#{erasure_key(PERSON)}", f"X#{erasure_key(VISITOR)}"}


def test_a_replay_or_new_messages_never_bring_the_person_back(
    dana: DynamoLeadRepository, aws: LocalResources, invoke: Invoke
) -> None:
    assert erase(invoke, PERSON)[0] == 200
    # The same messages again (a redrive, a replay) and new ones from their browser and their CRM sync.
    send(invoke, aws, journey("first") + journey("later"))
    assert (look_up(invoke, PERSON), look_up(invoke, VISITOR), look_up(invoke, COLLEAGUE)) == (404, 404, 200)
    assert isinstance(dana.read(PERSON), ErasedLead)


def test_the_purge_rewrites_the_archive_without_the_person_and_keeps_everyone_else(
    dana: DynamoLeadRepository, aws: LocalResources, invoke: Invoke
) -> None:
    send(invoke, aws, [{"type": "track", "userId": COLLEAGUE, "event": "Webinar Registered"}])
    before = archived(aws.bucket)
    assert any(PERSON in line for lines in before.values() for line in lines)
    assert invoke("purge", load_event("schedule.json"))["erasures"] == 0  # nothing pending: nothing read
    assert erase(invoke, PERSON)[0] == 200

    run = invoke("purge", load_event("schedule.json"))
    assert run == {
        "erasures": 2,
        "objects_read": len(before),
        "objects_rewritten": 1,
        "lines_removed": 3,
        "finished": True,
    }
    after = archived(aws.bucket)
    assert set(after) == set(before)
    assert not [line for lines in after.values() for line in lines if PERSON in line or VISITOR in line]
    kept = [line for lines in before.values() for line in lines if PERSON not in line and VISITOR not in line]
    assert sorted(line for lines in after.values() for line in lines) == sorted(kept)
    # Done: the pending erasures are forgotten (their suppression stays).
    assert invoke("purge", load_event("schedule.json"))["erasures"] == 0
    assert look_up(invoke, PERSON) == 404


def test_a_purge_out_of_time_keeps_its_place_and_the_next_run_finishes(
    dana: DynamoLeadRepository, aws: LocalResources, invoke: Invoke
) -> None:
    for batch in range(3):  # three more archive objects, each with Dana in it
        send(invoke, aws, [{"type": "page", "userId": PERSON, "properties": {"path": f"/docs/{batch}"}}])
    assert erase(invoke, PERSON)[0] == 200
    work, archive = DynamoPurgeWork(aws.table_name), S3EventArchive(aws.bucket)
    objects = len(archived(aws.bucket))
    calls = count()
    first = purge_archive(work, archive, has_time=lambda: next(calls) < 2)
    assert (first.objects_read, first.finished) == (2, False)
    second = purge_archive(work, archive, has_time=lambda: True)
    assert (second.objects_read, second.finished) == (objects - 2, True)
    assert first.objects_rewritten + second.objects_rewritten == 4
    assert not [line for lines in archived(aws.bucket).values() for line in lines if PERSON in line]
