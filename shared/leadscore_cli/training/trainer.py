"""``train``: which columns a scorecard may use (and why the others are left out), fitted and validated."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from leadscore.forms import contact_traits
from leadscore_cli.training.binning import make_feature
from leadscore_cli.training.leaks import LEAK_AUC, leak_check
from leadscore_cli.training.scorecard import Scorecard, Settings, Validation, cross_validate, fit_scorecard
from leadscore_cli.training.table import Table, TableError, outcomes


@dataclass(frozen=True)
class Exclusion:
    column: str
    reason: str  # "target", "id", "excluded", "identifier", "one value", "same trait", "suspected leak"
    detail: str = ""


@dataclass(frozen=True)
class Training:
    scorecard: Scorecard
    validation: Validation | None
    traits: Mapping[str, str]  # column: trait the rules read
    excluded: tuple[Exclusion, ...]
    leak_aucs: Mapping[str, float]  # single-column held-out AUC of every column checked
    n_rows: int
    n_positive: int
    target: str
    positive: str


def trait_of(column: str) -> str:
    """The trait a column becomes, as ``leadscore contacts import`` and forms read it: a recognised name
    ("Country", "Job Title", "Company Size") gives its trait, any other column keeps its own name."""
    return next(iter(contact_traits({column: "x"})), column.strip())


def train(
    table: Table,
    target: str,
    *,
    positive: str | None = None,
    exclude: Sequence[str] = (),
    id_column: str | None = None,
    allow_leak: Sequence[str] = (),
    leak_auc: float = LEAK_AUC,
    settings: Settings | None = None,
) -> Training:
    settings = settings or Settings()
    for name in (*exclude, *allow_leak, *([id_column] if id_column else [])):
        if name not in table.columns:
            raise TableError(f"no column {name!r}; the columns are: {', '.join(table.columns)}")
    labels, positive = outcomes(table, target, positive)
    rows = list(table.rows)
    excluded: list[Exclusion] = []
    traits: dict[str, str] = {}
    for column in table.columns:
        reason = _named_reason(column, target, id_column, exclude)
        if reason is not None:
            excluded.append(Exclusion(column, *reason))
            continue
        values = [value for row in rows if (value := row[column]) is not None]
        distinct = len({value.casefold() for value in values})
        if distinct < 2:
            excluded.append(Exclusion(column, "one value", "fewer than two different values"))
        elif distinct == len(rows) and len(rows) > 20:
            excluded.append(Exclusion(column, "identifier", "every row has its own value"))
        elif (first := _taken(traits, trait_of(column))) is not None:
            detail = f"becomes the trait {trait_of(column)!r}, as {first!r} does: an import keeps one of them"
            excluded.append(Exclusion(column, "same trait", detail))
        else:
            traits[column] = trait_of(column)
    minimum = settings.min_rows(len(rows))
    leak_aucs: dict[str, float] = {}
    kept: dict[str, str] = {}
    for column, trait in traits.items():
        feature = make_feature(
            column,
            trait,
            [row[column] for row in rows],
            max_bins=settings.max_bins,
            min_count=minimum,
            placeholders=settings.placeholders,
        )
        overall, where_given, suspicion = leak_check(feature, rows, labels, leak_auc, settings.seed)
        leak_aucs[column] = overall
        if where_given is not None:
            leak_aucs[f"{column} (where given)"] = where_given
        if suspicion is not None and column not in allow_leak:
            excluded.append(Exclusion(column, "suspected leak", f"{suspicion}; --allow-leak to keep it"))
        else:
            kept[column] = trait
    if not kept:
        raise TableError("no column is left to learn from (see what was excluded and why)")
    smaller = min(sum(labels), len(labels) - sum(labels))
    if settings.folds > smaller:
        raise TableError(
            f"{settings.folds} folds need at least {settings.folds} leads of each outcome: use --folds"
        )
    validation = cross_validate(rows, labels, kept, settings) if settings.folds >= 2 else None
    return Training(
        scorecard=fit_scorecard(rows, labels, kept, settings),
        validation=validation,
        traits=kept,
        excluded=tuple(excluded),
        leak_aucs=leak_aucs,
        n_rows=len(rows),
        n_positive=sum(labels),
        target=target,
        positive=positive,
    )


def _named_reason(
    column: str, target: str, id_column: str | None, exclude: Sequence[str]
) -> tuple[str, str] | None:
    if column == target:
        return "target", "the outcome learned"
    if column == id_column:
        return "id", "names the lead (--id)"
    if column in exclude:
        return "excluded", "named with --exclude"
    return None


def _taken(traits: Mapping[str, str], trait: str) -> str | None:
    """The column that already becomes this trait, if any."""
    return next((column for column, taken in traits.items() if taken == trait), None)
