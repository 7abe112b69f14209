"""Between collect and score: the event queue and its dead-letter queue (``SCORE_QUEUE``)."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as sources
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from leadscore.resources import SCORE_QUEUE


def private_queue(
    scope: Construct,
    construct_id: str,
    *,
    visibility_timeout: Duration | None = None,
    dead_letter_queue: sqs.DeadLetterQueue | None = None,
) -> sqs.Queue:
    """A queue reachable over TLS only, with SQS-managed encryption, keeping messages ``retention_days``."""
    return sqs.Queue(
        scope,
        construct_id,
        retention_period=Duration.days(SCORE_QUEUE.retention_days),
        encryption=sqs.QueueEncryption.SQS_MANAGED,
        enforce_ssl=True,
        visibility_timeout=visibility_timeout,
        dead_letter_queue=dead_letter_queue,
    )


class EventQueue(Construct):
    """The queue collect sends events to and score reads in batches; a message that fails
    ``max_receive_count`` times moves to the dead-letter queue."""

    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        self.dead_letters = private_queue(self, "DeadLetters")
        self.queue = private_queue(
            self,
            "Queue",
            visibility_timeout=Duration.seconds(SCORE_QUEUE.visibility_timeout_seconds),
            dead_letter_queue=sqs.DeadLetterQueue(
                queue=self.dead_letters, max_receive_count=SCORE_QUEUE.max_receive_count
            ),
        )

    def grant_send(self, function: lambda_.IFunction) -> None:
        self.queue.grant_send_messages(function)

    def deliver_to(self, function: lambda_.IFunction) -> None:
        """Batches as ``SCORE_QUEUE`` sets them; the function reports the messages that failed, alone."""
        function.add_event_source(
            sources.SqsEventSource(
                self.queue,
                batch_size=SCORE_QUEUE.batch_size,
                max_batching_window=Duration.seconds(SCORE_QUEUE.max_batching_window_seconds),
                report_batch_item_failures=True,
            )
        )
