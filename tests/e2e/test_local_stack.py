"""The product end to end: `leadscore local` in its own process, driven over real HTTP as a tracker would."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from leadscore.resources import SCORE_QUEUE
from leadscore_cli.main import main
from leadscore_local.aws import LOCAL_ADMIN_KEY, LOCAL_READ_KEY, LOCAL_WRITE_KEY
from leadscore_local.demo import http_json
from tests.e2e.conftest import REPO_ROOT

pytestmark = pytest.mark.e2e


def eventually(check: Any, timeout: float = SCORE_QUEUE.max_batching_window_seconds + 40.0) -> Any:
    """Poll ``check`` until it returns something truthy: scoring is asynchronous (SQS with its batching
    window, then the stream), and a loaded CI machine is slow."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(0.2)
    pytest.fail("the local stack did not get there in time")


def lead(url: str, lead_id: str) -> tuple[int, Any]:
    return http_json("GET", f"{url}/v1/leads/{lead_id}", LOCAL_READ_KEY)


def test_a_tracked_lead_is_scored_explained_and_alerted(stack: str, outbox: Path) -> None:
    now = datetime.now(UTC)
    moments = [(now - timedelta(minutes=10 - n)).isoformat() for n in range(10)]
    identify = {
        "type": "identify",
        "userId": "dana@initech.com",
        "timestamp": moments[0],
        "traits": {"email": "dana@initech.com", "title": "VP of Operations", "employees": 800},
    }
    pricing = [
        {
            "type": "page",
            "userId": "dana@initech.com",
            "timestamp": moments[n],
            "properties": {"path": "/pricing"},
        }
        for n in (1, 2, 3)
    ]
    demo = {"type": "track", "userId": "dana@initech.com", "timestamp": moments[4], "event": "Demo Requested"}
    status, body = http_json(
        "POST", f"{stack}/v1/batch", LOCAL_WRITE_KEY, {"batch": [identify, *pricing, demo]}
    )
    assert (status, body) == (200, {"success": True})

    def scored() -> Any:
        status, body = lead(stack, "dana@initech.com")
        return (
            body
            if status == 200 and any(i["rule"] for i in body["explanation"]) and body["score"] > 0
            else None
        )

    body = eventually(scored)
    assert {"score", "fit", "engagement", "band", "explanation"} <= body.keys()
    assert sum(item["points"] for item in body["explanation"]) == pytest.approx(body["score"])
    assert (body["band"], body["stage"], body["account_id"]) == ("hot", "mql", "initech.com")
    assert "demo-request" in {item["rule"] for item in body["explanation"]}
    status, account = http_json("GET", f"{stack}/v1/accounts/initech.com", LOCAL_READ_KEY)
    assert status == 200
    assert (account["people"], account["score"]) == (1, body["score"])
    mails = eventually(lambda: sorted(outbox.glob("*.eml")))
    text = mails[0].read_text()
    assert "dana@initech.com" in text
    assert "Subject:" in text


@pytest.mark.parametrize(
    ("message", "field"),
    [
        ({"type": "track", "event": "Demo Requested"}, "userId"),
        ({"type": "track", "userId": "x@initech.com"}, "event"),
    ],
)
def test_a_bad_message_gets_a_400_naming_the_field_and_nothing_is_stored(
    stack: str, message: dict[str, Any], field: str
) -> None:
    status, body = http_json("POST", f"{stack}/v1/batch", LOCAL_WRITE_KEY, {"batch": [message]})
    assert status == 400
    assert body["code"] == "invalid_request"
    assert field in body["message"]
    time.sleep(1)
    assert lead(stack, "x@initech.com")[0] == 404


def test_keys_are_required_and_kept_to_their_role(stack: str) -> None:
    track = {"userId": "k@initech.com", "event": "Signed Up"}
    assert http_json("POST", f"{stack}/v1/track", "wrong-key", track)[0] == 401
    assert http_json("POST", f"{stack}/v1/track", LOCAL_READ_KEY, track)[0] == 401
    assert http_json("GET", f"{stack}/v1/leads/k@initech.com", LOCAL_WRITE_KEY)[0] == 401
    request = urllib.request.Request(f"{stack}/v1/leads/k@initech.com")
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=5)
    assert refused.value.code == 401


