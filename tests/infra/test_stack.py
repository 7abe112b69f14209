"""The synthesized stack: the fixed shape, wired from leadscore.resources, least privilege, cdk-nag clean."""

from __future__ import annotations

import ast
import json
import sys
from pathlib import Path
from typing import Any

import pytest
from aws_cdk.assertions import Match

from infra import layer as layer_build
from infra.app import build, parse_retention_days
from infra.constructs.monitoring import decay_late_after, schedule_period
from leadscore import resources
from leadscore.api import DEFAULT_ROUTE_FUNCTION, DEFAULT_ROUTE_KEY, THROTTLE_BURST, THROTTLE_RATE_PER_SECOND
from leadscore.resources import FUNCTIONS, LEADS_TABLE, ROUTES, SCORE_QUEUE
from leadscore.rules import DEFAULT_RULES_FILE
from tests.infra.conftest import (
    ALERT_EMAIL,
    DECAY_SCHEDULE,
    OPS_EMAIL,
    REPO_ROOT,
    RETENTION_DAYS,
    Synthesized,
    cdk_json_context,
    synthesize,
)

pytestmark = pytest.mark.infra

LOGGING = {"logs:CreateLogStream", "logs:PutLogEvents"}
SECRET_READ = {"secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"}
# The re-scoring job's workers (tests/infra/test_rescoring.py tests them).
RESCORE_WORKERS = ("rescore_shuffle", "rescore_shard", "rescore_catchup")


def function_named(synthesized: Synthesized, name: str) -> tuple[str, dict[str, Any]]:
    """A function's logical id and properties, found by the description its spec gives it."""
    description = FUNCTIONS[name].description
    ((logical_id, body),) = [
        (logical_id, body)
        for logical_id, body in synthesized.of_type("AWS::Lambda::Function").items()
        if body["Properties"]["Description"] == description
    ]
    return logical_id, body["Properties"]


def only(synthesized: Synthesized, kind: str, **properties: Any) -> str:
    """The logical id of the one resource of ``kind`` whose properties include ``properties``."""
    (logical_id,) = [
        logical_id
        for logical_id, body in synthesized.of_type(kind).items()
        if all(body["Properties"].get(name) == value for name, value in properties.items())
    ]
    return logical_id


def policy_statements(synthesized: Synthesized, name: str) -> list[dict[str, Any]]:
    _, properties = function_named(synthesized, name)
    role_id = properties["Role"]["Fn::GetAtt"][0]
    role = synthesized.resources[role_id]["Properties"]
    assert "ManagedPolicyArns" not in role
    return [
        statement
        for policy in synthesized.of_type("AWS::IAM::Policy").values()
        if {"Ref": role_id} in policy["Properties"]["Roles"]
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
    ]


def policy_actions(synthesized: Synthesized, name: str) -> set[str]:
    actions: set[str] = set()
    for statement in policy_statements(synthesized, name):
        assert statement["Effect"] == "Allow"
        found = statement["Action"]
        actions.update([found] if isinstance(found, str) else found)
    return actions


# Functions


def test_there_is_one_function_per_spec(synthesized: Synthesized) -> None:
    synthesized.template.resource_count_is("AWS::Lambda::Function", len(FUNCTIONS))
    synthesized.template.resource_count_is("AWS::Lambda::LayerVersion", 1)


@pytest.mark.parametrize("name", list(FUNCTIONS))
def test_each_function_runs_python_313_on_arm64_with_its_spec(synthesized: Synthesized, name: str) -> None:
    spec = FUNCTIONS[name]
    logical_id, properties = function_named(synthesized, name)
    assert properties["Runtime"] == "python3.13"
    assert properties["Architectures"] == ["arm64"]
    assert properties["Handler"] == "handler.handler"
    assert (properties["MemorySize"], properties["Timeout"]) == (spec.memory_mb, spec.timeout_seconds)
    assert "TracingConfig" not in properties  # off: see infra/functions.py
    (layer_id,) = synthesized.of_type("AWS::Lambda::LayerVersion")
    assert properties["Layers"] == [{"Ref": layer_id}]
    assert (synthesized.asset_dir(logical_id) / "handler.py").read_text() == (
        REPO_ROOT / "functions" / name / "handler.py"
    ).read_text()
    log_group = synthesized.resources[properties["LoggingConfig"]["LogGroup"]["Ref"]]
    assert log_group["Properties"]["RetentionInDays"] == 30


