"""The one stack: ingestion, scoring, decay, alerts and look-ups, built from ``leadscore.resources``.

Every name, key, index, queue setting, function spec and route comes from that module (the local stack
reads it too); this file only decides which capability owns what and who may do what.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from aws_cdk import CfnOutput, Stack
from constructs import Construct

from infra.constructs import rescoring
from infra.constructs.alerts import Alerts
from infra.constructs.api import TrackingApi
from infra.constructs.ingest import EventQueue
from infra.constructs.keys import ApiKeys
from infra.constructs.monitoring import Monitoring
from infra.constructs.scoring import FunctionSchedule
from infra.constructs.storage import EventArchive, LeadsTable
from infra.functions import service_function, shared_layer
from leadscore import resources
from leadscore.api import Throttle
from leadscore.resources import FUNCTIONS, LEADS_TABLE


class LeadScoringStack(Stack):
    """Everything the service runs on; names come from ``leadscore.resources``, never typed twice."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        layer_dir: Path,
        alert_email: str | None = None,
        ops_email: str | None = None,
        decay_schedule: str = resources.DECAY_SCHEDULE,
        retention_days: int = 0,
        allowed_origins: Sequence[str] = resources.DEFAULT_ALLOWED_ORIGINS,
        throttle: Throttle | None = None,
        description: str | None = None,
    ) -> None:
        super().__init__(scope, construct_id, description=description)
        leads = LeadsTable(self, "Leads")
        archive = EventArchive(self, "Archive")
        keys = ApiKeys(self, "Keys")
        queue = EventQueue(self, "Events")
        alerts = Alerts(self, "Alerts", alert_email=alert_email)
        rescore = rescoring.Rescoring(self, "Rescoring", access_logs=archive.access_logs)

        # Each function gets the variables its FunctionSpec names, from these values.
        environment = {
            resources.ENV_TABLE_NAME: leads.table.table_name,
            resources.ENV_QUEUE_URL: queue.queue.queue_url,
            resources.ENV_ARCHIVE_BUCKET: archive.bucket.bucket_name,
            resources.ENV_RESCORE_BUCKET: rescore.work.bucket_name,
            resources.ENV_TOPIC_ARN: alerts.topic.topic_arn,
            resources.ENV_WRITE_KEYS_SECRET: keys.write.secret_arn,
            resources.ENV_READ_KEYS_SECRET: keys.read.secret_arn,
            resources.ENV_ADMIN_KEYS_SECRET: keys.admin.secret_arn,
            resources.ENV_RULES_PATH: resources.LAYER_RULES_PATH,
            resources.ENV_OPENAPI_PATH: resources.LAYER_OPENAPI_PATH,
            resources.ENV_RETENTION_DAYS: str(retention_days),
        }
        layer = shared_layer(self, "SharedLayer", layer_dir)
        functions = {
            name: service_function(self, spec, layer=layer, environment=environment)
            for name, spec in FUNCTIONS.items()
        }
        collect, lookup, score, decay, notify, purge = (
            functions[name] for name in ("collect", "leads", "score", "decay", "notify", "purge")
        )

        # Least privilege: each function may make the calls its code makes, and no other.
        by_account, by_band, by_merge = (
            LEADS_TABLE.account_index.name,
            LEADS_TABLE.band_index.name,
            LEADS_TABLE.merge_index.name,
        )
        queue.grant_send(collect)
        archive.grant_put_raw(score)
        keys.write.grant_read(collect)
        keys.read.grant_read(lookup)
        keys.admin.grant_read(lookup)
        # PutItem: sales' outcomes (items beside the lead's); UpdateItem: follow-ups (the latest, and the
        # first one's time), the lead kept from retention once sales recorded one; BatchWriteItem: erasure.
        leads.grant_calls(
            lookup,
            ["GetItem", "BatchGetItem", "Query", "PutItem", "UpdateItem", "BatchWriteItem"],
            indexes=[by_account, by_band, by_merge],
        )
        leads.grant_calls(score, ["GetItem", "BatchGetItem", "PutItem"])
        leads.grant_calls(decay, ["GetItem", "BatchGetItem", "PutItem", "Query"], indexes=[by_band])
        leads.grant_calls(purge, ["GetItem", "PutItem", "Query", "BatchWriteItem"])
        archive.grant_rewrite_raw(purge)
        alerts.grant_publish(notify)
        # An alert names the account's other engaged people.
        leads.grant_calls(notify, ["BatchGetItem", "Query"], indexes=[by_account])
        # The re-scoring job: its workers and their grants (constructs/rescoring.py).
        workers = rescoring.Workers(
            functions["rescore_shuffle"], functions["rescore_shard"], functions["rescore_catchup"]
        )
        rescore_job = rescore.run_with(workers, leads=leads, archive=archive)

        # What invokes each function: the API, the queue, the schedule, the stream.
        api = TrackingApi(
            self, "Tracking", functions=functions, allowed_origins=allowed_origins, throttle=throttle
        )
        queue.deliver_to(score)
        FunctionSchedule(
            self,
            "Decay",
            function=decay,
            schedule=decay_schedule,
            description="Re-evaluate the leads whose band is due to change as their engagement decays",
        )
        FunctionSchedule(
            self,
            "Purge",
            function=purge,
            schedule=resources.PURGE_SCHEDULE,
            description="Purge the raw archive of the people erased on request",
        )
        alerts.listen_to(leads.table, notify)

        # What an operator watches: one dashboard, alarms to an operations topic (not sales' alerts).
        monitoring = Monitoring(
            self,
            "Monitoring",
            functions=functions,
            queue=queue.queue,
            dead_letters=queue.dead_letters,
            stream_failures=alerts.stream_failures,
            table=leads.table,
            api=api.api,
            alert_topic=alerts.topic,
            decay_schedule=decay_schedule,
            ops_email=ops_email,
        )

        outputs = {
            "ApiUrl": (api.url, "The tracking endpoint: point Segment / RudderStack SDKs and forms here"),
            "AlertTopicArn": (alerts.topic.topic_arn, "Subscribe e-mail, SQS or HTTPS endpoints here"),
            "WriteKeysSecretName": (keys.write.secret_name, 'The write key for trackers, as {"key": ...}'),
            "ReadKeysSecretName": (
                keys.read.secret_name,
                'The read key for sales (and the console), as {"key": ...}',
            ),
            "AdminKeysSecretName": (keys.admin.secret_name, 'The admin key for erasure, as {"key": ...}'),
            "TableName": (leads.table.table_name, "One item per lead"),
            "ArchiveBucketName": (
                archive.bucket.bucket_name,
                "Every accepted event, one object per SQS batch",
            ),
            "RescoreStateMachineArn": (
                rescore_job.state_machine_arn,
                "The re-scoring job: leadscore rescore --aws <this> (docs/rescore.md)",
            ),
            "EventQueueUrl": (
                queue.queue.queue_url,
                "Other producers may send Segment messages here (docs/producers.md)",
            ),
            "DeadLetterQueueUrl": (queue.dead_letters.queue_url, "Events that failed scoring three times"),
            "AlertFailuresQueueUrl": (alerts.stream_failures.queue_url, "Stream records notify failed on"),
            "OperationsTopicArn": (
                monitoring.topic.topic_arn,
                "Alarms notify this topic (opsEmail subscribes)",
            ),
        }
        for name, (value, meaning) in outputs.items():
            CfnOutput(self, name, value=value, description=meaning)
