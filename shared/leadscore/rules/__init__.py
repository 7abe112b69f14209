"""The rule file: loading, validation with line-numbered errors, and the checked :class:`RuleSet`."""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from leadscore.rules.conditions import Condition
from leadscore.rules.model import (
    DISQUALIFIED,
    Band,
    Dimension,
    EngagementRule,
    FastTrack,
    FitRule,
    Group,
    RuleFile,
)

__all__ = [
    "DEFAULT_RULES_FILE",
    "DISQUALIFIED",
    "RuleError",
    "RuleFileError",
    "RuleSet",
    "load_rules",
    "parse_rules",
]

# Traits an alert carries as SNS message attributes (a team's filter policy selects on them).
ALERT_TRAITS = ("country", "region", "owner")
# Traits an alert names the person and company with.
NAME_TRAITS = ("name", "first_name", "last_name", "firstName", "lastName", "company")
# Kept on the lead's state besides what the rules read: exactly these names, nothing under them.
ALERT_KEPT_TRAITS = frozenset((*ALERT_TRAITS, *NAME_TRAITS))

DEFAULT_RULES_FILE = Path(__file__).resolve().parents[3] / "rules" / "default.yaml"

Path_ = tuple[str | int, ...]


@dataclass(frozen=True)
class RuleError:
    line: int | None
    field: str
    message: str

    def __str__(self) -> str:
        where = f"line {self.line}" if self.line is not None else "file"
        return f"{where}: {self.field or '(top level)'}: {self.message}"


class RuleFileError(ValueError):
    """The file is not a valid rule file; ``errors`` name each problem's line and field."""

    def __init__(self, source: str, errors: Sequence[RuleError]) -> None:
        self.source = source
        self.errors = list(errors)
        super().__init__("\n".join(f"{source}: {error}" for error in self.errors))


class RuleSet:
    """A validated rule file with its version id (a hash of its content, blind to comments and layout)."""

    def __init__(self, file: RuleFile, content: Any, source: str = "<rules>") -> None:
        self.file = file
        self.source = source
        canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), default=str)
        self.version = hashlib.sha256(canonical.encode()).hexdigest()[:12]

    @cached_property
    def bands(self) -> list[Band]:
        return list(self.file.bands)

    @cached_property
    def band_rank(self) -> dict[str, int]:
        """Bands by height; disqualified sits below every band."""
        return {DISQUALIFIED: -1, **{band.name: index for index, band in enumerate(self.bands)}}

    @cached_property
    def competitors(self) -> frozenset[str]:
        return frozenset(domain.lower() for domain in self.file.email.competitors)

    def group(self, name: str) -> Group:
        return self.file.groups[name]

    def dimension(self, rule: FitRule | EngagementRule) -> Dimension:
        return self.group(rule.group).dimension

    def fast_track_band(self, rule: FastTrack) -> str:
        if rule.band is not None:
            return rule.band
        alerting = [band.name for band in self.bands if band.alert]
        return alerting[0] if alerting else self.bands[-1].name

    @cached_property
    def fit_decays(self) -> bool:
        return any(group.decays for group in self.file.groups.values() if group.dimension == "fit")

    @cached_property
    def engagement_by_id(self) -> dict[str, EngagementRule]:
        return {rule.id: rule for rule in self.file.engagement}

    @cached_property
    def profile_traits(self) -> frozenset[str]:
        """The traits the rules read (with what is under them: ``company`` keeps ``company.employees``)."""
        file = self.file
        conditions: list[Condition] = [
            *(rule.when for rule in file.fit),
            *(rule.when for rule in file.engagement),
            *(rule.when for rule in file.disqualifiers),
            *(rule.when for rule in file.fast_track),
        ]
        if self.file.stages.sql is not None:
            conditions.append(self.file.stages.sql.when)
        return frozenset({"email"}).union(*(condition.trait_names for condition in conditions))

    def summary(self) -> str:
        file = self.file
        return (
            f"{len(file.fit)} fit rules, {len(file.engagement)} engagement rules, "
            f"{len(file.disqualifiers)} disqualifiers, {len(file.fast_track)} fast-tracks, "
            f"bands {' / '.join(band.name for band in self.bands)}"
        )


