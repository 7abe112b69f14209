"""The synthesized stack: the fixed shape, wired from leadscore.resources, least privilege, cdk-nag clean."""

from __future__ import annotations

import ast
import sys
from pathlib import Path
from typing import Any

import pytest
from aws_cdk.assertions import Match

from leadscore import resources
from leadscore.resources import FUNCTIONS, LEADS_TABLE, ROUTES, SCORE_QUEUE
from leadscore.rules import DEFAULT_RULES_FILE
from tests.infra.conftest import Synthesized

pytestmark = pytest.mark.infra

REPO_ROOT = Path(__file__).resolve().parents[2]


def function_named(synthesized: Synthesized, name: str) -> tuple[str, dict[str, Any]]:
    """A function's logical id and properties, found by the description its spec gives it."""
    description = FUNCTIONS[name].description
    ((logical_id, body),) = [
        (logical_id, body)
        for logical_id, body in synthesized.of_type("AWS::Lambda::Function").items()
        if body["Properties"]["Description"] == description
    ]
    return logical_id, body["Properties"]


def policy_actions(synthesized: Synthesized, name: str) -> set[str]:
    _, properties = function_named(synthesized, name)
    role_id = properties["Role"]["Fn::GetAtt"][0]
    actions: set[str] = set()
    for policy in synthesized.of_type("AWS::IAM::Policy").values():
        if {"Ref": role_id} in policy["Properties"]["Roles"]:
            for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
                found = statement["Action"]
                actions.update([found] if isinstance(found, str) else found)
    return actions


@pytest.mark.parametrize("name", list(FUNCTIONS))
def test_each_function_runs_python_313_on_arm64_with_its_spec(synthesized: Synthesized, name: str) -> None:
    spec = FUNCTIONS[name]
    _, properties = function_named(synthesized, name)
    assert properties["Runtime"] == "python3.13"
    assert properties["Architectures"] == ["arm64"]
    assert properties["Handler"] == "handler.handler"
    assert (properties["MemorySize"], properties["Timeout"]) == (spec.memory_mb, spec.timeout_seconds)
    assert properties["TracingConfig"] == {"Mode": "Active"}
    variables = properties["Environment"]["Variables"]
    assert set(variables) == {*spec.env, "POWERTOOLS_SERVICE_NAME", "POWERTOOLS_LOG_LEVEL"}
    if resources.ENV_RULES_PATH in spec.env:
        assert variables[resources.ENV_RULES_PATH] == resources.LAYER_RULES_PATH
    assert len(properties["Layers"]) == 1


def test_the_table_is_on_demand_recoverable_streamed_and_indexed_as_specified(
    synthesized: Synthesized,
) -> None:
    synthesized.template.has_resource_properties(
        "AWS::DynamoDB::Table",
        {
            "BillingMode": "PAY_PER_REQUEST",
            "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
            "StreamSpecification": {"StreamViewType": LEADS_TABLE.stream_view},
            "KeySchema": [
                {"AttributeName": LEADS_TABLE.partition_key, "KeyType": "HASH"},
                {"AttributeName": LEADS_TABLE.sort_key, "KeyType": "RANGE"},
            ],
            "GlobalSecondaryIndexes": [
                {
                    "IndexName": index.name,
                    "KeySchema": [
                        {"AttributeName": index.partition_key, "KeyType": "HASH"},
                        {"AttributeName": index.sort_key, "KeyType": "RANGE"},
                    ],
                    "Projection": {"ProjectionType": index.projection},
                }
                for index in LEADS_TABLE.indexes
            ],
        },
    )


def test_the_score_queue_has_a_dead_letter_queue_and_partial_batch_responses(
    synthesized: Synthesized,
) -> None:
    synthesized.template.has_resource_properties(
        "AWS::SQS::Queue",
        {
            "VisibilityTimeout": SCORE_QUEUE.visibility_timeout_seconds,
            "RedrivePolicy": {
                "maxReceiveCount": SCORE_QUEUE.max_receive_count,
                "deadLetterTargetArn": Match.any_value(),
            },
        },
    )
    score_id, _ = function_named(synthesized, "score")
    synthesized.template.has_resource_properties(
        "AWS::Lambda::EventSourceMapping",
        {
            "FunctionName": {"Ref": score_id},
            "BatchSize": SCORE_QUEUE.batch_size,
            "MaximumBatchingWindowInSeconds": SCORE_QUEUE.max_batching_window_seconds,
            "FunctionResponseTypes": ["ReportBatchItemFailures"],
        },
    )


