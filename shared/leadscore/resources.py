"""The one description of the service's resources: read by the CDK app, the local stack and the tests.

Names here are logical: the CDK app lets CloudFormation name the physical resources and hands
them to each function through the environment variables named below; the local stack creates
moto resources under ``local_name`` and sets the same variables.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

SERVICE = "leadscore"

# Environment variables every function's settings model reads.
ENV_TABLE_NAME = "TABLE_NAME"
ENV_QUEUE_URL = "SCORE_QUEUE_URL"
ENV_ARCHIVE_BUCKET = "ARCHIVE_BUCKET"
ENV_TOPIC_ARN = "ALERT_TOPIC_ARN"
ENV_WRITE_KEYS_SECRET = "WRITE_KEYS_SECRET"
ENV_READ_KEYS_SECRET = "READ_KEYS_SECRET"
ENV_RULES_PATH = "RULES_PATH"

# Where the deployed rule file sits: the layer's root is mounted at /opt.
LAYER_RULES_PATH = "/opt/rules.yaml"


@dataclass(frozen=True)
class IndexSpec:
    name: str
    partition_key: str
    sort_key: str
    projection: Literal["ALL", "KEYS_ONLY"] = "ALL"


@dataclass(frozen=True)
class TableSpec:
    local_name: str
    partition_key: str
    sort_key: str
    stream_view: Literal["NEW_AND_OLD_IMAGES"]
    indexes: tuple[IndexSpec, ...]


@dataclass(frozen=True)
class QueueSpec:
    local_name: str
    visibility_timeout_seconds: int
    max_receive_count: int
    batch_size: int
    max_batching_window_seconds: int
    dead_letter_local_name: str
    retention_days: int = 14


@dataclass(frozen=True)
class Route:
    method: Literal["GET", "POST"]
    path: str
    function: str


@dataclass(frozen=True)
class FunctionSpec:
    name: str
    description: str
    memory_mb: int
    timeout_seconds: int
    env: tuple[str, ...] = field(default_factory=tuple)


LEADS_TABLE = TableSpec(
    local_name=f"{SERVICE}-leads",
    partition_key="pk",
    sort_key="sk",
    stream_view="NEW_AND_OLD_IMAGES",
    indexes=(
        # Leads of one account, for the account roll-up.
        IndexSpec(name="by-account", partition_key="account_id", sort_key="pk"),
        # Sparse: only leads whose band can still change by decay carry the keys.
        IndexSpec(name="by-decay-due", partition_key="decay_shard", sort_key="decay_due_at"),
    ),
)

SCORE_QUEUE = QueueSpec(
    local_name=f"{SERVICE}-events",
    visibility_timeout_seconds=180,  # six times the score function's timeout, as AWS recommends
    max_receive_count=3,
    batch_size=100,
    max_batching_window_seconds=2,
    dead_letter_local_name=f"{SERVICE}-events-dlq",
)

ARCHIVE_BUCKET_LOCAL_NAME = f"{SERVICE}-archive"
# Raw requests are archived under this key prefix; collect may only put objects there.
ARCHIVE_PREFIX = "raw/"
ALERT_TOPIC_LOCAL_NAME = f"{SERVICE}-alerts"
# One secret per kind of key, so a function can read only the keys it checks. Each holds
# {"key": "<generated>"} and, to rotate without downtime, optionally {"keys": ["<new>", ...]}.
WRITE_KEYS_SECRET_LOCAL_NAME = f"{SERVICE}/write-keys"
READ_KEYS_SECRET_LOCAL_NAME = f"{SERVICE}/read-keys"
GENERATED_KEY_FIELD = "key"

DECAY_SCHEDULE = "rate(15 minutes)"
DECAY_SCHEDULE_LOCAL_SECONDS = 60

FUNCTIONS = {
    "collect": FunctionSpec(
        name="collect",
        description="Accepts Segment-compatible tracking calls, archives them and queues them for scoring",
        memory_mb=512,
        timeout_seconds=10,
        env=(ENV_QUEUE_URL, ENV_ARCHIVE_BUCKET, ENV_WRITE_KEYS_SECRET),
    ),
    "leads": FunctionSpec(
        name="leads",
        description="Answers lead and account look-ups with scores and explanations",
        memory_mb=512,
        timeout_seconds=10,
        env=(ENV_TABLE_NAME, ENV_READ_KEYS_SECRET, ENV_RULES_PATH),
    ),
    "score": FunctionSpec(
        name="score",
        description="Scores queued events, one conditional write per lead per batch",
        memory_mb=1024,
        timeout_seconds=30,
        env=(ENV_TABLE_NAME, ENV_RULES_PATH),
    ),
    "decay": FunctionSpec(
        name="decay",
        description="Re-evaluates leads whose band is due to change as their engagement decays",
        memory_mb=512,
        timeout_seconds=300,
        env=(ENV_TABLE_NAME, ENV_RULES_PATH),
    ),
    "notify": FunctionSpec(
        name="notify",
        description="Publishes alerts for new signals found on the table's stream",
        memory_mb=512,
        timeout_seconds=30,
        env=(ENV_TOPIC_ARN, ENV_RULES_PATH),
    ),
}

ROUTES = (
    *(
        Route("POST", f"/v1/{call}", "collect")
        for call in ("batch", "identify", "track", "page", "screen", "group", "alias")
    ),
    Route("GET", "/v1/leads/{lead_id}", "leads"),
    Route("GET", "/v1/accounts/{account_id}", "leads"),
)

STREAM_BATCH_SIZE = 100
STREAM_MAX_RETRIES = 3
