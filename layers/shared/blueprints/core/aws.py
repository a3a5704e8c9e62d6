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

TOTAL_MAX_ATTEMPTS = 3  # the first call and two retries


def client_config() -> Config:
    """A fresh Config per client: botocore rewrites the ``retries`` dict of the Config it is given."""
    return Config(
        retries={"mode": "standard", "total_max_attempts": TOTAL_MAX_ATTEMPTS},
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
def _session() -> boto3.session.Session:
    """One session for every client: creating a session per client costs cold-start time."""
    return boto3.session.Session()


@functools.cache
def _cached_client(service_name: str) -> Any:
    return _session().client(service_name, config=client_config())  # type: ignore[call-overload]


def reset_clients() -> None:
    """Drop every cached client and the session (tests switch moto contexts and environments)."""
    _cached_client.cache_clear()
    _session.cache_clear()
