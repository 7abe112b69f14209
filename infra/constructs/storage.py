"""Where the service keeps data: the leads table (one item per lead) and the raw request archive."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3
from constructs import Construct

from infra.nag import acknowledge_on_role, attribute_token
from leadscore.resources import ARCHIVE_PREFIX, LEADS_TABLE, TTL_ATTRIBUTE, Key

ARCHIVE_DAYS_BEFORE_INFREQUENT_ACCESS = 30
ARCHIVE_DAYS_BEFORE_GLACIER = 180
ACCESS_LOG_DAYS = 365


def _attribute(key: Key) -> dynamodb.Attribute:
    kind = dynamodb.AttributeType.NUMBER if key.type == "N" else dynamodb.AttributeType.STRING
    return dynamodb.Attribute(name=key.name, type=kind)


class LeadsTable(Construct):
    """``LEADS_TABLE``: on demand, point-in-time recovery, a stream of new and old images, its indexes, and
    TTL on ``TTL_ATTRIBUTE`` (only lead items carry it, and only with a retention: see docs/operations.md).

    Kept when the stack is deleted: it holds every lead's state.
    """

    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        self.table = dynamodb.Table(
            self,
            "Table",
            partition_key=_attribute(LEADS_TABLE.partition_key),
            sort_key=_attribute(LEADS_TABLE.sort_key),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            stream=dynamodb.StreamViewType[LEADS_TABLE.stream_view],
            encryption=dynamodb.TableEncryption.AWS_MANAGED,
            removal_policy=RemovalPolicy.RETAIN,
            time_to_live_attribute=TTL_ATTRIBUTE,
        )
        for index in LEADS_TABLE.indexes:
            self.table.add_global_secondary_index(
                index_name=index.name,
                partition_key=_attribute(index.partition_key),
                sort_key=_attribute(index.sort_key),
                projection_type=dynamodb.ProjectionType[index.projection],
                non_key_attributes=list(index.non_key_attributes) or None,
            )

    def grant_calls(
        self, grantee: iam.IGrantable, actions: Sequence[str], indexes: Sequence[str] = ()
    ) -> None:
        """Exactly the DynamoDB calls a function's repository makes, on the table and the indexes it uses."""
        unknown = set(indexes) - {index.name for index in LEADS_TABLE.indexes}
        if unknown:
            raise ValueError(f"no such index: {sorted(unknown)}")
        iam.Grant.add_to_principal(
            grantee=grantee,
            actions=[f"dynamodb:{action}" for action in actions],
            resource_arns=[
                self.table.table_arn,
                *(f"{self.table.table_arn}/index/{name}" for name in indexes),
            ],
        )


def private_bucket(scope: Construct, construct_id: str, **settings: Any) -> s3.Bucket:
    """A bucket of the stack's: private, TLS only, S3-managed encryption, kept when the stack is deleted
    (what it holds outlives a redeploy); ``settings`` add its logs and lifecycle."""
    return s3.Bucket(
        scope,
        construct_id,
        block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
        encryption=s3.BucketEncryption.S3_MANAGED,
        enforce_ssl=True,
        removal_policy=RemovalPolicy.RETAIN,
        **settings,
    )


class EventArchive(Construct):
    """Every accepted event as queued, under ``ARCHIVE_PREFIX``: private, TLS only, S3-managed
    encryption, to cheaper storage classes as it ages, with server access logs in a second bucket.

    Both buckets are kept when the stack is deleted: the archive is what a re-scoring replays.
    """

    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        self.access_logs = private_bucket(
            self, "AccessLogs", lifecycle_rules=[s3.LifecycleRule(expiration=Duration.days(ACCESS_LOG_DAYS))]
        )
        self.bucket = private_bucket(
            self,
            "Bucket",
            server_access_logs_bucket=self.access_logs,
            server_access_logs_prefix="archive/",
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="age-out",
                    transitions=[
                        s3.Transition(
                            storage_class=s3.StorageClass.INFREQUENT_ACCESS,
                            transition_after=Duration.days(ARCHIVE_DAYS_BEFORE_INFREQUENT_ACCESS),
                        ),
                        s3.Transition(
                            storage_class=s3.StorageClass.GLACIER_INSTANT_RETRIEVAL,
                            transition_after=Duration.days(ARCHIVE_DAYS_BEFORE_GLACIER),
                        ),
                    ],
                )
            ],
        )

    def grant_put_raw(self, function: lambda_.IFunction) -> None:
        """Put objects under ``ARCHIVE_PREFIX``, nothing else: no read, no delete, no other prefix."""
        iam.Grant.add_to_principal(
            grantee=function,
            actions=["s3:PutObject"],
            resource_arns=[self.bucket.arn_for_objects(f"{ARCHIVE_PREFIX}*")],
        )
        acknowledge_on_role(
            function,
            f"IAM5[Resource::{attribute_token(self.bucket, 'Arn')}/{ARCHIVE_PREFIX}*]",
            f"Each SQS batch is an object named by its date and message ids under {ARCHIVE_PREFIX}, so the "
            "grant names the prefix; it allows s3:PutObject only (no read, list or delete).",
        )

    def grant_rewrite_raw(self, function: lambda_.IFunction) -> None:
        """List, read and rewrite objects under ``ARCHIVE_PREFIX`` (erasure's purge): no delete, no other
        prefix."""
        iam.Grant.add_to_principal(
            grantee=function,
            actions=["s3:ListBucket"],
            resource_arns=[self.bucket.bucket_arn],
            conditions={"StringLike": {"s3:prefix": [f"{ARCHIVE_PREFIX}*"]}},
        )
        iam.Grant.add_to_principal(
            grantee=function,
            actions=["s3:GetObject", "s3:PutObject"],
            resource_arns=[self.bucket.arn_for_objects(f"{ARCHIVE_PREFIX}*")],
        )
        acknowledge_on_role(
            function,
            f"IAM5[Resource::{attribute_token(self.bucket, 'Arn')}/{ARCHIVE_PREFIX}*]",
            "The purge reads every archived batch and rewrites those holding an erased person's messages; "
            f"the grant names the {ARCHIVE_PREFIX} prefix and allows no delete.",
        )
