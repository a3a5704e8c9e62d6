"""Glacier restore before launch: the restore request, classification, tiers, chunks and estimates (pure).

A restore request (``restore/<id>.json``, written by the launcher for a WAITING launch or uploaded by a
user) names S3 URLs; a trailing ``/`` is a prefix (recursive), otherwise one key, optionally
``?versionId=``. Every object is classified from its storage class and restore state; only objects that
must be restored get a tracking row. Rows travel to the restore function in chunks of at most
``CHUNK_OBJECTS`` objects and well under the SQS body limit.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from typing import Literal
from urllib.parse import parse_qs, urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from blueprints.genomics.config import describe
from blueprints.genomics.errors import InvalidLaunchConfigError

Tier = Literal["Bulk", "Standard", "Expedited"]
CHUNK_OBJECTS = 100
CHUNK_BYTES = 200 * 1024  # well below SQS's 256 KiB
READABLE_CLASSES = frozenset(
    {"STANDARD", "STANDARD_IA", "ONEZONE_IA", "REDUCED_REDUNDANCY", "GLACIER_IR", "EXPRESS_ONEZONE"}
)
ARCHIVE_CLASSES = frozenset({"GLACIER", "DEEP_ARCHIVE"})
IT_ARCHIVE = frozenset({"ARCHIVE_ACCESS", "DEEP_ARCHIVE_ACCESS"})
DEEP = frozenset({"DEEP_ARCHIVE", "DEEP_ARCHIVE_ACCESS"})
# Upper bound of each retrieval (AWS documentation), hours: the time estimate and the default deadline.
SLA_HOURS: dict[tuple[bool, str], float] = {
    (False, "Expedited"): 5 / 60,
    (False, "Standard"): 5,
    (False, "Bulk"): 12,
    (True, "Standard"): 12,
    (True, "Bulk"): 48,
}
# Lower bound, hours: the reconciler does not look at a restore before it could possibly be done.
SLA_MIN_HOURS: dict[tuple[bool, str], float] = {
    (False, "Expedited"): 1 / 60,
    (False, "Standard"): 3,
    (False, "Bulk"): 5,
    (True, "Standard"): 9,
    (True, "Bulk"): 12,
}
# Public list prices, us-east-1, USD (S3 pricing page): retrieval per GB and per 1,000 requests, by
# (deep archive, tier); the restored copy is billed as S3 Standard for its days. An estimate, not a bill.
RETRIEVAL_PER_GB: dict[tuple[bool, str], Decimal] = {
    (False, "Expedited"): Decimal("0.03"),
    (False, "Standard"): Decimal("0.01"),
    (False, "Bulk"): Decimal("0"),
    (True, "Standard"): Decimal("0.02"),
    (True, "Bulk"): Decimal("0.0025"),
}
REQUESTS_PER_1000: dict[tuple[bool, str], Decimal] = {
    (False, "Expedited"): Decimal("10.00"),
    (False, "Standard"): Decimal("0.05"),
    (False, "Bulk"): Decimal("0.025"),
    (True, "Standard"): Decimal("0.10"),
    (True, "Bulk"): Decimal("0.025"),
}
STANDARD_GB_MONTH = Decimal("0.023")
GB = Decimal(1024**3)


class RestoreRequest(BaseModel):
    """``restore/<id>.json``: ``launch_id`` is absent for a standalone request."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    launch_id: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_-]{1,64}$")
    s3_urls: list[str] = Field(min_length=1, max_length=1000)
    tier: Tier = "Bulk"
    days: int = Field(default=7, ge=1, le=30)
    deadline_hours: int | None = Field(default=None, ge=1, le=720)
    # the launch attempt the request is for (a retry writes the request again with the next attempt);
    # absent means 1
    attempt: int | None = Field(default=None, ge=1, le=1000)
    # the account that must own the data buckets (cross-account data): S3 refuses the calls otherwise
    expected_bucket_owner: str | None = Field(default=None, pattern=r"^[0-9]{12}$")

    @field_validator("s3_urls")
    @classmethod
    def _urls(cls, value: list[str]) -> list[str]:
        for url in value:
            if not re.match(r"^s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](/.*)?$", url):
                raise ValueError(f"{url!r} is not an s3:// URL")
            parts = urlsplit(url)  # the query is not part of the key: "x/?versionId=" names a prefix
            if "?" in url and parts.path.endswith("/"):
                raise ValueError(f"{url!r}: only single keys may name ?versionId=")
            if "?" in url and "versionId" not in parse_qs(parts.query):
                raise ValueError(f"{url!r}: the only query allowed is ?versionId=")
        return value


def parse_request(body: bytes) -> RestoreRequest:
    try:
        document = json.loads(body)
    except ValueError as exc:
        raise InvalidLaunchConfigError(f"restore request: not valid JSON ({exc})") from exc
    if not isinstance(document, dict):
        raise InvalidLaunchConfigError("restore request: the document must be a JSON object")
    try:
        return RestoreRequest.model_validate(document)
    except ValidationError as exc:
        raise InvalidLaunchConfigError(f"restore request: {describe(exc)}") from exc


@dataclass(frozen=True)
class Target:
    """One URL of a request: a prefix to list or a single key (with an optional version)."""

    bucket: str
    key: str
    version_id: str | None
    prefix: bool


def targets(urls: Iterable[str]) -> list[Target]:
    found = []
    for url in urls:
        parts = urlsplit(url)
        key = parts.path.lstrip("/")
        version = parse_qs(parts.query).get("versionId", [None])[0]
        found.append(Target(parts.netloc, key, version, prefix=key == "" or key.endswith("/")))
    return found


