"""``leadscore dead-letters``: look at the messages scoring gave up on, and put them back once fixed."""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING, Any

import boto3

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

RECEIVE_LIMIT = 10


def register(commands: Any) -> None:
    letters = commands.add_parser("dead-letters", help="list or redrive the event dead-letter queue")
    actions = letters.add_subparsers(dest="dead_letters_command", required=True)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--dead-letters", required=True, help="the DeadLetterQueueUrl stack output")
    common.add_argument("--endpoint-url", default=None, help="another SQS endpoint (the local stack's moto)")
    common.add_argument("--max", type=int, default=10_000, help="at most this many messages")

    listing = actions.add_parser("list", parents=[common], help="print the dead letters, one JSON per line")
    listing.set_defaults(func=_list)
    redrive = actions.add_parser(
        "redrive", parents=[common], help="send the dead letters back to the event queue, then delete them"
    )
    redrive.add_argument("--queue", required=True, help="the EventQueueUrl stack output")
    redrive.set_defaults(func=_redrive)


def _client(arguments: argparse.Namespace) -> SQSClient:
    return boto3.client("sqs", endpoint_url=arguments.endpoint_url)


def _list(arguments: argparse.Namespace) -> int:
    """Each message is hidden while the listing reads on (so none is printed twice), then shown again."""
    sqs = _client(arguments)
    handles: list[str] = []
    while len(handles) < arguments.max:
        received = sqs.receive_message(
            QueueUrl=arguments.dead_letters,
            MaxNumberOfMessages=min(RECEIVE_LIMIT, arguments.max - len(handles)),
            VisibilityTimeout=60,
            AttributeNames=["All"],
        ).get("Messages", [])
        if not received:
            break
        for message in received:
            attributes = message.get("Attributes", {})
            print(json.dumps({"id": message["MessageId"], "attributes": attributes, "body": message["Body"]}))
            handles.append(message["ReceiptHandle"])
    for start in range(0, len(handles), RECEIVE_LIMIT):
        chunk = handles[start : start + RECEIVE_LIMIT]
        sqs.change_message_visibility_batch(
            QueueUrl=arguments.dead_letters,
            Entries=[{"Id": str(n), "ReceiptHandle": h, "VisibilityTimeout": 0} for n, h in enumerate(chunk)],
        )
    print(f"{len(handles)} dead letter(s)")
    return 0


def redrive(sqs: SQSClient, dead_letters: str, queue: str, limit: int) -> int:
    """Move up to ``limit`` messages: each is deleted only once the queue has it, so none is lost (a
    crash in between sends one twice, which scoring counts once: messages carry their ids)."""
    moved = 0
    while moved < limit:
        received = sqs.receive_message(
            QueueUrl=dead_letters, MaxNumberOfMessages=min(RECEIVE_LIMIT, limit - moved), VisibilityTimeout=60
        ).get("Messages", [])
        if not received:
            break
        entries = [{"Id": str(n), "MessageBody": message["Body"]} for n, message in enumerate(received)]
        sent = sqs.send_message_batch(QueueUrl=queue, Entries=entries)  # type: ignore[arg-type]
        ok = {entry["Id"] for entry in sent.get("Successful", [])}
        done = [
            {"Id": str(n), "ReceiptHandle": message["ReceiptHandle"]}
            for n, message in enumerate(received)
            if str(n) in ok
        ]
        if done:
            sqs.delete_message_batch(QueueUrl=dead_letters, Entries=done)  # type: ignore[arg-type]
        moved += len(done)
        if len(done) < len(received):
            break  # the queue refused some: stop rather than spin; run again
    return moved


def _redrive(arguments: argparse.Namespace) -> int:
    moved = redrive(_client(arguments), arguments.dead_letters, arguments.queue, arguments.max)
    print(f"redrove {moved} message(s) to {arguments.queue}")
    return 0
