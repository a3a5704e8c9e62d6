"""Typed settings of the broker's functions (environment variables set by templates/broker.yaml)."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, field_validator

from blueprints.core.settings import Settings


class DispatchSettings(Settings):
    requests_table_name: str = Field(min_length=1)
    dead_letter_queue_url: str = Field(min_length=1)
    failure_topic_arn: str = Field(min_length=1)
    cluster_arn: str = Field(min_length=1)
    task_definition_prefix: str
    retry_limit: int = Field(ge=1, le=100)
    api_backoff_base_seconds: int = Field(ge=1, le=900)
    capacity_backoff_base_seconds: int = Field(ge=1, le=900)
    max_backoff_seconds: int = Field(ge=1, le=43_200)
    default_subnets: str
    default_security_groups: str
    default_assign_public_ip: Literal["", "ENABLED", "DISABLED"]
    notify_topic_allowlist: str
    redact_env_pattern: str
    propagate_tags: bool
    record_ttl_days: int = Field(ge=1, le=3650)

    @field_validator("redact_env_pattern")
    @classmethod
    def _compiles(cls, value: str) -> str:
        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"not a valid regular expression: {exc}") from exc
        return value


class RerunSettings(Settings):
    requests_table_name: str = Field(min_length=1)
    request_queue_url: str = Field(min_length=1)
    dead_letter_queue_url: str = Field(min_length=1)
    failure_topic_arn: str = Field(min_length=1)
    idempotency_table_name: str = Field(min_length=1)
    max_eni_reruns: int = Field(ge=0, le=100)
    rerun_delay_seconds: int = Field(ge=0, le=900)
    record_ttl_days: int = Field(ge=1, le=3650)