def load_rules(path: Path | str) -> RuleSet:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise RuleFileError(
            str(path), [RuleError(None, "", f"cannot read the file: {error.strerror}")]
        ) from None
    return parse_rules(text, source=str(path))


# libyaml's loader when PyYAML has it (its wheels do): a tenth of the pure-Python one's time, which a
# cold start pays when it first reads the rules.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def parse_rules(text: str, source: str = "<rules>") -> RuleSet:
    """Parse and validate; every problem found is reported at once, each with its line."""
    try:
        content = yaml.load(text, Loader=_LOADER)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        raise RuleFileError(source, [RuleError(line, "", f"not valid YAML: {error}")]) from None
    if not isinstance(content, dict):
        raise RuleFileError(
            source, [RuleError(1, "", "a rule file is a mapping (groups:, fit:, bands: ...)")]
        )
    try:
        file = RuleFile.model_validate(content)
    except ValidationError as error:
        lines = _lines_of(text)
        raise RuleFileError(source, [_located(lines, content, item) for item in error.errors()]) from None
    problems = list(_cross_checks(file))
    if problems:
        lines = _lines_of(text)
        raise RuleFileError(source, [_at(lines, path, message) for path, message in problems])
    return RuleSet(file, content, source)


def _lines_of(text: str) -> dict[Path_, int]:
    """Where each field of the file starts: composed again only to report a problem."""
    return _line_index(yaml.compose(text, Loader=_LOADER))


def _line_index(node: yaml.Node | None, path: Path_ = ()) -> dict[Path_, int]:
    if node is None:
        return {}
    lines = {path: node.start_mark.line + 1}
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            lines[(*path, key.value)] = key.start_mark.line + 1
            lines.update(
                _line_index(value, (*path, key.value)) | {(*path, key.value): key.start_mark.line + 1}
            )
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            lines.update(_line_index(item, (*path, index)))
    return lines


def _at(lines: dict[Path_, int], path: Path_, message: str) -> RuleError:
    known = path
    while known and known not in lines:
        known = known[:-1]
    return RuleError(lines.get(known), ".".join(str(part) for part in path), message)


def _located(lines: dict[Path_, int], content: Any, error: Any) -> RuleError:
    """Map pydantic's error location onto the file: keep the parts that exist in the data."""
    path: list[str | int] = []
    current = content
    for part in error["loc"]:
        in_mapping = isinstance(current, dict) and part in current
        in_sequence = isinstance(current, list) and isinstance(part, int) and 0 <= part < len(current)
        if in_mapping or in_sequence:
            current = current[part]
        elif error["type"] == "extra_forbidden" and part == error["loc"][-1]:
            path.append(part)
            return _at(lines, tuple(path), f"unknown field {part!r}")
        else:
            continue
        path.append(part)
    message = error["msg"].removeprefix("Value error, ")
    if error["type"] == "extra_forbidden":
        message = f"unknown field {error['loc'][-1]!r}"
    elif error["type"] == "missing":
        message = f"missing field {error['loc'][-1]!r}"
        path.append(error["loc"][-1])
    return _at(lines, tuple(path), message)


def _cross_checks(file: RuleFile) -> Iterator[tuple[Path_, str]]:
    yield from _check_ids(file)
    yield from _check_groups(file)
    yield from _check_bands(file)
    band_names = {band.name for band in file.bands}
    for index, rule in enumerate(file.fast_track):
        if rule.band is not None and rule.band not in band_names:
            yield ("fast_track", index, "band"), f"no band named {rule.band!r}"
    if file.stages.mql.band not in band_names:
        yield ("stages", "mql", "band"), f"no band named {file.stages.mql.band!r}"
    if file.stages.recycle is not None and file.stages.recycle.below not in band_names:
        yield ("stages", "recycle", "below"), f"no band named {file.stages.recycle.below!r}"
    thresholds = [band.at_least for band in file.accounts.bands]
    if thresholds != sorted(set(thresholds)):
        yield ("accounts", "bands"), "account bands must be listed from the lowest at_least up, each higher"


