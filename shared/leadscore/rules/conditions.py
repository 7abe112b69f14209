"""The condition language of the rule file: value tests on traits and properties, event and page patterns.

A condition is a mapping whose every entry must hold. Strings compare case-insensitively, ``page`` and
``event`` patterns are shell-style globs (``/pricing*``), ``matches`` is a regular expression searched
case-insensitively, and numeric tests read numbers leniently (``"5,000"``, ``"$50k"``, ``"51-200"``).
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from leadscore.email_kinds import EmailKind
from leadscore.events import Event, EventKind

Scalar = str | int | float | bool

_NUMBER = re.compile(r"^[$€£]?\s*(-?\d+(?:\.\d+)?)\s*([km])?\s*(?:-\s*\d.*|\+)?$", re.IGNORECASE)
_SCALE = {"k": 1_000, "m": 1_000_000}


def as_number(value: Any) -> float | None:
    """A number from a trait or property as forms send them; the lower bound of a range such as 51-200."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if not isinstance(value, str):
        return None
    match = _NUMBER.match(value.strip().replace(",", ""))
    if match is None:
        return None
    number = float(match.group(1))
    return number * _SCALE[match.group(2).lower()] if match.group(2) else number


def _text(value: Any) -> str:
    return str(value).strip().casefold()


def _same(value: Any, expected: Scalar) -> bool:
    if isinstance(expected, bool) or isinstance(value, bool):
        return value is expected or _text(value) == _text(expected)
    if isinstance(expected, int | float):
        return as_number(value) == float(expected)
    return _text(value) == _text(expected)


class ValueTest(BaseModel):
    """Tests on one value; every test given must pass. A bare value means ``equals``, a list ``in``."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    equals: Scalar | None = None
    in_: list[Scalar] | None = Field(default=None, alias="in")
    not_in: list[Scalar] | None = None
    at_least: float | None = None
    at_most: float | None = None
    above: float | None = None
    below: float | None = None
    between: tuple[float, float] | None = None
    matches: str | None = None
    glob: str | None = None
    contains: str | None = None
    present: bool | None = None

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, value: Any) -> Any:
        if isinstance(value, list):
            return {"in": value}
        if not isinstance(value, dict):
            return {"equals": value}
        return value

    @field_validator("matches")
    @classmethod
    def _compiles(cls, pattern: str | None) -> str | None:
        if pattern is not None:
            try:
                re.compile(pattern)
            except re.error as error:
                raise ValueError(f"bad regular expression {pattern!r}: {error}") from None
        return pattern

    @field_validator("between")
    @classmethod
    def _ordered(cls, bounds: tuple[float, float] | None) -> tuple[float, float] | None:
        if bounds is not None and bounds[0] > bounds[1]:
            raise ValueError(f"between needs [low, high], got {list(bounds)}")
        return bounds

    @cached_property
    def _pattern(self) -> re.Pattern[str] | None:
        return re.compile(self.matches, re.IGNORECASE) if self.matches is not None else None

    def test(self, value: Any) -> bool:
        present = value is not None and value != ""
        if self.present is not None and present != self.present:
            return False
        if not present:
            # Only "present: false" (or "not_in") can hold for a missing value.
            return self.present is False or (self.not_in is not None and self._only(("not_in", "present")))
        return self._text_tests(value) and self._number_tests(as_number(value))

    def _only(self, names: tuple[str, ...]) -> bool:
        return all(name in names for name in self.model_fields_set)

    def _text_tests(self, value: Any) -> bool:
        if self.equals is not None and not _same(value, self.equals):
            return False
        if self.in_ is not None and not any(_same(value, option) for option in self.in_):
            return False
        if self.not_in is not None and any(_same(value, option) for option in self.not_in):
            return False
        if self._pattern is not None and not self._pattern.search(str(value)):
            return False
        if self.glob is not None and not fnmatch.fnmatchcase(_text(value), self.glob.casefold()):
            return False
        return self.contains is None or self.contains.casefold() in _text(value)

    def _number_tests(self, number: float | None) -> bool:
        bounds = (self.at_least, self.at_most, self.above, self.below, self.between)
        if all(bound is None for bound in bounds):
            return True
        if number is None:
            return False
        return (
            (self.at_least is None or number >= self.at_least)
            and (self.at_most is None or number <= self.at_most)
            and (self.above is None or number > self.above)
            and (self.below is None or number < self.below)
            and (self.between is None or self.between[0] <= number <= self.between[1])
        )


@dataclass(frozen=True)
class Facts:
    """What a condition can look at: the lead's profile now and, for event conditions, one event."""

    traits: Mapping[str, Any]
    email_kind: EmailKind
    fit: float = 0.0
    event: Event | None = None