def test_a_bearer_read_key_is_accepted(stack: str) -> None:
    request = urllib.request.Request(
        f"{stack}/v1/leads/never-seen@initech.com", headers={"Authorization": f"Bearer {LOCAL_READ_KEY}"}
    )
    with pytest.raises(urllib.error.HTTPError) as answer:
        urllib.request.urlopen(request, timeout=5)
    assert answer.value.code == 404
    assert json.loads(answer.value.read())["code"] == "not_found"


def test_segment_and_rudderstack_sdks_deliver_unchanged(stack: str) -> None:
    """Both SDKs as a tracker ships them: Segment's batches plainly, RudderStack's gzips and wants a 200."""
    import rudderstack.analytics as rudderstack
    import segment.analytics as segment

    errors: list[Exception] = []
    for sdk, host_setting in ((segment, "host"), (rudderstack, "dataPlaneUrl")):
        sdk.write_key = LOCAL_WRITE_KEY
        setattr(sdk, host_setting, stack)
        sdk.on_error = lambda error, _batch: errors.append(error)
    segment.identify("seg@initech.com", {"email": "seg@initech.com", "title": "VP Engineering"})
    segment.track("seg@initech.com", "Demo Requested")
    rudderstack.identify("rud@initech.com", {"email": "rud@initech.com", "employees": 300})
    rudderstack.page("rud@initech.com", properties={"path": "/pricing/teams"})
    segment.flush()
    rudderstack.flush()
    assert errors == []

    def scored(lead_id: str) -> Any:
        status, body = lead(stack, lead_id)
        return body if status == 200 and body["score"] > 0 else None

    assert "demo-request" in {
        item["rule"] for item in eventually(lambda: scored("seg@initech.com"))["explanation"]
    }
    assert "pricing-page" in {
        item["rule"] for item in eventually(lambda: scored("rud@initech.com"))["explanation"]
    }


def test_retries_redeliveries_and_any_order_score_as_the_offline_engine(stack: str, tmp_path: Path) -> None:
    # Given one lead's messages, each with its messageId, as an SDK sends them
    now = datetime.now(UTC).replace(microsecond=0)
    user = "rita@globex.io"
    made = [
        {"type": "identify", "traits": {"email": user, "title": "Head of Data", "employees": 900}},
        {"type": "page", "properties": {"path": "/pricing"}},
        {"type": "page", "properties": {"path": "/pricing/teams"}},
        {"type": "page", "properties": {"path": "/product/api"}},
        {"type": "track", "event": "Webinar Registered"},
        {"type": "track", "event": "Email Link Clicked"},
        {"type": "track", "event": "Whitepaper Downloaded"},
    ]
    messages = [
        {
            **message,
            "userId": user,
            "messageId": f"rita-{n}",
            "timestamp": (now - timedelta(minutes=30 - n)).isoformat(),
        }
        for n, message in enumerate(made)
    ]

    # When it retries the whole batch, sends it again in reverse, and resends some one by one
    for batch in (messages, messages[::-1]):
        assert http_json("POST", f"{stack}/v1/batch", LOCAL_WRITE_KEY, {"batch": batch})[0] == 200
    for message in messages[2:5]:
        assert http_json("POST", f"{stack}/v1/{message['type']}", LOCAL_WRITE_KEY, message)[0] == 200
    time.sleep(SCORE_QUEUE.max_batching_window_seconds + 15)  # every copy has been scored

    # Then the live score is the offline engine's for the set of messages, at the same moment
    status, live = lead(stack, user)
    assert status == 200
    history = tmp_path / "rita.jsonl"
    history.write_text("".join(json.dumps(message) + "\n" for message in messages))
    offline = subprocess.run(
        [
            sys.executable,
            "-m",
            "leadscore_cli.main",
            "rules",
            "try",
            str(REPO_ROOT / "rules/default.yaml"),
            str(history),
            "--json",
            "--at",
            live["as_of"],
        ],
        cwd=REPO_ROOT,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT / "shared")},
        capture_output=True,
        text=True,
        check=True,
    )
    (reference,) = [json.loads(line) for line in offline.stdout.splitlines()]
    assert (live["score"], live["fit"], live["engagement"]) == (
        reference["score"],
        reference["fit"],
        reference["engagement"],
    )
    assert [(i["rule"], i["points"], i["count"]) for i in live["explanation"]] == [
        (i["rule"], i["points"], i["count"]) for i in reference["explanation"]
    ]


