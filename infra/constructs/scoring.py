"""What keeps scores moving without new events: the schedule that runs decay."""

from __future__ import annotations

from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

# A missed run is harmless (the next one visits every lead still due), so a couple of retries suffice.
SCHEDULE_RETRIES = 2


class DecaySchedule(Construct):
    """Invokes the decay function on ``schedule``, an EventBridge expression (default ``DECAY_SCHEDULE``)."""

    def __init__(
        self, scope: Construct, construct_id: str, *, function: lambda_.IFunction, schedule: str
    ) -> None:
        super().__init__(scope, construct_id)
        self.rule = events.Rule(
            self,
            "Rule",
            description="Re-evaluate the leads whose band is due to change as their engagement decays",
            schedule=events.Schedule.expression(schedule),
            targets=[targets.LambdaFunction(function, retry_attempts=SCHEDULE_RETRIES)],
        )
