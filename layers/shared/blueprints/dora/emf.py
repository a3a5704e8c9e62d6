"""CloudWatch metrics (EMF) of the blueprint: the names the publishers use and the dashboard reads.

Raw data points are timestamped with the *event* time (a deployment's deploy time) and carry two
dimension sets: ``[service, Service]`` (per deployed service; ``service`` is the blueprint, ``dora``) and
``[service]`` (every service together). CloudWatch refuses points older than 14 days or more than 2 hours
ahead, so those are not published (backfills update the facts and snapshots only). Gauges are the
snapshot values of the trailing 30 days, published by the recompute. The fact store stays the source of
truth: a late link corrects the snapshots and the API, not the raw points already published.
"""

from __future__ import annotations

import json
import sys
import warnings
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.metrics.provider.cloudwatch_emf.cloudwatch import AmazonCloudWatchEMFProvider

from blueprints.dora.model import Deployment

NAMESPACE = "Blueprints"
BLUEPRINT = "dora"  # the ``service`` dimension: POWERTOOLS_SERVICE_NAME of templates/dora.yaml
SERVICE_DIMENSION = "Service"

DEPLOYMENTS = "Deployments"
LEAD_TIME = "LeadTimeSeconds"
FAILED = "FailedDeployments"
RECOVERY = "RecoverySeconds"
REWORK = "ReworkDeployments"
RAW_METRICS = (DEPLOYMENTS, LEAD_TIME, FAILED, RECOVERY, REWORK)
UNATTRIBUTED = "UnattributedIncidents"  # qualifying OpsItems no rule gives a service (rollup only)

DEPLOYMENTS_PER_WEEK = "DeploymentsPerWeek"
LEAD_TIME_P50 = "LeadTimeP50Seconds"
LEAD_TIME_P90 = "LeadTimeP90Seconds"
CHANGE_FAILURE_RATE = "ChangeFailureRate"
RECOVERY_P50 = "RecoveryP50Seconds"
RECOVERY_P90 = "RecoveryP90Seconds"
REWORK_RATE = "ReworkRate"
TIER_SCORE = "TierScore"
GAUGES = (
    DEPLOYMENTS_PER_WEEK,
    LEAD_TIME_P50,
    LEAD_TIME_P90,
    CHANGE_FAILURE_RATE,
    RECOVERY_P50,
    RECOVERY_P90,
    REWORK_RATE,
    TIER_SCORE,
)
TIER_SCORES = {"elite": 4, "high": 3, "medium": 2, "low": 1}
MAX_VALUES = 100  # values of one metric per EMF document
MAX_AGE = timedelta(days=14) - timedelta(hours=1)
MAX_AHEAD = timedelta(hours=2)


def _stdout(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def gauge_values(window_metrics: Mapping[str, Any]) -> dict[str, tuple[float, MetricUnit]]:
    """The gauges of one metrics document (absent values are not published)."""
    candidates: dict[str, tuple[Any, MetricUnit]] = {
        DEPLOYMENTS_PER_WEEK: (window_metrics["deployment_frequency"]["per_week"], MetricUnit.Count),
        LEAD_TIME_P50: (window_metrics["lead_time"]["median_seconds"], MetricUnit.Seconds),
        LEAD_TIME_P90: (window_metrics["lead_time"]["p90_seconds"], MetricUnit.Seconds),
        CHANGE_FAILURE_RATE: (window_metrics["change_failure_rate"]["rate"], MetricUnit.NoUnit),
        RECOVERY_P50: (window_metrics["recovery_time"]["median_seconds"], MetricUnit.Seconds),
        RECOVERY_P90: (window_metrics["recovery_time"]["p90_seconds"], MetricUnit.Seconds),
        REWORK_RATE: (window_metrics["rework_rate"]["rate"], MetricUnit.NoUnit),
        TIER_SCORE: (TIER_SCORES.get(str(window_metrics["overall_tier"])), MetricUnit.NoUnit),
    }
    return {name: (float(value), unit) for name, (value, unit) in candidates.items() if value is not None}


class MetricsPublisher:
    def __init__(self, now: Callable[[], datetime], sink: Callable[[str], None] = _stdout) -> None:
        self._now = now
        self._sink = sink

    def publishable(self, at: datetime) -> bool:
        now = self._now()
        return now - MAX_AGE <= at <= now + MAX_AHEAD

    def _emit(
        self, name: str, unit: MetricUnit, values: Iterable[float], service: str | None, at: datetime
    ) -> int:
        if not self.publishable(at):
            return 0
        pending = list(values)
        documents = 0
        for start in range(0, len(pending), MAX_VALUES):
            provider = AmazonCloudWatchEMFProvider(namespace=NAMESPACE, service=BLUEPRINT)
            for value in pending[start : start + MAX_VALUES]:
                provider.add_metric(name=name, unit=unit, value=value)
            if service is not None:  # else only the default [service] set: the every-service rollup
                provider.add_dimension(name=SERVICE_DIMENSION, value=service)
                provider.add_dimensions(service=BLUEPRINT)  # the every-service rollup
            with (
                warnings.catch_warnings()
            ):  # Powertools checks against the wall clock; we checked against ours
                warnings.filterwarnings("ignore", message="This metric doesn't meet the requirements")
                provider.set_timestamp(at)
            self._sink(json.dumps(provider.serialize_metric_set(), separators=(",", ":")))
            documents += 1
        return documents

    def deployment(self, deployment: Deployment, rework: bool) -> None:
        self._emit(DEPLOYMENTS, MetricUnit.Count, [1], deployment.service, deployment.deploy_time)
        if rework:
            self._emit(REWORK, MetricUnit.Count, [1], deployment.service, deployment.deploy_time)

    def lead_times(self, deployment: Deployment, samples: Iterable[float]) -> None:
        positive = [sample for sample in samples if sample > 0]
        if positive:
            self._emit(LEAD_TIME, MetricUnit.Seconds, positive, deployment.service, deployment.deploy_time)

    def failed(self, deployment: Deployment) -> None:
        self._emit(FAILED, MetricUnit.Count, [1], deployment.service, deployment.deploy_time)

    def recovery(self, deployment: Deployment, seconds: float) -> None:
        if seconds >= 0:
            self._emit(RECOVERY, MetricUnit.Seconds, [seconds], deployment.service, deployment.deploy_time)

    def unattributed(self, at: datetime) -> None:
        """One qualifying incident without service noted at ``at`` (the every-service rollup only)."""
        self._emit(UNATTRIBUTED, MetricUnit.Count, [1], None, at)

    def gauges(self, service: str, window_metrics: Mapping[str, Any], at: datetime) -> int:
        return sum(
            self._emit(name, unit, [value], service, at)
            for name, (value, unit) in gauge_values(window_metrics).items()
        )
