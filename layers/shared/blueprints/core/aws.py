"""The one factory for boto3 clients.

Clients are created on first use and cached for the life of the execution environment, with botocore
"standard" retries (bounded, with jittered backoff for throttling and transient errors). botocore itself
honours ``AWS_ENDPOINT_URL`` (and ``AWS_ENDPOINT_URL_<SERVICE>``), which is how the local cloud points
the same code at itself; nothing here overrides that.

Adapters take an optional client argument and fall back to this factory, so tests can inject a
``botocore.stub.Stubber``-wrapped client or a moto-backed one.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any, Literal, overload

import boto3
from botocore.config import Config

if TYPE_CHECKING:
    from mypy_boto3_cloudwatch import CloudWatchClient
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_ecs import ECSClient
    from mypy_boto3_sns import SNSClient
    from mypy_boto3_sqs import SQSClient

MAX_ATTEMPTS = 3
CLIENT_CONFIG = Config(
    retries={"mode": "standard", "max_attempts": MAX_ATTEMPTS},
    connect_timeout=5,
    read_timeout=30,
    user_agent_extra="blueprints",
)


@overload
def client(service_name: Literal["cloudwatch"]) -> CloudWatchClient: ...
@overload
def client(service_name: Literal["dynamodb"]) -> DynamoDBClient: ...
@overload
def client(service_name: Literal["ecs"]) -> ECSClient: ...
@overload
def client(service_name: Literal["sns"]) -> SNSClient: ...
@overload
def client(service_name: Literal["sqs"]) -> SQSClient: ...
@overload
def client(service_name: str) -> Any: ...
def client(service_name: str) -> Any:
    """Return the cached client for ``service_name``, creating it on first use."""
    return _cached_client(service_name)


@functools.cache
def _cached_client(service_name: str) -> Any:
    return boto3.session.Session().client(service_name, config=CLIENT_CONFIG)  # type: ignore[call-overload]


def reset_clients() -> None:
    """Drop every cached client (tests switch between moto contexts and environments)."""
    _cached_client.cache_clear()