class Decision(StrEnum):
    READABLE = "READABLE"  # no row
    RESTORE = "RESTORE"  # row PENDING
    RESTORING = "RESTORING"  # a restore already runs: row RESTORING, wait for its completion
    UNSUPPORTED = "UNSUPPORTED"  # row FAILED (UnsupportedStorageClass)


@dataclass(frozen=True)
class ObjectState:
    """An object as listed (and, where needed, as HeadObject shows it)."""

    bucket: str
    key: str
    version_id: str | None
    size: int
    storage_class: str
    archive_status: str | None = None  # Intelligent-Tiering
    restore_in_progress: bool | None = None  # None: unknown (no RestoreStatus)
    restore_expiry: datetime | None = None

    @property
    def ref(self) -> str:
        return f"{self.bucket}/{self.key}#{self.version_id or 'null'}"

    @property
    def deep(self) -> bool:
        return self.storage_class == "DEEP_ARCHIVE" or self.archive_status == "DEEP_ARCHIVE_ACCESS"

    @property
    def intelligent_tiering(self) -> bool:
        return self.storage_class == "INTELLIGENT_TIERING"


def classify(obj: ObjectState, needed_until: datetime) -> Decision:
    """What to do with one object so that it is readable until ``needed_until``."""
    if obj.storage_class in READABLE_CLASSES:
        return Decision.READABLE
    if obj.intelligent_tiering:
        return Decision.RESTORE if obj.archive_status in IT_ARCHIVE else Decision.READABLE
    if obj.storage_class in ARCHIVE_CLASSES:
        if obj.restore_in_progress:
            return Decision.RESTORING
        if obj.restore_expiry is not None and obj.restore_expiry >= needed_until:
            return Decision.READABLE
        return Decision.RESTORE
    return Decision.UNSUPPORTED


def request_tier(requested: Tier, objects: Sequence[ObjectState]) -> Tier:
    """Bulk when every object is in Flexible Retrieval (no retrieval charge), else the requested tier."""
    if objects and all(obj.storage_class == "GLACIER" for obj in objects):
        return "Bulk"
    return requested


def object_tier(tier: Tier, obj: ObjectState) -> Tier:
    """Deep Archive (and its Intelligent-Tiering tier) has no Expedited retrieval: Standard instead."""
    return "Standard" if tier == "Expedited" and obj.deep else tier


def object_days(days: int, obj: ObjectState) -> int | None:
    """Intelligent-Tiering restores take no ``Days``: the object moves back to an access tier."""
    return None if obj.intelligent_tiering else days


@dataclass(frozen=True)
class Estimate:
    objects: int
    bytes: int
    cost_usd: Decimal
    hours: float

    def as_map(self) -> dict[str, str | int | Decimal]:
        """As stored on the request (DynamoDB numbers take no float: 5 minutes is 0.0833 h)."""
        return {
            "objects": self.objects,
            "bytes": self.bytes,
            "cost_usd": str(self.cost_usd),
            "hours": Decimal(str(round(self.hours, 4))),
        }


def estimate(objects: Sequence[ObjectState], tier: Tier, days: int) -> Estimate:
    """Retrieval, requests and the restored copy's storage, at public list prices; the slowest SLA."""
    cost = Decimal(0)
    hours = 0.0
    for obj in objects:
        chosen = object_tier(tier, obj)
        key = (obj.deep, chosen)
        size_gb = Decimal(obj.size) / GB
        cost += size_gb * RETRIEVAL_PER_GB[key] + REQUESTS_PER_1000[key] / 1000
        if not obj.intelligent_tiering:
            cost += size_gb * STANDARD_GB_MONTH * Decimal(days) / 30
        hours = max(hours, SLA_HOURS[key])
    quantized = cost.quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)
    return Estimate(len(objects), sum(obj.size for obj in objects), quantized, hours)


def deadline(created: datetime, objects: Sequence[ObjectState], tier: Tier, hours: int | None) -> datetime:
    """The request's own deadline, else twice the slowest SLA (at least one hour)."""
    if hours is not None:
        return created + timedelta(hours=hours)
    slowest = max((SLA_HOURS[(obj.deep, object_tier(tier, obj))] for obj in objects), default=0.5)
    return created + timedelta(hours=max(1.0, 2 * slowest))


@dataclass(frozen=True)
class Chunk:
    objects: list[dict[str, str | int | None]] = field(default_factory=list)

    def body(self, request_id: str, tier: Tier, days: int, owner: str | None = None) -> str:
        message: dict[str, object] = {"request_id": request_id, "tier": tier, "days": days}
        if owner:
            message["expected_bucket_owner"] = owner
        return json.dumps({**message, "objects": self.objects})


def chunks(
    objects: Sequence[ObjectState], *, limit: int = CHUNK_OBJECTS, max_bytes: int = CHUNK_BYTES
) -> Iterator[Chunk]:
    """The objects to restore in messages of at most ``limit`` objects and ``max_bytes`` of JSON."""
    current: list[dict[str, str | int | None]] = []
    size = 0
    for obj in objects:
        item: dict[str, str | int | None] = {
            "bucket": obj.bucket,
            "key": obj.key,
            "version_id": obj.version_id,
            "storage_class": obj.storage_class,
            "archive_status": obj.archive_status,
        }
        item_size = len(json.dumps(item)) + 2
        if current and (len(current) >= limit or size + item_size > max_bytes):
            yield Chunk(current)
            current, size = [], 0
        current.append(item)
        size += item_size
    if current:
        yield Chunk(current)