def _check_ids(file: RuleFile) -> Iterator[tuple[Path_, str]]:
    seen: set[str] = set()
    sections: list[tuple[str, Sequence[Any]]] = [
        ("fit", file.fit),
        ("engagement", file.engagement),
        ("disqualifiers", file.disqualifiers),
        ("fast_track", file.fast_track),
    ]
    for section, rules in sections:
        for index, rule in enumerate(rules):
            if rule.id in seen:
                yield (section, index, "id"), f"the id {rule.id!r} is used twice; ids name rules in scores"
            seen.add(rule.id)


def _check_groups(file: RuleFile) -> Iterator[tuple[Path_, str]]:
    expected: tuple[tuple[str, Sequence[FitRule | EngagementRule], Dimension], ...] = (
        ("fit", file.fit, "fit"),
        ("engagement", file.engagement, "engagement"),
    )
    for section, rules, dimension in expected:
        for index, rule in enumerate(rules):
            group = file.groups.get(rule.group)
            if group is None:
                yield (
                    (section, index, "group"),
                    f"no group named {rule.group!r} (groups: {sorted(file.groups)})",
                )
            elif group.dimension != dimension:
                yield (section, index, "group"), f"group {rule.group!r} holds {group.dimension} rules"
            if dimension == "fit" and rule.when.about_events:
                yield (section, index, "when"), "fit rules look at the profile (traits, email), not at events"
            if dimension == "engagement" and not rule.when.about_events:
                yield (
                    (section, index, "when"),
                    "engagement rules need an event condition (event, page, kind ...)",
                )


def _check_bands(file: RuleFile) -> Iterator[tuple[Path_, str]]:
    names = [band.name for band in file.bands]
    if DISQUALIFIED in names:
        yield ("bands", names.index(DISQUALIFIED), "name"), "'disqualified' is reserved for disqualifiers"
    for index, name in enumerate(names):
        if name in names[:index]:
            yield ("bands", index, "name"), f"the band {name!r} is listed twice"
    floor, *rest = file.bands
    if floor.enter is not None or floor.exit is not None:
        yield ("bands", 0, "enter"), "the first band is the floor every lead starts in: no enter or exit"
    ceiling = _max_reachable(file)
    previous_enter: float | None = None
    for index, band in enumerate(rest, start=1):
        if band.enter is None:
            yield ("bands", index, "enter"), "every band above the first needs an enter threshold"
            continue
        if previous_enter is not None and band.enter <= previous_enter:
            yield (
                ("bands", index, "enter"),
                (
                    f"thresholds must rise: {band.name} enters at {band.enter:g}, "
                    f"not above the band below it ({previous_enter:g})"
                ),
            )
        if band.exit is not None and band.exit > band.enter:
            yield ("bands", index, "exit"), f"exit ({band.exit:g}) must not be above enter ({band.enter:g})"
        if band.exit is not None and previous_enter is not None and band.exit < previous_enter:
            yield (
                ("bands", index, "exit"),
                (f"exit ({band.exit:g}) is below the band underneath's enter ({previous_enter:g})"),
            )
        if band.enter > ceiling and not any(rule.band == band.name for rule in file.fast_track):
            yield (
                ("bands", index, "enter"),
                (f"unreachable: the rules give at most {ceiling:g} points, {band.name} needs {band.enter:g}"),
            )
        previous_enter = band.enter


def _max_reachable(file: RuleFile) -> float:
    """The most points the rules can ever give; infinite as soon as a positive rule has no lifetime cap."""
    total = sum(max(rule.points, 0.0) for rule in file.fit)
    for rule in file.engagement:
        if rule.points <= 0:
            continue
        limit = rule.effective_limit
        if limit is None or limit.per != "ever":
            return math.inf
        total += rule.points * limit.times if limit.times is not None else min(limit.points or 0.0, math.inf)
    return total
