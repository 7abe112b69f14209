"""Synthesize the CDK app as ``cdk synth`` does (cdk.json's context, cdk-nag validating), once per session.

Two syntheses: the defaults, and one with every context value set (alert e-mail, another rule file,
another decay schedule) to show what each changes.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

from aws_cdk import App
from aws_cdk.assertions import Template

from infra.app import STACK_NAME, build
from leadscore.rules import DEFAULT_RULES_FILE

REPO_ROOT = Path(__file__).resolve().parents[2]
ALERT_EMAIL = "sales-alerts@example.com"
OPS_EMAIL = "ops-oncall@example.com"
RETENTION_DAYS = 400
DECAY_SCHEDULE = "rate(5 minutes)"


def cdk_json_context() -> dict[str, Any]:
    """The feature flags cdk.json sets, so the tests synthesize what ``cdk synth`` deploys."""
    context: dict[str, Any] = json.loads((REPO_ROOT / "cdk.json").read_text())["context"]
    return context


@dataclass(frozen=True)
class Synthesized:
    template: Template
    cloudformation: dict[str, Any]
    outdir: Path

    @property
    def resources(self) -> dict[str, dict[str, Any]]:
        found: dict[str, dict[str, Any]] = self.cloudformation["Resources"]
        return found

    @property
    def outputs(self) -> dict[str, dict[str, Any]]:
        found: dict[str, dict[str, Any]] = self.cloudformation["Outputs"]
        return found

    def of_type(self, kind: str) -> dict[str, dict[str, Any]]:
        return {name: body for name, body in self.resources.items() if body["Type"] == kind}

    def validation_report(self) -> dict[str, Any]:
        report: dict[str, Any] = json.loads((self.outdir / "validation-report.json").read_text())
        return report

    def asset_dir(self, logical_id: str) -> Path:
        """Where the synthesizer staged a function's or layer's code: the asset named by its S3 key."""
        properties = self.resources[logical_id]["Properties"]
        key: str = (properties.get("Content") or properties["Code"])["S3Key"]
        return self.outdir / f"asset.{key.removesuffix('.zip')}"


def synthesize(outdir: Path, **context: str) -> Synthesized:
    app = App(
        outdir=str(outdir),
        context={**cdk_json_context(), **context},
        builtin_cloud_formation_validation=False,
    )
    build(app)
    cloudformation: dict[str, Any] = app.synth().get_stack_by_name(STACK_NAME).template
    return Synthesized(Template.from_json(cloudformation), cloudformation, outdir)


@pytest.fixture(scope="session")
def synthesized(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    """The app as ``make synth`` builds it, with no context values."""
    return synthesize(tmp_path_factory.mktemp("cdk.out"))


@pytest.fixture(scope="session")
def custom_rules(tmp_path_factory: pytest.TempPathFactory) -> Path:
    rules = tmp_path_factory.mktemp("rules") / "mine.yaml"
    rules.write_text(DEFAULT_RULES_FILE.read_text() + "\n# a team's own copy\n")
    return rules


@pytest.fixture(scope="session")
def customized(tmp_path_factory: pytest.TempPathFactory, custom_rules: Path) -> Synthesized:
    """The app with every context value set."""
    return synthesize(
        tmp_path_factory.mktemp("cdk.out.custom"),
        alertEmail=ALERT_EMAIL,
        opsEmail=OPS_EMAIL,
        retentionDays=str(RETENTION_DAYS),
        rules=str(custom_rules),
        decaySchedule=DECAY_SCHEDULE,
    )
