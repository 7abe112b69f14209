"""The learned scorecard beside plain logistic regression and gradient boosting, on the same folds.

For each dataset: 5 stratified folds (one seed), and on each fold the scorecard (as `leadscore train`
fits it: bins, pairs, whole points; and without pairs), plain logistic regression (categories one-hot,
numbers standardised with a missing flag) and scikit-learn's HistGradientBoostingClassifier (native
categories), each fitted on the other folds and scored on the held-out one. Prints held-out ROC AUC
(mean and per fold). Datasets: X Education (leaky columns left out), a sample of UCI Bank Marketing
(`duration` left out: known only after the call), both under bench/data/ with their origins.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, StandardScaler

from leadscore.rules.conditions import as_number
from leadscore_cli.training import Settings, read_table, train
from leadscore_cli.training.binning import is_numeric
from leadscore_cli.training.scorecard import fit_scorecard, folds_of
from leadscore_cli.training.table import Row, Table

DATA = Path(__file__).resolve().parent / "data"
X_EDUCATION_LEAKS = (
    "Tags,Lead Quality,Lead Profile,Last Notable Activity,Asymmetrique Activity Index,"
    "Asymmetrique Profile Index,Asymmetrique Activity Score,Asymmetrique Profile Score"
)


@dataclass(frozen=True)
class Dataset:
    name: str
    path: Path
    target: str
    positive: str | None
    exclude: tuple[str, ...]


Model = Callable[[Sequence[Row], Sequence[int], Sequence[Row]], Sequence[float]]


def _columns(rows: Sequence[Row], traits: dict[str, str]) -> tuple[list[str], list[str]]:
    numeric = [c for c in traits if is_numeric([r[c] for r in rows if r[c] is not None])]
    return numeric, [c for c in traits if c not in numeric]


def _arrays(rows: Sequence[Row], numeric: list[str], categorical: list[str]) -> tuple[np.ndarray, np.ndarray]:
    numbers = np.array(
        [
            [np.nan if (v := as_number(r[c]) if r[c] is not None else None) is None else v for c in numeric]
            for r in rows
        ],
        dtype=float,
    ).reshape(len(rows), len(numeric))
    texts = np.array(
        [[(r[c] or "missing").casefold() for c in categorical] for r in rows], dtype=object
    ).reshape(len(rows), len(categorical))
    return numbers, texts


def sklearn_model(kind: str, traits: dict[str, str]) -> Model:
    def fit_predict(train: Sequence[Row], labels: Sequence[int], test: Sequence[Row]) -> Sequence[float]:
        numeric, categorical = _columns(train, traits)
        n_train, c_train = _arrays(train, numeric, categorical)
        n_test, c_test = _arrays(test, numeric, categorical)
        x_train = np.concatenate([n_train, c_train], axis=1)
        x_test = np.concatenate([n_test, c_test], axis=1)
        numbers = list(range(len(numeric)))
        texts = list(range(len(numeric), len(numeric) + len(categorical)))
        if kind == "logistic":
            prepare = ColumnTransformer(
                [
                    (
                        "n",
                        make_pipeline(SimpleImputer(strategy="median", add_indicator=True), StandardScaler()),
                        numbers,
                    ),
                    ("c", OneHotEncoder(handle_unknown="ignore", min_frequency=10), texts),
                ]
            )
            model = make_pipeline(prepare, LogisticRegression(max_iter=5000))
        else:
            prepare = ColumnTransformer(
                [
                    ("n", "passthrough", numbers),
                    ("c", OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=np.nan), texts),
                ]
            )
            categories = [False] * len(numbers) + [True] * len(texts)
            model = make_pipeline(
                prepare, HistGradientBoostingClassifier(categorical_features=categories, random_state=0)
            )
        model.fit(x_train, np.asarray(labels))
        return list(model.predict_proba(x_test)[:, 1])

    return fit_predict


def scorecard_model(traits: dict[str, str], settings: Settings) -> Model:
    def fit_predict(train: Sequence[Row], labels: Sequence[int], test: Sequence[Row]) -> Sequence[float]:
        card = fit_scorecard(train, labels, traits, settings)
        return [card.score(row) for row in test]

    return fit_predict


def run(dataset: Dataset, seed: int) -> None:
    table = read_table(dataset.path)
    training = train(
        table,
        dataset.target,
        positive=dataset.positive,
        exclude=dataset.exclude,
        settings=Settings(folds=0, seed=seed),
    )
    traits = dict(training.traits)
    rows = list(table.rows)
    labels = [int((row[dataset.target] or "").casefold() == training.positive.casefold()) for row in rows]
    print(f"{dataset.name}: {len(rows)} rows, {sum(labels)} converted, {len(traits)} columns used")
    print(f"  left out: {', '.join(f'{e.column} ({e.reason})' for e in training.excluded)}")
    models: dict[str, Model] = {
        "scorecard (3 pairs, whole points)": scorecard_model(traits, Settings(seed=seed)),
        "scorecard, no pairs": scorecard_model(traits, Settings(seed=seed, pairs=0)),
        "logistic regression (plain)": sklearn_model("logistic", traits),
        "gradient boosting (HistGB)": sklearn_model("boosting", traits),
    }
    folds = folds_of(labels, 5, seed)
    _leak_guard_alone(dataset, table, seed)
    for name, model in models.items():
        started = time.perf_counter()
        aucs = []
        for train_index, test_index in folds:
            scores = model(
                [rows[i] for i in train_index],
                [labels[i] for i in train_index],
                [rows[i] for i in test_index],
            )
            aucs.append(roc_auc_score([labels[i] for i in test_index], scores))
        elapsed = time.perf_counter() - started
        folds_text = " ".join(f"{value:.4f}" for value in aucs)
        print(
            f"  {name:<36} ROC AUC {np.mean(aucs):.4f} ± {np.std(aucs):.4f}  [{folds_text}]  {elapsed:5.1f} s"
        )


def _leak_guard_alone(dataset: Dataset, table: Table, seed: int) -> None:
    """What the leak guard leaves out by itself, without --exclude: the explicit list is the safer one."""
    guarded = train(table, dataset.target, positive=dataset.positive, settings=Settings(folds=0, seed=seed))
    found = [
        f"{e.column} ({e.detail.split(';')[0]})" for e in guarded.excluded if e.reason == "suspected leak"
    ]
    print(f"  the leak guard alone (no --exclude) suspects: {', '.join(found) or 'nothing'}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--data", type=Path, default=DATA / "x-education-leads.csv", help="the X Education CSV"
    )
    parser.add_argument(
        "--bank", type=Path, default=DATA / "bank-marketing-sample.csv", help="the bank sample"
    )
    parser.add_argument("--seed", type=int, default=0, help="the folds' shuffle seed")
    arguments = parser.parse_args()
    print(
        "Learned scorecard vs logistic regression vs gradient boosting: "
        "held-out ROC AUC, the same 5 stratified folds"
    )
    run(
        Dataset("X Education", arguments.data, "Converted", None, tuple(X_EDUCATION_LEAKS.split(","))),
        arguments.seed,
    )
    run(
        Dataset("UCI Bank Marketing (sample)", arguments.bank, "term deposit", "yes", ("duration",)),
        arguments.seed,
    )


if __name__ == "__main__":
    main()
