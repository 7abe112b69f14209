"""cdk-nag AwsSolutions findings this design accepts, each acknowledged on its construct with the reason.

cdk-nag 3 reports through CDK's policy-validation plugins; an unacknowledged finding fails ``cdk synth``.
"""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import Acknowledgment, CfnResource, Stack, Validations
from aws_cdk import aws_apigatewayv2 as apigw
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_sqs as sqs
from constructs import IConstruct

from leadscore.resources import ARCHIVE_PREFIX

BASIC_EXECUTION_ROLE = "Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"


@dataclass(frozen=True)
class Findings:
    """The constructs whose findings are acknowledged."""

    functions: dict[str, lambda_.Function]
    api: apigw.HttpApi
    archive: s3.Bucket
    secrets: tuple[secretsmanager.Secret, ...]
    failure_destination: sqs.Queue


def _acknowledge(construct: IConstruct, rule: str, reason: str) -> None:
    Validations.of(construct).acknowledge(
        Acknowledgment(id=f"AwsSolutions::AwsSolutions-{rule}", reason=reason)
    )


def _token(stack: Stack, resource: IConstruct, attribute: str) -> str:
    """How cdk-nag writes a reference to a resource attribute inside a finding's id."""
    child = resource.node.default_child
    assert isinstance(child, CfnResource)
    return f"<{stack.get_logical_id(child)}.{attribute}>"


def acknowledge_findings(stack: Stack, findings: Findings) -> None:
    for function in findings.functions.values():
        _acknowledge(
            function,
            "L1",
            "Python 3.13 is the runtime the design fixes (DESIGN.md); the layer's arm64 wheels target it.",
        )
        _acknowledge(
            function,
            f"IAM4[{BASIC_EXECUTION_ROLE}]",
            "AWS's managed basic execution role only lets the function write its own CloudWatch logs.",
        )
        _acknowledge(
            function,
            "IAM5[Resource::*]",
            "X-Ray's PutTraceSegments and PutTelemetryRecords support no resource-level permissions.",
        )
    _acknowledge(
        findings.functions["collect"],
        f"IAM5[Resource::{_token(stack, findings.archive, 'Arn')}/{ARCHIVE_PREFIX}*]",
        "collect writes one new archive object per request under raw/; it cannot read or delete.",
    )
    for route in findings.api.node.children:
        if isinstance(route, apigw.HttpRoute):
            _acknowledge(
                route,
                "APIG4",
                "Segment's SDKs send the write key as the basic-auth user name, which no API Gateway "
                "authorizer type reads; the functions check write and read keys from Secrets Manager "
                "on every request and answer 401 without one.",
            )
    for secret in findings.secrets:
        _acknowledge(
            secret,
            "SMG4",
            "API keys are rotated by the operator (docs/deploy.md): a secret holds the old and the new key "
            "while clients move over; automatic rotation would break every tracker at once.",
        )
    _acknowledge(
        findings.failure_destination,
        "SQS3",
        "This queue is itself the failure destination of the notify function's stream source.",
    )
