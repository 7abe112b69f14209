"""``python -m infra.app``: what ``cdk synth`` and ``cdk deploy`` run (see cdk.json).

Context values: ``alertEmail`` (subscribe this address to the alerts), ``rules`` (a rule file other
than rules/default.yaml), ``decaySchedule`` (an EventBridge schedule expression).
"""

from __future__ import annotations

from pathlib import Path

from aws_cdk import App, Stack, Validations
from cdk_nag import AwsSolutionsChecks

from infra.layer import build_layer
from infra.stack import LeadScoringStack
from leadscore.resources import DECAY_SCHEDULE
from leadscore.rules import DEFAULT_RULES_FILE, load_rules

STACK_NAME = "LeadScoring"


def build(app: App) -> Stack:
    """The stack, with cdk-nag's AwsSolutions pack validating it at synthesis."""
    rules_file = Path(app.node.try_get_context("rules") or DEFAULT_RULES_FILE)
    load_rules(rules_file)  # a broken rule file stops the deploy here, with its line numbers
    stack = LeadScoringStack(
        app,
        STACK_NAME,
        layer_dir=build_layer(rules_file),
        alert_email=app.node.try_get_context("alertEmail") or None,
        decay_schedule=app.node.try_get_context("decaySchedule") or DECAY_SCHEDULE,
        description="Lead scoring: Segment-compatible ingestion, explainable scores, decay and alerts",
    )
    Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    return stack


def main() -> None:
    app = App()
    build(app)
    app.synth()


if __name__ == "__main__":
    main()
