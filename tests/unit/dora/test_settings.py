"""Settings: per-service policies from JSON, and refusal of invalid configuration at first use."""

from __future__ import annotations

import json

import pytest

from blueprints.core.errors import ConfigurationError
from blueprints.dora.settings import PipelineSettings, QuerySettings
from tests.unit.dora.conftest import DoraWorld


def pipeline_env(dora: DoraWorld, **overrides: str) -> dict[str, str]:
    env = dora.stack.function_env("IngestPipelineEventFunction")
    env.update(overrides)
    return env


def test_service_overrides_change_only_their_service(dora: DoraWorld) -> None:
    overrides = json.dumps(
        {
            "svc-b": {
                "prod_stage_name": "Production",
                "release_branch": "release",
                "repositories": ["org/b"],
                "hotfix_branch_regex": "^hf/(x)/(oi-[0-9a-f]{12})",
                "count_rollbacks": False,
            }
        }
    )
    settings = PipelineSettings.from_env(
        pipeline_env(dora, SERVICE_OVERRIDES=overrides, PIPELINES="svc-a, svc-b")
    )
    policies = settings.policies()
    b, a = policies.for_service("svc-b"), policies.for_service("svc-a")
    assert (b.prod_stage, b.release_branch, b.repositories, b.count_rollbacks) == (
        "Production",
        "release",
        frozenset({"org/b"}),
        False,
    )
    assert b.hotfix_branch.pattern == "^hf/(x)/(oi-[0-9a-f]{12})"
    assert (a.prod_stage, a.release_branch, a.count_rollbacks) == ("DeployPROD", "main", True)
    assert policies.pipelines == frozenset({"svc-a", "svc-b"})
    partial = PipelineSettings.from_env(
        pipeline_env(dora, SERVICE_OVERRIDES='{"svc-c": {"release_branch": "trunk"}}')
    ).policies()
    assert partial.for_service("svc-c").hotfix_branch is partial.default.hotfix_branch


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("SERVICE_OVERRIDES", "{not json", "SERVICE_OVERRIDES: Value error, not JSON"),
        ("SERVICE_OVERRIDES", '{"svc": 1}', "SERVICE_OVERRIDES"),
        ("SERVICE_OVERRIDES", '{"svc": {"stage": "x"}}', "unknown keys"),
        ("SERVICE_OVERRIDES", '{"svc": {"hotfix_branch_regex": "("}}', "not a valid regular expression"),
        ("HOTFIX_BRANCH_REGEX", "([", "HOTFIX_BRANCH_REGEX"),
        ("REPORT_TIME_ZONE", "Mars/Olympus", "unknown time zone"),
        ("BENCHMARK_EDITION", "1999", "unknown benchmark edition"),
        ("ACCOUNT_ID", "12345", "ACCOUNT_ID"),
    ],
)
def test_invalid_settings_are_refused_naming_the_variable(
    dora: DoraWorld, name: str, value: str, message: str
) -> None:
    with pytest.raises(ConfigurationError, match=message):
        PipelineSettings.from_env(pipeline_env(dora, **{name: value}))


def test_the_query_window_limit_is_a_setting(dora: DoraWorld) -> None:
    env = dora.stack.function_env("QueryDoraFunction")
    assert QuerySettings.from_env(env).max_window_days == 366
    with pytest.raises(ConfigurationError, match="MAX_WINDOW_DAYS"):
        QuerySettings.from_env({**env, "MAX_WINDOW_DAYS": "0"})