@pytest.mark.parametrize("name", list(FUNCTIONS))
def test_each_function_gets_the_environment_its_spec_names_from_the_real_resources(
    synthesized: Synthesized, name: str
) -> None:
    _, properties = function_named(synthesized, name)
    variables = properties["Environment"]["Variables"]
    assert set(variables) == {*FUNCTIONS[name].env, "POWERTOOLS_SERVICE_NAME", "POWERTOOLS_LOG_LEVEL"}
    assert variables["POWERTOOLS_SERVICE_NAME"] == resources.SERVICE
    expected = {
        resources.ENV_TABLE_NAME: {"Ref": only(synthesized, "AWS::DynamoDB::Table")},
        resources.ENV_RESCORE_BUCKET: {"Ref": logged_bucket_id(synthesized, "rescore/")},
        resources.ENV_QUEUE_URL: {
            "Ref": only(
                synthesized,
                "AWS::SQS::Queue",
                VisibilityTimeout=SCORE_QUEUE.visibility_timeout_seconds,
            )
        },
        resources.ENV_ARCHIVE_BUCKET: {"Ref": archive_id(synthesized)},
        resources.ENV_TOPIC_ARN: {"Ref": only(synthesized, "AWS::SNS::Topic", DisplayName="Lead alerts")},
        resources.ENV_WRITE_KEYS_SECRET: {"Ref": secret_id(synthesized, "Write keys")},
        resources.ENV_READ_KEYS_SECRET: {"Ref": secret_id(synthesized, "Read keys")},
        resources.ENV_ADMIN_KEYS_SECRET: {"Ref": secret_id(synthesized, "Admin keys")},
        resources.ENV_RULES_PATH: resources.LAYER_RULES_PATH,
        resources.ENV_OPENAPI_PATH: resources.LAYER_OPENAPI_PATH,
        resources.ENV_RETENTION_DAYS: "0",  # off unless retentionDays is given
    }
    assert {variable: variables[variable] for variable in FUNCTIONS[name].env} == {
        variable: expected[variable] for variable in FUNCTIONS[name].env
    }


def archive_id(synthesized: Synthesized) -> str:
    """The archive bucket: the one that logs its accesses (to the access-log bucket) under archive/."""
    return logged_bucket_id(synthesized, "archive/")


def logged_bucket_id(synthesized: Synthesized, prefix: str) -> str:
    (logical_id,) = [
        logical_id
        for logical_id, body in synthesized.of_type("AWS::S3::Bucket").items()
        if body["Properties"].get("LoggingConfiguration", {}).get("LogFilePrefix") == prefix
    ]
    return logical_id


def secret_id(synthesized: Synthesized, description_start: str) -> str:
    (logical_id,) = [
        logical_id
        for logical_id, body in synthesized.of_type("AWS::SecretsManager::Secret").items()
        if body["Properties"]["Description"].startswith(description_start)
    ]
    return logical_id


# Storage


def test_the_table_is_on_demand_recoverable_streamed_and_indexed_as_specified(
    synthesized: Synthesized,
) -> None:
    synthesized.template.resource_count_is("AWS::DynamoDB::Table", 1)
    synthesized.template.has_resource(
        "AWS::DynamoDB::Table",
        {
            "DeletionPolicy": "Retain",
            "Properties": {
                "BillingMode": "PAY_PER_REQUEST",
                "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
                "StreamSpecification": {"StreamViewType": LEADS_TABLE.stream_view},
                "TimeToLiveSpecification": {"AttributeName": resources.TTL_ATTRIBUTE, "Enabled": True},
                "KeySchema": [
                    {"AttributeName": LEADS_TABLE.partition_key.name, "KeyType": "HASH"},
                    {"AttributeName": LEADS_TABLE.sort_key.name, "KeyType": "RANGE"},
                ],
                "GlobalSecondaryIndexes": [
                    {
                        "IndexName": index.name,
                        "KeySchema": [
                            {"AttributeName": index.partition_key.name, "KeyType": "HASH"},
                            {"AttributeName": index.sort_key.name, "KeyType": "RANGE"},
                        ],
                        "Projection": {"ProjectionType": "KEYS_ONLY"},
                    }
                    for index in LEADS_TABLE.indexes
                ],
            },
        },
    )
    (table,) = synthesized.of_type("AWS::DynamoDB::Table").values()
    assert {
        (a["AttributeName"], a["AttributeType"]) for a in table["Properties"]["AttributeDefinitions"]
    } == {("pk", "S"), ("sk", "S"), ("acct", "S"), ("pk", "S"), ("bsh", "S"), ("due", "N"), ("mi", "S")}


