"""The launch record as the registry stores it, and conversions to and from DynamoDB items."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

from blueprints.genomics.status import Status

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.type_defs import AttributeValueTypeDef

    from blueprints.genomics.config import LaunchConfig

Item = dict[str, "AttributeValueTypeDef"]
# What the benchmarking blueprint writes on a launch item: a re-cost and a new attempt remove it.
COST_ATTRIBUTES = (
    "totalCost",
    "instanceCost",
    "volumeCost",
    "filesystemCost",
    "fargateCost",
    "costBreakdown",
    "pricingSource",
    "phaseTimings",
    "costNotes",
    "costInputsUri",
    "costStatus",
    "costOwner",
    "costStartedAt",
    "costedAt",
    "costMissing",
    "costAttempts",
    "costError",
    "costErrorCause",
)
_SERIALIZER = TypeSerializer()
_DESERIALIZER = TypeDeserializer()


def to_attribute(value: Any) -> AttributeValueTypeDef:
    """A Python value (str, int, bool, list, dict, set of str) as a DynamoDB attribute value."""
    return _SERIALIZER.serialize(value)


def from_item(item: dict[str, Any]) -> dict[str, Any]:
    """A DynamoDB item (or stream image) as plain JSON-compatible Python (numbers as int or float)."""
    return {name: _plain(_DESERIALIZER.deserialize(value)) for name, value in item.items()}


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {key: _plain(inner) for key, inner in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(inner) for inner in value]
    if isinstance(value, (set, frozenset)):
        return sorted(_plain(inner) for inner in value)
    return value


@dataclass(frozen=True)
class Source:
    """Where a launch request came from; ``dedupe_key`` tells a duplicate delivery from a new request."""

    kind: str  # "s3" or "api"
    bucket: str = ""
    key: str = ""
    version_id: str = ""
    etag: str = ""
    request_id: str = ""

    @property
    def dedupe_key(self) -> str:
        if self.kind == "s3":
            return f"s3://{self.bucket}/{self.key}#{self.version_id or self.etag}"
        return f"api:{self.request_id}"

    def as_map(self) -> dict[str, str]:
        values = {
            "kind": self.kind,
            "bucket": self.bucket,
            "key": self.key,
            "version_id": self.version_id,
            "etag": self.etag,
            "request_id": self.request_id,
        }
        return {name: text for name, text in values.items() if text}


@dataclass(frozen=True)
class Launch:
    """One launch item (the fields the launcher, trackers and API work with; the rest stays in ``raw``)."""

    launch_id: str
    status: Status
    attempt: int
    workflow_type: str = ""
    engine_version: str = ""
    compute_service: str = ""
    s3_data_path: str = ""
    config_s3_uri: str = ""
    snakefile_s3_uri: str = ""
    output_s3_path: str = ""
    restore_check: bool = False
    parameters: dict[str, Any] = field(default_factory=dict)
    environment: dict[str, str] = field(default_factory=dict)
    task_arn: str = ""
    batch_job_ids: tuple[str, ...] = ()
    log_group: str = ""
    log_stream: str = ""
    launch_started_at: str = ""
    runnable_since: str = ""
    alerts: frozenset[str] = frozenset()
    updated_at: str = ""
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def from_plain(cls, values: dict[str, Any]) -> Launch:
        request = json.loads(values["request_json"]) if values.get("request_json") else {}
        return cls(
            launch_id=str(values["launch_id"]),
            status=Status(values["status"]),
            attempt=int(values.get("attempt", 1)),
            workflow_type=str(values.get("workflow_type", "")),
            engine_version=str(values.get("engine_version", "")),
            compute_service=str(values.get("compute_service", "")),
            s3_data_path=str(values.get("s3_data_path", "")),
            config_s3_uri=str(values.get("config_s3_uri", "")),
            snakefile_s3_uri=str(values.get("snakefile_s3_uri", "")),
            output_s3_path=str(values.get("output_s3_path", "")),
            restore_check=bool(values.get("restore_check", False)),
            parameters=dict(request.get("parameters") or {}),
            environment=dict(request.get("environment") or {}),
            task_arn=str(values.get("task_arn", "")),
            batch_job_ids=tuple(values.get("batch_job_ids") or ()),
            log_group=str(values.get("log_group", "")),
            log_stream=str(values.get("log_stream", "")),
            launch_started_at=str(values.get("launch_started_at", "")),
            runnable_since=str(values.get("runnable_since", "")),
            alerts=frozenset(values.get("alerts") or ()),
            updated_at=str(values.get("updated_at", "")),
            raw=values,
        )

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> Launch:
        return cls.from_plain(from_item(item))


def new_launch_item(
    config: LaunchConfig,
    *,
    source: Source,
    compute_service: str,
    engine_version: str,
    output_s3_path: str,
    restore_check: bool,
    now: datetime,
) -> dict[str, Any]:
    """The plain values of a new REGISTERED launch."""
    stamp = now.isoformat()
    values: dict[str, Any] = {
        "launch_id": config.launch_id,
        "workflow_type": config.workflow_type,
        "engine_version": engine_version,
        "compute_service": compute_service,
        "s3_data_path": config.s3_data_path,
        "config_s3_uri": config.config_s3_uri,
        "output_s3_path": output_s3_path,
        "restore_check": restore_check,
        "request_json": config.model_dump_json(exclude_none=True),
        "config_source": source.as_map(),
        "dedupe_key": source.dedupe_key,
        "status": Status.REGISTERED.value,
        "attempt": 1,
        "created_at": stamp,
        "updated_at": stamp,
        "status_history": [{"status": Status.REGISTERED.value, "at": stamp, "attempt": 1}],
    }
    if config.snakefile_s3_uri:
        values["snakefile_s3_uri"] = config.snakefile_s3_uri
    if config.requested_by:
        values["requested_by"] = config.requested_by
    return values


def rejected_launch_item(
    launch_id: str, *, source: Source, error_code: str, error_message: str, now: datetime
) -> dict[str, Any]:
    """The plain values of a request that failed validation: recorded FAILED, never dropped."""
    stamp = now.isoformat()
    return {
        "launch_id": launch_id,
        "config_source": source.as_map(),
        "dedupe_key": source.dedupe_key,
        "status": Status.FAILED.value,
        "attempt": 1,
        "error_code": error_code,
        "error_message": error_message[:1024],
        "created_at": stamp,
        "updated_at": stamp,
        "status_history": [{"status": Status.FAILED.value, "at": stamp, "attempt": 1}],
    }
