"""Columns as scorecard features: numbers cut into half-open ranges, categories with rare ones pooled.

Every bin is also a value test of the rule file (``{at_least: 3, below: 7}``, ``{equals: API}``, ``{present:
true, not_in: [...]}``), and :meth:`Feature.bin_of` reads a value exactly as the engine's value tests do
(numbers through :func:`leadscore.rules.conditions.as_number`, text without case or surrounding spaces), so
a row falls in the bin whose rule the engine fires for it. A missing value falls in no bin: it scores 0.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from itertools import pairwise
from typing import Any, Literal

from leadscore.rules.conditions import as_number

OTHER = "other"


def category_key(value: str | int | float) -> tuple[str, str | float]:
    """How the engine's equality tells values apart: a value that reads as a number by its number
    (``"1,200"``, ``1200`` and ``"1200"`` are one value, as a form's company size arrives as 1200), any
    other by its text without case or surrounding spaces."""
    number = as_number(value)
    return ("number", number) if number is not None else ("text", str(value).strip().casefold())


def level_value(level: str) -> str | int | float:
    """A kept value as the rule file writes it: a number as a number, so the engine compares numbers."""
    number = as_number(level)
    return level if number is None else _yaml_number(number)


def _number_text(number: float) -> str:
    return f"{number:g}"


def _yaml_number(number: float) -> float | int:
    return int(number) if number.is_integer() else number


@dataclass(frozen=True)
class Bin:
    label: str  # what a person reads: "3 to under 7", "API", "other"
    test: dict[str, Any]  # the rule file's value test for it


@dataclass(frozen=True)
class Feature:
    """One column: ``edges`` cut a numeric one into len(edges) + 1 bins; ``levels`` (compared without case)
    name a category's kept values, and one more bin holds every other value."""

    column: str
    trait: str
    kind: Literal["numeric", "category"]
    edges: tuple[float, ...] = ()
    levels: tuple[str, ...] = ()  # as written (the most frequent spelling)
    placeholders: tuple[str, ...] = ()  # values read as missing, left out of "other"

    @property
    def n_bins(self) -> int:
        return len(self.edges) + 1 if self.kind == "numeric" else len(self.levels) + 1

    def bin_of(self, value: str | None) -> int | None:
        """The bin a value falls in; None when it is missing (or not a number in a numeric column)."""
        if value is None:
            return None
        if self.kind == "numeric":
            number = as_number(value)
            if number is None:
                return None
            return sum(number >= edge for edge in self.edges)
        if not value.strip() or value.strip().casefold() in self.placeholders:
            return None
        return self._level_index.get(category_key(value), len(self.levels))

    @cached_property
    def _level_index(self) -> dict[tuple[str, str | float], int]:
        return {category_key(level): index for index, level in enumerate(self.levels)}

    def bins(self) -> list[Bin]:
        if self.kind == "numeric":
            return self._numeric_bins()
        named = [Bin(level, {"equals": level_value(level)}) for level in self.levels]
        others = [*(level_value(level) for level in self.levels), *self.placeholders]
        return [*named, Bin(OTHER, {"present": True, "not_in": others})]

    def _numeric_bins(self) -> list[Bin]:
        edges = self.edges
        if not edges:
            return [Bin("any number", {"above": -1e308})]
        bins = [Bin(f"below {_number_text(edges[0])}", {"below": _yaml_number(edges[0])})]
        for low, high in pairwise(edges):
            bins.append(
                Bin(
                    f"{_number_text(low)} to under {_number_text(high)}",
                    {"at_least": _yaml_number(low), "below": _yaml_number(high)},
                )
            )
        bins.append(Bin(f"{_number_text(edges[-1])} or more", {"at_least": _yaml_number(edges[-1])}))
        return bins


def numeric_edges(numbers: Sequence[float], max_bins: int, min_count: int) -> tuple[float, ...]:
    """Cut points at observed values so that each bin holds about len/max_bins numbers, none fewer than
    ``min_count`` (a value is never split: every bin starts at a value seen in the data)."""
    counts = sorted(Counter(numbers).items())
    if len(counts) < 2:
        return ()
    target = max(len(numbers) / max_bins, min_count)
    edges: list[float] = []
    filled = 0
    for value, count in counts:
        if filled >= target:
            edges.append(value)
            filled = 0
        filled += count
    if edges and filled < min_count:
        edges.pop()  # the last bin is too small: it joins the one below
    return tuple(edges)


def category_levels(values: Sequence[str], min_count: int) -> tuple[str, ...]:
    """The values seen at least ``min_count`` times (as :func:`category_key` tells them apart), each in its
    most frequent spelling, most frequent first; the rest are pooled as "other"."""
    spellings: dict[tuple[str, str | float], Counter[str]] = {}
    for value in values:
        spellings.setdefault(category_key(value), Counter())[value.strip()] += 1
    kept = [(sum(counter.values()), counter.most_common(1)[0][0]) for counter in spellings.values()]
    return tuple(
        spelling for count, spelling in sorted(kept, key=lambda item: -item[0]) if count >= min_count
    )


def is_numeric(values: Sequence[str]) -> bool:
    """Every present value reads as a number (as the engine reads numbers)."""
    return bool(values) and all(as_number(value) is not None for value in values)


def make_feature(
    column: str,
    trait: str,
    values: Sequence[str | None],
    *,
    max_bins: int,
    min_count: int,
    placeholders: Sequence[str],
) -> Feature:
    folded = tuple(placeholder.casefold() for placeholder in placeholders)
    present = [value for value in values if value is not None and value.strip().casefold() not in folded]
    if is_numeric(present):
        numbers = [number for number in (as_number(value) for value in present) if number is not None]
        return Feature(column, trait, "numeric", edges=numeric_edges(numbers, max_bins, min_count))
    return Feature(
        column,
        trait,
        "category",
        levels=category_levels(present, min_count),
        placeholders=folded,
    )


def coarse(feature: Feature, values: Sequence[str | None], n_bins: int, min_count: int) -> Feature:
    """The same column with at most ``n_bins`` bins: the cells of pairwise terms stay few and well filled."""
    if feature.kind == "numeric":
        numbers = [n for n in (as_number(value) for value in values if value is not None) if n is not None]
        return Feature(
            feature.column, feature.trait, "numeric", edges=numeric_edges(numbers, n_bins, min_count)
        )
    return Feature(
        feature.column,
        feature.trait,
        "category",
        levels=feature.levels[: n_bins - 1],
        placeholders=feature.placeholders,
    )
