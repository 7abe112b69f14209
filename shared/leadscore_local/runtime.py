"""Invoking the functions' real handlers in this process, one call at a time per function, as Lambda does."""

from __future__ import annotations

import importlib
import json
import sys
import threading
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from leadscore import resources

REPO_ROOT = Path(__file__).resolve().parents[2]
EVENTS_DIR = REPO_ROOT / "events"
DEFAULT_OUTBOX = REPO_ROOT / ".local" / "outbox"


def sample_event(name: str) -> dict[str, Any]:
    """A sample Lambda event from events/, the template every local invocation is built from."""
    loaded: dict[str, Any] = json.loads((EVENTS_DIR / name).read_text())
    return loaded


@dataclass
class LocalContext:
    """The parts of Lambda's context object the handlers (and powertools) read."""

    function_name: str
    memory_limit_in_mb: int
    timeout_seconds: int
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:us-east-1:000000000000:function:{self.function_name}"

    @property
    def function_version(self) -> str:
        return "$LATEST"

    def get_remaining_time_in_millis(self) -> int:
        return self.timeout_seconds * 1000


class LocalFunction:
    """One function's handler, imported from functions/<name>/handler.py like Lambda's ``handler.handler``."""

    def __init__(self, name: str) -> None:
        self.spec = resources.FUNCTIONS[name]
        self._lock = threading.Lock()
        self._module: ModuleType | None = None

    def _handler_module(self) -> ModuleType:
        if self._module is None:
            if str(REPO_ROOT) not in sys.path:
                sys.path.insert(0, str(REPO_ROOT))
            self._module = importlib.import_module(f"functions.{self.spec.name}.handler")
        return self._module

    def invoke(self, event: dict[str, Any]) -> Any:
        context = LocalContext(self.spec.name, self.spec.memory_mb, self.spec.timeout_seconds)
        with self._lock:
            return self._handler_module().handler(event, context)


def local_functions() -> dict[str, LocalFunction]:
    return {name: LocalFunction(name) for name in resources.FUNCTIONS}
