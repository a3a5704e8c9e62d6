"""Typed settings of the genomics functions (environment variables set by templates/genomics.yaml)."""

from __future__ import annotations

import json
from typing import Literal

from pydantic import Field, field_validator

from blueprints.core.settings import Settings


class RegistrySettings(Settings):
    launch_table_name: str = Field(min_length=1)


class RegisterSettings(RegistrySettings):
    results_bucket_name: str = Field(min_length=1)
    alerts_topic_arn: str = Field(min_length=1)
    default_snakemake_version: str = Field(min_length=1)
    default_nextflow_version: str = Field(min_length=1)
    restore_enabled: bool
    restore_check_default: bool

    def default_versions(self) -> dict[str, str]:
        return {"snakemake": self.default_snakemake_version, "nextflow": self.default_nextflow_version}


class LaunchSettings(RegistrySettings):
    request_bucket_name: str = Field(min_length=1)
    results_bucket_name: str = Field(min_length=1)
    cluster_arn: str = Field(min_length=1)
    head_container_name: str = Field(min_length=1)
    head_log_group: str = Field(min_length=1)
    head_log_stream_prefix: str = Field(min_length=1)
    subnet_ids: str
    security_group_ids: str
    assign_public_ip: Literal["ENABLED", "DISABLED"]
    fargate_capacity_provider: Literal["FARGATE", "FARGATE_SPOT"]
    batch_job_queue_arn: str
    task_definitions: str
    job_definitions: str
    regenie_state_machine_arn: str
    parallelcluster_head_node_id: str
    parallelcluster_log_group: str
    tibanna_step_function: str
    tibanna_plugin_enabled: bool
    default_snakemake_version: str = Field(min_length=1)
    default_nextflow_version: str = Field(min_length=1)
    listing_budget_seconds: float = Field(gt=0, le=600)
    restore_tier: Literal["Bulk", "Standard", "Expedited"]
    restore_days: int = Field(ge=1, le=30)
    restore_deadline_hours: int = Field(ge=1, le=720)
    start_max_tries: int = Field(ge=1, le=20)  # transient start failures before the launch fails
    container_commands: str  # the programs a container launch may run (comma-separated); empty: any

    @field_validator("task_definitions", "job_definitions")
    @classmethod
    def _json_map(cls, value: str) -> str:
        try:
            parsed = json.loads(value)
        except ValueError as exc:
            raise ValueError(f"not JSON: {exc}") from exc
        if not isinstance(parsed, dict) or not all(isinstance(item, str) for item in parsed.values()):
            raise ValueError("must be a JSON object of definition names")
        return value

    def definitions(self) -> dict[str, dict[str, str]]:
        return {"fargate": json.loads(self.task_definitions), "batch": json.loads(self.job_definitions)}


class TrackSettings(RegistrySettings):
    pass


class DetectSettings(RegistrySettings):
    alerts_topic_arn: str = Field(min_length=1)
    cluster_arn: str = Field(min_length=1)
    runnable_alert_minutes: int = Field(ge=1, le=10_080)
    hard_timeout_minutes: int = Field(ge=1, le=43_200)
    launching_alert_minutes: int = Field(ge=1, le=43_200)


class ApiSettings(RegisterSettings):
    pass


class RestoreSettings(RegistrySettings):
    restore_table_name: str = Field(min_length=1)
    restore_queue_url: str = Field(min_length=1)
    alerts_topic_arn: str = Field(min_length=1)
    restore_allow_partial: bool
    restore_indexing_timeout_minutes: int = Field(ge=5, le=1440)  # INDEXING longer than this: FAILED


class RestoreApiSettings(ApiSettings):
    restore_table_name: str = Field(min_length=1)
