"""The local stack under load: parallel clients posting batches of 100 to ``POST /v1/batch``.

The stack runs as ``leadscore local`` in its own process (its gateway, moto's server and the pollers share
that process, as ``make local`` runs them); the clients run here. One run per line: 10 clients for
``--seconds`` (twice, to see whether the stack's memory stays flat), then a single client. Each prints
accepted events per second, p50 and p99 latency, errors, and the time from the last request until every
queued message was scored (the score queue and its in-flight messages empty, nothing new in the dead-letter
queue), beside the targets of issue #16.

Not counted: the clients' own CPU (they share this machine's two cores with the stack), TLS (the local
gateway is plain HTTP), API Gateway's throttling (the local gateway throttles at the deployed rate, far
above this load).
"""

from __future__ import annotations

import argparse
import base64
import http.client
import json
import os
import random
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3

from leadscore.resources import SCORE_QUEUE
from leadscore_local.aws import REGION

TARGET_EVENTS_PER_SECOND = 500
TARGET_P99_SECONDS = 1.0
TARGET_SETTLED_SECONDS = 30.0
SETTLE_LIMIT_SECONDS = 900.0
BATCH = 100
LEADS = 2_000
WRITE_KEY = "local-write-key"
EVENTS = ("Email Opened", "Webinar Registered", "Form Submitted", "Whitepaper Downloaded")
PAGES = ("/pricing", "/product", "/blog/post", "/integrations")


@dataclass
class Run:
    clients: int
    seconds: float
    latencies: list[float] = field(default_factory=list)
    accepted: int = 0
    errors: int = 0
    elapsed: float = 0.0
    settled: float | None = None
    rss_mb: float = 0.0

    @property
    def rate(self) -> float:
        return self.accepted / self.elapsed if self.elapsed else 0.0

    def percentile(self, share: float) -> float:
        ordered = sorted(self.latencies) or [0.0]
        return ordered[min(len(ordered) - 1, int(len(ordered) * share))]

    def _settled(self) -> str:
        return f"{self.settled:>5.1f} s" if self.settled is not None else f"not in {SETTLE_LIMIT_SECONDS:g} s"

    def line(self, name: str) -> str:
        p50, p99 = self.percentile(0.5), self.percentile(0.99)
        return (
            f"  {name:<22} {self.rate:>6,.0f} events/s  "
            f"p50 {p50 * 1000:>6,.0f} ms  p99 {p99 * 1000:>6,.0f} ms  "
            f"errors {self.errors}  settled {self._settled()} after the last request  "
            f"stack RSS {self.rss_mb:,.0f} MB"
        )


class LocalStackProcess:
    """``leadscore local`` on a free port, in its own process."""

    def __init__(self) -> None:
        self.port = _free_port()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "leadscore_cli.main", "local", "--port", str(self.port)],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.endpoint = self._read_banner()

    def _read_banner(self) -> str:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            found = re.search(r"AWS endpoint \(moto\): (\S+)", line)
            if found:
                threading.Thread(target=self._drain, daemon=True).start()
                return found.group(1)
        raise RuntimeError("the local stack stopped before it printed its endpoint")

    def _drain(self) -> None:
        assert self.process.stdout is not None
        for _ in self.process.stdout:
            pass

    def rss_mb(self) -> float:
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        found = re.search(r"VmRSS:\s+(\d+) kB", status)
        return int(found.group(1)) / 1024 if found else 0.0

    def queued(self, sqs: Any, url: str) -> int:
        names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
        attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=names)["Attributes"]
        return sum(int(value) for value in attributes.values())

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _batch(rng: random.Random) -> str:
    messages = []
    for _ in range(BATCH):
        user = f"load-{rng.randrange(LEADS)}@company-{rng.randrange(200)}.com"
        if rng.random() < 0.5:
            message = {"type": "track", "event": rng.choice(EVENTS)}
        else:
            message = {"type": "page", "properties": {"path": rng.choice(PAGES)}}
        messages.append({**message, "userId": user, "messageId": uuid.uuid4().hex})
    return json.dumps({"batch": messages})


