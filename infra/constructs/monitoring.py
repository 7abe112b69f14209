"""Monitoring: one CloudWatch dashboard and the alarms an operator acts on, which notify an operations
topic apart from sales' alerts. Built with cdk-monitoring-constructs (cdklabs), which draws each
resource's standard widgets and alarms; docs/operations.md says what to do when each alarm fires."""

from __future__ import annotations

import re
from collections.abc import Mapping

import cdk_monitoring_constructs as monitoring
from aws_cdk import Duration
from aws_cdk import aws_apigatewayv2 as apigw
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from leadscore.resources import (
    ALERTS_PUBLISHED,
    ARCHIVE_OBJECTS_WRITTEN,
    DECAY_TRANSITIONS,
    DUPLICATES_DROPPED,
    EVENTS_ACCEPTED,
    LEADS_SCORED,
    LOST_RACES_RETRIED,
    METRIC_SERVICE_DIMENSION,
    METRICS_NAMESPACE,
    REMINDERS_SENT,
    REQUESTS_REJECTED,
    SERVICE,
    MetricSpec,
)

ALARM_PREFIX = "LeadScoring"
DASHBOARD_PREFIX = "LeadScoring"
# Scoring lag: a queued event normally waits at most the 20 s batching window plus a batch's scoring, and
# a stream record a second or two. Five minutes behind means score or notify is failing or throttled.
SCORING_LAG_ALARM = Duration.minutes(5)
STREAM_LAG_ALARM = Duration.minutes(5)
# The decay run is late when no invocation happened in this many of its schedule's periods.
DECAY_LATE_AFTER_PERIODS = 3
# A cron schedule has no fixed period: the decay alarm then waits a day.
DECAY_LATE_AFTER_CRON = Duration.days(1)
METRIC_PERIOD = Duration.minutes(5)


def schedule_period(expression: str) -> Duration | None:
    """The period of an EventBridge ``rate(...)`` expression; None for a ``cron(...)``."""
    found = re.fullmatch(r"rate\((\d+) (minute|hour|day)s?\)", expression.strip())
    if found is None:
        return None
    value, unit = int(found[1]), found[2]
    return {"minute": Duration.minutes, "hour": Duration.hours, "day": Duration.days}[unit](value)


def decay_late_after(schedule: str) -> Duration:
    """How long without a decay invocation is late: ``DECAY_LATE_AFTER_PERIODS`` of its schedule's."""
    period = schedule_period(schedule)
    if period is None:
        return DECAY_LATE_AFTER_CRON
    return Duration.minutes(period.to_minutes() * DECAY_LATE_AFTER_PERIODS)


def _count(metric: MetricSpec, label: str | None = None, of: str | None = None) -> cloudwatch.Metric:
    """One of the services' own counts (``leadscore.resources.METRICS``), summed per period."""
    dimensions = {METRIC_SERVICE_DIMENSION: SERVICE}
    if metric.dimension is not None and of is not None:
        dimensions[metric.dimension] = of
    return cloudwatch.Metric(
        namespace=METRICS_NAMESPACE,
        metric_name=metric.name,
        dimensions_map=dimensions,
        statistic="Sum",
        period=METRIC_PERIOD,
        label=label or (f"{metric.name} {of}" if of else metric.name),
    )


def _by_dimension(metric: MetricSpec) -> list[cloudwatch.Metric]:
    return [_count(metric, of=value) for value in metric.values]


