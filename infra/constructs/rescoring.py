"""Re-scoring every lead from the archive (``leadscore rescore --aws``): a Step Functions job of two
Distributed Maps and a last step, and the bucket its shards and results live in for a week.

Map 1 reads the archive's object listing (an S3 ItemReader) and hands its objects in batches to
``rescore_shuffle``, which writes each batch's messages by the shard of their person; map 2 runs
``rescore_shard`` once per shard (``States.ArrayRange``); ``rescore_catchup`` re-joins the leads live
activity reached meanwhile and sums the run up (docs/rescore.md).
"""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import CfnResource, Duration, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from infra.constructs.storage import EventArchive, LeadsTable, private_bucket
from infra.nag import acknowledge, acknowledge_on_role, attribute_token
from leadscore.adapters.rescore_work import RUNS_PREFIX
from leadscore.resources import (
    ARCHIVE_PREFIX,
    LEADS_TABLE,
    RESCORE_OBJECTS_PER_SHUFFLE,
    RESCORE_SHARD_CONCURRENCY,
    RESCORE_SHUFFLE_CONCURRENCY,
    RESCORE_WORK_DAYS,
)

# What every worker is told about the run: the Pass state "Run" puts it at the top of the state.
RUN_FIELDS = ("run", "started", "shards", "rules_version")
JOB_TIMEOUT = Duration.hours(24)


def _run_fields() -> dict[str, str]:
    return {f"{name}.$": f"$.{name}" for name in RUN_FIELDS}


@dataclass(frozen=True)
class Workers:
    """The job's three functions: map 1's child, map 2's child, the last step."""

    shuffle: lambda_.IFunction
    shard: lambda_.IFunction
    catchup: lambda_.IFunction


class Rescoring(Construct):
    """The work bucket first (the workers' environment names it), then :meth:`run_with` builds the job."""

    def __init__(self, scope: Construct, construct_id: str, *, access_logs: s3.IBucket) -> None:
        super().__init__(scope, construct_id)
        # Its objects expire by themselves; kept with the stack, as a bucket that still holds some cannot be
        # deleted.
        self.work = private_bucket(
            self,
            "Work",
            server_access_logs_bucket=access_logs,
            server_access_logs_prefix="rescore/",
            lifecycle_rules=[s3.LifecycleRule(expiration=Duration.days(RESCORE_WORK_DAYS))],
        )
        self.state_machine: sfn.StateMachine | None = None

    def run_with(self, workers: Workers, *, leads: LeadsTable, archive: EventArchive) -> sfn.StateMachine:
        self._grant(workers, leads=leads, archive=archive)
        shuffle, shard, catchup = workers.shuffle, workers.shard, workers.catchup
        run = sfn.Pass(
            self,
            "Run",
            parameters={
                "run.$": "$$.Execution.Name",
                "started.$": "$$.Execution.StartTime",
                "shards.$": "$.shards",
                "rules_version.$": "$.rules_version",
            },
        )
        shuffled = sfn.DistributedMap(
            self,
            "Shuffle",
            comment="Map 1: the archive's objects, a batch per child, shuffled into shards by person",
            item_reader=sfn.S3ObjectsItemReader(bucket=archive.bucket, prefix=ARCHIVE_PREFIX),
            item_batcher=sfn.ItemBatcher(
                max_items_per_batch=RESCORE_OBJECTS_PER_SHUFFLE, batch_input=_run_fields()
            ),
            max_concurrency=RESCORE_SHUFFLE_CONCURRENCY,
            result_writer_v2=sfn.ResultWriterV2(bucket=self.work, prefix=f"{RUNS_PREFIX}results/shuffle"),
            result_path="$.shuffled",
        )
        shuffled.item_processor(_invoke(self, "ShuffleObjects", shuffle))
        numbered = sfn.Pass(
            self,
            "Shards",
            parameters={"numbers.$": "States.ArrayRange(0, States.MathAdd($.shards, -1), 1)"},
            result_path="$.shard_numbers",
        )
        rebuilt = sfn.DistributedMap(
            self,
            "Rebuild",
            comment="Map 2: each shard's leads rebuilt from their history and written",
            items_path="$.shard_numbers.numbers",
            item_selector={**_run_fields(), "shard.$": "$$.Map.Item.Value"},
            max_concurrency=RESCORE_SHARD_CONCURRENCY,
            result_writer_v2=sfn.ResultWriterV2(bucket=self.work, prefix=f"{RUNS_PREFIX}results/shards"),
            result_path="$.rebuilt",
        )
        rebuilt.item_processor(_invoke(self, "RebuildShard", shard))
        finish = _retried(
            tasks.LambdaInvoke(
                self,
                "CatchUp",
                lambda_function=catchup,
                payload=sfn.TaskInput.from_object(
                    {
                        **_run_fields(),
                        "manifests.$": "States.Array($.shuffled.ResultWriterDetails.Key, "
                        "$.rebuilt.ResultWriterDetails.Key)",
                    }
                ),
                payload_response_only=True,
                retry_on_service_exceptions=True,
            )
        )
        log_group = logs.LogGroup(
            self, "JobLogs", retention=logs.RetentionDays.ONE_MONTH, removal_policy=RemovalPolicy.DESTROY
        )
        self.state_machine = sfn.StateMachine(
            self,
            "Job",
            comment="Re-score every lead from the archive under the deployed rules (leadscore rescore --aws)",
            definition_body=sfn.DefinitionBody.from_chainable(
                run.next(shuffled).next(numbered).next(rebuilt).next(finish)
            ),
            timeout=JOB_TIMEOUT,
            tracing_enabled=True,
            logs=sfn.LogOptions(destination=log_group, level=sfn.LogLevel.ALL, include_execution_data=False),
        )
        self._acknowledge_job_grants(self.state_machine, [shuffle, shard, catchup])
        return self.state_machine

    def _acknowledge_job_grants(self, job: sfn.StateMachine, workers: list[lambda_.IFunction]) -> None:
        """The wildcards of the grants Step Functions' constructs add to the job's role, each named."""
        for worker in workers:
            acknowledge(
                job,
                f"IAM5[Resource::{attribute_token(worker, 'Arn')}:*]",
                "The Lambda task's grant covers the worker's versions and aliases (<arn>:*) as well as "
                "the function: CDK's LambdaInvoke adds it; the job invokes only its three workers.",
            )
        acknowledge(
            job,
            "IAM5[Resource::*]",
            "Tracing (xray:PutTraceSegments, PutTelemetryRecords, GetSamplingRules, GetSamplingTargets) and "
            "execution logging (logs:CreateLogDelivery and the other log-delivery calls) support no "
            "resource-level permissions.",
        )
        acknowledge(
            job,
            f"IAM5[Resource::arn:<AWS::Partition>:s3:::<{_logical_id(self.work)}>/*]",
            "The maps' result writers put each map run's manifest and result files in the work bucket, "
            "under names Step Functions chooses at run time; the bucket holds only re-scoring work.",
        )
        execution = (
            "arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:"
            f'{{"Fn::Select":[6,{{"Fn::Split":[":",{{"Ref":"{_logical_id(job)}"}}]}}]}}'
        )
        for suffix in (":*", "/*:*"):
            acknowledge(
                job,
                f"IAM5[Resource::{execution}{suffix}]",
                "A Distributed Map starts, describes and stops its child executions, named at run time "
                "under this state machine's own executions only (CDK's grant for a Distributed Map).",
            )

    def _grant(self, workers: Workers, *, leads: LeadsTable, archive: EventArchive) -> None:
        """Each worker may make exactly the calls its code makes."""
        shuffle, shard, catchup = workers.shuffle, workers.shard, workers.catchup
        leads.grant_calls(shuffle, ["BatchGetItem"])
        leads.grant_calls(shard, ["BatchGetItem", "PutItem"])
        leads.grant_calls(
            catchup, ["BatchGetItem", "PutItem", "Query"], indexes=[LEADS_TABLE.merge_index.name]
        )
        for function in (shuffle, catchup):
            self._read_archive(function, archive, listing=function is catchup)
        for function in (shuffle, shard, catchup):
            self._use_work(function)

    def _read_archive(self, function: lambda_.IFunction, archive: EventArchive, *, listing: bool) -> None:
        """Read archived batches (and, for the catch-up, list them): no write, no delete."""
        _grant_under(function, archive.bucket, ARCHIVE_PREFIX, ["s3:GetObject"], listing=listing)
        acknowledge_on_role(
            function,
            f"IAM5[Resource::{attribute_token(archive.bucket, 'Arn')}/{ARCHIVE_PREFIX}*]",
            f"A re-score reads every archived batch under {ARCHIVE_PREFIX} (objects named by date and "
            "message ids); the grant allows s3:GetObject only.",
        )

    def _use_work(self, function: lambda_.IFunction) -> None:
        """Read, list and write the runs' objects in the work bucket: no delete (they expire)."""
        _grant_under(function, self.work, RUNS_PREFIX, ["s3:GetObject", "s3:PutObject"], listing=True)
        acknowledge_on_role(
            function,
            f"IAM5[Resource::{attribute_token(self.work, 'Arn')}/{RUNS_PREFIX}*]",
            f"Each run writes and reads its shards, deferred leads and results under {RUNS_PREFIX}<run>/, "
            "named at run time; no delete (the bucket's lifecycle expires them).",
        )


