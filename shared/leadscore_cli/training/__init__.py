"""Learning a points scorecard from historical leads with outcomes (``leadscore train``): an operator's
tool, never shipped to Lambda. Its output is rules; scoring them needs only the engine."""

from leadscore_cli.training.export import candidate_yaml, fit_rules, section_yaml
from leadscore_cli.training.scorecard import Scorecard, Settings, cross_validate, fit_scorecard
from leadscore_cli.training.table import Table, TableError, parse_table, read_table
from leadscore_cli.training.trainer import Exclusion, Training, train, trait_of

__all__ = [
    "Exclusion",
    "Scorecard",
    "Settings",
    "Table",
    "TableError",
    "Training",
    "candidate_yaml",
    "cross_validate",
    "fit_rules",
    "fit_scorecard",
    "parse_table",
    "read_table",
    "section_yaml",
    "train",
    "trait_of",
]
