"""The sales console end to end: headless Chromium opens GET /console on `leadscore local`, a salesperson
types the read key and their name, sees the hot and warm leads, opens one to see why it scored, its activity
and its account's other people, and records a follow-up and an outcome in one click each; on a laptop and on
a phone screen. Nothing is fetched from anywhere but the API.

A full-page screenshot of each page is kept in test-artifacts/console/ (list-laptop.png, lead-phone.png, ...).
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

import pytest
from playwright.sync_api import expect

from leadscore.resources import SCORE_QUEUE
from leadscore_local.aws import LOCAL_READ_KEY, LOCAL_WRITE_KEY
from leadscore_local.demo import http_json
from tests.e2e.conftest import REPO_ROOT
from tests.e2e.test_browser_sdks import CHROMIUM, _install_chromium

pytestmark = pytest.mark.e2e
ARTIFACTS = REPO_ROOT / "test-artifacts" / "console"
SCORING_SECONDS = SCORE_QUEUE.max_batching_window_seconds + 40
LAPTOP: dict[str, Any] = {"viewport": {"width": 1280, "height": 800}}
PHONE: dict[str, Any] = {
    "viewport": {"width": 390, "height": 844},
    "device_scale_factor": 2,
    "is_mobile": True,  # lays the page out as a phone does: only the viewport meta tag keeps it 390 px wide
    "has_touch": True,
}
SALESPERSON = "Sam Seller"
MARKUP_NAME = 'Linus <b>"T"</b> & co'  # shown as text, never as markup
KEY_STORAGE = "leadscore.readKey"


@dataclass(frozen=True)
class Leads:
    """The people seeded for the module: a hot lead, a warm colleague at the same company, a warm lead."""

    hot: str
    colleague: str
    warm: str
    account: str


def _lead(stack: str, lead_id: str) -> dict[str, Any] | None:
    status, body = http_json("GET", f"{stack}/v1/leads/{quote(lead_id, safe='')}", LOCAL_READ_KEY)
    return body if status == 200 else None


def _listed(stack: str, band: str) -> list[dict[str, Any]]:
    status, body = http_json("GET", f"{stack}/v1/leads?band={band}&limit=50", LOCAL_READ_KEY)
    assert status == 200, f"GET /v1/leads?band={band} answered {status} {body}"
    return list(body["leads"])


@pytest.fixture(scope="module")
def leads(stack: str) -> Leads:
    """One batch over HTTP, then wait until the three are scored and the hot one is listed as hot."""
    tag = uuid.uuid4().hex[:8]
    account = f"northwind-{tag}.com"
    seeded = Leads(f"ada@{account}", f"grace@{account}", f"linus@initrode-{tag}.com", account)
    now = datetime.now(UTC)

    def message(kind: str, user: str, days_ago: int, **fields: Any) -> dict[str, Any]:
        timestamp = (now - timedelta(days=days_ago)).isoformat()
        return {"type": kind, "userId": user, "timestamp": timestamp, **fields}

    def identify(user: str, days_ago: int, **traits: Any) -> dict[str, Any]:
        return message("identify", user, days_ago, traits={"email": user, "employees": 500, **traits})

    batch = [
        # Fit 55 (VP, 500 people, US, business e-mail); pricing on 3 days, a demo: days ago, so decayed.
        identify(
            seeded.hot, 6, name="Ada Lovelace", title="VP Engineering", company="Northwind", country="US"
        ),
        *(message("page", seeded.hot, days, properties={"path": "/pricing"}) for days in (5, 4, 3)),
        message("track", seeded.hot, 2, event="Demo Requested"),
        identify(
            seeded.colleague,
            3,
            name="Grace Hopper",
            title="Engineering Manager",
            company="Northwind",
            country="US",
        ),
        message("page", seeded.colleague, 1, properties={"path": "/product/overview"}),
        message("track", seeded.colleague, 1, event="Whitepaper Downloaded"),
        identify(seeded.warm, 4, name=MARKUP_NAME, title="Director of IT", company="Initrode", country="DE"),
        message("track", seeded.warm, 1, event="Webinar Registered"),
    ]
    status, body = http_json("POST", f"{stack}/v1/batch", LOCAL_WRITE_KEY, {"batch": batch})
    assert status == 200, body

    deadline = time.monotonic() + SCORING_SECONDS
    while time.monotonic() < deadline:
        scored = {lead_id: _lead(stack, lead_id) for lead_id in (seeded.hot, seeded.colleague, seeded.warm)}
        if all(scored.values()) and any(item["lead_id"] == seeded.hot for item in _listed(stack, "hot")):
            break
        time.sleep(0.5)
    else:
        bands = {lead_id: lead and lead["band"] for lead_id, lead in scored.items()}
        pytest.fail(f"the seeded leads were not scored and listed as hot within {SCORING_SECONDS} s: {bands}")
    bands = {lead_id: lead["band"] for lead_id, lead in scored.items() if lead}
    assert bands == {seeded.hot: "hot", seeded.colleague: "warm", seeded.warm: "warm"}
    return seeded


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    reason = _install_chromium()
    if reason is not None:
        pytest.skip(f"Chromium cannot be installed: {reason}")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        yield launched
        launched.close()


@pytest.fixture
def console(browser: Any, stack: str) -> Iterator[Callable[..., Any]]:
    """Opens /console in a fresh browser session (no key yet); afterwards, checks that no script failed, that
    nothing was requested anywhere but the API, and that no request failed but the 401s a wrong key gets."""
    contexts: list[Any] = []
    problems: list[str] = []

    def on_console(message: Any) -> None:
        if message.type == "error" and "status of 401" not in message.text:
            problems.append(f"console error: {message.text}")

    def on_request(request: Any) -> None:
        if not request.url.startswith(f"{stack}/"):
            problems.append(f"request outside the API: {request.url}")

    def open_console(device: dict[str, Any], fragment: str = "") -> Any:
        context = browser.new_context(**device)
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(10_000)
        page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
        page.on("console", on_console)
        page.on("request", on_request)
        page.on("requestfailed", lambda request: problems.append(f"failed: {request.url} {request.failure}"))
        response = page.goto(f"{stack}/console{fragment}")
        assert response is not None
        assert response.status == 200, f"GET /console answered {response.status}: {response.text()[:300]}"
        assert response.headers["content-type"].startswith("text/html")
        page.wait_for_selector("#key-view:not([hidden])")
        return page

    yield open_console
    for context in contexts:
        context.close()
    assert problems == []


def sign_in(page: Any, key: str = LOCAL_READ_KEY, name: str = SALESPERSON) -> None:
    page.get_by_label("Read key").fill(key)
    page.get_by_label("Your name").fill(name)
    page.get_by_role("button", name="Open", exact=True).click()


def screenshot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def number(text: str) -> float:
    return float(text.replace(",", "").strip())


def no_horizontal_scroll(page: Any) -> None:
    width, inner = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert inner == 390, "the page is not laid out at the phone's width (viewport meta tag?)"
    assert width <= inner, f"the page scrolls sideways on a phone: {width} px wide in {inner}"


def test_the_key_prompt_opens_the_hot_leads_with_their_scores(console: Any, leads: Leads, stack: str) -> None:
    page = console(LAPTOP)
    assert page.get_by_label("Read key").get_attribute("type") == "password"
    screenshot(page, "key-laptop")

    sign_in(page)

    row = page.locator(f'#lead-rows tr[data-lead="{leads.hot}"]')
    row.wait_for()
    listed = next(item for item in _listed(stack, "hot") if item["lead_id"] == leads.hot)
    assert row.locator("th a").inner_text() == "Ada Lovelace"
    assert row.locator('[data-label="Company"]').inner_text() == "Northwind"
    assert number(row.locator('[data-label="Score"]').inner_text()) == pytest.approx(listed["score"], abs=0.2)
    assert number(row.locator('[data-label="Fit"]').inner_text()) == pytest.approx(listed["fit"], abs=0.2)
    assert row.locator('[data-label="Grade"]').inner_text() == listed["grade"]
    assert listed["turned_hot_at"], listed
    assert row.locator('[data-label="Turned hot"] time').get_attribute("datetime") == listed["turned_hot_at"]
    assert re.fullmatch(r"just now|\d+ min ago", row.locator('[data-label="Turned hot"]').inner_text())
    assert "Waiting since" in row.locator('[data-label="Follow-up"]').inner_text()
    assert page.locator(f'#lead-rows tr[data-lead="{leads.warm}"]').count() == 0
    assert page.evaluate(f"sessionStorage.getItem('{KEY_STORAGE}')") == LOCAL_READ_KEY
    assert page.evaluate(f"localStorage.getItem('{KEY_STORAGE}')") is None
    screenshot(page, "list-laptop")

    # The warm tab lists the warm leads and not the hot one, a page at a time (one a page here): "Load more"
    # follows next_cursor until there is none
    page.route("**/v1/leads?*", lambda route: route.continue_(url=route.request.url.replace("=50", "=1")))
    page.get_by_role("link", name="Warm", exact=True).click()
    rows = page.locator("#lead-rows tr")
    more = page.get_by_role("button", name="Load more")
    expect(rows).to_have_count(1)
    more.click()
    expect(rows).to_have_count(2)
    expect(more).to_be_hidden()
    warm = [item["lead_id"] for item in _listed(stack, "warm")]
    assert rows.evaluate_all("rows => rows.map(row => row.dataset.lead)") == warm
    assert sorted(warm) == sorted([leads.warm, leads.colleague])
    assert page.locator(f'#lead-rows tr[data-lead="{leads.warm}"] th a').text_content() == MARKUP_NAME
    assert page.get_by_role("link", name="Warm", exact=True).get_attribute("aria-current") == "page"
    screenshot(page, "list-warm-laptop")

    # A reload keeps the session's key: the list shows again without the prompt
    page.reload()
    page.locator(f'#lead-rows tr[data-lead="{leads.warm}"]').wait_for()
    assert page.locator("#key-view").is_hidden()


def test_a_lead_shows_why_it_scored_its_activity_and_its_colleagues(
    console: Any, leads: Leads, stack: str
) -> None:
    page = console(LAPTOP)
    sign_in(page)
    page.locator(f'#lead-rows tr[data-lead="{leads.hot}"] th a').click()

    page.locator('#why li[data-rule="demo-request"]').wait_for()
    lead = _lead(stack, leads.hot)
    assert lead is not None
    assert page.url.endswith(f"#/lead/{quote(leads.hot, safe='')}")
    assert page.locator("#lead-name").inner_text() == "Ada Lovelace"
    facts = page.locator("#lead-facts dd").all_text_contents()
    assert facts[1:4] == [lead["band"], lead["stage"], lead["grade"]]
    assert number(facts[0]) == pytest.approx(lead["score"], abs=0.2)

    # One bar per rule; a bar as long as the rule's points, its decayed part beside it
    rules = [item["rule"] for item in lead["explanation"]]
    assert page.locator("#why li[data-rule]").evaluate_all("items => items.map(i => i.dataset.rule)") == rules
    by_rule = {item["rule"]: item for item in lead["explanation"]}
    demo, title = by_rule["demo-request"], by_rule["title-vp-director"]
    assert demo["decayed"] > 0
    assert title["decayed"] == 0

    def width(rule: str, part: str) -> float:
        return float(page.locator(f'#why li[data-rule="{rule}"] .{part}').bounding_box()["width"])

    kept, decayed = width("demo-request", "kept"), width("demo-request", "decayed")
    assert kept / decayed == pytest.approx(demo["points"] / demo["decayed"], rel=0.1)
    fit_kept = width("title-vp-director", "kept")
    assert kept / fit_kept == pytest.approx(demo["points"] / title["points"], rel=0.05)
    assert page.locator('#why li[data-rule="title-vp-director"] .decayed').count() == 0

    # The timeline: what the lead did, latest first, then when it was first seen
    timeline = page.locator("#timeline li[data-rule]").evaluate_all("items => items.map(i => i.dataset.rule)")
    assert timeline == [item["rule"] for item in lead.get("recent_activity", [])]
    assert timeline[0] == "demo-request"
    assert page.locator("#timeline li").last.inner_text().endswith("First seen")

    # The account's other people, each a link to their lead; not the lead itself
    colleague = page.locator(f'#people li[data-lead="{leads.colleague}"] a')
    colleague.wait_for()
    assert page.locator(f'#people li[data-lead="{leads.hot}"]').count() == 0
    assert leads.account in page.locator("#account-title").inner_text()
    screenshot(page, "lead-laptop")

    colleague.click()
    expect(page.locator("#lead-name")).to_have_text("Grace Hopper")
    page.locator(f'#people li[data-lead="{leads.hot}"]').wait_for()


def test_one_click_records_a_follow_up_and_an_outcome(console: Any, leads: Leads, stack: str) -> None:
    # The warm lead, so that the hot one stays waiting for the other tests; opened from a link
    page = console(LAPTOP, f"#/lead/{quote(leads.warm, safe='')}")
    sign_in(page)
    expect(page.locator("#lead-name")).to_have_text(MARKUP_NAME)
    assert page.locator("#lead-name b").count() == 0

    page.get_by_role("button", name="Contacted", exact=True).click()
    expect(page.locator("#follow-state")).to_have_text(re.compile(f"^Contacted by {SALESPERSON}, "))
    assert "Recorded" in page.locator("#message").inner_text()
    follow_up = (_lead(stack, leads.warm) or {}).get("follow_up")
    assert follow_up is not None
    assert (follow_up["status"], follow_up["by"]) == ("contacted", SALESPERSON)

    page.get_by_label("Deal value (optional)").fill("12000")
    page.get_by_role("button", name="Converted", exact=True).click()
    expect(page.locator("#outcome-state")).to_have_text(re.compile(r"^Converted \(value 12,000\), "))
    outcome = (_lead(stack, leads.warm) or {}).get("outcome")
    assert outcome is not None
    assert (outcome["outcome"], outcome["value"]) == ("converted", 12000)
    screenshot(page, "lead-recorded-laptop")

    # The list shows the follow-up too
    page.get_by_role("link", name="All leads").click()
    page.get_by_role("link", name="Warm", exact=True).click()
    cell = page.locator(f'#lead-rows tr[data-lead="{leads.warm}"] [data-label="Follow-up"]')
    cell.wait_for()
    assert cell.inner_text().startswith(f"Contacted by {SALESPERSON}")


def test_on_a_phone_the_list_and_the_lead_fit_the_screen(console: Any, leads: Leads) -> None:
    page = console(PHONE)
    screenshot(page, "key-phone")
    no_horizontal_scroll(page)
    sign_in(page)

    row = page.locator(f'#lead-rows tr[data-lead="{leads.hot}"]')
    row.wait_for()
    no_horizontal_scroll(page)
    assert page.locator("#lead-table thead").bounding_box()["height"] <= 1, "a phone shows cards, not a table"
    assert row.bounding_box()["width"] <= 390
    screenshot(page, "list-phone")

    row.locator("th a").click()
    page.locator(f'#people li[data-lead="{leads.colleague}"]').wait_for()
    no_horizontal_scroll(page)
    screenshot(page, "lead-phone")


def test_a_wrong_key_asks_again_and_the_key_can_be_forgotten(console: Any, leads: Leads) -> None:
    page = console(LAPTOP)
    sign_in(page, key="not-the-read-key")

    expect(page.locator("#message")).to_contain_text("refused")
    assert page.locator("#key-view").is_visible()
    assert page.locator("#list-view").is_hidden()
    assert page.get_by_label("Read key").input_value() == ""
    assert page.evaluate(f"sessionStorage.getItem('{KEY_STORAGE}')") is None
    screenshot(page, "key-refused-laptop")

    sign_in(page)
    page.locator(f'#lead-rows tr[data-lead="{leads.hot}"]').wait_for()
    assert page.locator("#message").is_hidden()
    page.get_by_role("button", name="Forget key").click()
    assert page.locator("#key-view").is_visible()
    assert page.evaluate(f"sessionStorage.getItem('{KEY_STORAGE}')") is None
    assert page.get_by_label("Your name").input_value() == SALESPERSON
