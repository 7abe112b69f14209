"""The services' counts as CloudWatch metrics: Powertools Metrics in embedded metric format (log lines that
CloudWatch turns into metrics: no API call, no latency in the request path)."""

from __future__ import annotations

import threading
from collections import Counter as Tally
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from aws_lambda_powertools.metrics import EphemeralMetrics, MetricUnit

from leadscore.resources import METRICS_NAMESPACE, SERVICE, MetricSpec

Result = TypeVar("Result")


class CloudWatchCounter:
    """Adds the counts up during an invocation and writes each total once when it ends (``log_metrics``):
    one document for the counts without a dimension, one per dimension value (a rejection reason, an alert
    kind), because a document's dimensions apply to all its metrics. Every document has the dimension
    ``service``. ``POWERTOOLS_METRICS_DISABLED=true`` (the local stack without ``--verbose``) writes none.

    Each document is a fresh ``EphemeralMetrics``: Powertools' ``Metrics`` shares its metric set between
    instances, which would mix the functions the local stack runs side by side in one process.
    """

    def __init__(self, namespace: str = METRICS_NAMESPACE, service: str = SERVICE) -> None:
        self._namespace = namespace
        self._service = service
        self._totals: Tally[tuple[str, str | None, str | None]] = Tally()
        self._lock = threading.Lock()

    def count(self, metric: MetricSpec, value: int = 1, *, of: str | None = None) -> None:
        if (of is None) != (metric.dimension is None):
            raise ValueError(f"{metric.name} is counted by {metric.dimension or 'nothing'}, not {of!r}")
        with self._lock:
            self._totals[metric.name, metric.dimension, of] += value

    def flush(self) -> None:
        """Write the totals counted so far and start again from none."""
        with self._lock:
            totals, self._totals = self._totals, Tally()
        documents: dict[tuple[str | None, str | None], EphemeralMetrics] = {}
        for (name, dimension, of), total in sorted(totals.items(), key=str):
            document = documents.get((dimension, of))
            if document is None:
                document = documents[dimension, of] = EphemeralMetrics(
                    namespace=self._namespace, service=self._service
                )
                if dimension is not None and of is not None:
                    document.add_dimension(name=dimension, value=of)
            document.add_metric(name=name, unit=MetricUnit.Count, value=total)
        for document in documents.values():
            document.flush_metrics()

    def log_metrics(self, handler: Callable[..., Result]) -> Callable[..., Result]:
        """A handler whose counts are written when it returns or raises."""

        @wraps(handler)
        def counted(*args: Any, **kwargs: Any) -> Result:
            try:
                return handler(*args, **kwargs)
            finally:
                self.flush()

        return counted
