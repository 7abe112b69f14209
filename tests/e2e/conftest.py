"""The local stack every end-to-end test drives: `leadscore local` in its own process, over real HTTP."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest

from leadscore_local.aws import free_port

REPO_ROOT = Path(__file__).resolve().parents[2]
STARTUP_SECONDS = 60


@dataclass(frozen=True)
class RunningStack:
    url: str
    log: Path  # what it printed: the banner, then every alert

    def output(self) -> str:
        return self.log.read_text()


@contextlib.contextmanager
def running_stack(
    outbox: Path, log: Path, *options: str, env: Mapping[str, str] | None = None
) -> Iterator[RunningStack]:
    """`leadscore local` with ``options`` and ``env``, its output in ``log`` (a file: a pipe nobody reads
    fills up and stops the stack); it must exit cleanly when stopped."""
    port = free_port()
    with log.open("w") as sink:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "leadscore_cli.main",
                "local",
                "--port",
                str(port),
                "--outbox",
                str(outbox),
                *options,
            ],
            cwd=REPO_ROOT,
            env={**os.environ, "PYTHONPATH": str(REPO_ROOT / "shared"), **(env or {})},
            stdout=sink,
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
                    pytest.fail(f"leadscore local exited early:\n{log.read_text()}")
                time.sleep(0.2)
        try:
            yield RunningStack(url, log)
        finally:
            process.terminate()
            process.wait(timeout=30)
    assert process.returncode == 0, log.read_text()


@pytest.fixture(scope="module")
def outbox(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("outbox")


@pytest.fixture(scope="module")
def stack(outbox: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The stack's URL; it stops (and must exit cleanly) when the module's tests are done."""
    with running_stack(outbox, tmp_path_factory.mktemp("stack") / "output.log") as running:
        yield running.url
