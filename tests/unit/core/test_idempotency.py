"""run_once: Powertools idempotency on a natural key, with the table the broker template declares."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from aws_lambda_powertools.utilities.idempotency.exceptions import IdempotencyKeyError
from moto import mock_aws

from blueprints.core.idempotency import persistence_layer, reset_persistence, run_once
from tests.support.cfn import REGION
from tests.support.lambda_context import FakeLambdaContext
from tests.support.moto_stack import deploy
from tests.support.paths import TEMPLATES

DAY = 24 * 3600


@pytest.fixture
def table() -> Iterator[str]:
    """The broker's IdempotencyTable, created in moto from its template definition."""
    with mock_aws():
        stack = deploy(
            TEMPLATES / "broker.yaml",
            {
                "SharedLayerArn": "arn:aws:lambda:us-east-1:123456789012:layer:shared:1",
                "KmsKeyArn": "arn:aws:kms:us-east-1:123456789012:key/0d5a7b4e-1111-2222-3333-444455556666",
                "AlertsTopicArn": "arn:aws:sns:us-east-1:123456789012:alerts",
            },
            only={"IdempotencyTable"},
        )
        yield stack.ref("IdempotencyTable")


class Counter:
    """An operation that counts its runs (``run`` is a plain function, as handlers pass)."""

    def __init__(self, fail_first: int = 0) -> None:
        self.calls: list[dict[str, Any]] = []
        self.fail_first = fail_first

        def run(payload: dict[str, Any]) -> dict[str, Any]:
            self.calls.append(payload)
            if len(self.calls) <= self.fail_first:
                raise RuntimeError("downstream failed")
            return {"outcome": "RERUN", "run": len(self.calls)}

        self.run = run


def stored_keys(table_name: str) -> list[str]:
    items = boto3.client("dynamodb", region_name=REGION).scan(TableName=table_name)["Items"]
    return sorted(item["id"]["S"] for item in items)


def test_second_call_with_the_same_key_returns_the_stored_result(table: str) -> None:
    # Given an operation already run for event "e-1"
    operation = Counter()
    first = run_once(
        operation.run, {"id": "e-1", "n": 1}, key_jmespath="id", table_name=table, expires_after_seconds=DAY
    )

    # When the same key arrives again (even with other fields)
    second = run_once(
        operation.run, {"id": "e-1", "n": 2}, key_jmespath="id", table_name=table, expires_after_seconds=DAY
    )

    # Then the operation did not run again and the first result is returned
    assert len(operation.calls) == 1
    assert first == second == {"outcome": "RERUN", "run": 1}
    assert len(stored_keys(table)) == 1


def test_different_keys_run_separately(table: str) -> None:
    operation = Counter()
    for key in ("e-1", "e-2"):
        run_once(operation.run, {"id": key}, key_jmespath="id", table_name=table, expires_after_seconds=DAY)
    assert [call["id"] for call in operation.calls] == ["e-1", "e-2"]
    assert len(stored_keys(table)) == 2


def test_a_raising_run_stores_nothing_so_the_next_call_runs(table: str) -> None:
    # Given the first run raises
    operation = Counter(fail_first=1)
    with pytest.raises(RuntimeError, match="downstream failed"):
        run_once(operation.run, {"id": "e-1"}, key_jmespath="id", table_name=table, expires_after_seconds=DAY)
    assert stored_keys(table) == []

    # When the same key is delivered again / Then it runs, and is then remembered
    result = run_once(
        operation.run, {"id": "e-1"}, key_jmespath="id", table_name=table, expires_after_seconds=DAY
    )
    assert result == {"outcome": "RERUN", "run": 2}
    assert len(stored_keys(table)) == 1


def test_a_payload_without_the_key_is_rejected_not_run(table: str) -> None:
    operation = Counter()
    with pytest.raises(IdempotencyKeyError):
        run_once(
            operation.run, {"detail": {}}, key_jmespath="id", table_name=table, expires_after_seconds=DAY
        )
    assert operation.calls == []


def test_lambda_context_is_registered(table: str) -> None:
    operation = Counter()
    result = run_once(
        operation.run,
        {"id": "e-9"},
        key_jmespath="id",
        table_name=table,
        expires_after_seconds=DAY,
        context=FakeLambdaContext(),  # type: ignore[arg-type]
    )
    assert result["run"] == 1


def test_persistence_layer_is_cached_per_table_until_reset(table: str) -> None:
    layer = persistence_layer(table)
    assert persistence_layer(table) is layer
    reset_persistence()
    assert persistence_layer(table) is not layer


def test_the_operation_parameter_may_have_any_name(table: str) -> None:
    # As the rerun handler passes it: a lambda whose parameter is not called "payload"
    runs: list[str] = []

    def rerun(_: dict[str, Any]) -> str:
        runs.append("ran")
        return "RERUN"

    result = run_once(
        lambda event: rerun(event),
        {"id": "e-7"},
        key_jmespath="id",
        table_name=table,
        expires_after_seconds=DAY,
    )

    assert (result, runs) == ("RERUN", ["ran"])


def test_different_operations_sharing_a_table_do_not_share_results(table: str) -> None:
    def first(_: dict[str, Any]) -> str:
        return "first"

    def second(_: dict[str, Any]) -> str:
        return "second"

    assert (
        run_once(first, {"id": "e-8"}, key_jmespath="id", table_name=table, expires_after_seconds=DAY)
        == "first"
    )
    assert (
        run_once(second, {"id": "e-8"}, key_jmespath="id", table_name=table, expires_after_seconds=DAY)
        == "second"
    )