def test_a_crm_export_of_outcomes_is_imported_through_the_api(
    stack: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, _ = http_json(
        "POST",
        f"{stack}/v1/identify",
        LOCAL_WRITE_KEY,
        {"userId": "ola@initech.com", "traits": {"email": "ola@initech.com"}},
    )
    assert status == 200
    eventually(lambda: lead(stack, "ola@initech.com")[0] == 200)
    export = tmp_path / "crm.csv"
    export.write_text(
        "Email,Outcome,Value,Date\n"
        'Ola@Initech.com,Closed Won,"12,000",2026-11-20\n'
        "ghost@nowhere.example,lost,,2026-11-21\n"
        "ola@initech.com,maybe,,\n"
    )
    assert main(["outcomes", "import", str(export), "--api", stack, "--key", LOCAL_READ_KEY]) == 1
    captured = capsys.readouterr()
    assert "recorded 1, a later outcome kept 0, unknown leads 1, refused 1" in captured.out
    assert f"{export}:4: refused: outcome: 'maybe'" in captured.err


def test_sales_list_a_band_and_an_admin_erases_a_person_for_good(stack: str) -> None:
    person = "erin@globex-erase.com"
    traits = {"email": person, "title": "VP Engineering", "employees": 500, "country": "US"}
    messages = [
        {"type": "identify", "userId": person, "traits": traits},
        {"type": "track", "userId": person, "event": "Demo Requested"},
        {"type": "track", "userId": person, "event": "Quote Requested"},
    ]
    for message in messages:
        message["messageId"] = f"{person}-{message.get('event', 'identify')}"
    assert http_json("POST", f"{stack}/v1/batch", LOCAL_WRITE_KEY, {"batch": messages})[0] == 200

    def listed() -> list[str]:
        status, page = http_json("GET", f"{stack}/v1/leads?band=hot&limit=200", LOCAL_READ_KEY)
        assert status == 200
        return [row["lead_id"] for row in page["leads"]]

    eventually(lambda: person in listed())
    assert http_json("DELETE", f"{stack}/v1/leads/{person}", LOCAL_READ_KEY)[0] == 401
    status, erasure = http_json("DELETE", f"{stack}/v1/leads/{person}", LOCAL_ADMIN_KEY)
    assert (status, erasure["erased_ids"]) == (200, [person])
    assert lead(stack, person)[0] == 404
    assert person not in listed()
    # The same messages again (a tracker retrying, a replay) and a new one: never scored again.
    # A colleague's message rides last in the same request, to know when the batch was scored.
    colleague = {"type": "identify", "userId": "after-erasure@globex-erase.com", "traits": {"title": "CTO"}}
    again = [*messages, {"type": "page", "userId": person, "properties": {"path": "/pricing"}}, colleague]
    assert http_json("POST", f"{stack}/v1/batch", LOCAL_WRITE_KEY, {"batch": again})[0] == 200
    eventually(lambda: lead(stack, "after-erasure@globex-erase.com")[0] == 200)
    assert lead(stack, person)[0] == 404


def test_a_crm_export_of_contacts_is_scored_from_their_traits(stack: str, tmp_path: Path) -> None:
    export = tmp_path / "contacts.csv"
    export.write_text(
        "Email Address;First Name;Job Title;Company Size;Country\n"
        "nora@umbrella-import.com;Nora;Chief Technology Officer;1,200;US\n"
        "no address;Bo;Manager;10;US\n"
    )
    assert main(["contacts", "import", str(export), "--api", stack, "--key", LOCAL_WRITE_KEY]) == 0
    status, nora = eventually(
        lambda: (answer := lead(stack, "nora@umbrella-import.com"))[0] == 200 and answer
    )
    assert status == 200
    rules = {item["rule"] for item in nora["explanation"]}
    assert {"title-c-level", "company-size-core"} <= rules
    assert nora["profile"]["firstName"] == "Nora"