def test_notify_reads_the_stream_with_retries_bisection_and_a_failure_queue(synthesized: Synthesized) -> None:
    notify_id, _ = function_named(synthesized, "notify")
    synthesized.template.has_resource_properties(
        "AWS::Lambda::EventSourceMapping",
        {
            "FunctionName": {"Ref": notify_id},
            "EventSourceArn": {"Fn::GetAtt": [Match.any_value(), "StreamArn"]},
            "MaximumRetryAttempts": resources.STREAM_MAX_RETRIES,
            "BisectBatchOnFunctionError": True,
            "FunctionResponseTypes": ["ReportBatchItemFailures"],
            "DestinationConfig": {"OnFailure": {"Destination": Match.any_value()}},
        },
    )


def test_a_schedule_invokes_decay(synthesized: Synthesized) -> None:
    decay_id, _ = function_named(synthesized, "decay")
    synthesized.template.has_resource_properties(
        "AWS::Events::Rule",
        {
            "ScheduleExpression": resources.DECAY_SCHEDULE,
            "Targets": [Match.object_like({"Arn": {"Fn::GetAtt": [decay_id, "Arn"]}})],
        },
    )


def test_every_route_reaches_its_function(synthesized: Synthesized) -> None:
    routes = synthesized.of_type("AWS::ApiGatewayV2::Route")
    integrations = synthesized.of_type("AWS::ApiGatewayV2::Integration")
    target_of = {}
    for body in routes.values():
        integration_id = body["Properties"]["Target"]["Fn::Join"][1][1]["Ref"]
        uri = integrations[integration_id]["Properties"]["IntegrationUri"]["Fn::GetAtt"][0]
        target_of[body["Properties"]["RouteKey"]] = uri
    assert target_of == {
        f"{route.method} {route.path}": function_named(synthesized, route.function)[0] for route in ROUTES
    }
    synthesized.template.has_resource_properties(
        "AWS::ApiGatewayV2::Stage",
        {"AccessLogSettings": Match.object_like({"DestinationArn": Match.any_value()})},
    )


def test_alerts_go_to_an_encrypted_topic_and_email_only_when_asked(
    synthesized: Synthesized, with_alert_email: Synthesized
) -> None:
    synthesized.template.has_resource_properties("AWS::SNS::Topic", {"KmsMasterKeyId": Match.any_value()})
    synthesized.template.resource_count_is("AWS::SNS::Subscription", 0)
    with_alert_email.template.has_resource_properties(
        "AWS::SNS::Subscription", {"Protocol": "email", "Endpoint": "sales@example.com"}
    )


def test_each_function_may_do_only_what_it_does(synthesized: Synthesized) -> None:
    tracing = {"xray:PutTraceSegments", "xray:PutTelemetryRecords"}
    secret_read = {"secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"}
    assert policy_actions(synthesized, "collect") == {
        *tracing,
        *secret_read,
        "sqs:SendMessage",
        "sqs:GetQueueAttributes",
        "sqs:GetQueueUrl",
        "s3:PutObject",
    }
    assert policy_actions(synthesized, "leads") == {
        *tracing,
        *secret_read,
        "dynamodb:GetItem",
        "dynamodb:Query",
    }
    assert policy_actions(synthesized, "score") == {
        *tracing,
        "dynamodb:GetItem",
        "dynamodb:BatchGetItem",
        "dynamodb:PutItem",
        "sqs:ReceiveMessage",
        "sqs:DeleteMessage",
        "sqs:ChangeMessageVisibility",
        "sqs:GetQueueAttributes",
        "sqs:GetQueueUrl",
    }
    assert policy_actions(synthesized, "decay") == {
        *tracing,
        "dynamodb:GetItem",
        "dynamodb:PutItem",
        "dynamodb:Query",
    }
    notify = policy_actions(synthesized, "notify")
    assert "sns:Publish" in notify
    assert not {action for action in notify if action.startswith("dynamodb:")} - {
        "dynamodb:ListStreams",
        "dynamodb:DescribeStream",
        "dynamodb:GetRecords",
        "dynamodb:GetShardIterator",
    }


