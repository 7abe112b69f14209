"""The service's one stack: ingestion, scoring, decay, alerts and look-ups, wired as DESIGN.md fixes them."""

from __future__ import annotations

from pathlib import Path

from aws_cdk import CfnOutput, Duration, RemovalPolicy, Stack
from aws_cdk import aws_apigatewayv2 as apigw
from aws_cdk import aws_apigatewayv2_integrations as integrations
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as sources
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.functions import service_function
from infra.nag import Findings, acknowledge_findings
from leadscore import resources
from leadscore.resources import FUNCTIONS, LEADS_TABLE, ROUTES, SCORE_QUEUE

DAYS_IN_ARCHIVE_BEFORE_INFREQUENT_ACCESS = 30


class LeadScoringStack(Stack):
    """Everything the service runs on; names come from ``leadscore.resources``, never typed twice."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        layer_dir: Path,
        alert_email: str | None = None,
        decay_schedule: str = resources.DECAY_SCHEDULE,
        description: str | None = None,
    ) -> None:
        super().__init__(scope, construct_id, description=description)
        table = self._leads_table()
        archive = self._archive_bucket()
        queue, dead_letters = self._score_queue()
        topic = self._alert_topic(alert_email)
        write_keys, read_keys = (
            self._key_secret("WriteKeys", "Write keys: send events to the tracking endpoint"),
            self._key_secret("ReadKeys", "Read keys: look up lead and account scores"),
        )
        layer = lambda_.LayerVersion(
            self,
            "SharedLayer",
            code=lambda_.Code.from_asset(str(layer_dir)),
            compatible_runtimes=[lambda_.Runtime.PYTHON_3_13],
            compatible_architectures=[lambda_.Architecture.ARM_64],
            description="leadscore package, its dependencies (arm64 wheels) and the rule file",
        )
        environment = {
            resources.ENV_TABLE_NAME: table.table_name,
            resources.ENV_QUEUE_URL: queue.queue_url,
            resources.ENV_ARCHIVE_BUCKET: archive.bucket_name,
            resources.ENV_TOPIC_ARN: topic.topic_arn,
            resources.ENV_WRITE_KEYS_SECRET: write_keys.secret_arn,
            resources.ENV_READ_KEYS_SECRET: read_keys.secret_arn,
            resources.ENV_RULES_PATH: resources.LAYER_RULES_PATH,
        }
        functions = {
            name: service_function(self, spec, layer=layer, environment=environment)
            for name, spec in FUNCTIONS.items()
        }

        # Least privilege: each function gets what its handler uses, nothing else.
        queue.grant_send_messages(functions["collect"])
        archive_objects = archive.arn_for_objects(f"{resources.ARCHIVE_PREFIX}*")
        functions["collect"].add_to_role_policy(
            iam.PolicyStatement(actions=["s3:PutObject"], resources=[archive_objects])
        )
        write_keys.grant_read(functions["collect"])
        read_keys.grant_read(functions["leads"])
        by_account, by_decay_due = (index.name for index in LEADS_TABLE.indexes)
        _grant_table(functions["leads"], table, ["GetItem", "Query"], indexes=[by_account])
        _grant_table(functions["score"], table, ["GetItem", "BatchGetItem", "PutItem"], indexes=[])
        _grant_table(functions["decay"], table, ["GetItem", "PutItem", "Query"], indexes=[by_decay_due])
        topic.grant_publish(functions["notify"])

        functions["score"].add_event_source(
            sources.SqsEventSource(
                queue,
                batch_size=SCORE_QUEUE.batch_size,
                max_batching_window=Duration.seconds(SCORE_QUEUE.max_batching_window_seconds),
                report_batch_item_failures=True,
            )
        )
        stream_failures = sqs.Queue(
            self,
            "NotifyFailures",
            retention_period=Duration.days(14),
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
        )
        functions["notify"].add_event_source(
            sources.DynamoEventSource(
                table,
                starting_position=lambda_.StartingPosition.LATEST,
                batch_size=resources.STREAM_BATCH_SIZE,
                retry_attempts=resources.STREAM_MAX_RETRIES,
                bisect_batch_on_error=True,
                report_batch_item_failures=True,
                on_failure=sources.SqsDlq(stream_failures),
            )
        )
        events.Rule(
            self,
            "DecaySchedule",
            description="Re-evaluate the leads whose band decay is due",
            schedule=events.Schedule.expression(decay_schedule),
            targets=[targets.LambdaFunction(functions["decay"], retry_attempts=2)],
        )
        api = self._http_api(functions)
        acknowledge_findings(
            self,
            Findings(
                functions=functions,
                api=api,
                archive=archive,
                secrets=(write_keys, read_keys),
                failure_destination=stream_failures,
            ),
        )

        outputs = {
            "ApiUrl": (api.api_endpoint, "Point trackers and Segment SDKs here"),
            "AlertTopicArn": (topic.topic_arn, "Subscribe e-mail, SQS or HTTPS endpoints here"),
            "WriteKeysSecret": (write_keys.secret_name, "Holds the trackers' write key"),
            "ReadKeysSecret": (read_keys.secret_name, "Holds the read key for look-ups"),
            "TableName": (table.table_name, "One item per lead"),
            "ArchiveBucketName": (archive.bucket_name, "Every accepted request, raw"),
            "DeadLetterQueueUrl": (dead_letters.queue_url, "Events that failed scoring three times"),
        }
        for name, (value, meaning) in outputs.items():
            CfnOutput(self, name, value=value, description=meaning)

    def _leads_table(self) -> dynamodb.Table:
        def attribute(name: str) -> dynamodb.Attribute:
            return dynamodb.Attribute(name=name, type=dynamodb.AttributeType.STRING)

        table = dynamodb.Table(
            self,
            "LeadsTable",
            partition_key=attribute(LEADS_TABLE.partition_key),
            sort_key=attribute(LEADS_TABLE.sort_key),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            stream=dynamodb.StreamViewType[LEADS_TABLE.stream_view],
            encryption=dynamodb.TableEncryption.AWS_MANAGED,
            removal_policy=RemovalPolicy.RETAIN,
        )
        for index in LEADS_TABLE.indexes:
            table.add_global_secondary_index(
                index_name=index.name,
                partition_key=attribute(index.partition_key),
                sort_key=attribute(index.sort_key),
                projection_type=dynamodb.ProjectionType[index.projection],
            )
        return table

    def _archive_bucket(self) -> s3.Bucket:
        access_logs = s3.Bucket(
            self,
            "ArchiveAccessLogs",
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            encryption=s3.BucketEncryption.S3_MANAGED,
            enforce_ssl=True,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_PREFERRED,
            lifecycle_rules=[s3.LifecycleRule(expiration=Duration.days(365))],
            removal_policy=RemovalPolicy.RETAIN,
        )
        return s3.Bucket(
            self,
            "EventArchive",
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            encryption=s3.BucketEncryption.S3_MANAGED,
            enforce_ssl=True,
            versioned=False,
            server_access_logs_bucket=access_logs,
            server_access_logs_prefix="archive/",
            lifecycle_rules=[
                s3.LifecycleRule(
                    transitions=[
                        s3.Transition(
                            storage_class=s3.StorageClass.INFREQUENT_ACCESS,
                            transition_after=Duration.days(DAYS_IN_ARCHIVE_BEFORE_INFREQUENT_ACCESS),
                        )
                    ]
                )
            ],
            removal_policy=RemovalPolicy.RETAIN,
        )

    def _score_queue(self) -> tuple[sqs.Queue, sqs.Queue]:
        dead_letters = sqs.Queue(
            self,
            "ScoreDeadLetters",
            retention_period=Duration.days(SCORE_QUEUE.retention_days),
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
        )
        queue = sqs.Queue(
            self,
            "ScoreQueue",
            visibility_timeout=Duration.seconds(SCORE_QUEUE.visibility_timeout_seconds),
            retention_period=Duration.days(SCORE_QUEUE.retention_days),
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            dead_letter_queue=sqs.DeadLetterQueue(
                queue=dead_letters, max_receive_count=SCORE_QUEUE.max_receive_count
            ),
        )
        return queue, dead_letters

    def _alert_topic(self, alert_email: str | None) -> sns.Topic:
        topic = sns.Topic(
            self,
            "AlertTopic",
            display_name="Lead alerts",
            master_key=kms.Alias.from_alias_name(self, "SnsManagedKey", "alias/aws/sns"),
            enforce_ssl=True,
        )
        if alert_email:
            topic.add_subscription(subscriptions.EmailSubscription(alert_email))
        return topic

    def _key_secret(self, construct_id: str, description: str) -> secretsmanager.Secret:
        return secretsmanager.Secret(
            self,
            construct_id,
            description=description,
            generate_secret_string=secretsmanager.SecretStringGenerator(
                secret_string_template="{}",
                generate_string_key=resources.GENERATED_KEY_FIELD,
                exclude_punctuation=True,
                password_length=40,
            ),
        )

    def _http_api(self, functions: dict[str, lambda_.Function]) -> apigw.HttpApi:
        api = apigw.HttpApi(
            self,
            "TrackingApi",
            description="Segment-compatible tracking endpoint and score look-ups",
            cors_preflight=apigw.CorsPreflightOptions(
                allow_origins=["*"],
                allow_methods=[apigw.CorsHttpMethod.POST, apigw.CorsHttpMethod.GET],
                allow_headers=["authorization", "content-type", "content-encoding"],
            ),
        )
        integration_of = {
            name: integrations.HttpLambdaIntegration(f"{name.title()}Integration", function)
            for name, function in functions.items()
            if any(route.function == name for route in ROUTES)
        }
        for route in ROUTES:
            api.add_routes(
                path=route.path,
                methods=[apigw.HttpMethod[route.method]],
                integration=integration_of[route.function],
            )
        access_logs = logs.LogGroup(
            self,
            "ApiAccessLogs",
            retention=logs.RetentionDays.ONE_MONTH,
            removal_policy=RemovalPolicy.DESTROY,
        )
        stage = api.default_stage.node.default_child  # type: ignore[union-attr]
        assert isinstance(stage, apigw.CfnStage)
        stage.access_log_settings = apigw.CfnStage.AccessLogSettingsProperty(
            destination_arn=access_logs.log_group_arn,
            format=(
                '{"requestId":"$context.requestId","ip":"$context.identity.sourceIp",'
                '"route":"$context.routeKey","status":"$context.status",'
                '"latency":"$context.responseLatency","error":"$context.integrationErrorMessage"}'
            ),
        )
        stage.default_route_settings = apigw.CfnStage.RouteSettingsProperty(
            throttling_burst_limit=1000, throttling_rate_limit=500
        )
        return api


def _grant_table(
    function: lambda_.Function, table: dynamodb.Table, actions: list[str], indexes: list[str]
) -> None:
    """Exactly the DynamoDB calls a function's repository makes, on the table and the indexes it queries."""
    function.add_to_role_policy(
        iam.PolicyStatement(
            actions=[f"dynamodb:{action}" for action in actions],
            resources=[table.table_arn, *(f"{table.table_arn}/index/{name}" for name in indexes)],
        )
    )
