"""Run every benchmark and print its figures: ``python -m bench`` (or ``make bench``).

Each benchmark runs in a fresh interpreter, as ``python -m bench.<name>``: some start moto's server and
some mock AWS in process, and the handlers keep their clients for the life of the process, as Lambda does.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

BENCHMARKS = (
    "engine_throughput",
    "storage_cost",
    "identity_cost",
    "decay_scan",
    "rescore_cost",
    "list_cost",
    "handler_init",
    "speed_to_lead",
    "local_load",
    "model",
)
BENCH_DIR = Path(__file__).resolve().parent


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    # No ``choices``: argparse checks an empty list against them too, and refuses to run every benchmark.
    parser.add_argument("names", nargs="*", metavar="name", help=f"only these: {', '.join(BENCHMARKS)}")
    names = parser.parse_args().names or [name for name in BENCHMARKS if (BENCH_DIR / f"{name}.py").exists()]
    if unknown := set(names) - set(BENCHMARKS):
        parser.error(f"no such benchmark: {', '.join(sorted(unknown))}")
    failed = []
    for name in names:
        print(flush=True)
        if subprocess.run(
            [sys.executable, "-m", f"bench.{name}"], cwd=BENCH_DIR.parent, check=False
        ).returncode:
            failed.append(name)
    if failed:
        sys.exit(f"benchmarks that failed: {', '.join(failed)}")


if __name__ == "__main__":
    main()
