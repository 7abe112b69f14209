"""Fitting the points scorecard: logistic regression (scikit-learn) on the bins, a few pairwise cells where
they earn their place, points scaled so that ``pdo`` points double the odds, held-out AUC by stratified folds.

Points are whole numbers and a lead's score is ``base + sum of its bins' (and cells') points``; 0 points
are even odds (1:1), so ``p = 1 / (1 + 2 ** (-score / pdo))``. A missing value scores 0 (the regression's
reference), so a lead that has not given a field is neither rewarded nor punished for it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from itertools import combinations
from typing import Any

import numpy as np
from scipy.sparse import csr_matrix
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold

from leadscore_cli.training.binning import Feature, coarse, make_feature
from leadscore_cli.training.table import PLACEHOLDERS, Row

PAIR_BINS = 3  # bins per column in a pairwise term: at most 3 x 3 cells
PAIR_CANDIDATES = 8  # pairs are looked for among the strongest features only


@dataclass(frozen=True)
class Settings:
    pdo: float = 20.0  # points that double the odds
    max_bins: int = 10  # most bins per numeric column
    min_share: float = 0.005  # a bin or a kept category holds at least this share of the rows ...
    min_count: int = 10  # ... and at least this many rows
    pairs: int = 3  # most pairwise terms
    folds: int = 5  # stratified cross-validation folds (0: none)
    strength: float = 0.3  # inverse L2 regularisation strength (scikit-learn's C)
    seed: int = 0
    placeholders: tuple[str, ...] = PLACEHOLDERS

    def min_rows(self, n_rows: int) -> int:
        return max(self.min_count, math.ceil(self.min_share * n_rows))


@dataclass(frozen=True)
class Pair:
    """A pairwise term: points for each cell (bin of the first, bin of the second) of two coarse features."""

    first: Feature
    second: Feature
    points: Mapping[tuple[int, int], float]
    counts: Mapping[tuple[int, int], tuple[int, int]] = field(default_factory=dict)  # rows, positives


@dataclass(frozen=True)
class Scorecard:
    features: tuple[Feature, ...]
    points: tuple[tuple[float, ...], ...]  # per feature, per bin
    pairs: tuple[Pair, ...]
    base_points: float
    pdo: float
    counts: tuple[tuple[tuple[int, int], ...], ...] = field(
        default=()
    )  # per feature, per bin: rows, positives

    def score(self, row: Mapping[str, str | None]) -> float:
        total = self.base_points
        for feature, points in zip(self.features, self.points, strict=True):
            index = feature.bin_of(row.get(feature.column))
            if index is not None:
                total += points[index]
        for pair in self.pairs:
            cell = _cell(pair.first, pair.second, row)
            if cell is not None:
                total += pair.points.get(cell, 0.0)
        return total

    def probability(self, score: float) -> float:
        return 1.0 / (1.0 + math.pow(2.0, -score / self.pdo))


def _cell(first: Feature, second: Feature, row: Mapping[str, str | None]) -> tuple[int, int] | None:
    a = first.bin_of(row.get(first.column))
    b = second.bin_of(row.get(second.column))
    return None if a is None or b is None else (a, b)


def build_features(rows: Sequence[Row], traits: Mapping[str, str], settings: Settings) -> tuple[Feature, ...]:
    """One feature per column of ``traits`` (column: trait name), binned on these rows."""
    minimum = settings.min_rows(len(rows))
    return tuple(
        make_feature(
            column,
            trait,
            [row.get(column) for row in rows],
            max_bins=settings.max_bins,
            min_count=minimum,
            placeholders=settings.placeholders,
        )
        for column, trait in traits.items()
    )


class _Design:
    """Indicator columns: one per feature bin, then one per pair cell; a missing value sets none."""

    def __init__(self, features: Sequence[Feature], cells: Sequence[tuple[Pair, list[tuple[int, int]]]]):
        self.features = features
        self.cells = cells
        self.offsets: list[int] = []
        width = 0
        for feature in features:
            self.offsets.append(width)
            width += feature.n_bins
        self.cell_offsets: list[int] = []
        for _, kept in cells:
            self.cell_offsets.append(width)
            width += len(kept)
        self.width = width

    def matrix(self, rows: Sequence[Row]) -> csr_matrix:
        row_index: list[int] = []
        col_index: list[int] = []
        for r, row in enumerate(rows):
            for feature, offset in zip(self.features, self.offsets, strict=True):
                index = feature.bin_of(row.get(feature.column))
                if index is not None:
                    row_index.append(r)
                    col_index.append(offset + index)
            for (pair, kept), offset in zip(self.cells, self.cell_offsets, strict=True):
                cell = _cell(pair.first, pair.second, row)
                if cell is not None and cell in kept:
                    row_index.append(r)
                    col_index.append(offset + kept.index(cell))
        data = np.ones(len(row_index))
        return csr_matrix((data, (row_index, col_index)), shape=(len(rows), self.width))


def _regression(matrix: csr_matrix, labels: Sequence[int], settings: Settings) -> tuple[np.ndarray, float]:
    model = LogisticRegression(C=settings.strength, max_iter=5000)
    model.fit(matrix, np.asarray(labels))
    return model.coef_[0], float(model.intercept_[0])


def fit_scorecard(
    rows: Sequence[Row], labels: Sequence[int], traits: Mapping[str, str], settings: Settings
) -> Scorecard:
    """The scorecard of these rows: features binned on them, pairs chosen on them, points fitted to them.
    A missing value is the reference (0 points); see :func:`_centred` for columns never missing."""
    features = build_features(rows, traits, settings)
    main = _Design(features, [])
    matrix = main.matrix(rows)
    coefficients, intercept = _regression(matrix, labels, settings)
    cells = _chosen_pairs(
        rows,
        labels,
        features,
        main,
        matrix,
        coefficients=coefficients,
        intercept=intercept,
        settings=settings,
    )
    design = _Design(features, cells)
    if cells:
        matrix = design.matrix(rows)
        coefficients, intercept = _regression(matrix, labels, settings)
    counts = _bin_counts(features, rows, labels)
    coefficients, intercept = _centred(
        features, design, counts, coefficients=coefficients, intercept=intercept, n_rows=len(rows)
    )
    factor = settings.pdo / math.log(2)
    points = tuple(
        tuple(float(round(factor * c)) for c in coefficients[offset : offset + feature.n_bins])
        for feature, offset in zip(features, design.offsets, strict=True)
    )
    pairs = tuple(
        Pair(
            pair.first,
            pair.second,
            {cell: float(round(factor * coefficients[offset + i])) for i, cell in enumerate(kept)},
            _cell_counts(pair, kept, rows, labels),
        )
        for (pair, kept), offset in zip(cells, design.cell_offsets, strict=True)
    )
    return Scorecard(
        features=features,
        points=points,
        pairs=pairs,
        base_points=float(round(factor * intercept)),
        pdo=settings.pdo,
        counts=counts,
    )


def _centred(
    features: Sequence[Feature],
    design: _Design,
    counts: Sequence[Sequence[tuple[int, int]]],
    *,
    coefficients: np.ndarray,
    intercept: float,
    n_rows: int,
) -> tuple[np.ndarray, float]:
    """A column never missing in training has no missing reference: its most common bin becomes the 0
    (its points move into the base), so a lead without the field, or with a value never seen (an empty
    "other" bin), scores as the typical lead does. Every training row's score is unchanged."""
    centred = coefficients.copy()
    for feature, offset, feature_counts in zip(features, design.offsets, counts, strict=True):
        rows_in_bins = [n for n, _ in feature_counts]
        if sum(rows_in_bins) == n_rows:
            shift = centred[offset + int(np.argmax(rows_in_bins))]
            centred[offset : offset + feature.n_bins] -= shift
            intercept += float(shift)
            for index, rows_in_bin in enumerate(rows_in_bins):
                if not rows_in_bin:
                    centred[offset + index] = 0.0
    return centred, intercept


