"""The observability module: one-off EMF counts with their own dimensions, and the handler decorator."""

from __future__ import annotations

import io
from typing import Any

import pytest
from aws_lambda_powertools.metrics.provider import cold_start

from blueprints.core.observability import count, logger, observed
from tests.support.emf import dimensions, log_lines, metric_documents
from tests.support.lambda_context import FakeLambdaContext


def test_count_emits_one_emf_document_with_the_given_dimensions(capsys: pytest.CaptureFixture[str]) -> None:
    # When a count is emitted
    count("BrokerFailure", {"class": "RetryableApi", "code": "ThrottlingException"})

    # Then one EMF document, in the Blueprints namespace, carries the metric and those dimensions
    documents = metric_documents(capsys.readouterr().out)
    assert len(documents) == 1
    document = documents[0]
    block = document["_aws"]["CloudWatchMetrics"][0]
    assert block["Namespace"] == "Blueprints"
    assert block["Metrics"] == [{"Name": "BrokerFailure", "Unit": "Count"}]
    assert dimensions(document) == {
        "class": "RetryableApi",
        "code": "ThrottlingException",
        "service": "tests",
    }
    assert document["BrokerFailure"] == [1.0]


def test_count_value_is_given_value(capsys: pytest.CaptureFixture[str]) -> None:
    count("TasksStarted", {}, value=3)

    [document] = metric_documents(capsys.readouterr().out, "TasksStarted")
    assert document["TasksStarted"] == [3.0]
    assert dimensions(document) == {"service": "tests"}


def test_each_count_is_its_own_document(capsys: pytest.CaptureFixture[str]) -> None:
    count("BrokerFailure", {"class": "Invalid", "code": "InvalidArguments"})
    count("BrokerFailure", {"class": "PermanentApi", "code": "ClientException"})

    documents = metric_documents(capsys.readouterr().out, "BrokerFailure")
    assert [dimensions(doc)["class"] for doc in documents] == ["Invalid", "PermanentApi"]


def test_observed_runs_the_handler_and_injects_the_lambda_context(logs: io.StringIO) -> None:
    # Given a handler wrapped by the one decorator
    seen: list[Any] = []

    @observed
    def handler(event: dict[str, Any], context: Any) -> dict[str, str]:
        seen.append(event)
        logger.info("handled", extra={"key": "value"})
        return {"status": "ok"}

    context = FakeLambdaContext(function_name="observed-test", aws_request_id="req-123")

    # When invoked
    result = handler({"id": 1}, context)

    # Then the result passes through and log lines carry the Lambda context
    assert result == {"status": "ok"}
    assert seen == [{"id": 1}]
    [line] = log_lines(logs.getvalue(), "handled")
    assert line["function_name"] == "observed-test"
    assert line["function_request_id"] == "req-123"
    assert line["key"] == "value"
    assert line["cold_start"] in {True, False}


def test_observed_publishes_the_cold_start_metric_once(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a fresh execution environment
    monkeypatch.setattr(cold_start, "is_cold_start", True)

    @observed
    def handler(event: dict[str, Any], context: Any) -> None:
        count("Handled", {})

    handler({}, FakeLambdaContext(function_name="cold-start-test"))
    handler({}, FakeLambdaContext(function_name="cold-start-test"))

    output = capsys.readouterr().out
    assert len(metric_documents(output, "Handled")) == 2
    [cold] = metric_documents(output, "ColdStart")
    assert dimensions(cold)["function_name"] == "cold-start-test"


def test_observed_clears_appended_keys_between_invocations(logs: io.StringIO) -> None:
    @observed
    def handler(event: dict[str, Any], context: Any) -> None:
        if event.get("append"):
            logger.append_keys(request_id="r-1")
        logger.info("handled")

    handler({"append": True}, FakeLambdaContext())
    handler({}, FakeLambdaContext())

    first, second = log_lines(logs.getvalue(), "handled")
    assert first["request_id"] == "r-1"
    assert "request_id" not in second


def test_observed_lets_handler_errors_propagate() -> None:
    @observed
    def handler(event: dict[str, Any], context: Any) -> None:
        raise ValueError("boom")

    with pytest.raises(ValueError, match="boom"):
        handler({}, FakeLambdaContext())
