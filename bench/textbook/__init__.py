"""A textbook SQS lead scorer, the yardstick the product's storage is measured against.

What a careful engineer writes from the Powertools documentation: ``BatchProcessor`` with partial batch
responses, the idempotency utility (``idempotent_function`` on a DynamoDB persistence layer of its own,
keyed on the message id) and, per event, a read of the lead, the product's engine, and a write of the
lead. It scores as the product does; it stores the way most scorers do. ``handler.py`` is the Lambda
handler; this module only names its tables, so importing the handler stays what Lambda would import.
"""

from __future__ import annotations

from typing import Any

ENV_TABLE = "TEXTBOOK_TABLE_NAME"
ENV_IDEMPOTENCY_TABLE = "TEXTBOOK_IDEMPOTENCY_TABLE_NAME"
TABLE = "textbook-leads"
IDEMPOTENCY_TABLE = "textbook-idempotency"


def table_definitions(table: str = TABLE, idempotency_table: str = IDEMPOTENCY_TABLE) -> list[dict[str, Any]]:
    """CreateTable arguments: the lead table (one item per lead) and the idempotency records' table."""
    return [
        {
            "TableName": table,
            "BillingMode": "PAY_PER_REQUEST",
            "AttributeDefinitions": [{"AttributeName": "lead_id", "AttributeType": "S"}],
            "KeySchema": [{"AttributeName": "lead_id", "KeyType": "HASH"}],
        },
        {
            "TableName": idempotency_table,
            "BillingMode": "PAY_PER_REQUEST",
            "AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "S"}],
            "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
        },
    ]
