"""AWS list prices the bill is computed with: US East (N. Virginia), on-demand, first pricing tier.

Retrieved 2026-11-25 from each service's public pricing page (``source``). Free tiers are left out (a
bill per million events should not depend on what else the account runs); volume tiers start far
above the traffic this product is sized for (300 M API calls, 7.5 billion Lambda GB-seconds, 100
billion SQS requests a month). Re-check the pages before quoting a figure: prices change (DynamoDB
on-demand throughput was halved on 1 November 2024).
"""

from __future__ import annotations

from dataclasses import dataclass

RETRIEVED = "2026-11-25"
REGION = "us-east-1"
GIB = 1024**3


@dataclass(frozen=True)
class Price:
    usd: float
    per: float
    unit: str
    source: str

    def cost(self, quantity: float) -> float:
        """US dollars for ``quantity`` units."""
        return self.usd * quantity / self.per


API_GATEWAY_HTTP_REQUEST = Price(
    1.00,
    1_000_000,
    "HTTP API request (first 300 M a month; each 512 KB of a request meters as one)",
    "https://aws.amazon.com/api-gateway/pricing/",
)
LAMBDA_REQUEST = Price(0.20, 1_000_000, "Lambda invocation", "https://aws.amazon.com/lambda/pricing/")
LAMBDA_ARM_GB_SECOND = Price(
    0.0000133334,
    1,
    "Lambda arm64 GB-second (first 7.5 billion GB-s a month; duration rounded up to 1 ms)",
    "https://aws.amazon.com/lambda/pricing/",
)
SQS_REQUEST = Price(
    0.40,
    1_000_000,
    "SQS standard queue request (each 64 KB chunk of a payload is one request)",
    "https://aws.amazon.com/sqs/pricing/",
)
S3_PUT = Price(
    0.005, 1_000, "S3 Standard PUT, COPY, POST or LIST request", "https://aws.amazon.com/s3/pricing/"
)
S3_GET = Price(0.0004, 1_000, "S3 Standard GET or SELECT request", "https://aws.amazon.com/s3/pricing/")
DYNAMODB_WRITE_UNIT = Price(
    0.625,
    1_000_000,
    "DynamoDB on-demand write request unit (Standard table class; halved 1 Nov 2024)",
    "https://aws.amazon.com/dynamodb/pricing/on-demand/",
)
DYNAMODB_READ_UNIT = Price(
    0.125,
    1_000_000,
    "DynamoDB on-demand read request unit (Standard table class; halved 1 Nov 2024)",
    "https://aws.amazon.com/dynamodb/pricing/on-demand/",
)
SNS_PUBLISH = Price(
    0.50,
    1_000_000,
    "SNS standard topic publish (each 64 KB chunk is one publish; delivery to SQS and Lambda is free)",
    "https://aws.amazon.com/sns/pricing/",
)
SNS_EMAIL = Price(2.00, 100_000, "SNS e-mail notification delivered", "https://aws.amazon.com/sns/pricing/")
CLOUDWATCH_LOGS_INGESTED = Price(
    0.50,
    GIB,
    "CloudWatch Logs ingestion, Standard log class (per GB)",
    "https://aws.amazon.com/cloudwatch/pricing/",
)
SECRETS_MANAGER_CALL = Price(
    0.05, 10_000, "Secrets Manager API call", "https://aws.amazon.com/secrets-manager/pricing/"
)

ALL = {
    "API Gateway HTTP API requests": API_GATEWAY_HTTP_REQUEST,
    "Lambda requests": LAMBDA_REQUEST,
    "Lambda duration (arm64)": LAMBDA_ARM_GB_SECOND,
    "SQS requests": SQS_REQUEST,
    "S3 PUT requests": S3_PUT,
    "DynamoDB write request units": DYNAMODB_WRITE_UNIT,
    "DynamoDB read request units": DYNAMODB_READ_UNIT,
    "SNS publishes": SNS_PUBLISH,
    "SNS e-mail deliveries": SNS_EMAIL,
    "CloudWatch Logs ingestion": CLOUDWATCH_LOGS_INGESTED,
}