def test_the_archive_is_private_encrypted_tls_only_logged_and_kept(synthesized: Synthesized) -> None:
    buckets = synthesized.of_type("AWS::S3::Bucket")
    assert len(buckets) == 3  # the archive, its access logs, the re-scoring job's work
    for logical_id, bucket in buckets.items():
        assert bucket["DeletionPolicy"] == "Retain"
        properties = bucket["Properties"]
        assert "AccessControl" not in properties
        assert set(properties["PublicAccessBlockConfiguration"].values()) == {True}
        (encryption,) = properties["BucketEncryption"]["ServerSideEncryptionConfiguration"]
        assert encryption["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
        synthesized.template.has_resource_properties(
            "AWS::S3::BucketPolicy",
            {
                "Bucket": {"Ref": logical_id},
                "PolicyDocument": {
                    "Statement": Match.array_with(
                        [
                            Match.object_like(
                                {"Effect": "Deny", "Condition": {"Bool": {"aws:SecureTransport": "false"}}}
                            )
                        ]
                    )
                },
            },
        )
    (rule,) = buckets[archive_id(synthesized)]["Properties"]["LifecycleConfiguration"]["Rules"]
    assert [transition["StorageClass"] for transition in rule["Transitions"]] == ["STANDARD_IA", "GLACIER_IR"]


# Queues and event sources


def test_the_score_queue_has_a_dead_letter_queue_and_partial_batch_responses(
    synthesized: Synthesized,
) -> None:
    queue_id = only(synthesized, "AWS::SQS::Queue", VisibilityTimeout=SCORE_QUEUE.visibility_timeout_seconds)
    queue = synthesized.resources[queue_id]["Properties"]
    assert queue["RedrivePolicy"]["maxReceiveCount"] == SCORE_QUEUE.max_receive_count
    assert queue["MessageRetentionPeriod"] == SCORE_QUEUE.retention_days * 24 * 3600
    dead_letters_id = queue["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"][0]
    assert synthesized.of_type("AWS::SQS::Queue")[dead_letters_id]
    score_id, score = function_named(synthesized, "score")
    synthesized.template.has_resource_properties(
        "AWS::Lambda::EventSourceMapping",
        {
            "FunctionName": {"Ref": score_id},
            "EventSourceArn": {"Fn::GetAtt": [queue_id, "Arn"]},
            "BatchSize": SCORE_QUEUE.batch_size,
            "MaximumBatchingWindowInSeconds": SCORE_QUEUE.max_batching_window_seconds,
            "FunctionResponseTypes": ["ReportBatchItemFailures"],
        },
    )
    # Big batches for cost, a window short enough for a hot lead's alert within 60 s (docs/performance.md).
    assert SCORE_QUEUE.batch_size >= 100
    assert 1 <= SCORE_QUEUE.max_batching_window_seconds <= 20
    # AWS: the visibility timeout covers six times the function's timeout plus the batching window.
    assert queue["VisibilityTimeout"] >= 6 * score["Timeout"] + SCORE_QUEUE.max_batching_window_seconds


def test_every_queue_is_encrypted_and_tls_only(synthesized: Synthesized) -> None:
    queues = synthesized.of_type("AWS::SQS::Queue")
    assert len(queues) == 3  # events, their dead letters, notify's failures
    for logical_id, queue in queues.items():
        assert queue["Properties"]["SqsManagedSseEnabled"] is True
        synthesized.template.has_resource_properties(
            "AWS::SQS::QueuePolicy",
            {
                "Queues": [{"Ref": logical_id}],
                "PolicyDocument": {
                    "Statement": Match.array_with(
                        [
                            Match.object_like(
                                {"Effect": "Deny", "Condition": {"Bool": {"aws:SecureTransport": "false"}}}
                            )
                        ]
                    )
                },
            },
        )


def test_notify_reads_the_stream_with_retries_bisection_and_a_failure_queue(synthesized: Synthesized) -> None:
    notify_id, _ = function_named(synthesized, "notify")
    table_id = only(synthesized, "AWS::DynamoDB::Table")
    synthesized.template.has_resource_properties(
        "AWS::Lambda::EventSourceMapping",
        {
            "FunctionName": {"Ref": notify_id},
            "EventSourceArn": {"Fn::GetAtt": [table_id, "StreamArn"]},
            "StartingPosition": "LATEST",
            "BatchSize": resources.STREAM_BATCH_SIZE,
            "MaximumRetryAttempts": resources.STREAM_MAX_RETRIES,
            "BisectBatchOnFunctionError": True,
            "FunctionResponseTypes": ["ReportBatchItemFailures"],
            "DestinationConfig": {
                "OnFailure": {
                    "Destination": {"Fn::GetAtt": [Match.string_like_regexp("StreamFailures"), "Arn"]}
                }
            },
            "FilterCriteria": {
                "Filters": [{"Pattern": json.dumps(resources.SIGNALLING_WRITES, separators=(",", ":"))}]
            },
        },
    )


def test_a_schedule_invokes_decay(synthesized: Synthesized, customized: Synthesized) -> None:
    for synthesis, expression in ((synthesized, resources.DECAY_SCHEDULE), (customized, DECAY_SCHEDULE)):
        decay_id, _ = function_named(synthesis, "decay")
        synthesis.template.has_resource_properties(
            "AWS::Events::Rule",
            {
                "ScheduleExpression": expression,
                "State": "ENABLED",
                "Targets": [Match.object_like({"Arn": {"Fn::GetAtt": [decay_id, "Arn"]}})],
            },
        )


# API


def test_every_route_reaches_its_function(synthesized: Synthesized) -> None:
    routes = synthesized.of_type("AWS::ApiGatewayV2::Route")
    integrations = synthesized.of_type("AWS::ApiGatewayV2::Integration")
    target_of = {}
    for body in routes.values():
        integration_id = body["Properties"]["Target"]["Fn::Join"][1][1]["Ref"]
        integration = integrations[integration_id]["Properties"]
        assert integration["PayloadFormatVersion"] == "2.0"
        target_of[body["Properties"]["RouteKey"]] = integration["IntegrationUri"]["Fn::GetAtt"][0]
    routed = {f"{route.method} {route.path}": route.function for route in ROUTES}
    assert target_of == {
        key: function_named(synthesized, name)[0]
        for key, name in {**routed, DEFAULT_ROUTE_KEY: DEFAULT_ROUTE_FUNCTION}.items()
    }


def test_the_api_logs_every_access_and_is_throttled(synthesized: Synthesized) -> None:
    (stage,) = synthesized.of_type("AWS::ApiGatewayV2::Stage").values()
    settings = stage["Properties"]["AccessLogSettings"]
    assert settings["DestinationArn"]["Fn::GetAtt"][1] == "Arn"
    assert "$context.requestId" in settings["Format"]
    assert stage["Properties"]["DefaultRouteSettings"]["ThrottlingRateLimit"] > 0


# Alerts and keys


def test_alerts_go_to_an_encrypted_topic_and_email_only_when_asked(
    synthesized: Synthesized, customized: Synthesized
) -> None:
    synthesized.template.has_resource_properties("AWS::SNS::Topic", {"KmsMasterKeyId": "alias/aws/sns"})
    synthesized.template.has_resource_properties(
        "AWS::SNS::TopicPolicy",
        {
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        Match.object_like(
                            {"Effect": "Deny", "Condition": {"Bool": {"aws:SecureTransport": "false"}}}
                        )
                    ]
                )
            }
        },
    )
    synthesized.template.resource_count_is("AWS::SNS::Subscription", 0)
    customized.template.has_resource_properties(
        "AWS::SNS::Subscription",
        {
            "Protocol": "email",
            "Endpoint": ALERT_EMAIL,
            "TopicArn": {"Ref": only(customized, "AWS::SNS::Topic", DisplayName="Lead alerts")},
        },
    )


