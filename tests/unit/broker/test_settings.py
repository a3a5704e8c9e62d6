"""The broker's settings models against the environment the template really gives each function."""

from __future__ import annotations

import json

import pytest

from blueprints.broker.settings import DispatchSettings, RerunSettings
from blueprints.core.errors import ConfigurationError
from tests.unit.broker.conftest import Broker


def test_dispatch_settings_parse_the_template_environment(broker: Broker) -> None:
    env = broker.stack.function_env("DispatchTaskFunction")

    settings = DispatchSettings.from_env(env)

    assert set(DispatchSettings.env_names()) <= set(env)
    assert settings.cluster_arn == broker.cluster_arn
    assert settings.dead_letter_queue_url == broker.dlq_url
    assert (
        settings.retry_limit,
        settings.api_backoff_base_seconds,
        settings.capacity_backoff_base_seconds,
    ) == (5, 15, 60)
    assert (settings.max_backoff_seconds, settings.propagate_tags, settings.record_ttl_days) == (
        900,
        True,
        30,
    )
    assert (settings.default_subnets, settings.default_assign_public_ip) == ("", "")


def test_rerun_settings_parse_the_template_environment(broker: Broker) -> None:
    env = broker.stack.function_env("RerunOnEniTimeoutFunction")

    settings = RerunSettings.from_env(env)

    assert set(RerunSettings.env_names()) <= set(env)
    assert settings.request_queue_url == broker.request_queue_url
    assert settings.idempotency_table_name == broker.stack.ref("IdempotencyTable")
    assert (settings.max_eni_reruns, settings.rerun_delay_seconds) == (3, 60)


def test_the_queue_redrive_allows_one_receive_over_the_retry_limit(broker: Broker) -> None:
    attributes = broker.sqs().get_queue_attributes(QueueUrl=broker.request_queue_url, AttributeNames=["All"])[
        "Attributes"
    ]
    settings = DispatchSettings.from_env(broker.stack.function_env("DispatchTaskFunction"))

    assert int(json.loads(attributes["RedrivePolicy"])["maxReceiveCount"]) == settings.retry_limit + 1 == 6
    assert int(attributes["VisibilityTimeout"]) >= 6 * 60


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("RETRY_LIMIT", "0"),
        ("MAX_BACKOFF_SECONDS", "50000"),
        ("DEFAULT_ASSIGN_PUBLIC_IP", "YES"),
        ("PROPAGATE_TAGS", "sometimes"),
        ("CLUSTER_ARN", ""),
    ],
)
def test_invalid_dispatch_values_are_named(broker: Broker, name: str, value: str) -> None:
    env = {**broker.stack.function_env("DispatchTaskFunction"), name: value}

    with pytest.raises(ConfigurationError, match=name):
        DispatchSettings.from_env(env)


def test_an_invalid_redaction_pattern_is_a_configuration_error(broker: Broker) -> None:
    env = {**broker.stack.function_env("DispatchTaskFunction"), "REDACT_ENV_PATTERN": "(secret"}

    with pytest.raises(ConfigurationError, match="REDACT_ENV_PATTERN"):
        DispatchSettings.from_env(env)
