"""Historical leads with outcomes, read from a CSV export: separator detected, placeholders as missing."""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

# Cell values that mean "the person left the field empty" (compared without case or surrounding spaces).
PLACEHOLDERS = ("select", "na", "n/a", "nan", "null", "none", "-", "?")
# Outcome spellings read as "converted" when --positive is not given.
POSITIVE_SPELLINGS = ("1", "yes", "true", "y", "converted", "won")

Row = dict[str, str | None]


class TableError(ValueError):
    """The file cannot be trained on as given (no such column, no outcome of one kind ...)."""


@dataclass(frozen=True)
class Table:
    """The columns in file order and one mapping per row; a missing or placeholder cell is None."""

    columns: tuple[str, ...]
    rows: tuple[Row, ...]
    separator: str


def detect_separator(header: str) -> str:
    """``;`` when the header line has more semicolons than commas outside quotes, else ``,``."""
    outside = header.split('"')[::2]
    semicolons = sum(part.count(";") for part in outside)
    commas = sum(part.count(",") for part in outside)
    return ";" if semicolons > commas else ","


def is_placeholder(value: str | None, placeholders: Iterable[str] = PLACEHOLDERS) -> bool:
    return value is None or not value.strip() or value.strip().casefold() in placeholders


def parse_table(text: str, placeholders: Sequence[str] = PLACEHOLDERS) -> Table:
    """Rows of a CSV text (``,`` or ``;``, any line ending); columns without a name and without a value
    (a trailing separator on every line) are dropped."""
    text = text.lstrip("\ufeff")
    header_line = text.split("\n", 1)[0]
    separator = detect_separator(header_line)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=separator)
    header = next(reader, None)
    if not header:
        raise TableError("the file is empty: a header row is needed")
    names = [name.strip() for name in header]
    folded = {placeholder.casefold() for placeholder in placeholders}
    raw = [row for row in reader if any(cell.strip() for cell in row)]
    kept = [
        index
        for index, name in enumerate(names)
        if name or any(index < len(row) and row[index].strip() for row in raw)
    ]
    columns = tuple(names[index] or f"column {index + 1}" for index in kept)
    if duplicated := [name for name, count in Counter(columns).items() if count > 1]:
        raise TableError(f"columns named twice: {', '.join(duplicated)}")
    rows = tuple(
        {
            column: None if is_placeholder(cell, folded) else cell.strip()
            for column, cell in zip(columns, _cells(row, kept), strict=True)
        }
        for row in raw
    )
    return Table(columns=columns, rows=rows, separator=separator)


def _cells(row: Sequence[str], kept: Sequence[int]) -> list[str]:
    """The kept columns' cells of a row; a short row's missing cells are empty."""
    return [row[index] if index < len(row) else "" for index in kept]


def read_table(path: Path, placeholders: Sequence[str] = PLACEHOLDERS) -> Table:
    return parse_table(path.read_text(encoding="utf-8-sig"), placeholders)


def outcomes(table: Table, target: str, positive: str | None = None) -> tuple[list[int], str]:
    """1 for each row whose target equals ``positive`` (case-insensitive), else 0; and the value taken as
    positive. Rows without an outcome are refused: say which rows to train on by filtering the file."""
    if target not in table.columns:
        raise TableError(f"no column {target!r}; the columns are: {', '.join(table.columns)}")
    values = [row[target] for row in table.rows]
    if any(value is None for value in values):
        missing = sum(value is None for value in values)
        raise TableError(f"{missing} rows have no {target!r}: every row needs its outcome")
    seen = Counter((value or "").casefold() for value in values)
    if positive is None:
        candidates = [spelling for spelling in POSITIVE_SPELLINGS if spelling in seen]
        if len(seen) != 2 or not candidates:
            raise TableError(
                f"say which value of {target!r} means converted with --positive (values: "
                f"{', '.join(sorted(seen)[:10])})"
            )
        positive = candidates[0]
    wanted = positive.casefold()
    labels = [int((value or "").casefold() == wanted) for value in values]
    if not 0 < sum(labels) < len(labels):
        raise TableError(f"{target!r} = {positive!r} must hold for some rows and not for others")
    return labels, positive