def test_each_kind_of_key_is_a_generated_secret_of_its_own(synthesized: Synthesized) -> None:
    secrets = synthesized.of_type("AWS::SecretsManager::Secret")
    assert len(secrets) == 3
    for secret in secrets.values():
        generated = secret["Properties"]["GenerateSecretString"]
        assert generated["SecretStringTemplate"] == "{}"
        assert generated["GenerateStringKey"] == resources.GENERATED_KEY_FIELD
        assert generated["ExcludePunctuation"] is True
        assert generated["PasswordLength"] >= 32


# Least privilege


def test_each_function_may_do_only_what_it_does(synthesized: Synthesized) -> None:
    assert policy_actions(synthesized, "collect") == {
        *LOGGING,
        *SECRET_READ,
        "sqs:SendMessage",
        "sqs:GetQueueAttributes",
        "sqs:GetQueueUrl",
    }
    assert policy_actions(synthesized, "leads") == {
        *LOGGING,
        *SECRET_READ,
        "dynamodb:GetItem",
        "dynamodb:BatchGetItem",
        "dynamodb:Query",
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",  # a lead sales recorded something for is kept from retention
        "dynamodb:BatchWriteItem",
    }
    assert policy_actions(synthesized, "purge") == {
        *LOGGING,
        "dynamodb:GetItem",
        "dynamodb:PutItem",
        "dynamodb:Query",
        "dynamodb:BatchWriteItem",
        "s3:ListBucket",
        "s3:GetObject",
        "s3:PutObject",
    }
    assert policy_actions(synthesized, "score") == {
        *LOGGING,
        "dynamodb:GetItem",
        "dynamodb:BatchGetItem",
        "dynamodb:PutItem",
        "s3:PutObject",
        "sqs:ReceiveMessage",
        "sqs:DeleteMessage",
        "sqs:ChangeMessageVisibility",
        "sqs:GetQueueAttributes",
        "sqs:GetQueueUrl",
    }
    assert policy_actions(synthesized, "decay") == {
        *LOGGING,
        "dynamodb:GetItem",
        "dynamodb:BatchGetItem",
        "dynamodb:PutItem",
        "dynamodb:Query",
    }
    assert policy_actions(synthesized, "notify") == {
        *LOGGING,
        "sns:Publish",
        # the account's other engaged people, named in an alert
        "dynamodb:BatchGetItem",
        "dynamodb:Query",
        # the stream event source, and its failure destination
        "dynamodb:ListStreams",
        "dynamodb:DescribeStream",
        "dynamodb:GetRecords",
        "dynamodb:GetShardIterator",
        "sqs:SendMessage",
        "sqs:GetQueueAttributes",
        "sqs:GetQueueUrl",
    }


def test_wildcards_are_only_where_aws_allows_nothing_narrower(synthesized: Synthesized) -> None:
    for name in FUNCTIONS:
        for statement in policy_statements(synthesized, name):
            if statement["Resource"] == "*":
                assert statement["Action"] == "dynamodb:ListStreams", name


def test_only_score_and_purge_touch_the_archive_and_only_under_its_prefix(synthesized: Synthesized) -> None:
    for name in FUNCTIONS.keys() - {"score", "purge", *RESCORE_WORKERS}:
        assert not {action for action in policy_actions(synthesized, name) if action.startswith("s3:")}, name
    archive = {"Fn::GetAtt": [archive_id(synthesized), "Arn"]}
    under_prefix = {"Fn::Join": ["", [archive, f"/{resources.ARCHIVE_PREFIX}*"]]}
    (statement,) = [s for s in policy_statements(synthesized, "score") if "s3:PutObject" in s["Action"]]
    assert (statement["Action"], statement["Resource"]) == ("s3:PutObject", under_prefix)
    s3 = {
        (json.dumps(s["Action"]), json.dumps(s["Resource"]), json.dumps(s.get("Condition")))
        for s in policy_statements(synthesized, "purge")
        if "s3:" in json.dumps(s["Action"])
    }
    prefix = {"StringLike": {"s3:prefix": [f"{resources.ARCHIVE_PREFIX}*"]}}
    assert s3 == {
        (json.dumps(["s3:GetObject", "s3:PutObject"]), json.dumps(under_prefix), "null"),
        (json.dumps("s3:ListBucket"), json.dumps(archive), json.dumps(prefix)),
    }


