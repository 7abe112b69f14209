"""Cold-start proxy: the time to import each handler module in a fresh interpreter (best of five)."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from leadscore import resources

REPO_ROOT = Path(__file__).resolve().parents[1]
RUNS = 5


def import_seconds(module: str) -> float:
    best = float("inf")
    for _ in range(RUNS):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", f"import {module}"], cwd=REPO_ROOT, check=True)
        best = min(best, time.perf_counter() - started)
    return best


def run() -> None:
    baseline = import_seconds("json")
    print(f"handler init (import in a fresh interpreter, best of {RUNS}, minus bare interpreter start)")
    for name in resources.FUNCTIONS:
        seconds = import_seconds(f"functions.{name}.handler") - baseline
        print(f"  {name:<8} {seconds * 1000:6.0f} ms")
