"""The one description of the service's resources: read by the CDK app, the local stack and the tests.

Names here are logical: the CDK app lets CloudFormation name the physical resources and hands
them to each function through the environment variables named below; the local stack creates
moto resources under ``local_name`` and sets the same variables.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

SERVICE = "leadscore"

# Environment variables every function's settings model reads.
ENV_TABLE_NAME = "TABLE_NAME"
ENV_QUEUE_URL = "SCORE_QUEUE_URL"
ENV_ARCHIVE_BUCKET = "ARCHIVE_BUCKET"
ENV_RESCORE_BUCKET = "RESCORE_BUCKET"
ENV_TOPIC_ARN = "ALERT_TOPIC_ARN"
ENV_WRITE_KEYS_SECRET = "WRITE_KEYS_SECRET"
ENV_READ_KEYS_SECRET = "READ_KEYS_SECRET"
ENV_ADMIN_KEYS_SECRET = "ADMIN_KEYS_SECRET"
ENV_RULES_PATH = "RULES_PATH"
ENV_OPENAPI_PATH = "OPENAPI_PATH"
# Days a lead may stay inactive before DynamoDB's TTL deletes it (0: kept for ever, the default).
ENV_RETENTION_DAYS = "RETENTION_DAYS"

# Where the deployed rule file sits: the layer's root is mounted at /opt.
LAYER_RULES_PATH = "/opt/rules.yaml"
# The API's OpenAPI document (docs/openapi.json), served by collect at /v1/openapi.json.
LAYER_OPENAPI_PATH = "/opt/openapi.json"


@dataclass(frozen=True)
class Key:
    """A key attribute: its name and DynamoDB scalar type."""

    name: str
    type: Literal["S", "N"] = "S"


@dataclass(frozen=True)
class IndexSpec:
    """A global secondary index. ``KEYS_ONLY`` unless a reader needs more: each projected attribute
    that changes costs an index write."""

    name: str
    partition_key: Key
    sort_key: Key
    projection: Literal["ALL", "KEYS_ONLY", "INCLUDE"] = "KEYS_ONLY"
    non_key_attributes: tuple[str, ...] = ()


@dataclass(frozen=True)
class TableSpec:
    local_name: str
    partition_key: Key
    sort_key: Key
    stream_view: Literal["NEW_AND_OLD_IMAGES"]
    account_index: IndexSpec
    band_index: IndexSpec
    merge_index: IndexSpec

    @property
    def indexes(self) -> tuple[IndexSpec, ...]:
        return (self.account_index, self.band_index, self.merge_index)

    @property
    def key_attributes(self) -> dict[str, Literal["S", "N"]]:
        """Every attribute a table or index key uses, with its type (CreateTable's definitions)."""
        keys = [self.partition_key, self.sort_key]
        for index in self.indexes:
            keys += [index.partition_key, index.sort_key]
        return {key.name: key.type for key in keys}


@dataclass(frozen=True)
class QueueSpec:
    local_name: str
    visibility_timeout_seconds: int
    max_receive_count: int
    batch_size: int
    max_batching_window_seconds: int
    dead_letter_local_name: str
    retention_days: int = 14

    def __post_init__(self) -> None:
        # Lambda's limits for an SQS standard queue's event source mapping.
        if not 1 <= self.batch_size <= 10_000 or not 0 <= self.max_batching_window_seconds <= 300:
            raise ValueError("batch size must be 1 to 10,000 and the batching window 0 to 300 s")
        if self.batch_size > 10 and self.max_batching_window_seconds < 1:
            raise ValueError("a batch size over 10 needs a batching window of at least 1 s")


@dataclass(frozen=True)
class Route:
    method: Literal["GET", "POST", "DELETE"]
    path: str
    function: str
    # A page for a browser (the console), not an API operation: left out of the OpenAPI document.
    page: bool = False


@dataclass(frozen=True)
class FunctionSpec:
    name: str
    description: str
    memory_mb: int
    timeout_seconds: int
    env: tuple[str, ...] = field(default_factory=tuple)


# The lead item's time-to-live attribute (epoch seconds): its last activity plus the retention, on leads
# sales never recorded a follow-up or an outcome for. The table's TTL setting names it.
TTL_ATTRIBUTE = "exp"

LEADS_TABLE = TableSpec(
    local_name=f"{SERVICE}-leads",
    partition_key=Key("pk"),
    sort_key=Key("sk"),
    stream_view="NEW_AND_OLD_IMAGES",
    # Leads of one account, for the account roll-up: a lead enters once (its account rarely changes) and
    # only its keys are copied, so ordinary score writes cost this index nothing.
    account_index=IndexSpec(name="by-account", partition_key=Key("acct"), sort_key=Key("pk")),
    # Leads by band, sparse and sharded: a lead carries the keys while it sits above the lowest band (the
    # leads sales work: lists read a band's partitions) or decay can still change its band or remind sales.
    # `bsh` is the band and one of BAND_SHARDS shards; `due` is a time no later than the next change by decay
    # or the reminder (NEVER_DUE when neither is ahead), kept while it stays early enough: the decay job reads
    # what is due. The keys move when the band does or the due time must move earlier; most writes keep them.
    band_index=IndexSpec(name="by-band", partition_key=Key("bsh"), sort_key=Key("due", "N")),
    # The ids merged into a person (their merge markers), for erasure: a marker enters once, when it is
    # written, and never changes.
    merge_index=IndexSpec(name="by-merge", partition_key=Key("mi"), sort_key=Key("pk")),
)
BAND_SHARDS = 32
# The sort key of a listed lead that nothing will change by decay: 9999-12-31, after every real time.
NEVER_DUE = 253_402_214_400

# Cost wants big batches (one write per lead per batch, one archive object per batch), speed wants the alert
# within 60 s. Lambda invokes score when a batch holds 1,000 messages, 20 s after it opened, or at 6 MB,
# whichever comes first: a busy stream fills batches of hundreds, a quiet one waits at most 20 s, which is
# what a low-traffic queue may wait anyway (SQS's 20 s long poll, whatever the window). The latency budget
# (20 s + score + stream + notify + SNS, well under 60 s) is in docs/performance.md.
SCORE_QUEUE = QueueSpec(
    local_name=f"{SERVICE}-events",
    # AWS: at least six times the function's timeout (score's 30 s) plus the batching window.
    visibility_timeout_seconds=6 * 30 + 20,
    max_receive_count=3,
    batch_size=1000,
    max_batching_window_seconds=20,
    dead_letter_local_name=f"{SERVICE}-events-dlq",
)

ARCHIVE_BUCKET_LOCAL_NAME = f"{SERVICE}-archive"
# Raw SQS batches are archived under this key prefix; score may only put objects there.
ARCHIVE_PREFIX = "raw/"
ALERT_TOPIC_LOCAL_NAME = f"{SERVICE}-alerts"
# One secret per kind of key, so a function can read only the keys it checks. Each holds
# {"key": "<generated>"} and, to rotate without downtime, optionally {"keys": ["<new>", ...]}.
WRITE_KEYS_SECRET_LOCAL_NAME = f"{SERVICE}/write-keys"
READ_KEYS_SECRET_LOCAL_NAME = f"{SERVICE}/read-keys"
ADMIN_KEYS_SECRET_LOCAL_NAME = f"{SERVICE}/admin-keys"
GENERATED_KEY_FIELD = "key"

DECAY_SCHEDULE = "rate(15 minutes)"
DECAY_SCHEDULE_LOCAL_SECONDS = 60
# Erasure's archive purge: daily, so a pass that takes several runs still ends well within 30 days.
PURGE_SCHEDULE = "rate(1 day)"
PURGE_SCHEDULE_LOCAL_SECONDS = 60

# The re-scoring job (docs/rescore.md): map 1 shuffles archived lines into shards by person, map 2 rebuilds
# and writes each shard's leads, then the catch-up re-joins leads live activity reached meanwhile. 1,000 is
# the most items States.ArrayRange makes: 10,000 leads a shard at 10 million leads.
RESCORE_SHARDS = 1000
# Archive objects per shuffle invocation (ItemBatcher), and how many run at once in each map.
RESCORE_OBJECTS_PER_SHUFFLE = 500
RESCORE_SHUFFLE_CONCURRENCY = 100
RESCORE_SHARD_CONCURRENCY = 50
# Shards and results of a run are kept this long in the work bucket, then expire.
RESCORE_WORK_DAYS = 7

FUNCTIONS = {
    "collect": FunctionSpec(
        name="collect",
        description="Accepts Segment-compatible tracking calls and queues them for scoring",
        memory_mb=512,
        timeout_seconds=10,
        env=(ENV_QUEUE_URL, ENV_WRITE_KEYS_SECRET, ENV_RULES_PATH, ENV_OPENAPI_PATH),
    ),
    "leads": FunctionSpec(
        name="leads",
        description="Lead and account scores with their explanations; sales' follow-ups and outcomes",
        memory_mb=512,
        timeout_seconds=10,
        env=(ENV_TABLE_NAME, ENV_READ_KEYS_SECRET, ENV_ADMIN_KEYS_SECRET, ENV_RULES_PATH, ENV_RETENTION_DAYS),
    ),
    "score": FunctionSpec(
        name="score",
        description="Scores queued events, one conditional write per lead per batch",
        memory_mb=1024,
        timeout_seconds=30,
        env=(ENV_TABLE_NAME, ENV_RULES_PATH, ENV_ARCHIVE_BUCKET, ENV_RETENTION_DAYS),
    ),
    "decay": FunctionSpec(
        name="decay",
        description="Re-evaluates leads whose band is due to change as their engagement decays",
        memory_mb=512,
        timeout_seconds=300,
        env=(ENV_TABLE_NAME, ENV_RULES_PATH, ENV_RETENTION_DAYS),
    ),
    "purge": FunctionSpec(
        name="purge",
        description="Rewrites the archive objects that hold messages of people erased on request",
        memory_mb=512,
        timeout_seconds=900,
        env=(ENV_TABLE_NAME, ENV_ARCHIVE_BUCKET),
    ),
    "notify": FunctionSpec(
        name="notify",
        description="Publishes alerts for new signals found on the table's stream",
        memory_mb=512,
        timeout_seconds=30,
        env=(ENV_TOPIC_ARN, ENV_RULES_PATH, ENV_TABLE_NAME),
    ),
    "rescore_shuffle": FunctionSpec(
        name="rescore_shuffle",
        description="Re-scoring, map 1: routes archived messages to their person and writes them by shard",
        memory_mb=1024,
        timeout_seconds=900,
        env=(ENV_TABLE_NAME, ENV_ARCHIVE_BUCKET, ENV_RESCORE_BUCKET),
    ),
    "rescore_shard": FunctionSpec(
        name="rescore_shard",
        description="Re-scoring, map 2: rebuilds one shard's leads from their history and writes them",
        memory_mb=1769,
        timeout_seconds=900,
        env=(ENV_TABLE_NAME, ENV_RULES_PATH, ENV_RESCORE_BUCKET, ENV_RETENTION_DAYS),
    ),
    "rescore_catchup": FunctionSpec(
        name="rescore_catchup",
        description="Re-scoring, last step: re-joins the leads live activity reached, sums up the run",
        memory_mb=1024,
        timeout_seconds=900,
        env=(ENV_TABLE_NAME, ENV_RULES_PATH, ENV_ARCHIVE_BUCKET, ENV_RESCORE_BUCKET, ENV_RETENTION_DAYS),
    ),
}

# Segment's calls by full name and by the one-letter paths analytics.js posts to.
TRACKING_CALLS = {
    "batch": "b",
    "identify": "i",
    "track": "t",
    "page": "p",
    "screen": "s",
    "group": "g",
    "alias": "a",
}

ROUTES = (
    *(Route("POST", f"/v1/{path}", "collect") for call in TRACKING_CALLS.items() for path in call),
    Route("POST", "/v1/forms/{form_id}", "collect"),
    # What the browser SDKs also call: analytics.js's settings (when the API is its CDN) and metrics,
    # RudderStack's source configuration. Answered, never stored.
    Route("GET", "/v1/projects/{write_key}/settings", "collect"),
    Route("POST", "/v1/m", "collect"),
    # RudderStack asks for /sourceConfig/ (a route path cannot end in "/": the $default route brings it).
    Route("GET", "/sourceConfig", "collect"),
    Route("GET", "/v1/openapi.json", "collect"),
    Route("GET", "/v1/leads", "leads"),
    Route("GET", "/v1/accounts", "leads"),
    Route("GET", "/v1/leads/{lead_id}", "leads"),
    Route("DELETE", "/v1/leads/{lead_id}", "leads"),
    Route("POST", "/v1/leads/{lead_id}/outcome", "leads"),
    Route("POST", "/v1/leads/{lead_id}/status", "leads"),
    Route("GET", "/v1/accounts/{account_id}", "leads"),
    # The sales console: static files, public (every call it makes asks for a read key).
    Route("GET", "/", "leads", page=True),
    Route("GET", "/console", "leads", page=True),
    Route("GET", "/console/{name}", "leads", page=True),
)

# CORS, the same on API Gateway and the local gateway. Origins are a deploy setting (`allowedOrigins`
# context value, default any: keys, not origins, authenticate); the headers are every one the browser
# SDKs send.
CORS_ALLOW_HEADERS = (
    "authorization",
    "content-type",
    "content-encoding",
    # RudderStack's JavaScript SDK: on every call, and on retries.
    "anonymousid",
    "sentat",
    "rsa-retry-attempt",
    "rsa-since-last-attempt",
    "rsa-since-first-attempt",
    "rsa-retry-reason",
    "rsa-recovered",
    # analytics.js, on retries.
    "x-retry-count",
)
CORS_ALLOW_METHODS = ("GET", "POST", "DELETE", "OPTIONS")
CORS_MAX_AGE_SECONDS = 600
DEFAULT_ALLOWED_ORIGINS = ("*",)

STREAM_BATCH_SIZE = 100
STREAM_MAX_RETRIES = 3
SIGNALLING_WRITES: dict[str, Any] = {"dynamodb": {"NewImage": {"sig": {"S": [{"exists": True}]}}}}
"""The stream records notify is given (a Lambda event filter pattern, applied by the local stack too):
the lead writes that raised a signal. Every other write (a score that raised nothing, an outcome, a
follow-up, a merge marker, an erasure's suppression entry) never invokes notify, and costs nothing."""

# --- operations: metrics, correlation, retention ------------------------------------------------------

# CloudWatch namespace of the services' own metrics (Powertools Metrics, embedded metric format); every
# metric carries the dimension ``service`` = SERVICE, and a few one more (``MetricSpec.dimension``).
METRICS_NAMESPACE = "LeadScoring"
METRIC_SERVICE_DIMENSION = "service"
# The API request's id rides on every queued message as this SQS message attribute, into score's logs, and
# on the lead item (``cid``) into notify's: one id from the request to the alert.
CORRELATION_ATTRIBUTE = "correlation_id"

REJECTION_REASONS = ("invalid", "unauthorized", "too_large", "queue_unavailable")
ALERT_KINDS = ("band_entered", "fast_track", "sharp_rise", "disqualified", "reminder")


@dataclass(frozen=True)
class MetricSpec:
    """A count one function emits: its name, what it counts, and its extra dimension and values."""

    name: str
    function: str
    meaning: str
    dimension: str | None = None
    values: tuple[str, ...] = ()


EVENTS_ACCEPTED = MetricSpec("EventsAccepted", "collect", "messages accepted and queued")
REQUESTS_REJECTED = MetricSpec(
    "RequestsRejected", "collect", "tracking calls and form posts refused", "reason", REJECTION_REASONS
)
ARCHIVE_OBJECTS_WRITTEN = MetricSpec("ArchiveObjectsWritten", "score", "archive objects put (one per batch)")
LEADS_SCORED = MetricSpec("LeadsScored", "score", "lead items written by score")
DUPLICATES_DROPPED = MetricSpec(
    "DuplicatesDropped",
    "score",
    "messages that cost no write: a repeat in the batch, or all of a lead's when they changed nothing",
)
LOST_RACES_RETRIED = MetricSpec(
    "LostRacesRetried", "score", "conditional writes lost to another writer, retried"
)
ALERTS_PUBLISHED = MetricSpec("AlertsPublished", "notify", "alerts published to SNS", "kind", ALERT_KINDS)
DECAY_TRANSITIONS = MetricSpec("DecayTransitions", "decay", "leads whose band or stage decay changed")
REMINDERS_SENT = MetricSpec("RemindersSent", "decay", "follow-up reminders raised (notify sends each)")
METRICS = (
    EVENTS_ACCEPTED,
    REQUESTS_REJECTED,
    ARCHIVE_OBJECTS_WRITTEN,
    LEADS_SCORED,
    DUPLICATES_DROPPED,
    LOST_RACES_RETRIED,
    ALERTS_PUBLISHED,
    DECAY_TRANSITIONS,
    REMINDERS_SENT,
)
