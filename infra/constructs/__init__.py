"""The stack's building blocks, one per capability: storage, keys, ingestion, scoring, alerts, the API."""
