"""The re-scoring job's work bucket (S3): each run's shards, deferred leads and summary, and the archive
objects written since a moment. Every request is counted, for the run's bill."""

from __future__ import annotations

import gzip
import json
from collections import Counter
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import boto3

from leadscore.resources import ARCHIVE_PREFIX, SCORE_QUEUE

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

RUNS_PREFIX = "runs/"


class S3RescoreWork:
    """``runs/<run>/shards/<shard>/<part>.jsonl.gz``: one part per shuffle invocation and shard, a line per
    message (``person<TAB>where<TAB>archived line``); ``runs/<run>/deferred/<shard>.json``: the leads map 2
    left to the catch-up; ``runs/<run>/results/``: where the maps' result writers put their children's
    outputs."""

    def __init__(self, bucket: str, client: S3Client | None = None) -> None:
        self.bucket = bucket
        self._client = client or boto3.client("s3")
        self.requests: Counter[str] = Counter()

    def put_part(self, run: str, shard: int, part: str, lines: Sequence[str]) -> None:
        body = gzip.compress("".join(f"{line}\n" for line in lines).encode(), compresslevel=6, mtime=0)
        self._put(f"{_shards(run)}{shard:04d}/{part}.jsonl.gz", body)

    def shard_lines(self, run: str, shard: int) -> list[str]:
        lines: list[str] = []
        for key in self._names(f"{_shards(run)}{shard:04d}/"):
            lines += gzip.decompress(self._get(key)).decode().split("\n")[:-1]
        return lines

    def put_deferred(self, run: str, shard: int, lead_ids: Sequence[str]) -> None:
        self._put(f"{RUNS_PREFIX}{run}/deferred/{shard:04d}.json", json.dumps(sorted(lead_ids)).encode())

    def deferred(self, run: str) -> list[str]:
        found: list[str] = []
        for key in self._names(f"{RUNS_PREFIX}{run}/deferred/"):
            found += json.loads(self._get(key))
        return found

    def map_outputs(self, manifest_key: str) -> Iterator[dict[str, Any]]:
        """The outputs of a Distributed Map's children, from the manifest its result writer wrote."""
        manifest = json.loads(self._get(manifest_key))
        for result in manifest.get("ResultFiles", {}).get("SUCCEEDED", []):
            for child in json.loads(self._get(result["Key"])):
                yield json.loads(child["Output"])

    def put_summary(self, run: str, summary: dict[str, Any]) -> None:
        self._put(f"{RUNS_PREFIX}{run}/summary.json", json.dumps(summary).encode())

    def archive_lines_since(self, archive_bucket: str, since: datetime) -> Iterator[tuple[str, str]]:
        """Every line of the archive objects last written at or after ``since``, numbered as replay numbers
        them (``s3://bucket/key:n``); listed anew at each call. Only the days an object written since can
        be filed under are listed: an object's day is when its batch's first message was queued, and SQS
        keeps a message ``SCORE_QUEUE.retention_days`` (a dead-letter redrive included)."""
        first = (since - timedelta(days=SCORE_QUEUE.retention_days + 1)).date()
        days = [first + timedelta(days=n) for n in range((datetime.now(UTC).date() - first).days + 2)]
        keys = [
            key
            for day in days
            for key in self._names(f"{ARCHIVE_PREFIX}dt={day:%Y-%m-%d}/", bucket=archive_bucket, since=since)
        ]
        for key in keys:
            text = gzip.decompress(self._get(key, bucket=archive_bucket)).decode()
            for number, line in enumerate(text.split("\n")[:-1], start=1):
                yield f"s3://{archive_bucket}/{key}:{number}", line

    def archive_lines(self, archive_bucket: str, key: str) -> list[tuple[str, str]]:
        text = gzip.decompress(self._get(key, bucket=archive_bucket)).decode()
        lines = text.split("\n")[:-1]
        return [(f"s3://{archive_bucket}/{key}:{number}", line) for number, line in enumerate(lines, 1)]

    def _names(
        self, prefix: str, *, bucket: str | None = None, since: datetime | None = None
    ) -> Iterator[str]:
        pages = self._client.get_paginator("list_objects_v2").paginate(
            Bucket=bucket or self.bucket, Prefix=prefix
        )
        for page in pages:
            self.requests["list"] += 1
            for entry in page.get("Contents", []):
                if since is None or entry["LastModified"] >= since:
                    yield entry["Key"]

    def _get(self, key: str, *, bucket: str | None = None) -> bytes:
        self.requests["get"] += 1
        return self._client.get_object(Bucket=bucket or self.bucket, Key=key)["Body"].read()

    def _put(self, key: str, body: bytes) -> None:
        self.requests["put"] += 1
        self._client.put_object(Bucket=self.bucket, Key=key, Body=body)


def _shards(run: str) -> str:
    return f"{RUNS_PREFIX}{run}/shards/"
