"""What the score and decay functions both build from their settings: once per container."""

from __future__ import annotations

from functools import cache

from leadscore.adapters.dynamodb import DynamoLeadRepository
from leadscore.rules import RuleSet
from leadscore.settings import ScoringSettings, load_settings, rules_at


@cache
def scoring_collaborators() -> tuple[DynamoLeadRepository, RuleSet]:
    settings = load_settings(ScoringSettings)
    return DynamoLeadRepository(settings.table_name, retention=settings.retention), rules_at(
        settings.rules_path
    )
