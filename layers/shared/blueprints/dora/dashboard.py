"""The CloudWatch dashboard's body, built from the metric names the publishers use (``emf``).

templates/dora.yaml embeds this body (``DashboardBody: !Sub``, ``${AWS::Region}`` for the region); a test
renders it here and compares, so a renamed metric cannot leave a widget pointing at nothing. Per-service
widgets use ``SEARCH`` over the ``[service, Service]`` dimension set, so new services appear without a
redeploy; the change failure rate is metric math over the every-service set, as in the original dashboard
(100 * failed / deployments), per day, week and month.
"""

from __future__ import annotations

import json
from typing import Any

from blueprints.dora.emf import (
    BLUEPRINT,
    CHANGE_FAILURE_RATE,
    DEPLOYMENTS,
    DEPLOYMENTS_PER_WEEK,
    FAILED,
    LEAD_TIME,
    LEAD_TIME_P50,
    NAMESPACE,
    RECOVERY,
    RECOVERY_P50,
    REWORK,
    SERVICE_DIMENSION,
    TIER_SCORE,
)

PERIODS = (("day", 86_400), ("week", 604_800), ("month", 2_592_000))
WIDTH = 8
HEIGHT = 6


def search(metric: str, statistic: str, period: int) -> str:
    """A SEARCH expression over every service's ``metric`` (dimension set ``[service, Service]``)."""
    schema = f"{{{NAMESPACE},service,{SERVICE_DIMENSION}}}"
    return f"SEARCH('{schema} service=\"{BLUEPRINT}\" MetricName=\"{metric}\"', '{statistic}', {period})"


def _widget(title: str, metrics: list[list[Any]], region: str, period: int, x: int, y: int) -> dict[str, Any]:
    return {
        "type": "metric",
        "x": x,
        "y": y,
        "width": WIDTH,
        "height": HEIGHT,
        "properties": {
            "title": title,
            "region": region,
            "view": "timeSeries",
            "period": period,
            "metrics": metrics,
        },
    }


def _per_service(
    title: str, metric: str, statistic: str, region: str, period: int, x: int, y: int
) -> dict[str, Any]:
    return _widget(
        title, [[{"expression": search(metric, statistic, period), "id": "e1"}]], region, period, x, y
    )


def _failure_rate(region: str, period: int, x: int, y: int, label: str) -> dict[str, Any]:
    metrics: list[list[Any]] = [
        [NAMESPACE, FAILED, "service", BLUEPRINT, {"id": "m1", "stat": "Sum", "visible": False}],
        [NAMESPACE, DEPLOYMENTS, "service", BLUEPRINT, {"id": "m2", "stat": "Sum", "visible": False}],
        [{"expression": "100 * m1 / m2", "id": "e1", "label": "Change failure rate (%)"}],
    ]
    return _widget(f"Change failure rate per {label}, all services (%)", metrics, region, period, x, y)


def widgets(region: str) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    y = 0
    raw = (
        ("Deployments per {}", DEPLOYMENTS, "Sum"),
        ("Lead time median per {} (s)", LEAD_TIME, "p50"),
        ("Recovery time median per {} (s)", RECOVERY, "p50"),
        ("Rework deployments per {}", REWORK, "Sum"),
    )
    for title, metric, statistic in raw:
        for column, (label, period) in enumerate(PERIODS):
            rows.append(
                _per_service(title.format(label), metric, statistic, region, period, column * WIDTH, y)
            )
        y += HEIGHT
    for column, (label, period) in enumerate(PERIODS):
        rows.append(_failure_rate(region, period, column * WIDTH, y, label))
    y += HEIGHT
    gauges = (
        ("Deployments per week (trailing 30 days)", DEPLOYMENTS_PER_WEEK),
        ("Lead time median, trailing 30 days (s)", LEAD_TIME_P50),
        ("Change failure rate, trailing 30 days", CHANGE_FAILURE_RATE),
        ("Recovery time median, trailing 30 days (s)", RECOVERY_P50),
        ("Overall tier (4 elite .. 1 low)", TIER_SCORE),
    )
    for index, (title, metric) in enumerate(gauges):
        rows.append(
            _per_service(
                title, metric, "Average", region, 86_400, (index % 3) * WIDTH, y + (index // 3) * HEIGHT
            )
        )
    return rows


def body(region: str) -> dict[str, Any]:
    return {"start": "-P90D", "periodOverride": "inherit", "widgets": widgets(region)}


def template_text() -> str:
    """The body as it appears in the template (``${AWS::Region}`` left for ``!Sub``), a widget a line."""
    document = body("${AWS::Region}")
    lines = [json.dumps(widget, separators=(",", ":")) for widget in document.pop("widgets")]
    head = json.dumps(document, separators=(",", ":"))[:-1]
    return head + ',"widgets":[\n' + ",\n".join(lines) + "\n]}"