class Monitoring(Construct):
    """The dashboard ``LeadScoring`` and the alarms, each notifying ``topic`` (and ``ops_email``):

    - messages in the event queue's dead-letter queue or in the stream failures queue;
    - errors or throttles of any function;
    - 5xx answers of the API;
    - scoring lag: the oldest queued event or the stream's iterator age past five minutes;
    - the decay run late: no invocation in ``DECAY_LATE_AFTER_PERIODS`` periods of its schedule;
    - SNS failing to deliver alerts to a subscriber.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        functions: Mapping[str, lambda_.IFunction],
        queue: sqs.IQueue,
        dead_letters: sqs.IQueue,
        stream_failures: sqs.IQueue,
        table: dynamodb.ITable,
        api: apigw.IHttpApi,
        alert_topic: sns.ITopic,
        decay_schedule: str,
        ops_email: str | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        self.topic = sns.Topic(self, "Topic", display_name="Lead scoring operations", enforce_ssl=True)
        # Not encrypted at rest: CloudWatch alarms cannot publish to a topic under the AWS-managed SNS key,
        # and a customer-managed key costs more than the alarms. Its messages hold alarm names and metric
        # values, never a lead's data (that goes to the encrypted alerts topic).
        if ops_email:
            self.topic.add_subscription(subscriptions.EmailSubscription(ops_email))
        self.facade = monitoring.MonitoringFacade(
            self,
            "Facade",
            alarm_factory_defaults=monitoring.AlarmFactoryDefaults(
                alarm_name_prefix=ALARM_PREFIX,
                actions_enabled=True,
                action=monitoring.SnsAlarmActionStrategy(on_alarm_topic=self.topic),
                datapoints_to_alarm=1,
                evaluation_periods=1,
            ),
            metric_factory_defaults=monitoring.MetricFactoryDefaults(period=METRIC_PERIOD),
            dashboard_factory=monitoring.DefaultDashboardFactory(
                self,
                "Dashboards",
                dashboard_name_prefix=DASHBOARD_PREFIX,
                create_dashboard=True,
                create_summary_dashboard=False,
                create_alarm_dashboard=False,
            ),
        )
        self._service_metrics()
        self._ingest(api, queue, dead_letters)
        self._functions(functions, decay_schedule)
        self._alerts(stream_failures, alert_topic)
        self.facade.monitor_dynamo_table(
            table=table,
            human_readable_name="Leads table (capacity is the main cost)",
            alarm_friendly_name="Leads",
        )

    def _service_metrics(self) -> None:
        self.facade.monitor_custom(
            human_readable_name="Lead scoring",
            alarm_friendly_name="Service",
            description="The services' own counts (docs/operations.md lists them).",
            metric_groups=[
                monitoring.CustomMetricGroup(
                    title="Ingest: events accepted, requests refused",
                    metrics=[_count(EVENTS_ACCEPTED), *_by_dimension(REQUESTS_REJECTED)],
                ),
                monitoring.CustomMetricGroup(
                    title="Scoring: writes and what they saved (cost drivers)",
                    metrics=[
                        _count(LEADS_SCORED),
                        _count(ARCHIVE_OBJECTS_WRITTEN),
                        _count(DUPLICATES_DROPPED),
                        _count(LOST_RACES_RETRIED),
                    ],
                ),
                monitoring.CustomMetricGroup(title="Alerts by kind", metrics=_by_dimension(ALERTS_PUBLISHED)),
                monitoring.CustomMetricGroup(
                    title="Decay", metrics=[_count(DECAY_TRANSITIONS), _count(REMINDERS_SENT)]
                ),
            ],
        )

    def _ingest(self, api: apigw.IHttpApi, queue: sqs.IQueue, dead_letters: sqs.IQueue) -> None:
        self.facade.monitor_api_gateway_v2_http_api(
            api=api,
            human_readable_name="Tracking API",
            alarm_friendly_name="Api",
            add5xx_count_alarm={"Errors": monitoring.ErrorCountThreshold(max_error_count=0)},
        )
        self.facade.monitor_sqs_queue_with_dlq(
            queue=queue,
            dead_letter_queue=dead_letters,
            human_readable_name="Event queue (scoring lag: age of the oldest message)",
            alarm_friendly_name="Events",
            add_queue_max_message_age_alarm={
                "Lag": monitoring.MaxMessageAgeThreshold(max_age_in_seconds=SCORING_LAG_ALARM.to_seconds())
            },
            add_dead_letter_queue_max_size_alarm={
                "DeadLetters": monitoring.MaxMessageCountThreshold(max_message_count=0)
            },
        )

    def _functions(self, functions: Mapping[str, lambda_.IFunction], decay_schedule: str) -> None:
        stream_lag = {"Lag": monitoring.MaxAgeThreshold(max_age_in_millis=STREAM_LAG_ALARM.to_milliseconds())}
        decay_late = {
            "Late": monitoring.MinUsageCountThreshold(
                min_count=1,
                period=decay_late_after(decay_schedule),
                treat_missing_data_override=cloudwatch.TreatMissingData.BREACHING,
            )
        }
        for name, function in functions.items():
            self.facade.monitor_lambda_function(
                lambda_function=function,
                human_readable_name=f"{name} function",
                alarm_friendly_name=name.title(),
                add_fault_count_alarm={"Errors": monitoring.ErrorCountThreshold(max_error_count=0)},
                add_throttles_count_alarm={"Throttles": monitoring.ErrorCountThreshold(max_error_count=0)},
                # notify reads the table's stream: its iterator age is the alerts' lag.
                is_iterator=name == "notify",
                add_max_iterator_age_alarm=stream_lag if name == "notify" else None,
                add_min_invocations_count_alarm=decay_late if name == "decay" else None,
            )

    def _alerts(self, stream_failures: sqs.IQueue, alert_topic: sns.ITopic) -> None:
        self.facade.monitor_sqs_queue(
            queue=stream_failures,
            human_readable_name="Stream records notify gave up on",
            alarm_friendly_name="StreamFailures",
            add_queue_max_size_alarm={
                "DeadLetters": monitoring.MaxMessageCountThreshold(max_message_count=0)
            },
        )
        self.facade.monitor_sns_topic(
            topic=alert_topic,
            human_readable_name="Sales alerts topic",
            alarm_friendly_name="Alerts",
            add_message_notifications_failed_alarm={
                "Failed": monitoring.NotificationsFailedThreshold(max_notifications_failed_count=0)
            },
        )