def test_each_function_reads_only_its_own_kind_of_key(synthesized: Synthesized) -> None:
    for name, secrets in (("collect", ["Write keys"]), ("leads", ["Read keys", "Admin keys"])):
        (statement,) = [
            s for s in policy_statements(synthesized, name) if "secretsmanager:GetSecretValue" in s["Action"]
        ]
        granted = (
            statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        )
        assert sorted(map(json.dumps, granted)) == sorted(
            json.dumps({"Ref": secret_id(synthesized, secret)}) for secret in secrets
        )
    for name in ("score", "decay", "notify", "purge"):
        assert not {
            action for action in policy_actions(synthesized, name) if action.startswith("secretsmanager:")
        }


def test_table_access_names_the_indexes_each_function_queries(synthesized: Synthesized) -> None:
    by_account, by_band, by_merge = (index.name for index in LEADS_TABLE.indexes)
    for name, indexes in (
        ("leads", [by_account, by_band, by_merge]),
        ("score", []),
        ("decay", [by_band]),
        ("purge", []),
    ):
        (statement,) = [
            s
            for s in policy_statements(synthesized, name)
            if any(a.startswith("dynamodb:") for a in s["Action"])
        ]
        arns = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        assert [arn["Fn::Join"][1][1] for arn in arns[1:]] == [f"/index/{index}" for index in indexes]


# Outputs


def test_the_outputs_name_what_an_operator_needs(synthesized: Synthesized) -> None:
    assert {
        "ApiUrl",
        "AlertTopicArn",
        "WriteKeysSecretName",
        "ReadKeysSecretName",
        "AdminKeysSecretName",
        "TableName",
        "ArchiveBucketName",
        "DeadLetterQueueUrl",
        "AlertFailuresQueueUrl",
    } <= set(synthesized.outputs)
    assert synthesized.outputs["ApiUrl"]["Value"] == {
        "Fn::GetAtt": [only(synthesized, "AWS::ApiGatewayV2::Api"), "ApiEndpoint"]
    }


# cdk-nag

ACKNOWLEDGED = {
    "AwsSolutions-L1",
    "AwsSolutions-IAM5",
    "AwsSolutions-APIG4",
    "AwsSolutions-SMG4",
    "AwsSolutions-SQS3",
}


@pytest.mark.parametrize("which", ["synthesized", "customized"])
def test_cdk_nag_passes_and_every_acknowledgment_has_a_reason(
    which: str, request: pytest.FixtureRequest
) -> None:
    synthesis: Synthesized = request.getfixturevalue(which)
    (report,) = [
        report
        for report in synthesis.validation_report()["pluginReports"]
        if report["pluginName"] == "AwsSolutions"
    ]
    assert (report["conclusion"], report["violations"]) == ("success", [])
    acknowledged = report["suppressedViolations"]
    assert {finding["ruleName"].split("[")[0] for finding in acknowledged} == ACKNOWLEDGED
    assert all(len(finding["reason"]) > 60 for finding in acknowledged)
    wildcards = {finding["ruleName"] for finding in acknowledged if "IAM5" in finding["ruleName"]}
    work = logged_bucket_id(synthesis, "rescore/")
    (job,) = synthesis.of_type("AWS::StepFunctions::StateMachine")
    execution = (
        "arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:"
        f'{{"Fn::Select":[6,{{"Fn::Split":[":",{{"Ref":"{job}"}}]}}]}}'
    )
    assert wildcards == {
        "AwsSolutions-IAM5[Resource::*]",
        f"AwsSolutions-IAM5[Resource::<{archive_id(synthesis)}.Arn>/{resources.ARCHIVE_PREFIX}*]",
        # The re-scoring job: its workers' objects, the maps' child executions and result files.
        f"AwsSolutions-IAM5[Resource::<{work}.Arn>/runs/*]",
        f"AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:s3:::<{work}>/*]",
        f"AwsSolutions-IAM5[Resource::{execution}:*]",
        f"AwsSolutions-IAM5[Resource::{execution}/*:*]",
        *(
            f"AwsSolutions-IAM5[Resource::<{function_named(synthesis, name)[0]}.Arn>:*]"
            for name in RESCORE_WORKERS
        ),
    }


def test_an_unacknowledged_finding_fails_synthesis(tmp_path: Path) -> None:
    from aws_cdk import App
    from aws_cdk import aws_sqs as sqs

    app = App(outdir=str(tmp_path), context=cdk_json_context(), builtin_cloud_formation_validation=False)
    sqs.Queue(build(app), "QueueWithoutDeadLetters", enforce_ssl=True)
    with pytest.raises(Exception, match=r"AwsSolutions-SQS3"):
        app.synth()


# The layer


def layer_dir(synthesis: Synthesized) -> Path:
    (layer_id,) = synthesis.of_type("AWS::Lambda::LayerVersion")
    return synthesis.asset_dir(layer_id)


def test_the_layer_holds_arm64_wheels_the_package_and_the_rules(synthesized: Synthesized) -> None:
    layer = layer_dir(synthesized)
    assert list((layer / "python" / "pydantic_core").glob("_pydantic_core*aarch64*.so"))
    assert not list((layer / "python").glob("boto3*"))
    assert {pyc.name.split(".")[-2] for pyc in layer.rglob("*.pyc")} <= {"cpython-313"}  # never the dev one's
    assert (layer / "rules.yaml").read_text() == DEFAULT_RULES_FILE.read_text()
    package = layer / "python" / "leadscore"
    assert (package / "resources.py").read_text() == (REPO_ROOT / "shared/leadscore/resources.py").read_text()
    assert not (package / "local").exists()
    assert not list(package.glob("cli*.py"))