def drive(stack: LocalStackProcess, clients: int, seconds: float, seed: int) -> Run:
    run = Run(clients=clients, seconds=seconds)
    lock = threading.Lock()
    auth = "Basic " + base64.b64encode(f"{WRITE_KEY}:".encode()).decode()
    headers = {"Authorization": auth, "Content-Type": "application/json"}
    deadline = time.monotonic() + seconds

    def client(number: int) -> None:
        rng = random.Random(seed * 1000 + number)
        connection = http.client.HTTPConnection("127.0.0.1", stack.port, timeout=60)
        while time.monotonic() < deadline:
            body = _batch(rng)
            started = time.perf_counter()
            try:
                connection.request("POST", "/v1/batch", body, headers)
                response = connection.getresponse()
                response.read()
                ok = response.status == 200
            except (OSError, http.client.HTTPException):
                ok = False
                connection = http.client.HTTPConnection("127.0.0.1", stack.port, timeout=60)
            took = time.perf_counter() - started
            with lock:
                run.latencies.append(took)
                run.accepted += BATCH if ok else 0
                run.errors += 0 if ok else 1

    threads = [threading.Thread(target=client, args=(number,)) for number in range(clients)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    last_request = time.monotonic()
    run.elapsed = last_request - started
    settled_at = _settle(stack)
    run.settled = settled_at - last_request if settled_at is not None else None
    run.rss_mb = stack.rss_mb()
    return run


def _settle(stack: LocalStackProcess, timeout: float = SETTLE_LIMIT_SECONDS) -> float | None:
    """When the score queue is empty, nothing is in flight and the dead-letter queue has not grown."""
    sqs = boto3.client("sqs", endpoint_url=stack.endpoint, region_name=REGION)
    url = sqs.get_queue_url(QueueName=SCORE_QUEUE.local_name)["QueueUrl"]
    dead = sqs.get_queue_url(QueueName=SCORE_QUEUE.dead_letter_local_name)["QueueUrl"]
    dead_before = stack.queued(sqs, dead)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if stack.queued(sqs, url) == 0:
            if stack.queued(sqs, dead) != dead_before:
                raise RuntimeError("messages reached the dead-letter queue under load")
            return time.monotonic()
        time.sleep(1.0)  # each look counts the queue: moto scans it
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="length of each run (default 60)")
    parser.add_argument("--clients", type=int, default=10, help="parallel clients (default 10)")
    arguments = parser.parse_args()
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
    print(
        f"local stack under load: batches of {BATCH} over {LEADS:,} leads, {arguments.seconds:g} s a run",
        flush=True,
    )
    stack = LocalStackProcess()
    try:
        first = drive(stack, arguments.clients, arguments.seconds, seed=1)
        print(first.line(f"{arguments.clients} clients, run 1"), flush=True)
        second = drive(stack, arguments.clients, arguments.seconds, seed=2)
        print(second.line(f"{arguments.clients} clients, run 2"), flush=True)
        single = drive(stack, 1, arguments.seconds, seed=3)
        print(single.line("1 client"), flush=True)
    finally:
        stack.stop()
    loaded = (first, second)
    slowest = min(run.rate for run in loaded)
    p99 = max(run.percentile(0.99) for run in loaded)
    checks = [
        (f">= {TARGET_EVENTS_PER_SECOND} events/s", slowest >= TARGET_EVENTS_PER_SECOND),
        ("no errors", all(run.errors == 0 for run in (*loaded, single))),
        (f"p99 under {TARGET_P99_SECONDS:g} s", p99 < TARGET_P99_SECONDS),
        (
            f"settled within {TARGET_SETTLED_SECONDS:g} s",
            all(run.settled is not None and run.settled <= TARGET_SETTLED_SECONDS for run in loaded),
        ),
        ("memory flat across two runs (within 10%)", second.rss_mb <= first.rss_mb * 1.10),
    ]
    for name, met in checks:
        print(f"  target {name}: {'meets' if met else 'MISSES'}")


if __name__ == "__main__":
    main()