def _one_or_many(value: Any) -> Any:
    return [value] if isinstance(value, str) else value


def lookup(values: Mapping[str, Any], name: str) -> Any:
    """A value by name, or by dotted path into nested objects (``context.campaign.name``)."""
    if name in values:
        return values[name]
    current: Any = values
    for part in name.split("."):
        if not isinstance(current, Mapping) or part not in current:
            return None
        current = current[part]
    return current


class Condition(BaseModel):
    """Every entry given must hold; ``any``, ``all`` and ``not`` combine conditions."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    kind: list[EventKind] | None = None
    event: list[str] | None = None
    page: list[str] | None = None
    properties: dict[str, ValueTest] | None = None
    traits: dict[str, ValueTest] | None = None
    email: list[EmailKind] | None = None
    fit_at_least: float | None = None
    all_: list[Condition] | None = Field(default=None, alias="all")
    any_: list[Condition] | None = Field(default=None, alias="any")
    not_: Condition | None = Field(default=None, alias="not")

    @field_validator("kind", "event", "page", "email", mode="before")
    @classmethod
    def _listed(cls, value: Any) -> Any:
        return _one_or_many(value)

    @model_validator(mode="after")
    def _not_empty(self) -> Condition:
        if not self.model_fields_set:
            raise ValueError("an empty condition would match everything; say what must hold")
        return self

    @cached_property
    def nested(self) -> tuple[Condition, ...]:
        """The conditions combined under ``all``, ``any`` and ``not``."""
        return (*(self.all_ or ()), *(self.any_ or ()), *([self.not_] if self.not_ else []))

    @cached_property
    def about_events(self) -> bool:
        """Whether the condition looks at an event (otherwise it is about the lead's profile alone)."""
        own = any(value is not None for value in (self.kind, self.event, self.page, self.properties))
        return own or any(condition.about_events for condition in self.nested)

    @cached_property
    def about_profile(self) -> bool:
        """Whether the condition looks at the lead's profile (traits, e-mail kind or fit)."""
        own = any(value is not None for value in (self.traits, self.email, self.fit_at_least))
        return own or any(condition.about_profile for condition in self.nested)

    @cached_property
    def trait_names(self) -> frozenset[str]:
        own = frozenset(name.split(".")[0] for name in self.traits or ())
        return own.union(*(condition.trait_names for condition in self.nested))

    def holds(self, facts: Facts) -> bool:
        return (
            self._event_holds(facts.event)
            and all(test.test(lookup(facts.traits, name)) for name, test in (self.traits or {}).items())
            and (self.email is None or facts.email_kind in self.email)
            and (self.fit_at_least is None or facts.fit >= self.fit_at_least)
            and all(condition.holds(facts) for condition in self.all_ or ())
            and (self.any_ is None or any(condition.holds(facts) for condition in self.any_))
            and (self.not_ is None or not self.not_.holds(facts))
        )

    def _event_holds(self, event: Event | None) -> bool:
        if self.kind is None and self.event is None and self.page is None and self.properties is None:
            return True
        if event is None:
            return False
        kinds: list[EventKind] | None = self.kind
        if kinds is None:
            kinds = _implied_kinds(self)
        if kinds is not None and event.kind not in kinds:
            return False
        if self.event is not None and not _glob_any(event.name, self.event):
            return False
        if self.page is not None and not _glob_any(event.properties.get("path"), self.page):
            return False
        return all(
            test.test(lookup(event.properties, name)) for name, test in (self.properties or {}).items()
        )


def _implied_kinds(condition: Condition) -> list[EventKind] | None:
    implied: list[EventKind] = []
    if condition.event is not None:
        implied.append("track")
    if condition.page is not None:
        implied.append("page")
    return implied or None


def _glob_any(value: Any, patterns: list[str]) -> bool:
    if value is None:
        return False
    text = _text(value)
    return any(fnmatch.fnmatchcase(text, pattern.casefold()) for pattern in patterns)
