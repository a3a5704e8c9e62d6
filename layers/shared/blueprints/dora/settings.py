"""Typed settings of the DORA functions (environment variables set by templates/dora.yaml)."""

from __future__ import annotations

import json
import re
from typing import Any, Literal

from pydantic import Field, field_validator

from blueprints.core.settings import Settings, csv_list
from blueprints.dora.benchmarks import edition
from blueprints.dora.detect import Policies, ServicePolicy
from blueprints.dora.errors import UnknownEditionError
from blueprints.dora.timeutil import Calendar

_SERVICE_KEYS = {
    "prod_stage_name",
    "release_branch",
    "repositories",
    "hotfix_branch_regex",
    "count_rollbacks",
}


def _regex(value: str) -> str:
    try:
        re.compile(value)
    except re.error as exc:
        raise ValueError(f"not a valid regular expression: {exc}") from exc
    return value


class FactsSettings(Settings):
    """What every function of the blueprint reads."""

    facts_table_name: str = Field(min_length=1)
    report_time_zone: str = Field(min_length=1)
    benchmark_edition: str  # empty: the latest verified edition
    overall_tier_rule: Literal["lowest", "median"]
    commit_time: Literal["author", "committer"]
    lead_time_mode: Literal["commit", "pr"]

    @field_validator("benchmark_edition")
    @classmethod
    def _edition(cls, value: str) -> str:
        if value:
            try:
                edition(value)
            except UnknownEditionError as exc:
                raise ValueError(str(exc)) from exc
        return value

    @field_validator("report_time_zone")
    @classmethod
    def _zone(cls, value: str) -> str:
        Calendar(value).zone  # noqa: B018 - raises ValueError for an unknown zone
        return value


class AccountSettings(FactsSettings):
    account_id: str = Field(pattern=r"^\d{12}$")
    cross_account_role_name: str = Field(min_length=1, max_length=64)


class PipelineSettings(AccountSettings):
    changes_queue_url: str = Field(min_length=1)
    prod_stage_name: str = Field(min_length=1)
    release_branch: str = Field(min_length=1)
    hotfix_branch_regex: str
    repositories: str
    pipelines: str
    service_overrides: str
    count_rollbacks_as_deployments: bool

    _hotfix = field_validator("hotfix_branch_regex")(_regex)

    @field_validator("service_overrides")
    @classmethod
    def _overrides(cls, value: str) -> str:
        try:
            parsed = json.loads(value or "{}")
        except ValueError as exc:
            raise ValueError(f"not JSON: {exc}") from exc
        if not isinstance(parsed, dict) or not all(isinstance(v, dict) for v in parsed.values()):
            raise ValueError('expected {"<service>": {"prod_stage_name": ..., ...}}')
        for service, override in parsed.items():
            unknown = set(override) - _SERVICE_KEYS
            if unknown:
                raise ValueError(f"{service}: unknown keys {sorted(unknown)}")
            if "hotfix_branch_regex" in override:
                _regex(str(override["hotfix_branch_regex"]))
        return value

    def policies(self) -> Policies:
        default = ServicePolicy(
            prod_stage=self.prod_stage_name,
            release_branch=self.release_branch,
            repositories=frozenset(csv_list(self.repositories)),
            hotfix_branch=re.compile(self.hotfix_branch_regex),
            count_rollbacks=self.count_rollbacks_as_deployments,
        )
        overrides = {
            str(service): _override(default, override)
            for service, override in json.loads(self.service_overrides or "{}").items()
        }
        return Policies(default, overrides, frozenset(csv_list(self.pipelines)))


def _override(default: ServicePolicy, values: dict[str, Any]) -> ServicePolicy:
    repositories = values.get("repositories")
    return ServicePolicy(
        prod_stage=str(values.get("prod_stage_name", default.prod_stage)),
        release_branch=str(values.get("release_branch", default.release_branch)),
        repositories=frozenset(str(r) for r in repositories)
        if repositories is not None
        else default.repositories,
        hotfix_branch=re.compile(str(values["hotfix_branch_regex"]))
        if "hotfix_branch_regex" in values
        else default.hotfix_branch,
        count_rollbacks=bool(values.get("count_rollbacks", default.count_rollbacks)),
    )


class IncidentSettings(AccountSettings):
    incident_categories: str  # empty: any category
    incident_severities: str  # empty: any severity
    incident_excluded_sources: str


class IngestPipelineSettings(PipelineSettings):
    pass


class IngestOpsItemSettings(IncidentSettings):
    pass


class BackfillSettings(PipelineSettings, IncidentSettings):
    pass


class ResolveSettings(FactsSettings):
    github_api_url: str = Field(pattern=r"^https?://")
    github_token_secret_arn: str = Field(min_length=1)
    first_deploy_samples: Literal["none", "head_only"]
    hotfix_branch_regex: str

    _hotfix = field_validator("hotfix_branch_regex")(_regex)


class WebhookSettings(FactsSettings):
    webhook_secret_arn: str = Field(min_length=1)


class CalculateSettings(FactsSettings):
    changes_queue_url: str  # the plan step re-queues change resolutions left pending (PendingSweep)


class QuerySettings(FactsSettings):
    max_window_days: int = Field(ge=1, le=3660)
