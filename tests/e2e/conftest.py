"""The local stack every end-to-end test drives: `leadscore local` in its own process, over real HTTP."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from leadscore_local.aws import free_port

REPO_ROOT = Path(__file__).resolve().parents[2]
STARTUP_SECONDS = 60


@pytest.fixture(scope="module")
def outbox(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("outbox")


@pytest.fixture(scope="module")
def stack(outbox: Path) -> Iterator[str]:
    """The stack's URL; it stops (and must exit cleanly) when the module's tests are done."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "leadscore_cli.main", "local", "--port", str(port), "--outbox", str(outbox)],
        cwd=REPO_ROOT,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT / "shared")},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"{url}/v1/leads/probe", timeout=1)
        except urllib.error.HTTPError:
            break  # it answers (401): up
        except OSError:
            if process.poll() is not None:
                pytest.fail(
                    f"leadscore local exited early:\n{process.stdout.read() if process.stdout else ''}"
                )
            time.sleep(0.2)
    yield url
    process.terminate()
    output, _ = process.communicate(timeout=30)
    assert process.returncode == 0, output
