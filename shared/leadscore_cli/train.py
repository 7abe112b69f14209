"""``leadscore train``: learn a points scorecard from historical leads with outcomes (CSV), as rules.

Needs the ``train`` extra (``pip install 'leadscore[train]'``: scikit-learn); scoring with its output needs
only the engine. docs/training.md describes it.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from leadscore_cli.training import Training


def _names(text: str) -> list[str]:
    return [name.strip() for name in text.split(",") if name.strip()]


def register(commands: Any) -> None:
    command = commands.add_parser(
        "train", help="learn a points scorecard from leads with outcomes (CSV) as fit rules"
    )
    command.add_argument("--data", type=Path, required=True, help="CSV (',' or ';'), one lead per row")
    command.add_argument("--target", required=True, help="the outcome column (e.g. Converted)")
    command.add_argument(
        "--positive", default=None, help="the outcome value meaning converted (default 1/yes/true)"
    )
    command.add_argument(
        "--exclude",
        type=_names,
        default=[],
        help="columns to leave out, comma-separated (e.g. sales-only fields)",
    )
    command.add_argument("--id", dest="id_column", default=None, help="the column naming the lead (left out)")
    command.add_argument(
        "--allow-leak",
        type=_names,
        default=[],
        help="keep these columns even if the leak guard suspects them",
    )
    command.add_argument(
        "--leak-auc",
        type=float,
        default=None,
        help="a column alone above this held-out AUC is a suspected leak (0.95)",
    )
    command.add_argument("--pdo", type=float, default=20.0, help="points that double the odds (default 20)")
    command.add_argument("--pairs", type=int, default=3, help="most pairwise terms (default 3; 0: none)")
    command.add_argument("--bins", type=int, default=10, help="most bins per numeric column (default 10)")
    command.add_argument("--folds", type=int, default=5, help="stratified cross-validation folds (default 5)")
    command.add_argument(
        "--missing",
        type=_names,
        default=None,
        help="cell values read as missing (default: Select, NA, N/A, null ...)",
    )
    command.add_argument(
        "--out",
        type=Path,
        default=None,
        help="write the rule-file section (or, with --rules, a whole rule file) here",
    )
    command.add_argument(
        "--rules",
        type=Path,
        default=None,
        help="a base rule file: --out gets it with its fit rules replaced by the scorecard",
    )
    command.add_argument("--json", action="store_true", help="print one JSON object")
    command.set_defaults(func=_train)


def _train(arguments: argparse.Namespace) -> int:
    try:
        from leadscore.rules import RuleFileError
        from leadscore_cli.training import (
            Settings,
            TableError,
            candidate_yaml,
            read_table,
            section_yaml,
            train,
        )
        from leadscore_cli.training.leaks import LEAK_AUC
        from leadscore_cli.training.table import PLACEHOLDERS
    except ImportError as error:
        print(f"train: {error.name} is missing: pip install 'leadscore[train]'", file=sys.stderr)
        return 2
    if arguments.rules is not None and arguments.out is None:
        print("train: --rules needs --out (the candidate rule file to write)", file=sys.stderr)
        return 2
    placeholders = tuple(arguments.missing) if arguments.missing is not None else PLACEHOLDERS
    settings = Settings(
        pdo=arguments.pdo,
        pairs=arguments.pairs,
        max_bins=arguments.bins,
        folds=arguments.folds,
        placeholders=tuple(value.casefold() for value in placeholders),
    )
    try:
        table = read_table(arguments.data, settings.placeholders)
        training = train(
            table,
            arguments.target,
            positive=arguments.positive,
            exclude=arguments.exclude,
            id_column=arguments.id_column,
            allow_leak=arguments.allow_leak,
            leak_auc=arguments.leak_auc if arguments.leak_auc is not None else LEAK_AUC,
            settings=settings,
        )
    except (OSError, TableError) as error:
        print(f"train: {arguments.data}: {error}", file=sys.stderr)
        return 2
    if arguments.out is not None:
        try:
            if arguments.rules is not None:
                base = arguments.rules.read_text(encoding="utf-8")
                text, _ = candidate_yaml(training, base, str(arguments.rules))
            else:
                text = section_yaml(training)
            arguments.out.write_text(text, encoding="utf-8")
        except RuleFileError as error:
            print(f"train: not a valid rule file:\n{error}", file=sys.stderr)
            return 1
        except (OSError, ValueError) as error:
            print(f"train: {error}", file=sys.stderr)
            return 2
    if arguments.json:
        print(json.dumps(report(training), indent=None))
    else:
        print(text_report(training, arguments.out))
    return 0


def _scores(pdo: float) -> list[int]:
    """Scores whose chance of converting the report prints: -3 to +3 times the points that double the odds."""
    return [round(step * pdo) for step in range(-3, 4)]


def report(training: Training) -> dict[str, Any]:
    from leadscore_cli.training.export import fit_rules
    from leadscore_cli.training.scorecard import describe_bins

    card = training.scorecard
    validation = training.validation
    return {
        "auc": round(validation.auc, 4) if validation else None,
        "fold_aucs": [round(value, 4) for value in validation.fold_aucs] if validation else [],
        "n_rows": training.n_rows,
        "n_positive": training.n_positive,
        "target": training.target,
        "positive": training.positive,
        "pdo": card.pdo,
        "base_points": card.base_points,
        "chance_by_score": {str(score): round(card.probability(score), 4) for score in _scores(card.pdo)},
        "traits": dict(training.traits),
        "excluded": [
            {"column": item.column, "reason": item.reason, "detail": item.detail}
            for item in training.excluded
        ],
        "single_column_auc": {column: round(value, 4) for column, value in training.leak_aucs.items()},
        "points": describe_bins(card),
        "rules": fit_rules(card),
    }


def text_report(training: Training, out: Path | None) -> str:
    from leadscore_cli.training.scorecard import describe_bins

    card = training.scorecard
    validation = training.validation
    lines = [
        f"{training.n_rows} leads, {training.n_positive} with {training.target} = {training.positive} "
        f"({training.n_positive / training.n_rows:.1%})",
    ]
    if validation:
        folds = ", ".join(f"{value:.4f}" for value in validation.fold_aucs)
        lines.append(
            f"held-out ROC AUC {validation.auc:.4f} ({len(validation.fold_aucs)} stratified folds: {folds})"
        )
    lines.append("")
    lines.append("left out:")
    for item in training.excluded:
        lines.append(f"  {item.column}: {item.reason}{f': {item.detail}' if item.detail else ''}")
    if not training.excluded:
        lines.append("  nothing")
    lines += [
        "",
        f"points ({card.pdo:g} points double the odds; 0 points = even odds; "
        f"base {card.base_points:+g} for every lead; a missing value scores 0):",
    ]
    previous = None
    for entry in describe_bins(card):
        if entry["column"] != previous:
            trait = f" (trait {entry['trait']})" if entry["trait"] != entry["column"] else ""
            lines.append(f"  {entry['column']}{trait}")
            previous = entry["column"]
        counts = f"{entry['converted']}/{entry['rows']} converted" if entry["rows"] else ""
        lines.append(f"    {entry['points']:+5g}  {entry['bin']:<50} {counts}")
    chances = ", ".join(f"{score:+d}: {card.probability(score):.0%}" for score in _scores(card.pdo))
    lines += ["", f"chance of {training.target} = {training.positive} by score: {chances}"]
    if out is not None:
        lines += ["", f"rules written to {out}"]
    return "\n".join(lines)
