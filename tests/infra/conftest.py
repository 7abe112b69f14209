"""Synthesize the CDK app once per test session, as `cdk synth` would, with cdk-nag validating it."""

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


@dataclass(frozen=True)
class Synthesized:
    template: Template
    resources: dict[str, Any]
    outdir: Path

    def of_type(self, kind: str) -> dict[str, dict[str, Any]]:
        return {name: body for name, body in self.resources.items() if body["Type"] == kind}

    def validation_report(self) -> dict[str, Any]:
        report: dict[str, Any] = json.loads((self.outdir / "validation-report.json").read_text())
        return report

    def asset_dir(self, logical_id: str) -> Path:
        """Where the synthesizer staged a resource's code: the asset named by its S3 key's hash."""
        key: str = self.resources[logical_id]["Properties"]["Content"]["S3Key"]
        return self.outdir / f"asset.{key.removesuffix('.zip')}"


def synthesize(outdir: Path, **context: str) -> Synthesized:
    app = App(outdir=str(outdir), context=context, builtin_cloud_formation_validation=False)
    stack = build(app)
    assembly = app.synth()
    template = assembly.get_stack_by_name(STACK_NAME).template
    assert stack.stack_name == STACK_NAME
    return Synthesized(Template.from_json(template), template["Resources"], outdir)


@pytest.fixture(scope="session")
def synthesized(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    return synthesize(tmp_path_factory.mktemp("cdk.out"))


@pytest.fixture(scope="session")
def with_alert_email(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    return synthesize(tmp_path_factory.mktemp("cdk.out.email"), alertEmail="sales@example.com")
