"""Everything started together: moto, the resources, the HTTP API, the pollers; stopped together."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType

from leadscore.resources import DECAY_SCHEDULE_LOCAL_SECONDS, PURGE_SCHEDULE_LOCAL_SECONDS
from leadscore.rules import DEFAULT_RULES_FILE
from leadscore_local.aws import LOCAL_ADMIN_KEY, LOCAL_READ_KEY, LOCAL_WRITE_KEY, MotoAws, provision
from leadscore_local.faults import FaultInjector, FaultPlan
from leadscore_local.gateway import LocalGateway
from leadscore_local.pollers import OutboxPoller, Poller, QueuePoller, SchedulePoller, StreamPoller
from leadscore_local.runtime import DEFAULT_OUTBOX, local_functions

DEFAULT_PORT = 3000
QUIET_SECONDS = 1.0


class LocalStack:
    def __init__(
        self,
        *,
        port: int = DEFAULT_PORT,
        rules_path: Path = DEFAULT_RULES_FILE,
        outbox: Path = DEFAULT_OUTBOX,
        decay_every: float = DECAY_SCHEDULE_LOCAL_SECONDS,
        log_level: str = "WARNING",
        echo: Callable[[str], None] = print,
        faults: FaultPlan | None = None,
    ) -> None:
        self._port = port
        self._rules_path = rules_path
        self._outbox = outbox
        self._decay_every = decay_every
        self._log_level = log_level
        self._echo = echo
        self.aws = MotoAws()
        self.faults = FaultInjector(faults) if faults else None
        self.functions = local_functions()
        self.url = ""
        self._pollers: list[Poller] = []
        self._gateway: LocalGateway | None = None

    def start(self) -> LocalStack:
        self.aws.start()
        self.resources = provision(self.aws.client)
        if self.faults:  # once the resources exist: AWS fails calls, not the deployment
            self.aws.serve_through(self.faults.wrap)
        os.environ.update(self.resources.function_environment(self._rules_path))
        os.environ.setdefault("POWERTOOLS_SERVICE_NAME", "leadscore")
        os.environ["POWERTOOLS_LOG_LEVEL"] = self._log_level
        # The metrics' EMF lines are printed with the INFO logs (--verbose), else not at all.
        os.environ["POWERTOOLS_METRICS_DISABLED"] = "false" if self._log_level == "INFO" else "true"
        self.queue = QueuePoller(self.aws, self.resources, self.functions["score"])
        self.stream = StreamPoller(self.aws, self.resources, self.functions["notify"])
        self.decay = SchedulePoller(self.functions["decay"], self._decay_every)
        self.purge = SchedulePoller(self.functions["purge"], PURGE_SCHEDULE_LOCAL_SECONDS)
        self.outbox = OutboxPoller(self.aws, self.resources, self._outbox, self._echo)
        self._pollers = [self.queue, self.stream, self.decay, self.purge, self.outbox]
        for poller in self._pollers:
            poller.start()
        self._gateway = LocalGateway(self.functions, self._port)
        self._gateway.start()
        self.url = self._gateway.url
        return self

    def stop(self) -> None:
        if self._gateway:
            self._gateway.stop()
        for poller in self._pollers:
            poller.stop()
        self.aws.stop()

    def __enter__(self) -> LocalStack:
        return self.start()

    def __exit__(self, *_: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.stop()

    def wait_until_idle(self, timeout: float = 60.0) -> None:
        """Block until queued events are scored, stream records handled and alerts delivered."""
        sqs = self.aws.client("sqs")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            attributes = sqs.get_queue_attributes(
                QueueUrl=self.resources.queue_url,
                AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
            )["Attributes"]
            queued = sum(int(value) for value in attributes.values())
            quiet = all(
                time.monotonic() - p.last_busy > QUIET_SECONDS for p in (self.queue, self.stream, self.outbox)
            )
            if queued == 0 and quiet:
                return
            time.sleep(0.1)
        raise TimeoutError(f"the local stack was still busy after {timeout:g} s")

    def banner(self) -> str:
        return "\n".join(
            [
                f"leadscore local stack on {self.url}",
                f"  AWS endpoint (moto): {self.aws.endpoint}",
                f"  write key: {LOCAL_WRITE_KEY}   read key: {LOCAL_READ_KEY}   admin key: {LOCAL_ADMIN_KEY}",
                f"  sales console: {self.url}/console (read key)",
                f"  rules: {self._rules_path}",
                f"  alerts: printed here and written to {self._outbox}",
                f"  decay schedule: every {self._decay_every:g} s",
                *([f"  faults: {self.faults.plan.describe()}"] if self.faults else []),
                "",
                f"  curl -u {LOCAL_WRITE_KEY}: {self.url}/v1/track -H 'content-type: application/json' \\",
                """       -d '{"userId":"jane@acme.com","event":"Demo Requested"}'""",
                f"  curl -u {LOCAL_READ_KEY}: {self.url}/v1/leads/jane@acme.com",
                f"  curl -u {LOCAL_READ_KEY}: '{self.url}/v1/leads?band=hot'",
            ]
        )
