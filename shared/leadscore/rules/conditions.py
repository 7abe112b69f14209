"""The condition language of the rule file: value tests on traits and properties, event and page patterns.

A condition is a mapping whose every entry must hold. Strings compare case-insensitively, ``page`` and
``event`` patterns are shell-style globs (``/pricing*``), ``matches`` is a regular expression searched
case-insensitively, and numeric tests read numbers leniently (``"5,000"``, ``"$50k"``, ``"51-200"``).
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable, Mapping
from functools import cached_property
from typing import Any, NamedTuple

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from leadscore.email_kinds import EmailKind
from leadscore.events import Event, EventKind

Scalar = str | int | float | bool

_NUMBER = re.compile(r"^[$€£]?\s*(-?\d+(?:\.\d+)?)\s*([km])?\s*(?:-\s*\d.*|\+)?$", re.IGNORECASE)
_SCALE = {"k": 1_000, "m": 1_000_000}
GLOB = frozenset("*?[")
"""What makes a pattern a glob rather than a name."""


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
            return self._missing_holds
        return self._text_tests(value) and (not self._numeric or self._number_tests(as_number(value)))

    @cached_property
    def _missing_holds(self) -> bool:
        """Only "present: false" (or "not_in") can hold for a missing value."""
        return self.present is False or (self.not_in is not None and self._only(("not_in", "present")))

    @cached_property
    def _numeric(self) -> bool:
        return any(
            bound is not None for bound in (self.at_least, self.at_most, self.above, self.below, self.between)
        )

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
        if number is None:
            return False
        return (
            (self.at_least is None or number >= self.at_least)
            and (self.at_most is None or number <= self.at_most)
            and (self.above is None or number > self.above)
            and (self.below is None or number < self.below)
            and (self.between is None or self.between[0] <= number <= self.between[1])
        )


class Facts(NamedTuple):
    """What a condition can look at: the lead's profile now and, for event conditions, one event.

    A named tuple: one is made for every event recorded, and a tuple is made for a tenth of the cost.
    """

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
        for check in self._checks:  # noqa: SIM110 (a loop: all() over a generator costs twice as much)
            if not check(facts):
                return False
        return True

    @cached_property
    def _checks(self) -> tuple[Callable[[Facts], bool], ...]:
        """The condition compiled once into the tests its entries make, cheapest first."""
        checks: list[Callable[[Facts], bool]] = []
        if any(value is not None for value in (self.kind, self.event, self.page, self.properties)):
            checks.append(_event_check(self))
        if self.email is not None:
            kinds = frozenset(self.email)
            checks.append(lambda facts: facts.email_kind in kinds)
        if self.fit_at_least is not None:
            least = self.fit_at_least
            checks.append(lambda facts: facts.fit >= least)
        for name, test in (self.traits or {}).items():
            checks.append(_trait_check(name, test))
        checks.extend(condition.holds for condition in self.all_ or ())
        if self.any_ is not None:
            options = tuple(self.any_)
            checks.append(lambda facts: any(condition.holds(facts) for condition in options))
        if self.not_ is not None:
            negated = self.not_
            checks.append(lambda facts: not negated.holds(facts))
        return tuple(checks)


def _trait_check(name: str, test: ValueTest) -> Callable[[Facts], bool]:
    return lambda facts: test.test(lookup(facts.traits, name))


def _event_check(condition: Condition) -> Callable[[Facts], bool]:
    """The event part: its kind (implied by ``event`` or ``page``), name, page and properties."""
    implied = [kind for kind, given in (("track", condition.event), ("page", condition.page)) if given]
    kinds = frozenset(condition.kind or implied) or None
    names = _matcher(condition.event)
    pages = _matcher(condition.page)
    properties = tuple((condition.properties or {}).items())

    def check(facts: Facts) -> bool:
        event = facts.event
        if event is None or (kinds is not None and event.kind not in kinds):
            return False
        if names is not None and not names(event.name):
            return False
        if pages is not None and not pages(event.properties.get("path")):
            return False
        for name, test in properties:  # noqa: SIM110 (most events have no property to test: no generator)
            if not test.test(lookup(event.properties, name)):
                return False
        return True

    return check


def _matcher(patterns: list[str] | None) -> Callable[[Any], bool] | None:
    """Whether a value matches any of the shell-style ``patterns``, case-insensitively: exact names
    by set membership, globs through one regular expression."""
    if patterns is None:
        return None
    exact = frozenset(pattern.casefold() for pattern in patterns if not GLOB.intersection(pattern))
    globs = [fnmatch.translate(pattern.casefold()) for pattern in patterns if GLOB.intersection(pattern)]
    regex = re.compile("|".join(f"(?:{glob})" for glob in globs)) if globs else None

    def matches(value: Any) -> bool:
        if value is None:
            return False
        text = _text(value)
        return text in exact or (regex is not None and regex.match(text) is not None)

    return matches
