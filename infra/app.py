"""``python -m infra.app``: what ``cdk synth`` and ``cdk deploy`` run (see cdk.json).

Context values (``-c name=value``):

- ``alertEmail``: subscribe this address to the alerts (optional);
- ``opsEmail``: subscribe this address to the operations topic, which the alarms notify (optional);
- ``rules``: a rule file other than rules/default.yaml, bundled into the layer as /opt/rules.yaml;
- ``decaySchedule``: an EventBridge schedule expression for the decay function (``DECAY_SCHEDULE``);
- ``retentionDays``: leads inactive this many days, with no follow-up or outcome recorded, expire
  (DynamoDB TTL); 0 or unset keeps every lead;
- ``allowedOrigins``: the origins browsers may call the API from, comma-separated (default ``*``);
- ``throttleRate``, ``throttleBurst``: the API's throttling of each route, requests a second and burst
  (``THROTTLE_RATE_PER_SECOND``, ``THROTTLE_BURST`` in ``leadscore.api``).
"""

from __future__ import annotations

from pathlib import Path

from aws_cdk import App

from infra import nag
from infra.layer import build_layer
from infra.stack import LeadScoringStack
from leadscore.api import Throttle, parse_allowed_origins
from leadscore.resources import DECAY_SCHEDULE
from leadscore.rules import DEFAULT_RULES_FILE, load_rules

STACK_NAME = "LeadScoring"


def _context(app: App, name: str) -> str | None:
    value = app.node.try_get_context(name)
    return str(value) if value else None


def parse_retention_days(value: object) -> int:
    """The ``retentionDays`` context value: a whole number of days, 0 (the default) for no expiry."""
    if value is None or value == "":
        return 0
    try:
        days = int(str(value))
    except ValueError:
        raise ValueError(f"retentionDays must be a whole number of days, not {value!r}") from None
    if days < 0:
        raise ValueError(f"retentionDays must be 0 (keep every lead) or more, not {days}")
    return days


def build(app: App) -> LeadScoringStack:
    """The stack, with cdk-nag's AwsSolutions pack validating the app when it synthesizes."""
    # Bad deploy settings stop here, naming the value, before anything is built.
    allowed_origins = parse_allowed_origins(app.node.try_get_context("allowedOrigins"))
    throttle = Throttle.parse(
        app.node.try_get_context("throttleRate"), app.node.try_get_context("throttleBurst")
    )
    retention_days = parse_retention_days(app.node.try_get_context("retentionDays"))
    rules_file = Path(_context(app, "rules") or DEFAULT_RULES_FILE)
    load_rules(rules_file)  # a broken rule file stops the deploy here, naming the line
    stack = LeadScoringStack(
        app,
        STACK_NAME,
        layer_dir=build_layer(rules_file),
        alert_email=_context(app, "alertEmail"),
        ops_email=_context(app, "opsEmail"),
        decay_schedule=_context(app, "decaySchedule") or DECAY_SCHEDULE,
        retention_days=retention_days,
        allowed_origins=allowed_origins,
        throttle=throttle,
        description="Lead scoring: Segment-compatible ingestion, explainable scores, decay and alerts",
    )
    nag.check(app)
    return stack


def main() -> None:
    app = App()
    build(app)
    app.synth()


if __name__ == "__main__":
    main()