LAMBDA_PYTHON = layer_build.lambda_python()
UNCHECKED_HASH = 0b01  # PEP 552 flags: hash-based, source not checked


def runtime_pyc(source: Path) -> Path:
    return source.parent / "__pycache__" / f"{source.stem}.cpython-313.pyc"


@pytest.mark.skipif(
    LAMBDA_PYTHON is None,
    reason="no Python 3.13 on this machine: the layer and functions are built without bytecode "
    "(infra/layer.py warns; see docs/deploy.md)",
)
def test_the_layer_and_the_functions_ship_bytecode_for_the_runtimes_python(synthesized: Synthesized) -> None:
    assert LAMBDA_PYTHON is not None
    python = layer_dir(synthesized) / "python"
    function_dirs = [synthesized.asset_dir(function_named(synthesized, name)[0]) for name in FUNCTIONS]
    packages = ["leadscore", "pydantic", "pydantic_core", "aws_lambda_powertools", "yaml"]
    assert all(runtime_pyc(python / package / "__init__.py").is_file() for package in packages)
    assert all(runtime_pyc(code / "handler.py").is_file() for code in function_dirs)
    sources = [*python.rglob("*.py"), *(source for code in function_dirs for source in code.rglob("*.py"))]
    assert [source for source in sources if not runtime_pyc(source).is_file()] == []
    for source in [python / "leadscore" / "resources.py", python / "pydantic" / "main.py"]:
        header = runtime_pyc(source).read_bytes()[:8]
        assert header[:4].hex() == LAMBDA_PYTHON.magic
        assert int.from_bytes(header[4:8], "little") == UNCHECKED_HASH


def test_the_rules_context_value_replaces_the_rule_file(customized: Synthesized, custom_rules: Path) -> None:
    assert (layer_dir(customized) / "rules.yaml").read_text() == custom_rules.read_text()


def test_the_layer_is_rebuilt_when_the_rules_change_but_pip_only_when_dependencies_do(tmp_path: Path) -> None:
    requirements = layer_build.runtime_requirements()
    dependencies = layer_build.dependencies_fingerprint(requirements)
    rules = tmp_path / "rules.yaml"
    rules.write_text("a")
    first = layer_build.layer_fingerprint(dependencies, rules)
    rules.write_text("b")
    assert layer_build.layer_fingerprint(dependencies, rules) != first
    assert layer_build.dependencies_fingerprint([*requirements, "extra"]) != dependencies
    assert layer_build.dependencies_fingerprint(requirements, bytecode="cpython-313 f30d0d0a") != dependencies
    assert not {layer_build._distribution(requirement) for requirement in requirements} & {
        "boto3",
        "botocore",
    }


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
    roots: set[str] = set()
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


# The HTTP front door's deploy settings: allowed origins and throttling (context values), and `$default`

DEPLOY_ORIGINS = ("https://www.example.com", "https://app.example.com")