def test_each_function_reads_only_its_own_kind_of_key(synthesized: Synthesized) -> None:
    _, collect = function_named(synthesized, "collect")
    _, leads = function_named(synthesized, "leads")
    assert resources.ENV_READ_KEYS_SECRET not in collect["Environment"]["Variables"]
    assert resources.ENV_WRITE_KEYS_SECRET not in leads["Environment"]["Variables"]
    synthesized.template.resource_count_is("AWS::SecretsManager::Secret", 2)
    synthesized.template.has_resource_properties(
        "AWS::SecretsManager::Secret",
        {"GenerateSecretString": Match.object_like({"GenerateStringKey": resources.GENERATED_KEY_FIELD})},
    )


def test_cdk_nag_passes_and_every_acknowledgment_has_a_reason(synthesized: Synthesized) -> None:
    (report,) = synthesized.validation_report()["pluginReports"]
    assert report["pluginName"] == "AwsSolutions"
    assert (report["conclusion"], report["violations"]) == ("success", [])
    acknowledged = report["suppressedViolations"]
    assert {finding["ruleName"].split("[")[0] for finding in acknowledged} <= {
        "AwsSolutions-L1",
        "AwsSolutions-IAM4",
        "AwsSolutions-IAM5",
        "AwsSolutions-APIG4",
        "AwsSolutions-SMG4",
        "AwsSolutions-SQS3",
    }
    assert all(len(finding["reason"]) > 40 for finding in acknowledged)


def layer_dir(synthesized: Synthesized) -> Path:
    (layer_id,) = synthesized.of_type("AWS::Lambda::LayerVersion")
    return synthesized.asset_dir(layer_id)


def test_the_layer_holds_arm64_wheels_the_package_and_the_rules(synthesized: Synthesized) -> None:
    layer = layer_dir(synthesized)
    assert list((layer / "python" / "pydantic_core").glob("_pydantic_core.cpython-313-aarch64-linux-gnu.so"))
    assert (layer / "rules.yaml").read_text() == DEFAULT_RULES_FILE.read_text()
    package = layer / "python" / "leadscore"
    assert (package / "engine" / "evaluate.py").exists()
    assert not (package / "local").exists()
    assert not list(package.glob("cli*.py"))


def imported_roots(source: Path) -> set[str]:
    """Top-level modules a file imports at run time (imports under ``if TYPE_CHECKING`` do not count)."""
    tree = ast.parse(source.read_text())
    skipped = {
        id(node)
        for block in ast.walk(tree)
        if isinstance(block, ast.If) and "TYPE_CHECKING" in ast.unparse(block.test)
        for statement in block.body
        for node in ast.walk(statement)
    }
    roots = set()
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots.add(node.module.split(".")[0])
    return roots


def test_handlers_and_the_package_import_only_what_lambda_has(synthesized: Synthesized) -> None:
    python = layer_dir(synthesized) / "python"
    available = {path.name.removesuffix(".py") for path in python.iterdir()} | {"boto3", "botocore"}
    sources = [*python.joinpath("leadscore").rglob("*.py"), *(REPO_ROOT / "functions").glob("*/handler.py")]
    missing = {
        (source.name, root)
        for source in sources
        for root in imported_roots(source)
        if root not in available and root not in sys.stdlib_module_names
    }
    assert missing == set()


def test_an_unacknowledged_finding_fails_synthesis(tmp_path: Path) -> None:
    from aws_cdk import App
    from aws_cdk import aws_sqs as sqs

    from infra.app import build

    app = App(outdir=str(tmp_path), builtin_cloud_formation_validation=False)
    stack = build(app)
    sqs.Queue(stack, "QueueWithoutTlsOrDeadLetters")
    with pytest.raises(Exception, match=r"[Vv]alidation"):
        app.synth()