def _cell_counts(
    pair: Pair, kept: Sequence[tuple[int, int]], rows: Sequence[Row], labels: Sequence[int]
) -> dict[tuple[int, int], tuple[int, int]]:
    counts = dict.fromkeys(kept, (0, 0))
    for row, label in zip(rows, labels, strict=True):
        cell = _cell(pair.first, pair.second, row)
        if cell in counts:
            n, k = counts[cell]
            counts[cell] = (n + 1, k + label)
    return counts


def _bin_array(feature: Feature, rows: Sequence[Row]) -> np.ndarray:
    """Each row's bin, -1 where the value is missing."""
    return np.array([-1 if (b := feature.bin_of(row.get(feature.column))) is None else b for row in rows])


def _bin_counts(
    features: Sequence[Feature], rows: Sequence[Row], labels: Sequence[int]
) -> tuple[tuple[tuple[int, int], ...], ...]:
    result = []
    for feature in features:
        counts = [[0, 0] for _ in range(feature.n_bins)]
        for row, label in zip(rows, labels, strict=True):
            index = feature.bin_of(row.get(feature.column))
            if index is not None:
                counts[index][0] += 1
                counts[index][1] += label
        result.append(tuple((n, k) for n, k in counts))
    return tuple(result)


def _chosen_pairs(
    rows: Sequence[Row],
    labels: Sequence[int],
    features: Sequence[Feature],
    main: _Design,
    matrix: csr_matrix,
    *,
    coefficients: np.ndarray,
    intercept: float,
    settings: Settings,
) -> list[tuple[Pair, list[tuple[int, int]]]]:
    """Pairs whose cells the main effects mis-score most: the score test of adding a pair's cells to the
    fitted model (sum over cells of residual^2 / variance), kept when it beats twice its cell count (AIC)."""
    if settings.pairs <= 0 or len(features) < 2:
        return []
    logits = matrix @ coefficients + intercept
    probability = 1.0 / (1.0 + np.exp(-logits))
    residual = np.asarray(labels) - probability
    variance = probability * (1.0 - probability)
    spread = [
        float(np.std(matrix[:, offset : offset + f.n_bins] @ coefficients[offset : offset + f.n_bins]))
        for f, offset in zip(features, main.offsets, strict=True)
    ]
    strongest = sorted(range(len(features)), key=lambda i: -spread[i])[:PAIR_CANDIDATES]
    minimum = settings.min_rows(len(rows))
    coarse_features = {
        i: coarse(features[i], [row.get(features[i].column) for row in rows], PAIR_BINS, minimum)
        for i in strongest
    }
    bins = {i: _bin_array(coarse_features[i], rows) for i in strongest}
    scored: list[tuple[float, Pair, list[tuple[int, int]]]] = []
    for i, j in combinations(sorted(strongest), 2):
        first, second = coarse_features[i], coarse_features[j]
        both = (bins[i] >= 0) & (bins[j] >= 0)
        codes = bins[i][both] * second.n_bins + bins[j][both]
        size = first.n_bins * second.n_bins
        rows_in = np.bincount(codes, minlength=size)
        residuals = np.bincount(codes, weights=residual[both], minlength=size)
        variances = np.bincount(codes, weights=variance[both], minlength=size)
        filled = [int(code) for code in np.flatnonzero(rows_in >= minimum)]
        kept = [divmod(code, second.n_bins) for code in filled]
        statistic = float(sum(residuals[code] ** 2 / max(variances[code], 1e-9) for code in filled))
        if kept and statistic > 2 * len(kept):
            scored.append((statistic, Pair(first, second, {}), kept))
    scored.sort(key=lambda item: -item[0])
    return [(pair, kept) for _, pair, kept in scored[: settings.pairs]]