@pytest.fixture(scope="module")
def front_door(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    """The app with the front door's context values set."""
    return synthesize(
        tmp_path_factory.mktemp("cdk.out.front-door"),
        allowedOrigins=" , ".join(DEPLOY_ORIGINS),
        throttleRate="50",
        throttleBurst="100",
    )


def cors_of(synthesis: Synthesized) -> dict[str, Any]:
    (api,) = synthesis.of_type("AWS::ApiGatewayV2::Api").values()
    cors: dict[str, Any] = api["Properties"]["CorsConfiguration"]
    return cors


def test_cors_is_the_resource_tables_with_any_origin_by_default(synthesized: Synthesized) -> None:
    assert cors_of(synthesized) == {
        "AllowOrigins": list(resources.DEFAULT_ALLOWED_ORIGINS),
        "AllowMethods": list(resources.CORS_ALLOW_METHODS),
        "AllowHeaders": list(resources.CORS_ALLOW_HEADERS),
        "MaxAge": resources.CORS_MAX_AGE_SECONDS,
    }


def test_the_allowed_origins_context_value_lists_the_origins(front_door: Synthesized) -> None:
    cors = cors_of(front_door)
    assert cors["AllowOrigins"] == list(DEPLOY_ORIGINS)
    assert (cors["AllowMethods"], cors["AllowHeaders"]) == (
        list(resources.CORS_ALLOW_METHODS),
        list(resources.CORS_ALLOW_HEADERS),
    )


def test_a_default_route_sends_everything_else_to_the_function_that_answers_json_404s(
    synthesized: Synthesized,
) -> None:
    (default,) = [
        body
        for body in synthesized.of_type("AWS::ApiGatewayV2::Route").values()
        if body["Properties"]["RouteKey"] == "$default"
    ]
    integration_id = default["Properties"]["Target"]["Fn::Join"][1][1]["Ref"]
    integration = synthesized.resources[integration_id]["Properties"]
    collect_id, _ = function_named(synthesized, DEFAULT_ROUTE_FUNCTION)
    assert integration["IntegrationUri"]["Fn::GetAtt"][0] == collect_id
    # API Gateway may invoke collect for whatever path and method the $default route takes.
    assert [
        body
        for body in synthesized.of_type("AWS::Lambda::Permission").values()
        if body["Properties"]["FunctionName"]["Fn::GetAtt"][0] == collect_id
        and body["Properties"]["SourceArn"]["Fn::Join"][1][-1] == "/*/*"
    ]


def test_throttling_defaults_to_the_shared_settings_and_follows_the_context_values(
    synthesized: Synthesized, front_door: Synthesized
) -> None:
    for synthesis, (rate, burst) in (
        (synthesized, (THROTTLE_RATE_PER_SECOND, THROTTLE_BURST)),
        (front_door, (50, 100)),
    ):
        (stage,) = synthesis.of_type("AWS::ApiGatewayV2::Stage").values()
        settings = stage["Properties"]["DefaultRouteSettings"]
        assert (settings["ThrottlingRateLimit"], settings["ThrottlingBurstLimit"]) == (rate, burst)


def test_the_front_door_settings_keep_cdk_nag_clean(front_door: Synthesized) -> None:
    (report,) = [
        report
        for report in front_door.validation_report()["pluginReports"]
        if report["pluginName"] == "AwsSolutions"
    ]
    assert (report["conclusion"], report["violations"]) == ("success", [])


@pytest.mark.parametrize(
    ("context", "message"),
    [
        ({"allowedOrigins": "https://www.example.com/"}, "allowed origin"),
        ({"allowedOrigins": "*.example.com"}, "allowed origin"),
        ({"throttleRate": "fast"}, "throttling rate"),
        ({"throttleBurst": "0"}, "throttling burst"),
    ],
)
def test_a_bad_front_door_setting_stops_the_app_naming_it(
    tmp_path: Path, context: dict[str, str], message: str
) -> None:
    from aws_cdk import App

    app = App(outdir=str(tmp_path), context={**cdk_json_context(), **context})
    with pytest.raises(ValueError, match=message):
        build(app)


# Monitoring


def output_ref(synthesis: Synthesized, name: str) -> str:
    """The logical id an output's value refers to."""
    ref: str = synthesis.outputs[name]["Value"]["Ref"]
    return ref


def alarm_metrics(synthesis: Synthesized) -> dict[str, tuple[str, str, dict[str, Any], int]]:
    """Each alarm by name: the namespace, name, dimensions and period of the one metric it watches."""
    found = {}
    for body in synthesis.of_type("AWS::CloudWatch::Alarm").values():
        properties = body["Properties"]
        ((stat,),) = [
            [query["MetricStat"] for query in properties["Metrics"] if query.get("ReturnData", True)]
        ]
        metric = stat["Metric"]
        dimensions = {d["Name"]: d["Value"] for d in metric.get("Dimensions", [])}
        found[properties["AlarmName"]] = (
            metric["Namespace"],
            metric["MetricName"],
            dimensions,
            stat["Period"],
        )
    return found


def test_every_alarm_notifies_the_operations_topic_and_only_it(synthesized: Synthesized) -> None:
    operations = output_ref(synthesized, "OperationsTopicArn")
    alerts = only(synthesized, "AWS::SNS::Topic", DisplayName="Lead alerts")
    assert operations != alerts
    alarms = synthesized.of_type("AWS::CloudWatch::Alarm")
    assert alarms
    for body in alarms.values():
        properties = body["Properties"]
        assert properties["ActionsEnabled"] is True
        assert properties["AlarmActions"] == [{"Ref": operations}], properties["AlarmName"]


def test_each_alarm_watches_what_it_is_for(synthesized: Synthesized) -> None:
    function = {name: {"FunctionName": {"Ref": function_named(synthesized, name)[0]}} for name in FUNCTIONS}
    queue_name = {
        output: {"QueueName": {"Fn::GetAtt": [output_ref(synthesized, output), "QueueName"]}}
        for output in ("EventQueueUrl", "DeadLetterQueueUrl", "AlertFailuresQueueUrl")
    }
    api = {"ApiId": {"Ref": only(synthesized, "AWS::ApiGatewayV2::Api")}, "Stage": "$default"}
    alerts_topic = {
        "TopicName": {
            "Fn::GetAtt": [only(synthesized, "AWS::SNS::Topic", DisplayName="Lead alerts"), "TopicName"]
        }
    }
    five_minutes = 300
    expected = {
        "LeadScoring-Events-DLQ-Queue-Message-Count-Max-DeadLetters": (
            "AWS/SQS",
            "ApproximateNumberOfMessagesVisible",
            queue_name["DeadLetterQueueUrl"],
            five_minutes,
        ),
        "LeadScoring-StreamFailures-Queue-Message-Count-Max-DeadLetters": (
            "AWS/SQS",
            "ApproximateNumberOfMessagesVisible",
            queue_name["AlertFailuresQueueUrl"],
            five_minutes,
        ),
        "LeadScoring-Events-Queue-Message-Age-Max-Lag": (
            "AWS/SQS",
            "ApproximateAgeOfOldestMessage",
            queue_name["EventQueueUrl"],
            five_minutes,
        ),
        "LeadScoring-Notify-Iterator-Age-Max-Lag": (
            "AWS/Lambda",
            "IteratorAge",
            function["notify"],
            five_minutes,
        ),
        "LeadScoring-Api-Fault-Count-Errors": ("AWS/ApiGateway", "5xx", api, five_minutes),
        "LeadScoring-Alerts-Topic-Notifications-Failed-Failed": (
            "AWS/SNS",
            "NumberOfNotificationsFailed",
            alerts_topic,
            five_minutes,
        ),
        # The decay schedule is every 15 minutes: late after three of them without an invocation.
        "LeadScoring-Decay-Usage-Count-Late": ("AWS/Lambda", "Invocations", function["decay"], 3 * 15 * 60),
    }
    for name in FUNCTIONS:
        expected[f"LeadScoring-{name.title()}-Fault-Count-Errors"] = (
            "AWS/Lambda",
            "Errors",
            function[name],
            five_minutes,
        )
        expected[f"LeadScoring-{name.title()}-Throttled-Count-Throttles"] = (
            "AWS/Lambda",
            "Throttles",
            function[name],
            five_minutes,
        )
    assert alarm_metrics(synthesized) == expected


def test_alarm_thresholds_say_when_to_act(synthesized: Synthesized) -> None:
    def alarm(name: str) -> dict[str, Any]:
        (found,) = [
            body["Properties"]
            for body in synthesized.of_type("AWS::CloudWatch::Alarm").values()
            if body["Properties"]["AlarmName"] == name
        ]
        return found

    for dead_letters in ("Events-DLQ", "StreamFailures"):
        found = alarm(f"LeadScoring-{dead_letters}-Queue-Message-Count-Max-DeadLetters")
        assert (found["ComparisonOperator"], found["Threshold"]) == ("GreaterThanThreshold", 0)
    lag = alarm("LeadScoring-Events-Queue-Message-Age-Max-Lag")
    assert (lag["ComparisonOperator"], lag["Threshold"]) == ("GreaterThanThreshold", 300)  # seconds
    stream = alarm("LeadScoring-Notify-Iterator-Age-Max-Lag")
    assert (stream["ComparisonOperator"], stream["Threshold"]) == ("GreaterThanThreshold", 300_000)  # ms
    late = alarm("LeadScoring-Decay-Usage-Count-Late")
    assert (late["ComparisonOperator"], late["Threshold"], late["TreatMissingData"]) == (
        "LessThanThreshold",
        1,
        "breaching",  # no invocation at all is exactly what this alarm is for
    )


def test_the_decay_alarm_follows_the_schedule_and_ops_email_subscribes(customized: Synthesized) -> None:
    (_, _, _, period) = alarm_metrics(customized)["LeadScoring-Decay-Usage-Count-Late"]
    assert period == 3 * 5 * 60  # DECAY_SCHEDULE is every 5 minutes there
    customized.template.has_resource_properties(
        "AWS::SNS::Subscription",
        {
            "Protocol": "email",
            "Endpoint": OPS_EMAIL,
            "TopicArn": {"Ref": output_ref(customized, "OperationsTopicArn")},
        },
    )


def test_one_dashboard_shows_ingest_errors_lag_alerts_and_cost_drivers(synthesized: Synthesized) -> None:
    ((_, dashboard),) = synthesized.of_type("AWS::CloudWatch::Dashboard").items()
    body = json.dumps(dashboard["Properties"]["DashboardBody"])
    for metric in resources.METRICS:
        assert f'\\"{resources.METRICS_NAMESPACE}\\",\\"{metric.name}\\"' in body, metric.name
        for value in metric.values:
            assert f'\\"{metric.dimension}\\",\\"{value}\\"' in body, (metric.name, value)
    for lag in ("ApproximateAgeOfOldestMessage", "IteratorAge"):
        assert lag in body
    for cost in ("ConsumedWriteCapacityUnits", "ConsumedReadCapacityUnits", "Invocations"):
        assert cost in body


@pytest.mark.parametrize(
    ("expression", "minutes"),
    [("rate(15 minutes)", 15), ("rate(1 minute)", 1), ("rate(2 hours)", 120), ("rate(1 day)", 1440)],
)
def test_a_rate_schedule_has_a_period(expression: str, minutes: int) -> None:
    period = schedule_period(expression)
    assert period is not None
    assert period.to_minutes() == minutes


def test_retention_days_reach_the_functions_that_write_lead_items(customized: Synthesized) -> None:
    for name, spec in FUNCTIONS.items():
        variables = function_named(customized, name)[1]["Environment"]["Variables"]
        if resources.ENV_RETENTION_DAYS in spec.env:
            assert variables[resources.ENV_RETENTION_DAYS] == str(RETENTION_DAYS), name
    assert {name for name, spec in FUNCTIONS.items() if resources.ENV_RETENTION_DAYS in spec.env} == {
        "score",
        "decay",
        "leads",
        "rescore_shard",
        "rescore_catchup",
    }


@pytest.mark.parametrize(("value", "days"), [(None, 0), ("", 0), ("0", 0), ("90", 90), (365, 365)])
def test_retention_days_are_whole_days(value: object, days: int) -> None:
    assert parse_retention_days(value) == days


@pytest.mark.parametrize("value", ["ninety", "-1", "1.5"])
def test_a_bad_retention_stops_the_deploy_naming_it(value: str) -> None:
    with pytest.raises(ValueError, match="retentionDays"):
        parse_retention_days(value)


def test_a_cron_schedule_is_late_after_a_day() -> None:
    assert schedule_period("cron(0 * * * ? *)") is None
    assert decay_late_after("cron(0 * * * ? *)").to_hours() == 24
    assert decay_late_after("rate(10 minutes)").to_minutes() == 30
