"""Alerts: the notify function reads the table's stream and publishes new signals to an SNS topic."""

from __future__ import annotations

from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as sources
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from constructs import Construct

from infra.constructs.ingest import private_queue
from infra.nag import acknowledge, acknowledge_on_role
from leadscore.resources import SIGNALLING_WRITES, STREAM_BATCH_SIZE, STREAM_MAX_RETRIES

# The AWS-managed SNS key. Its key policy lets every principal of the account use it through SNS, so a
# publisher needs no KMS permission (a customer-managed key would need kms:GenerateDataKey* grants).
AWS_MANAGED_SNS_KEY = "alias/aws/sns"


class Alerts(Construct):
    """The alert topic (encrypted at rest, TLS only), an e-mail subscription when ``alert_email`` is given,
    and the stream reader that feeds it."""

    def __init__(self, scope: Construct, construct_id: str, *, alert_email: str | None = None) -> None:
        super().__init__(scope, construct_id)
        self.topic = sns.Topic(self, "Topic", display_name="Lead alerts", enforce_ssl=True)
        topic = self.topic.node.default_child
        assert isinstance(topic, sns.CfnTopic)
        topic.kms_master_key_id = AWS_MANAGED_SNS_KEY
        if alert_email:
            self.topic.add_subscription(subscriptions.EmailSubscription(alert_email))
        self.stream_failures = private_queue(self, "StreamFailures")
        acknowledge(
            self.stream_failures,
            "SQS3",
            "This queue is itself a dead-letter destination: it receives the stream records notify failed "
            "on after its retries, for an operator to inspect.",
        )

    def grant_publish(self, function: lambda_.IFunction) -> None:
        self.topic.grant_publish(function)

    def listen_to(self, table: dynamodb.ITable, function: lambda_.IFunction) -> None:
        """``function`` reads the table's stream from now on, the writes that raised a signal only: a failing
        batch is split in two until the bad record is alone, retried ``STREAM_MAX_RETRIES`` times, then
        sent to ``stream_failures``."""
        function.add_event_source(
            sources.DynamoEventSource(
                table,
                starting_position=lambda_.StartingPosition.LATEST,
                batch_size=STREAM_BATCH_SIZE,
                retry_attempts=STREAM_MAX_RETRIES,
                bisect_batch_on_error=True,
                report_batch_item_failures=True,
                on_failure=sources.SqsDlq(self.stream_failures),
                filters=[lambda_.FilterCriteria.filter(SIGNALLING_WRITES)],
            )
        )
        acknowledge_on_role(
            function,
            "IAM5[Resource::*]",
            "A DynamoDB stream event source needs dynamodb:ListStreams, which supports no resource-level "
            "permission; it is the only action granted on '*' in the stack, as tests/infra asserts.",
        )
