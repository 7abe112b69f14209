"""How a function gets its collaborators: one idiom for every handler.

Each ``functions/<name>/handler.py`` declares a frozen dataclass ``Collaborators`` (its repository,
rules, queue, keys... by name) with a ``from_settings`` factory, and a module-level
``wiring = Wiring(Collaborators.from_settings)``. The handler asks ``wiring()`` for them: the factory
runs on the first invocation, once per container (clients and the rule file are not built at import,
which keeps the cold start's import short; this module imports nothing but the standard library for the
same reason). A test or the local stack hands in its own with ``wiring.wire(...)`` or, for the length
of a ``with``, ``wiring.wired(...)``; ``wiring.unwire()`` goes back to the factory.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Generic, TypeVar

C = TypeVar("C")


class Wiring(Generic[C]):
    """A function's collaborators: built by ``build`` on first use and kept, or handed in."""

    def __init__(self, build: Callable[[], C]) -> None:
        self._build = build
        self._current: C | None = None

    def __call__(self) -> C:
        if self._current is None:
            self._current = self._build()
        return self._current

    def wire(self, collaborators: C) -> None:
        """Use ``collaborators`` from now on (until ``unwire`` or another ``wire``)."""
        self._current = collaborators

    def unwire(self) -> None:
        """Build them from the settings again at the next use (a test's environment, say)."""
        self._current = None

    @contextmanager
    def wired(self, collaborators: C) -> Iterator[C]:
        """Use ``collaborators`` inside the ``with``; what was wired before comes back after it."""
        before = self._current
        self._current = collaborators
        try:
            yield collaborators
        finally:
            self._current = before
