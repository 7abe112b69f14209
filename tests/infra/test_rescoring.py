"""The re-scoring job in the synthesized stack (docs/rescore.md): its state machine, its maps and their
limits, its work bucket, and what it and each of its workers may do."""

from __future__ import annotations

import json
from typing import Any

import pytest

from leadscore import resources
from tests.infra.conftest import Synthesized
from tests.infra.test_stack import (
    RESCORE_WORKERS,
    archive_id,
    function_named,
    logged_bucket_id,
    policy_actions,
    policy_statements,
)

pytestmark = pytest.mark.infra


def job_definition(synthesis: Synthesized) -> tuple[str, dict[str, Any]]:
    """The state machine's logical id and its definition, references to resources as ``<logical id>``."""
    ((logical_id, body),) = synthesis.of_type("AWS::StepFunctions::StateMachine").items()
    parts = body["Properties"]["DefinitionString"]["Fn::Join"][1]
    text = "".join(part if isinstance(part, str) else _reference(part) for part in parts)
    return logical_id, json.loads(text)


def _reference(part: dict[str, Any]) -> str:
    if "Ref" in part:
        return f"<{part['Ref']}>"
    logical_id, attribute = part["Fn::GetAtt"]
    return f"<{logical_id}.{attribute}>"


def test_the_job_shuffles_the_archive_then_rebuilds_each_shard_then_catches_up(
    synthesized: Synthesized,
) -> None:
    _, definition = job_definition(synthesized)
    states = definition["States"]
    assert definition["StartAt"] == "Run"
    assert [
        states["Run"]["Next"],
        states["Shuffle"]["Next"],
        states["Shards"]["Next"],
        states["Rebuild"]["Next"],
    ] == [
        "Shuffle",
        "Shards",
        "Rebuild",
        "CatchUp",
    ]
    assert states["CatchUp"]["End"] is True
    work = logged_bucket_id(synthesized, "rescore/")
    shuffle, rebuild = states["Shuffle"], states["Rebuild"]
    # Map 1: a Distributed Map over the archive's object listing, in batches, with a bounded fan-out.
    assert shuffle["ItemProcessor"]["ProcessorConfig"]["Mode"] == "DISTRIBUTED"
    assert shuffle["ItemReader"]["Resource"].endswith(":states:::s3:listObjectsV2")
    assert shuffle["ItemReader"]["Parameters"] == {"Bucket": f"<{archive_id(synthesized)}>", "Prefix": "raw/"}
    assert shuffle["ItemBatcher"]["MaxItemsPerBatch"] == resources.RESCORE_OBJECTS_PER_SHUFFLE
    assert set(shuffle["ItemBatcher"]["BatchInput"]) == {"run.$", "started.$", "shards.$", "rules_version.$"}
    assert shuffle["MaxConcurrency"] == resources.RESCORE_SHUFFLE_CONCURRENCY
    # Map 2: a Distributed Map over the shard numbers, one child per shard.
    assert states["Shards"]["Parameters"] == {
        "numbers.$": "States.ArrayRange(0, States.MathAdd($.shards, -1), 1)"
    }
    assert rebuild["ItemProcessor"]["ProcessorConfig"]["Mode"] == "DISTRIBUTED"
    assert rebuild["ItemsPath"] == "$.shard_numbers.numbers"
    assert rebuild["ItemSelector"]["shard.$"] == "$$.Map.Item.Value"
    assert rebuild["MaxConcurrency"] == resources.RESCORE_SHARD_CONCURRENCY
    for state in (shuffle, rebuild):
        assert state["ResultWriter"]["Parameters"]["Bucket"] == f"<{work}>"
        assert state.get("ToleratedFailurePercentage", 0) == 0
    workers = {
        name: f"<{function_named(synthesized, function)[0]}.Arn>"
        for name, function in (
            ("ShuffleObjects", "rescore_shuffle"),
            ("RebuildShard", "rescore_shard"),
            ("CatchUp", "rescore_catchup"),
        )
    }
    tasks = {
        **shuffle["ItemProcessor"]["States"],
        **rebuild["ItemProcessor"]["States"],
        "CatchUp": states["CatchUp"],
    }
    assert {name: task["Resource"] for name, task in tasks.items()} == workers
    for task in tasks.values():
        assert "Lambda.TooManyRequestsException" in {
            e for retry in task["Retry"] for e in retry["ErrorEquals"]
        }
    assert states["CatchUp"]["Parameters"]["manifests.$"] == (
        "States.Array($.shuffled.ResultWriterDetails.Key, $.rebuilt.ResultWriterDetails.Key)"
    )


