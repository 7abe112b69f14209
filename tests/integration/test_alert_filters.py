"""Alerts a team can filter: each alert carries SNS message attributes, and an SQS queue subscribed with
a filter policy receives only the alerts its policy selects (as a regional sales team's would)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import boto3
import pytest

from leadscore.adapters.messaging import SnsAlertPublisher
from leadscore.alerts import publish_new_alerts
from leadscore.events import Event
from leadscore.rules import DEFAULT_RULES_FILE, load_rules
from leadscore.scoring import evaluated_record
from leadscore_local.aws import LocalResources

pytestmark = pytest.mark.integration
RULES = load_rules(DEFAULT_RULES_FILE)
NOW = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


def hot_lead(lead_id: str, country: str, owner: str) -> list[Event]:
    traits = {
        "email": lead_id,
        "title": "VP of Operations",
        "employees": 800,
        "country": country,
        "owner": owner,
    }
    return [
        Event(
            message_id=f"{lead_id}-i",
            lead_id=lead_id,
            kind="identify",
            traits=traits,
            timestamp=NOW - timedelta(hours=1),
        ),
        Event(message_id=f"{lead_id}-d", lead_id=lead_id, kind="track", name="Demo Requested", timestamp=NOW),
    ]


def test_a_filter_policy_selects_the_alerts_of_its_team(aws: LocalResources) -> None:
    sns, sqs = boto3.client("sns"), boto3.client("sqs")
    team_queue = sqs.create_queue(QueueName="emea-sales")["QueueUrl"]
    team_arn = sqs.get_queue_attributes(QueueUrl=team_queue, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    policy = {"country": ["DE", "FR", "GB"], "kind": ["fast_track", "band_entered"]}
    sns.subscribe(
        TopicArn=aws.topic_arn,
        Protocol="sqs",
        Endpoint=team_arn,
        Attributes={"FilterPolicy": json.dumps(policy), "RawMessageDelivery": "true"},
    )
    publisher = SnsAlertPublisher(aws.topic_arn)
    published = {}
    for lead_id, country in (("anna@siemens-example.de", "DE"), ("bob@acme-example.com", "US")):
        after = evaluated_record(lead_id, None, hot_lead(lead_id, country, "kim"), RULES, NOW)
        published[lead_id] = publish_new_alerts(RULES, None, after, publisher)
    assert all(published.values())
    received = sqs.receive_message(QueueUrl=team_queue, MaxNumberOfMessages=10, MessageAttributeNames=["All"])
    bodies = [json.loads(message["Body"]) for message in received.get("Messages", [])]
    assert {body["lead_id"] for body in bodies} == {"anna@siemens-example.de"}
    assert len(bodies) == len(published["anna@siemens-example.de"])
    alert = bodies[0]
    assert (alert["country"], alert["owner"], alert["rule"]) == ("DE", "kim", "demo-from-fit-lead")
    attributes = received["Messages"][0]["MessageAttributes"]
    assert {
        "kind",
        "band",
        "grade",
        "stage",
        "account",
        "country",
        "owner",
        "rule",
        "score",
    } <= attributes.keys()
