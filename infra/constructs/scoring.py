"""What runs without a request: the schedules of decay (scores move as leads go quiet) and of the
archive purge (erasure)."""

from __future__ import annotations

from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

# A missed run is harmless (the next one picks up whatever is still due), so a couple of retries suffice.
SCHEDULE_RETRIES = 2


class FunctionSchedule(Construct):
    """Invokes ``function`` on ``schedule``, an EventBridge expression."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        function: lambda_.IFunction,
        schedule: str,
        description: str,
    ) -> None:
        super().__init__(scope, construct_id)
        self.rule = events.Rule(
            self,
            "Rule",
            description=description,
            schedule=events.Schedule.expression(schedule),
            targets=[targets.LambdaFunction(function, retry_attempts=SCHEDULE_RETRIES)],
        )
