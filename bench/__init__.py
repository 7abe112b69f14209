"""Benchmarks that print figures (events per second, DynamoDB write units per event, init time)."""
