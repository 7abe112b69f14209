"""The browser SDKs a site ships, end to end: a real page in headless Chromium loads analytics.js
(@segment/analytics-next) or RudderStack's v3 SDK, bundled from node_modules with esbuild, and sends a
visit to /pricing, an identify and a demo request to `leadscore local`, cross-origin (the page is served
from another port), with nothing fetched from the internet; then the lead is scored and explained.

Chromium is Debian's (`make test` installs it); Playwright drives it, its own browser download unused.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from leadscore.resources import SCORE_QUEUE, TRACKING_CALLS
from leadscore_local.aws import LOCAL_READ_KEY, LOCAL_WRITE_KEY
from leadscore_local.demo import http_json
from tests.e2e.conftest import REPO_ROOT

pytestmark = pytest.mark.e2e
BROWSER_DIR = Path(__file__).parent / "browser"
CHROMIUM = Path("/usr/bin/chromium")
ESBUILD = REPO_ROOT / "node_modules" / ".bin" / "esbuild"
DELIVERY_SECONDS = 20
SCORING_SECONDS = SCORE_QUEUE.max_batching_window_seconds + 25
SDKS = ("segment", "rudderstack")
CALLS = ("page", "identify", "track")
# The tracking paths, long (/v1/track, RudderStack) and one-letter (/v1/t, analytics.js), by call.
TRACKING_PATHS = {f"/v1/{path}": call for call, short in TRACKING_CALLS.items() for path in (call, short)}


def _install_chromium() -> str | None:
    """Install Debian's chromium if it is missing, as `make test` does; the reason it can't be, if so."""
    if CHROMIUM.exists():
        return None
    apt = ["apt-get"] if os.geteuid() == 0 else ["sudo", "-n", "apt-get"]
    if shutil.which(apt[0]) is None:
        return f"{CHROMIUM} is missing and {apt[0]} is not available to install it"
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for step in (["update", "-qq"], ["install", "-y", "-qq", "chromium"]):
        done = subprocess.run([*apt, *step], env=env, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            return f"{CHROMIUM} is missing and `apt-get {' '.join(step)}` failed: {done.stderr[-2000:]}"
    return None if CHROMIUM.exists() else f"apt-get installed no {CHROMIUM}"


@pytest.fixture(scope="module")
def chromium_path() -> str:
    reason = _install_chromium()
    if reason is not None:
        pytest.skip(f"Chromium cannot be installed: {reason}")
    return str(CHROMIUM)


@pytest.fixture(scope="module")
def bundles(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    """Each SDK's entry file bundled with its npm package into one IIFE script, as a site's build does."""
    assert ESBUILD.exists(), f"{ESBUILD} is missing: `make test` installs it (npm ci)"
    out = tmp_path_factory.mktemp("browser-bundles")
    built = {}
    for sdk in SDKS:
        built_one = subprocess.run(
            [
                str(ESBUILD),
                str(BROWSER_DIR / f"{sdk}.js"),
                "--bundle",
                "--format=iife",
                "--platform=browser",
                "--target=chrome110",
                '--define:process.env.NODE_ENV="production"',
                "--log-level=warning",
                f"--outfile={out / f'{sdk}.js'}",
            ],
            cwd=REPO_ROOT,
            check=False,
            capture_output=True,
            text=True,
        )
        assert built_one.returncode == 0, f"esbuild could not bundle {sdk}.js:\n{built_one.stderr}"
        built[sdk] = (out / f"{sdk}.js").read_bytes()
    return built


@pytest.fixture
def site(bundles: dict[str, bytes]) -> Iterator[Callable[[str], str]]:
    """A static site on its own port (so the API is cross-origin): /pricing and the SDK's bundle."""
    files: dict[str, tuple[str, bytes]] = {
        "/pricing": ("text/html; charset=utf-8", (BROWSER_DIR / "pricing.html").read_bytes()),
    }

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            found = files.get(urlsplit(self.path).path)
            status, content_type, body = (200, *found) if found else (404, "text/plain", b"not found")
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, name="site", daemon=True)
    thread.start()

    def serve(sdk: str) -> str:
        files["/sdk.js"] = ("text/javascript; charset=utf-8", bundles[sdk])
        return f"http://127.0.0.1:{server.server_address[1]}"

    yield serve
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def browser(chromium_path: str) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=chromium_path, args=["--no-sandbox"])
        yield launched
        launched.close()


