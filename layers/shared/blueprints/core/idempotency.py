"""Idempotency on a natural key, with the Powertools DynamoDB persistence layer.

The persistence layer is created on first use (never at import) from the table name the caller's
settings hold, and it uses the client factory, so it follows ``AWS_ENDPOINT_URL`` like every adapter.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, cast

from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.typing import LambdaContext

from blueprints.core.aws import client


@functools.cache
def persistence_layer(table_name: str) -> DynamoDBPersistenceLayer:
    return DynamoDBPersistenceLayer(table_name=table_name, boto3_client=client("dynamodb"))


def run_once[ResultT](
    operation: Callable[[dict[str, Any]], ResultT],
    payload: dict[str, Any],
    *,
    key_jmespath: str,
    table_name: str,
    expires_after_seconds: int,
    context: LambdaContext | None = None,
) -> ResultT:
    """Run ``operation(payload)`` once per value of ``key_jmespath`` in ``payload``.

    A repeated payload returns the stored result of the first run. A run that raises stores nothing,
    so the next delivery runs again. A payload without the key is rejected by Powertools
    (``raise_on_no_idempotency_key``), never run unguarded.
    """
    config = IdempotencyConfig(
        event_key_jmespath=key_jmespath,
        raise_on_no_idempotency_key=True,
        expires_after_seconds=expires_after_seconds,
    )
    if context is not None:
        config.register_lambda_context(context)

    def guarded(payload: dict[str, Any]) -> ResultT:
        return operation(payload)

    # Powertools keys records on the function's qualified name: keep the caller's, not this wrapper's.
    name = getattr(operation, "__qualname__", type(operation).__qualname__)
    guarded.__qualname__ = f"{getattr(operation, '__module__', __name__)}.{name}"
    idempotent = idempotent_function(
        guarded,
        data_keyword_argument="payload",
        persistence_store=persistence_layer(table_name),
        config=config,
    )
    return cast(ResultT, idempotent(payload=payload))


def reset_persistence() -> None:
    """Forget cached persistence layers (tests switch moto contexts)."""
    persistence_layer.cache_clear()