def _grant_under(
    function: lambda_.IFunction, bucket: s3.IBucket, prefix: str, actions: list[str], *, listing: bool
) -> None:
    """``actions`` on the objects under ``prefix``, and, with ``listing``, listing that prefix only."""
    if listing:
        iam.Grant.add_to_principal(
            grantee=function,
            actions=["s3:ListBucket"],
            resource_arns=[bucket.bucket_arn],
            conditions={"StringLike": {"s3:prefix": [f"{prefix}*"]}},
        )
    iam.Grant.add_to_principal(
        grantee=function, actions=actions, resource_arns=[bucket.arn_for_objects(f"{prefix}*")]
    )


def _logical_id(construct: Construct) -> str:
    child = construct.node.default_child
    if not isinstance(child, CfnResource):
        raise TypeError(f"{construct.node.path} has no CloudFormation resource")
    return Stack.of(construct).get_logical_id(child)


def _invoke(scope: Construct, construct_id: str, function: lambda_.IFunction) -> tasks.LambdaInvoke:
    """A child's one step: the worker, given the child's input; Lambda's own errors retried with backoff
    (Step Functions' recommended retry for Lambda)."""
    task = tasks.LambdaInvoke(
        scope,
        construct_id,
        lambda_function=function,
        payload_response_only=True,
        retry_on_service_exceptions=True,
    )
    return _retried(task)


def _retried(task: tasks.LambdaInvoke) -> tasks.LambdaInvoke:
    """Throttled invocations waited out; a worker that failed (a throttled table, a timeout) run again:
    every worker can be, since its writes are conditional and its objects named by its input."""
    task.add_retry(
        errors=["Lambda.TooManyRequestsException"],
        interval=Duration.seconds(2),
        max_attempts=8,
        backoff_rate=2,
    )
    task.add_retry(
        errors=["States.TaskFailed"], interval=Duration.seconds(10), max_attempts=2, backoff_rate=3
    )
    return task