def test_the_job_is_traced_logged_and_bounded(synthesized: Synthesized) -> None:
    logical_id, _ = job_definition(synthesized)
    properties = synthesized.resources[logical_id]["Properties"]
    assert properties["TracingConfiguration"] == {"Enabled": True}
    assert properties["LoggingConfiguration"]["Level"] == "ALL"
    assert properties["LoggingConfiguration"]["IncludeExecutionData"] is False
    (bucket,) = [synthesized.resources[logged_bucket_id(synthesized, "rescore/")]]
    (rule,) = bucket["Properties"]["LifecycleConfiguration"]["Rules"]
    assert rule["ExpirationInDays"] == resources.RESCORE_WORK_DAYS
    assert synthesized.outputs["RescoreStateMachineArn"]["Value"] == {"Ref": logical_id}


def test_the_job_may_invoke_its_workers_and_list_the_archive_and_nothing_else(
    synthesized: Synthesized,
) -> None:
    logical_id, _ = job_definition(synthesized)
    role = synthesized.resources[logical_id]["Properties"]["RoleArn"]["Fn::GetAtt"][0]
    statements = [
        statement
        for policy in synthesized.of_type("AWS::IAM::Policy").values()
        if {"Ref": role} in policy["Properties"]["Roles"]
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
    ]
    actions = {
        a for s in statements for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])
    }
    assert {action for action in actions if action.startswith("lambda:")} == {"lambda:InvokeFunction"}
    invoked = [s["Resource"] for s in statements if "lambda:InvokeFunction" in s["Action"]]
    lambdas = {
        logical_id
        for logical_id in synthesized.of_type("AWS::Lambda::Function")
        if logical_id in json.dumps(invoked)
    }
    assert lambdas == {function_named(synthesized, name)[0] for name in RESCORE_WORKERS}
    assert not {a for a in actions if a.startswith(("dynamodb:", "s3:Delete"))}
    archive = archive_id(synthesized)
    on_archive = {
        a
        for s in statements
        if archive in json.dumps(s["Resource"])
        for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])
    }
    assert on_archive <= {"s3:ListBucket", "s3:GetObject"}


def own_actions(synthesized: Synthesized, name: str) -> set[str]:
    """A function's actions beyond its logs (and tracing, where the stack turns it on)."""
    return {a for a in policy_actions(synthesized, name) if not a.startswith(("logs:", "xray:"))}


def test_each_rescore_worker_makes_only_the_calls_its_code_makes(synthesized: Synthesized) -> None:
    work_calls = {"s3:ListBucket", "s3:GetObject", "s3:PutObject"}
    assert own_actions(synthesized, "rescore_shuffle") == {*work_calls, "dynamodb:BatchGetItem"}
    assert own_actions(synthesized, "rescore_shard") == {
        *work_calls,
        "dynamodb:BatchGetItem",
        "dynamodb:PutItem",
    }
    assert own_actions(synthesized, "rescore_catchup") == {
        *work_calls,
        "dynamodb:BatchGetItem",
        "dynamodb:PutItem",
        "dynamodb:Query",
    }
    archive = {"Fn::GetAtt": [archive_id(synthesized), "Arn"]}
    under_prefix = {"Fn::Join": ["", [archive, f"/{resources.ARCHIVE_PREFIX}*"]]}
    for name in RESCORE_WORKERS:
        on_archive = {
            (json.dumps(s["Action"]), json.dumps(s["Resource"]))
            for s in policy_statements(synthesized, name)
            if archive_id(synthesized) in json.dumps(s["Resource"])
        }
        expected = {(json.dumps("s3:GetObject"), json.dumps(under_prefix))}
        if name == "rescore_catchup":
            expected.add((json.dumps("s3:ListBucket"), json.dumps(archive)))
        assert on_archive == (expected if name != "rescore_shard" else set()), name
