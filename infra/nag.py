"""cdk-nag 3: the AwsSolutions pack as a policy-validation plugin, and acknowledgments of accepted findings.

cdk-nag 3 is not an Aspect: it runs as one of CDK's policy-validation plugins when the app synthesizes,
writes its findings to ``cdk.out/validation-report.json``, and an unacknowledged error fails the
synthesis. An accepted finding is acknowledged on the construct that causes it, with the reason, by the
code that creates that construct (grep for ``acknowledge(``); docs/deploy.md lists them all.
"""

from __future__ import annotations

from aws_cdk import Acknowledgment, App, CfnResource, Stack, Validations
from aws_cdk import aws_lambda as lambda_
from cdk_nag import AwsSolutionsChecks
from constructs import IConstruct

PACK = "AwsSolutions"


def check(app: App) -> None:
    """Run the AwsSolutions rules over everything ``app`` synthesizes."""
    Validations.of(app).add_plugins(AwsSolutionsChecks(app))


def acknowledge(construct: IConstruct, rule: str, reason: str) -> None:
    """Accept the AwsSolutions finding ``rule`` (e.g. ``L1`` or ``IAM5[Resource::*]``) on ``construct``
    and everything under it."""
    Validations.of(construct).acknowledge(Acknowledgment(id=f"{PACK}::{PACK}-{rule}", reason=reason))


def acknowledge_on_role(function: lambda_.IFunction, rule: str, reason: str) -> None:
    """Accept a finding on a function's role and its policies, where grants to the function land."""
    if function.role is None:
        raise ValueError(f"{function.node.path} has no role")
    acknowledge(function.role, rule, reason)


def attribute_token(resource: IConstruct, attribute: str) -> str:
    """How cdk-nag writes a reference to a resource's attribute (e.g. ``Arn``) inside a finding's id."""
    child = resource.node.default_child
    if not isinstance(child, CfnResource):
        raise TypeError(f"{resource.node.path} has no CloudFormation resource")
    return f"<{Stack.of(resource).get_logical_id(child)}.{attribute}>"
