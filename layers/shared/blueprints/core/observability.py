"""The one observability module: Logger, Tracer and Metrics singletons and the handler decorator.

Powertools reads its configuration (service name, namespace, log level, tracing switch) from the
environment that each template sets in ``Globals``. Tracing stays behind this module: handlers and
domain code use ``tracer`` and ``observed`` from here only, so moving from the X-Ray SDK to
OpenTelemetry later changes this file alone (see docs/adr/0003).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping
from typing import Any, cast

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit, single_metric

# Metrics with their own dimensions go out at once through ``count``; an invocation that emitted only
# those has nothing left for ``log_metrics`` to flush, which is expected, not worth a warning each time.
warnings.filterwarnings("ignore", message="No application metrics to publish")

logger = Logger(log_uncaught_exceptions=True)
tracer = Tracer()
metrics = Metrics()


def observed[HandlerT: Callable[..., Any]](handler: HandlerT) -> HandlerT:
    """Wrap a Lambda handler with logging context, tracing and metrics, always in this order."""
    wrapped = metrics.log_metrics(capture_cold_start_metric=True)(handler)
    wrapped = tracer.capture_lambda_handler(wrapped)
    return cast(HandlerT, logger.inject_lambda_context(clear_state=True)(wrapped))


def count(name: str, dimensions: Mapping[str, str], value: float = 1) -> None:
    """Emit one count metric with its own dimensions (flushed at once as its own EMF document)."""
    with single_metric(
        name=name,
        unit=MetricUnit.Count,
        value=value,
        default_dimensions=metrics.default_dimensions,
    ) as metric:
        for key, dimension_value in dimensions.items():
            metric.add_dimension(name=key, value=dimension_value)
