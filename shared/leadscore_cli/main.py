"""The ``leadscore`` command: the local stack, the demo, and the rule owner's tools."""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
import threading
from collections.abc import Sequence
from pathlib import Path

from leadscore.resources import DECAY_SCHEDULE_LOCAL_SECONDS
from leadscore_cli import contacts, outcomes, queue, replay, report, rescore, rules, train
from leadscore_local.faults import DEFAULT_SERVICES, DEFAULT_TIMEOUT_SECONDS, FaultPlan
from leadscore_local.runtime import DEFAULT_OUTBOX


def _local(arguments: argparse.Namespace) -> int:
    from leadscore.rules import DEFAULT_RULES_FILE
    from leadscore_local.stack import LocalStack

    faults = (
        FaultPlan.parse(
            arguments.faults, arguments.faults_on, arguments.faults_seed, arguments.faults_timeout
        )
        if arguments.faults
        else None
    )
    stack = LocalStack(
        port=arguments.port,
        rules_path=arguments.rules or DEFAULT_RULES_FILE,
        decay_every=arguments.decay_every,
        outbox=arguments.outbox,
        log_level="INFO" if arguments.verbose else "WARNING",
        faults=faults,
    )
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    with stack:
        print(stack.banner(), flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            stopped.wait()
    if stack.faults:
        print(stack.faults.summary(), flush=True)
    print("local stack stopped", flush=True)
    return 0


def _fraction(text: str) -> float:
    rate = float(text)
    if not 0 <= rate <= 1:
        raise argparse.ArgumentTypeError(f"a fraction from 0 to 1, not {text}")
    return rate


def _demo(arguments: argparse.Namespace) -> int:
    from leadscore_local.demo import run_demo

    return run_demo(port=arguments.port)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="leadscore", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    local = commands.add_parser(
        "local", help="run the whole service locally in the foreground (Ctrl-C stops)"
    )
    local.add_argument(
        "--port", type=int, default=int(os.environ.get("PORT", "3000")), help="HTTP port (env PORT)"
    )
    local.add_argument("--rules", type=Path, default=None, help="rule file (default: rules/default.yaml)")
    local.add_argument(
        "--decay-every",
        type=float,
        default=DECAY_SCHEDULE_LOCAL_SECONDS,
        help="seconds between scheduled decay runs",
    )
    local.add_argument("--outbox", type=Path, default=DEFAULT_OUTBOX, help="folder for alert e-mails")
    local.add_argument("--verbose", action="store_true", help="show the functions' INFO logs")
    local.add_argument(
        "--faults",
        type=_fraction,
        default=0.0,
        metavar="RATE",
        help="fail this fraction of AWS calls as AWS does under stress (throttling, 5xx, timeouts)",
    )
    local.add_argument(
        "--faults-on",
        default=",".join(DEFAULT_SERVICES),
        metavar="SERVICES",
        help="the services (or service:Operation) --faults fails, comma-separated (default: %(default)s)",
    )
    local.add_argument("--faults-seed", type=int, default=0, help="seed of the faults' draws")
    local.add_argument(
        "--faults-timeout",
        type=float,
        default=DEFAULT_TIMEOUT_SECONDS,
        metavar="SECONDS",
        help="how long a timed-out call waits before its connection closes (default: %(default)g)",
    )
    local.set_defaults(func=_local)

    demo = commands.add_parser(
        "demo", help="replay the demo traffic through the local stack and show the results"
    )
    demo.add_argument("--port", type=int, default=0, help="HTTP port (default: any free port)")
    demo.set_defaults(func=_demo)

    rules.register(commands)
    queue.register(commands)
    outcomes.register(commands)
    replay.register(commands)
    rescore.register(commands)
    contacts.register(commands)
    report.register(commands)
    train.register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    arguments = build_parser().parse_args(argv)
    try:
        exit_code: int = arguments.func(arguments)
    except BrokenPipeError:  # output piped into head or less, which stopped reading
        sys.stderr.close()
        return 0
    return exit_code


if __name__ == "__main__":
    sys.exit(main())