@dataclass(frozen=True)
class Validation:
    fold_aucs: tuple[float, ...]
    held_out_scores: tuple[float, ...]  # each row's score by the scorecard fitted without its fold

    @property
    def auc(self) -> float:
        return float(np.mean(self.fold_aucs))


def folds_of(labels: Sequence[int], n_folds: int, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Stratified folds (train, held-out indices): the same for every model compared on them."""
    splitter = StratifiedKFold(n_splits=n_folds, shuffle=True, random_state=seed)
    return list(splitter.split(np.zeros(len(labels)), np.asarray(labels)))


def cross_validate(
    rows: Sequence[Row], labels: Sequence[int], traits: Mapping[str, str], settings: Settings
) -> Validation:
    """Held-out ROC AUC: for each stratified fold, the whole procedure (binning, pairs, points) fitted on
    the other folds and the fold scored with the rounded points, as the engine would score it."""
    held_out = np.zeros(len(rows))
    aucs = []
    for train, test in folds_of(labels, settings.folds, settings.seed):
        card = fit_scorecard([rows[i] for i in train], [labels[i] for i in train], traits, settings)
        scores = [card.score(rows[i]) for i in test]
        held_out[test] = scores
        aucs.append(float(roc_auc_score([labels[i] for i in test], scores)))
    return Validation(tuple(aucs), tuple(float(score) for score in held_out))


def auc(labels: Sequence[int], scores: Sequence[float]) -> float:
    return float(roc_auc_score(np.asarray(labels), np.asarray(scores)))


def describe_bins(card: Scorecard) -> list[dict[str, Any]]:
    """The points table: one entry per bin (and pair cell), in the order of the features."""
    table: list[dict[str, Any]] = []
    for feature, points, counts in zip(card.features, card.points, card.counts, strict=True):
        for bin_, value, (n, k) in zip(feature.bins(), points, counts, strict=True):
            if not n and not value:
                continue  # an "other" bin no training row fell in
            table.append(
                {
                    "column": feature.column,
                    "trait": feature.trait,
                    "bin": bin_.label,
                    "test": {feature.trait: bin_.test},
                    "points": value,
                    "rows": n,
                    "converted": k,
                }
            )
    for pair in card.pairs:
        first_bins, second_bins = pair.first.bins(), pair.second.bins()
        for (a, b), value in sorted(pair.points.items()):
            table.append(
                {
                    "column": f"{pair.first.column} x {pair.second.column}",
                    "trait": f"{pair.first.trait} x {pair.second.trait}",
                    "bin": f"{first_bins[a].label} and {second_bins[b].label}",
                    "test": {pair.first.trait: first_bins[a].test, pair.second.trait: second_bins[b].test},
                    "points": value,
                    "rows": pair.counts.get((a, b), (0, 0))[0],
                    "converted": pair.counts.get((a, b), (0, 0))[1],
                }
            )
    return table
