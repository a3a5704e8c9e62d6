"""The client factory: cached clients, botocore standard retries, AWS_ENDPOINT_URL honoured."""

from __future__ import annotations

from typing import Any

import pytest

from blueprints.core import aws


def test_clients_are_cached_per_service() -> None:
    # Given / When the same service is asked twice
    first = aws.client("sqs")
    second = aws.client("sqs")

    # Then it is the same client, and another service gets its own
    assert first is second
    assert first.meta.service_model.service_name == "sqs"
    assert aws.client("sns").meta.service_model.service_name == "sns"


def test_reset_clients_drops_the_cache() -> None:
    before = aws.client("dynamodb")
    aws.reset_clients()
    assert aws.client("dynamodb") is not before


def test_clients_use_standard_retries_with_three_attempts_in_total() -> None:
    config: Any = aws.client("ecs").meta.config  # the stubs do not declare the resolved settings

    # the first call and two retries; longer trouble goes back to the caller (SQS backoff, SFN Retry)
    assert config.retries == {"mode": "standard", "total_max_attempts": 3}
    assert (config.connect_timeout, config.read_timeout) == (5, 30)


def test_every_client_gets_the_same_retry_budget() -> None:
    configs: list[Any] = [
        aws.client("ecs").meta.config,
        aws.client("sqs").meta.config,
        aws.client("sns").meta.config,
    ]
    assert [config.retries["total_max_attempts"] for config in configs] == [3, 3, 3]


def test_default_endpoint_is_the_regional_aws_endpoint() -> None:
    assert aws.client("sqs").meta.endpoint_url == "https://sqs.us-east-1.amazonaws.com"


def test_aws_endpoint_url_is_honoured(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given the local cloud's endpoint in the environment
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:4566")
    aws.reset_clients()

    # When / Then every new client points at it (botocore reads the variable itself)
    assert aws.client("sqs").meta.endpoint_url == "http://127.0.0.1:4566"
    assert aws.client("ecs").meta.endpoint_url == "http://127.0.0.1:4566"


def test_service_specific_endpoint_url_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:4566")
    monkeypatch.setenv("AWS_ENDPOINT_URL_SNS", "http://127.0.0.1:4575")
    aws.reset_clients()

    assert aws.client("sns").meta.endpoint_url == "http://127.0.0.1:4575"
    assert aws.client("sqs").meta.endpoint_url == "http://127.0.0.1:4566"


def test_a_cached_client_keeps_its_endpoint_until_reset(monkeypatch: pytest.MonkeyPatch) -> None:
    cached = aws.client("sqs")
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:4566")

    assert aws.client("sqs") is cached
    assert cached.meta.endpoint_url == "https://sqs.us-east-1.amazonaws.com"
