"""Composition root: the genomics services built from settings, adapters created once per container.

Each factory imports what it builds, so a handler loads only its own service (a tracker never imports the
engines, the restore flow or the API): cold start pays for what the function uses.
"""

from __future__ import annotations

import functools
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from blueprints.genomics.registry import LaunchRegistry

if TYPE_CHECKING:
    from blueprints.genomics.api import LaunchesApi
    from blueprints.genomics.launcher import Launcher
    from blueprints.genomics.logscan import LogScan
    from blueprints.genomics.registration import Registrar
    from blueprints.genomics.restore_flow import RestoreFlow
    from blueprints.genomics.restore_store import RestoreStore
    from blueprints.genomics.settings import (
        DetectSettings,
        LaunchSettings,
        RegisterSettings,
        RegistrySettings,
        RestoreApiSettings,
        RestoreSettings,
    )
    from blueprints.genomics.storage import LaunchStorage
    from blueprints.genomics.stuck import StuckDetector
    from blueprints.genomics.tracking import Tracker


def utc_now() -> datetime:
    return datetime.now(UTC)


@functools.cache
def registry(table_name: str) -> LaunchRegistry:
    return LaunchRegistry(table_name)


@functools.cache
def storage() -> LaunchStorage:
    from blueprints.genomics.storage import LaunchStorage

    return LaunchStorage()


def _registrar(settings: RegisterSettings) -> Registrar:
    from blueprints.genomics.adapters import SnsNotifier
    from blueprints.genomics.registration import Defaults, Registrar

    defaults = Defaults(
        results_bucket=settings.results_bucket_name,
        default_versions=settings.default_versions(),
        restore_enabled=settings.restore_enabled,
        restore_default=settings.restore_check_default,
    )
    return Registrar(
        registry(settings.launch_table_name), defaults, SnsNotifier(settings.alerts_topic_arn), utc_now
    )


def registrar(settings: RegisterSettings) -> Registrar:
    return _registrar(settings)


def api(settings: RestoreApiSettings) -> tuple[LaunchesApi, Registrar]:
    from blueprints.genomics.api import LaunchesApi

    launches = LaunchesApi(
        registry(settings.launch_table_name), utc_now, restore_store(settings.restore_table_name)
    )
    return launches, _registrar(settings)


@functools.cache
def restore_store(table_name: str) -> RestoreStore:
    from blueprints.genomics.restore_store import RestoreStore

    return RestoreStore(table_name)


def restore_flow(settings: RestoreSettings) -> RestoreFlow:
    from blueprints.genomics.adapters import SnsNotifier, SqsChunkQueue
    from blueprints.genomics.restore_flow import RestoreConfig, RestoreFlow
    from blueprints.genomics.restore_s3 import RestoreS3

    return RestoreFlow(
        restore_store(settings.restore_table_name),
        RestoreS3(),
        registry(settings.launch_table_name),
        SqsChunkQueue(settings.restore_queue_url),
        SnsNotifier(settings.alerts_topic_arn),
        RestoreConfig(
            allow_partial=settings.restore_allow_partial,
            indexing_timeout=timedelta(minutes=settings.restore_indexing_timeout_minutes),
        ),
        utc_now,
    )


def launcher(settings: LaunchSettings) -> Launcher:
    from blueprints.core.aws import client as aws_client
    from blueprints.core.settings import csv_list
    from blueprints.genomics.compute import (
        BatchRunner,
        FargateRunner,
        ParallelClusterRunner,
        Runner,
        StepFunctionsRunner,
    )
    from blueprints.genomics.launcher import Launcher, LauncherConfig

    runners: dict[str, Runner] = {
        "fargate": FargateRunner(
            cluster_arn=settings.cluster_arn,
            container_name=settings.head_container_name,
            log_group=settings.head_log_group,
            log_stream_prefix=settings.head_log_stream_prefix,
            subnets=csv_list(settings.subnet_ids),
            security_groups=csv_list(settings.security_group_ids),
            assign_public_ip=settings.assign_public_ip,
            capacity_provider=settings.fargate_capacity_provider,
        ),
        "batch": BatchRunner(settings.batch_job_queue_arn),
        "stepfunctions": StepFunctionsRunner(settings.regenie_state_machine_arn),
        "parallelcluster": ParallelClusterRunner(
            settings.parallelcluster_head_node_id, settings.parallelcluster_log_group
        ),
    }
    config = LauncherConfig(
        artifacts_bucket=settings.request_bucket_name,
        restore_bucket=settings.request_bucket_name,
        results_bucket=settings.results_bucket_name,
        region=str(aws_client("s3").meta.region_name),
        batch_job_queue=settings.batch_job_queue_arn,
        tibanna_step_function=settings.tibanna_step_function,
        tibanna_plugin_enabled=settings.tibanna_plugin_enabled,
        default_versions={
            "snakemake": settings.default_snakemake_version,
            "nextflow": settings.default_nextflow_version,
        },
        definitions=settings.definitions(),
        listing_budget_seconds=settings.listing_budget_seconds,
        restore_tier=settings.restore_tier,
        restore_days=settings.restore_days,
        restore_deadline_hours=settings.restore_deadline_hours,
        max_start_tries=settings.start_max_tries,
        container_commands=tuple(csv_list(settings.container_commands)),
    )
    return Launcher(registry(settings.launch_table_name), storage(), runners, config, utc_now)


def tracker(settings: RegistrySettings) -> Tracker:
    from blueprints.genomics.adapters import InstanceFacts
    from blueprints.genomics.tracking import Tracker

    return Tracker(registry(settings.launch_table_name), utc_now, InstanceFacts())


def log_scan(settings: RegistrySettings) -> LogScan:
    from blueprints.genomics.logscan import LogScan, LogScanner

    return LogScan(registry(settings.launch_table_name), LogScanner(), utc_now)


def detector(settings: DetectSettings) -> StuckDetector:
    from blueprints.genomics.adapters import ComputeStopper, SnsNotifier
    from blueprints.genomics.stuck import StuckDetector, Thresholds

    thresholds = Thresholds(
        runnable_alert=_minutes(settings.runnable_alert_minutes),
        hard_timeout=_minutes(settings.hard_timeout_minutes),
        launching_alert=_minutes(settings.launching_alert_minutes),
    )
    return StuckDetector(
        registry(settings.launch_table_name),
        SnsNotifier(settings.alerts_topic_arn),
        ComputeStopper(settings.cluster_arn),
        thresholds,
    )


def _minutes(value: int) -> timedelta:
    return timedelta(minutes=value)


def reset() -> None:
    """Forget the adapters (tests switch moto contexts)."""
    registry.cache_clear()
    storage.cache_clear()
    restore_store.cache_clear()
