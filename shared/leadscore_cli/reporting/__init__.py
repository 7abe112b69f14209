"""The calibration report: how scores agree with outcomes (pure figures; the table scan is in table)."""
