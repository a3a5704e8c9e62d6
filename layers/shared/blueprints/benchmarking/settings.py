"""Typed settings of the benchmarking functions (environment variables set by templates/benchmarking.yaml)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from blueprints.core.settings import Settings


class CollectSettings(Settings):
    launch_table_name: str = Field(min_length=1)
    cluster_arn: str = Field(min_length=1)
    workload_region: str = Field(min_length=1)


class PriceSettings(Settings):
    price_cache_table_name: str = Field(min_length=1)
    price_cache_ttl_days: int = Field(ge=1, le=90)
    pricing_api_region: Literal["us-east-1", "eu-central-1", "ap-south-1"]
    cost_inputs_bucket_name: str = Field(min_length=1)


class ApiSettings(Settings):
    launch_table_name: str = Field(min_length=1)
    benchmark_max_items: int = Field(ge=1, le=100_000)
    max_price_attempts: int = Field(ge=1, le=24)
    price_retry_seconds: int = Field(ge=60, le=3600)
