"""Explainable, event-driven lead scoring: the code every Lambda shares."""
