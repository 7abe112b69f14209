"""One row per lead, what the report reads: its score and the rules behind it, band, outcome, speed to
lead. Built from the stored leads (the table) or read back from an export (CSV or JSON Lines)."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

from leadscore.engine import score_lead, turned_hot_at
from leadscore.engine.state import moment
from leadscore.records import LeadRecord, Outcome
from leadscore.rules import RuleSet

RULE_SEPARATOR = ";"
POINTS_SEPARATOR = "="


class ReportRow(BaseModel):
    """A lead as the report sees it. ``score`` ... ``stage`` and ``rules`` (rule id: points) are read at
    ``scored_at``: when its outcome was recorded, else when the report ran."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    lead_id: str = Field(min_length=1)
    score: float
    fit: float
    engagement: float
    band: str
    stage: str
    outcome: Literal["converted", "lost"] | None = None
    outcome_at: AwareDatetime | None = None
    value: float | None = None
    first_seen: AwareDatetime | None = None
    turned_hot_at: AwareDatetime | None = None
    followed_up_at: AwareDatetime | None = None
    scored_at: AwareDatetime
    rules: dict[str, float] = Field(default_factory=dict)

    @property
    def decided(self) -> bool:
        return self.outcome is not None

    @property
    def converted(self) -> bool:
        return self.outcome == "converted"

    @property
    def came_in(self) -> datetime:
        """When the lead came in: first seen, else when it was scored."""
        return self.first_seen or self.scored_at


COLUMNS = tuple(ReportRow.model_fields)


class ReportFileError(ValueError):
    def __init__(self, where: str, message: str) -> None:
        super().__init__(f"{where}: {message}")


def row_of(
    rules: RuleSet,
    record: LeadRecord,
    outcome: Outcome | None,
    followed_up_at: datetime | None,
    at: datetime,
    *,
    at_outcome: bool = True,
) -> ReportRow:
    """The lead read at ``at``, or (``at_outcome``) at its outcome's time when it has one: the score sales
    had then, before the lead went quiet; ``followed_up_at``: when sales first followed it up."""
    scored_at = outcome.at if outcome is not None and at_outcome else at
    score = score_lead(rules, record.state, scored_at)
    turned = turned_hot_at(rules, record.state, hot_band(rules))
    return ReportRow(
        **score.model_dump(include={"lead_id", "score", "fit", "engagement", "band", "stage", "first_seen"}),
        outcome=outcome.outcome if outcome else None,
        outcome_at=outcome.at if outcome else None,
        value=outcome.value if outcome else None,
        turned_hot_at=moment(turned) if turned is not None else None,
        followed_up_at=followed_up_at,
        scored_at=scored_at,
        rules={item.rule: item.points for item in score.explanation},
    )


def hot_band(rules: RuleSet) -> str:
    """The lowest band that alerts sales (the last band when none does)."""
    return next((band.name for band in rules.bands if band.alert), rules.bands[-1].name)


def write_rows(rows: Iterable[ReportRow], path: Path) -> int:
    """An export: CSV when the name ends in ``.csv`` (rules as ``id=points;id=points``), else JSON Lines."""
    count = 0
    with path.open("w", newline="", encoding="utf-8") as file:
        if path.suffix.lower() == ".csv":
            writer = csv.DictWriter(file, fieldnames=COLUMNS)
            writer.writeheader()
            for row in rows:
                writer.writerow(_csv_cells(row))
                count += 1
        else:
            for row in rows:
                file.write(row.model_dump_json(exclude_none=True) + "\n")
                count += 1
    return count


def read_rows(path: Path) -> Iterator[ReportRow]:
    """An export read back (CSV by its ``.csv`` name, else JSON Lines); a bad line raises
    :class:`ReportFileError` naming the line and the field."""
    with path.open(newline="", encoding="utf-8-sig") as file:
        if path.suffix.lower() == ".csv":
            for line, cells in enumerate(csv.DictReader(file), start=2):
                with _naming(f"{path}:{line}"):
                    row = _from_cells(cells)
                yield row
        else:
            for line, text in enumerate(file, start=1):
                if text.strip():
                    with _naming(f"{path}:{line}"):
                        row = ReportRow.model_validate_json(text)
                    yield row


@contextmanager
def _naming(where: str) -> Iterator[None]:
    """A refused line as a :class:`ReportFileError` naming where it is and its first bad field."""
    try:
        yield
    except ValidationError as error:
        first = error.errors()[0]
        field = ".".join(str(part) for part in first["loc"]) or "line"
        raise ReportFileError(where, f"{field}: {first['msg']}") from None
    except ValueError as error:
        raise ReportFileError(where, str(error)) from None


def _csv_cells(row: ReportRow) -> dict[str, str]:
    cells = {name: "" if value is None else str(value) for name, value in row.model_dump(mode="json").items()}
    cells["rules"] = RULE_SEPARATOR.join(
        f"{rule}{POINTS_SEPARATOR}{points:g}" for rule, points in row.rules.items()
    )
    return cells


def _from_cells(cells: dict[str | None, str | None]) -> ReportRow:
    if None in cells:
        raise ValueError("more cells than columns")
    values: dict[str, object] = {
        name: value for name, value in cells.items() if name and value not in ("", None)
    }
    rules: dict[str, str] = {}
    for part in str(values.pop("rules", "")).split(RULE_SEPARATOR):
        if part.strip():
            rule, separator, points = part.partition(POINTS_SEPARATOR)
            if not separator:
                raise ValueError(f"rules: {part!r} is not rule{POINTS_SEPARATOR}points")
            rules[rule.strip()] = points.strip()
    return ReportRow.model_validate({**values, "rules": rules})
