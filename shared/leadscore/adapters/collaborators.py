"""Collaborators that more than one function builds from its settings."""

from __future__ import annotations

from dataclasses import dataclass

from leadscore.adapters.dynamodb import DynamoLeadRepository
from leadscore.ports import LeadRepository
from leadscore.rules import RuleSet
from leadscore.settings import ScoringSettings, load_settings, rules_at


@dataclass(frozen=True)
class ScoringCollaborators:
    """What the score and decay functions both use: the lead table and the deployed rules."""

    repository: LeadRepository
    rules: RuleSet

    @classmethod
    def from_settings(cls, settings: ScoringSettings | None = None) -> ScoringCollaborators:
        """From the environment's settings, or from ``settings`` (score's, which hold more)."""
        settings = settings or load_settings(ScoringSettings)
        return cls(
            repository=DynamoLeadRepository(settings.table_name, retention=settings.retention),
            rules=rules_at(settings.rules_path),
        )