@dataclass
class Exchange:
    """One request the page made, and what came back."""

    method: str
    url: str
    headers: dict[str, str]
    body: str | None
    status: int | None = None
    response_headers: dict[str, str] = field(default_factory=dict)
    response_body: str | None = None
    failure: str | None = None

    def calls(self) -> list[str]:
        """The tracking calls this request carries (its body's message types, or its path's)."""
        path = urlsplit(self.url).path
        if self.method != "POST" or path not in TRACKING_PATHS:
            return []
        try:
            body = json.loads(self.body or "")
        except ValueError:
            return [TRACKING_PATHS[path]]
        if isinstance(body, dict) and isinstance(body.get("batch"), list):
            return [str(message.get("type")) for message in body["batch"] if isinstance(message, dict)]
        if isinstance(body, dict) and body.get("type"):
            return [str(body["type"])]
        return [TRACKING_PATHS[path]]

    def succeeded(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    def summary(self) -> str:
        return f"{self.method} {urlsplit(self.url).path} -> {self.failure or self.status}"

    def describe(self) -> str:
        shown = {k: v for k, v in self.headers.items() if not k.startswith("sec-") and k != "user-agent"}
        outcome = self.failure or f"{self.status} {(self.response_body or '')[:300]}"
        return (
            f"{self.method} {self.url}\n    request headers: {shown}\n"
            f"    body: {(self.body or '')[:600]}\n    -> {outcome}\n"
            f"    response headers: {self.response_headers}"
        )


@dataclass
class Recording:
    """Everything the page did on the network and printed to its console."""

    exchanges: list[Exchange] = field(default_factory=list)
    preflights: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    console: list[str] = field(default_factory=list)

    def report(self) -> str:
        return (
            "requests:\n"
            + "\n".join(exchange.describe() for exchange in self.exchanges)
            + "\nCORS preflights:\n"
            + "\n".join(self.preflights)
            + "\nconsole:\n"
            + "\n".join(self.console)
        )

    def delivered(self) -> set[str]:
        return {call for exchange in self.exchanges if exchange.succeeded() for call in exchange.calls()}

    def settled(self) -> set[str]:
        """Calls whose request has an outcome, delivered or not."""
        return {
            call
            for exchange in self.exchanges
            if exchange.status is not None or exchange.failure is not None
            for call in exchange.calls()
        }


def record(page: Any, cdp: Any) -> Recording:
    recording = Recording()
    by_request: dict[Any, Exchange] = {}

    def on_request(request: Any) -> None:
        exchange = Exchange(
            method=request.method,
            url=request.url,
            headers=request.headers,
            body=request.post_data,
        )
        by_request[request] = exchange
        recording.exchanges.append(exchange)

    def on_response(response: Any) -> None:
        exchange = by_request.get(response.request)
        if exchange is None:
            return
        exchange.response_headers = response.headers
        try:
            exchange.response_body = response.text()
        except Exception as error:  # a body the browser did not keep
            exchange.response_body = f"<{error}>"
        exchange.status = response.status

    def on_failed(request: Any) -> None:
        if request in by_request:
            by_request[request].failure = f"failed: {request.failure}"

    def on_console(message: Any) -> None:
        line = f"[{message.type}] {message.text}"
        recording.console.append(line)
        if message.type == "error":
            recording.console_errors.append(line)

    page.on("request", on_request)
    page.on("response", on_response)
    page.on("requestfailed", on_failed)
    page.on("console", on_console)
    page.on("pageerror", lambda error: recording.console_errors.append(f"[pageerror] {error}"))

    # Playwright does not surface CORS preflights; the DevTools protocol does.
    preflights: dict[str, str] = {}

    def on_cdp_request(event: dict[str, Any]) -> None:
        if event.get("type") == "Preflight" or event["request"]["method"] == "OPTIONS":
            headers = {k.lower(): v for k, v in event["request"].get("headers", {}).items()}
            preflights[event["requestId"]] = (
                f"OPTIONS {event['request']['url']} "
                f"access-control-request-headers={headers.get('access-control-request-headers')}"
            )

    def on_cdp_response(event: dict[str, Any]) -> None:
        if event["requestId"] in preflights:
            response = event["response"]
            allowed = {
                k.lower(): v
                for k, v in response.get("headers", {}).items()
                if k.lower().startswith("access-")
            }
            recording.preflights.append(
                f"{preflights.pop(event['requestId'])} -> {response['status']} {allowed}"
            )

    def on_cdp_failed(event: dict[str, Any]) -> None:
        cors = event.get("corsErrorStatus")
        if event["requestId"] in preflights:
            recording.preflights.append(
                f"{preflights.pop(event['requestId'])} -> failed {event.get('errorText')}"
            )
        if cors:
            recording.console_errors.append(f"[cors] {cors}")

    cdp.send("Network.enable")
    cdp.on("Network.requestWillBeSent", on_cdp_request)
    cdp.on("Network.responseReceived", on_cdp_response)
    cdp.on("Network.loadingFailed", on_cdp_failed)
    return recording


def wait_for(page: Any, check: Callable[[], Any], seconds: float) -> Any:
    """Poll ``check`` while the page's event loop runs (Playwright's sync API delivers events on waits)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        page.wait_for_timeout(250)
    return check()


@pytest.mark.parametrize("sdk", SDKS)
def test_a_browser_sdk_on_the_pricing_page_gets_the_lead_scored(
    sdk: str, stack: str, site: Callable[[str], str], browser: Any
) -> None:
    from playwright.sync_api import Error as PlaywrightError

    # Given a visitor on the pricing page of a site that ships the SDK, pointed at the API
    user_id = f"browser-{sdk}-{uuid.uuid4().hex[:12]}@initech.com"
    context = browser.new_context()
    page = context.new_page()
    recording = record(page, context.new_cdp_session(page))
    outcome: dict[str, Any] = {}
    origin = site(sdk)
    try:
        page.goto(f"{origin}/pricing")

        # When the page sends the visit, then the identify of the demo form, then the demo request
        try:
            outcome = page.evaluate(
                "config => window.leadscoreScenario(config)",
                {
                    "writeKey": LOCAL_WRITE_KEY,
                    "apiUrl": stack,
                    "userId": user_id,
                    "traits": {"email": user_id, "title": "VP of Operations", "employees": 800},
                    "event": "Demo Requested",
                },
            )
        except PlaywrightError as error:
            outcome = {"error": error.message.splitlines()[0]}
        else:
            wait_for(page, lambda: recording.settled() >= set(CALLS), DELIVERY_SECONDS)
        page.wait_for_timeout(500)  # anything the SDK sends or logs right after
    finally:
        context.close()
    print(f"{sdk}: {user_id}, {outcome}")
    print(recording.report())  # shown when the test fails
    if "error" in outcome:
        pytest.fail(f"{sdk}: the page could not send its calls: {outcome['error']}")

    # Then nothing was fetched from anywhere but the site and the API (no CDN), every request to the
    # API was answered with a 2xx, every call was delivered, and no error was logged
    site_or_api = (f"{origin}/", f"{stack}/", "data:")
    elsewhere = [e.url for e in recording.exchanges if not e.url.startswith(site_or_api)]
    assert elsewhere == [], f"{sdk}: requests outside the site and the API"
    api = [e for e in recording.exchanges if e.url.startswith(f"{stack}/")]
    refused = [e.summary() for e in api if not e.succeeded()]
    assert refused == [], f"{sdk}: the API refused or never answered requests (full log in stdout)"
    assert recording.delivered() >= set(CALLS), f"{sdk}: delivered only {sorted(recording.delivered())}"
    assert outcome["failed"] == []
    assert recording.console_errors == []

    # And the lead is scored: the demo request and the title, and the visit to /pricing made before identify
    def lookup() -> dict[str, Any] | None:
        status, body = http_json("GET", f"{stack}/v1/leads/{user_id}", LOCAL_READ_KEY)
        return body if status == 200 else None

    wanted = {"demo-request", "title-vp-director", "pricing-page"}
    deadline = time.monotonic() + SCORING_SECONDS
    lead = lookup()
    while time.monotonic() < deadline and not (lead and wanted <= _rules(lead)):
        time.sleep(0.5)
        lead = lookup()
    print(f"{sdk}: lead {lead}")
    assert lead is not None, f"{sdk}: {user_id} was never scored"
    assert lead["score"] > 0, lead
    assert "demo-request" in _rules(lead), lead
    assert "title-vp-director" in _rules(lead), f"{sdk}: the identify's traits were not read: {lead}"
    assert "pricing-page" in _rules(lead), (
        f"{sdk}: the anonymous visit to /pricing (anonymousId {outcome['anonymousId']}) "
        f"was not credited to {user_id} after identify: {lead}"
    )


def _rules(lead: dict[str, Any]) -> set[str]:
    return {item["rule"] for item in lead["explanation"] if item.get("rule")}
