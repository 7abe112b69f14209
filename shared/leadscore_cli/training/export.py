"""The scorecard as rules: one fit rule per bin (and pair cell) with points, so the engine scores a learned
model as it scores any rule and explains it point by point. Bins worth 0 points need no rule."""

from __future__ import annotations

import re
from typing import Any

import yaml

from leadscore.email_kinds import EMAIL_KINDS
from leadscore.rules import RuleSet, parse_rules
from leadscore_cli.training.scorecard import Scorecard
from leadscore_cli.training.trainer import Training

ID_LENGTH = 48  # the rule file's limit on an id
BASE_RULE = "scorecard-base"
_NOT_ID = re.compile(r"[^a-z0-9]+")


def _slug(text: str) -> str:
    return _NOT_ID.sub("-", text.casefold()).strip("-") or "x"


class _Ids:
    """Rule ids from what they test, shortened to the file's limit and made unique."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.seen: set[str] = set()

    def __call__(self, *parts: str) -> str:
        base = _slug("-".join((self.prefix, *parts)))[:ID_LENGTH].strip("-")
        candidate, number = base, 2
        while candidate in self.seen:
            suffix = f"-{number}"
            candidate = base[: ID_LENGTH - len(suffix)].strip("-") + suffix
            number += 1
        self.seen.add(candidate)
        return candidate


def fit_rules(card: Scorecard, prefix: str = "sc", group: str = "fit") -> list[dict[str, Any]]:
    """The rule file's ``fit:`` entries: the base points for every lead, then each bin's and cell's points."""
    ids = _Ids(prefix)
    rules: list[dict[str, Any]] = []
    if card.base_points:
        rules.append(
            {
                "id": BASE_RULE,
                "description": (
                    f"Scorecard base, every lead (a total of 0 is even odds; "
                    f"{card.pdo:g} more points double them)"
                ),
                "group": group,
                "points": card.base_points,
                "when": {"email": list(EMAIL_KINDS)},
            }
        )
    for feature, points in zip(card.features, card.points, strict=True):
        for bin_, value in zip(feature.bins(), points, strict=True):
            if value:
                rules.append(
                    {
                        "id": ids(feature.trait, bin_.label),
                        "description": f"{feature.column}: {bin_.label}",
                        "group": group,
                        "points": value,
                        "when": {"traits": {feature.trait: bin_.test}},
                    }
                )
    for pair in card.pairs:
        first_bins, second_bins = pair.first.bins(), pair.second.bins()
        for (a, b), value in sorted(pair.points.items()):
            if value:
                rules.append(
                    {
                        "id": ids(
                            pair.first.trait, pair.second.trait, first_bins[a].label, second_bins[b].label
                        ),
                        "description": (
                            f"{pair.first.column}: {first_bins[a].label} and "
                            f"{pair.second.column}: {second_bins[b].label}"
                        ),
                        "group": group,
                        "points": value,
                        "when": {
                            "traits": {
                                pair.first.trait: first_bins[a].test,
                                pair.second.trait: second_bins[b].test,
                            }
                        },
                    }
                )
    return [_plain(rule) for rule in rules]


def _plain(value: Any) -> Any:
    """Whole-number points and bounds as ints, so the file reads ``points: 12``, not ``12.0``."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return int(value)
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    return value


def _header(training: Training) -> str:
    auc = f"{training.validation.auc:.4f}" if training.validation else "not cross-validated"
    excluded = ", ".join(f"{item.column} ({item.reason})" for item in training.excluded) or "none"
    return (
        f"# Learned by `leadscore train` from {training.n_rows} leads ({training.n_positive} with "
        f"{training.target} = {training.positive}).\n"
        f"# Held-out ROC AUC ({len(training.validation.fold_aucs) if training.validation else 0} stratified "
        f"folds): {auc}. {training.scorecard.pdo:g} points double the odds; 0 points are even odds.\n"
        f"# Left out: {excluded}.\n"
    )


def _dump(content: dict[str, Any]) -> str:
    """Block style for the file's structure, flow style for each condition: ``when: {traits: {age: {below:
    30}}}`` reads on one line."""
    return yaml.safe_dump(content, sort_keys=False, allow_unicode=True, width=110, default_flow_style=None)


def section_yaml(training: Training) -> str:
    """The ``fit:`` section on its own, to paste into a rule file (its rules belong to the ``fit`` group)."""
    return _header(training) + _dump({"fit": fit_rules(training.scorecard)})


def candidate_yaml(training: Training, base_text: str, source: str = "<base>") -> tuple[str, RuleSet]:
    """A whole rule file: the base file with its fit rules replaced by the scorecard's; validated as
    ``leadscore rules check`` validates it. Raises :class:`RuleFileError` for a base that is not valid."""
    parse_rules(base_text, source=source)  # the base's own problems, with its lines
    base = yaml.safe_load(base_text)
    groups = dict(base.get("groups") or {})
    groups.setdefault("fit", {"dimension": "fit"})
    content = {**base, "groups": groups, "fit": fit_rules(training.scorecard)}
    text = _header(training) + _dump(content)
    return text, parse_rules(text, source="<candidate>")
