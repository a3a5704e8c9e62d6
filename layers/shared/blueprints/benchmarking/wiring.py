"""Composition root: the benchmarking services built from settings, adapters created once per container
(the price book once per invocation: its memo and statistics belong to one costing)."""

from __future__ import annotations

import functools
from datetime import UTC, datetime, timedelta

from blueprints.benchmarking.adapters import (
    BatchAdapter,
    CostingExecutions,
    DynamoPriceCache,
    Ec2Adapter,
    EcsAdapter,
    FsxAdapter,
    LaunchTable,
    PriceListApi,
    S3AuditStore,
    SpotPriceHistoryApi,
)
from blueprints.benchmarking.collect import Collector
from blueprints.benchmarking.pricebook import PriceBook
from blueprints.benchmarking.reports import Reports, stale_after
from blueprints.benchmarking.settings import ApiSettings, CollectSettings, PriceSettings


def utc_now() -> datetime:
    return datetime.now(UTC)


@functools.cache
def launch_table(table_name: str) -> LaunchTable:
    return LaunchTable(table_name)


@functools.cache
def ecs() -> EcsAdapter:
    return EcsAdapter()


@functools.cache
def price_list(region: str) -> PriceListApi:
    return PriceListApi(region)


@functools.cache
def spot_history() -> SpotPriceHistoryApi:
    return SpotPriceHistoryApi()


@functools.cache
def price_cache(table_name: str, ttl_days: int) -> DynamoPriceCache:
    return DynamoPriceCache(table_name, timedelta(days=ttl_days))


@functools.cache
def audit_store(bucket: str) -> S3AuditStore:
    return S3AuditStore(bucket)


def collector(settings: CollectSettings) -> Collector:
    return Collector(
        launch_table(settings.launch_table_name),
        BatchAdapter(),
        ecs(),
        Ec2Adapter(),
        FsxAdapter(),
        region=settings.workload_region,
        cluster_arn=settings.cluster_arn,
    )


def price_book(settings: PriceSettings) -> PriceBook:
    return PriceBook(
        price_list(settings.pricing_api_region),
        spot_history(),
        price_cache(settings.price_cache_table_name, settings.price_cache_ttl_days),
        utc_now,
    )


@functools.cache
def costing_executions() -> CostingExecutions:
    return CostingExecutions()


def reports(settings: ApiSettings) -> Reports:
    return Reports(
        launch_table(settings.launch_table_name),
        utc_now,
        max_items=settings.benchmark_max_items,
        executions=costing_executions(),
        stale=stale_after(settings.max_price_attempts, settings.price_retry_seconds),
    )


def reset() -> None:
    """Forget the adapters (tests switch moto contexts)."""
    for cached in (launch_table, ecs, price_list, spot_history, price_cache, audit_store, costing_executions):
        cached.cache_clear()
