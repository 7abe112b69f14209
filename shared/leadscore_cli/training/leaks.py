"""The leak guard: a column that alone separates converted from other leads almost perfectly was
most likely written after the outcome (a sales status, a closing tag): it would predict the past."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sklearn.metrics import roc_auc_score

from leadscore_cli.training.binning import Feature
from leadscore_cli.training.scorecard import folds_of
from leadscore_cli.training.table import Row

LEAK_AUC = 0.95  # a single column with a held-out ROC AUC this high is a suspected leak


def single_column_auc(feature: Feature, rows: Sequence[Row], labels: Sequence[int], seed: int = 0) -> float:
    """Held-out ROC AUC of the column alone: each fold's rows scored with the conversion rate of their bin
    (missing is a bin of its own here) in the other folds, smoothed toward the overall rate."""
    bins = np.array(
        [
            feature.n_bins if (index := feature.bin_of(row.get(feature.column))) is None else index
            for row in rows
        ]
    )
    y = np.asarray(labels)
    folds = min(5, int(y.sum()), len(y) - int(y.sum()))
    if folds < 2:
        return 0.5  # too few of one outcome to tell
    scores = np.zeros(len(rows))
    for train, test in folds_of(labels, folds, seed):
        prior = y[train].mean()
        counts = np.bincount(bins[train], minlength=feature.n_bins + 1)
        positives = np.bincount(bins[train], weights=y[train], minlength=feature.n_bins + 1)
        rates = (positives + prior) / (counts + 1.0)
        scores[test] = rates[bins[test]]
    return float(roc_auc_score(y, scores))


GIVEN_SHARE = 0.2  # "where given" counts when the column is filled in on at least this share of rows


def leak_check(
    feature: Feature, rows: Sequence[Row], labels: Sequence[int], threshold: float = LEAK_AUC, seed: int = 0
) -> tuple[float, float | None, str | None]:
    """The column's held-out AUC alone, over every row and over the rows where it is given, and why it is a
    suspected leak (None when it is not). A status written after the outcome is often blank before it:
    Tags in the X Education data separates 0.976 where given, 0.919 over all rows."""
    overall = single_column_auc(feature, rows, labels, seed)
    given = [i for i, row in enumerate(rows) if feature.bin_of(row.get(feature.column)) is not None]
    given_labels = [labels[i] for i in given]
    where_given: float | None = None
    if len(given) >= GIVEN_SHARE * len(rows) and 0 < sum(given_labels) < len(given):
        where_given = single_column_auc(feature, [rows[i] for i in given], given_labels, seed)
    if overall >= threshold:
        return (
            overall,
            where_given,
            f"alone it separates the outcome (held-out AUC {overall:.3f} >= {threshold:g})",
        )
    if where_given is not None and where_given >= threshold:
        share = len(given) / len(rows)
        return (
            overall,
            where_given,
            f"where given ({share:.0%} of rows) it separates the outcome (held-out AUC {where_given:.3f} >= "
            f"{threshold:g})",
        )
    return overall, where_given, None
