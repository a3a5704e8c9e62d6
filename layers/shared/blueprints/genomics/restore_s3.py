"""S3 adapter of the restore flow: listing with restore state, HeadObject, RestoreObject and its outcome
matrix, and enabling EventBridge delivery on a bucket without dropping its other notifications."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from enum import StrEnum
from typing import Any

from botocore.exceptions import ClientError

from blueprints.core.aws import client as aws_client
from blueprints.core.errors import PermanentError, RetryableError
from blueprints.genomics.restore import ObjectState, Target

ONGOING = re.compile(r'ongoing-request="(?P<ongoing>true|false)"')
EXPIRY = re.compile(r'expiry-date="(?P<expiry>[^"]+)"')
THROTTLING = frozenset(
    {"SlowDown", "Throttling", "ThrottlingException", "RequestTimeout", "InternalError", "ServiceUnavailable"}
)
MISSING = frozenset({"404", "NotFound", "NoSuchKey", "NoSuchVersion", "403", "AccessDenied"})  # HeadObject
UNLISTABLE = frozenset(  # ListObjectsV2: the prefix can never be listed as configured
    {"AccessDenied", "NoSuchBucket", "AllAccessDisabled", "InvalidBucketName", "PermanentRedirect"}
)


class RestoreThrottledError(RetryableError):
    """S3 throttled or failed transiently: the chunk goes back to the queue (no sleep)."""


class RestoreObjectMissingError(PermanentError):
    """HeadObject finds no object (deleted since indexing, or its version is gone), or may not read it."""


class RestoreListingError(PermanentError):
    """A prefix of the request cannot be listed (no such bucket, access denied): the request fails."""


class Outcome(StrEnum):
    STARTED = "STARTED"  # 202
    ALREADY_RESTORED = "ALREADY_RESTORED"  # 200
    IN_PROGRESS = "IN_PROGRESS"  # 409 RestoreAlreadyInProgress
    NOT_ARCHIVED = "NOT_ARCHIVED"  # 403 InvalidObjectState, ObjectAlreadyInActiveTierError
    EXPEDITED_UNAVAILABLE = "EXPEDITED_UNAVAILABLE"  # 503 GlacierExpeditedRetrievalNotAvailable
    FAILED = "FAILED"  # other 4xx


@dataclass(frozen=True)
class RestoreResult:
    outcome: Outcome
    code: str = ""
    message: str = ""


def restore_header(value: str | None) -> tuple[bool | None, datetime | None]:
    """``Restore: ongoing-request="false", expiry-date="Fri, 21 Dec 2012 00:00:00 GMT"``."""
    if not value:
        return None, None
    ongoing = ONGOING.search(value)
    expiry = EXPIRY.search(value)
    return (
        ongoing["ongoing"] == "true" if ongoing else None,
        _http_date(expiry["expiry"]) if expiry else None,
    )


def _owned(owner: str | None) -> dict[str, str]:
    return {"ExpectedBucketOwner": owner} if owner else {}


def _http_date(text: str) -> datetime | None:
    """An HTTP date, always aware (``-0000`` parses naive); None when it is not a date."""
    try:
        moment = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


class RestoreS3:
    def __init__(self, client: Any = None) -> None:
        self._client = client
        self.list_pages = 0

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = aws_client("s3")
        return self._client

    def objects(self, target: Target, owner: str | None = None) -> Iterator[ObjectState]:
        """Every object of a target: a prefix listed recursively (paginated), or one key. ``owner``: the
        account that must own the bucket (``ExpectedBucketOwner``), when the request names one."""
        if not target.prefix:
            yield self.head(target.bucket, target.key, target.version_id, owner)
            return
        request: dict[str, Any] = {
            "Bucket": target.bucket,
            "Prefix": target.key,
            "OptionalObjectAttributes": ["RestoreStatus"],
            **_owned(owner),
        }
        while True:
            self.list_pages += 1
            try:
                page = self.client.list_objects_v2(**request)
            except ClientError as exc:
                code = str(exc.response.get("Error", {}).get("Code", ""))
                where = f"s3://{target.bucket}/{target.key}"
                if code in UNLISTABLE:
                    raise RestoreListingError(f"{where}: {code}") from exc
                status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0))
                if code in THROTTLING or status >= 500:
                    raise RestoreThrottledError(f"{where}: {code}") from exc
                raise
            for item in page.get("Contents", []):
                yield self._listed(target.bucket, item, owner)
            if not page.get("IsTruncated"):
                return
            request["ContinuationToken"] = page["NextContinuationToken"]

    def _listed(self, bucket: str, item: dict[str, Any], owner: str | None = None) -> ObjectState:
        """A listed object. The listing asks for ``RestoreStatus``, which S3 includes only for objects with a
        restore requested or done: its absence on an archived object means "never restored", no HeadObject
        needed. Intelligent-Tiering objects need one: the listing does not say whether they are archived."""
        storage_class = str(item.get("StorageClass", "STANDARD"))
        if storage_class == "INTELLIGENT_TIERING":
            return self.head(bucket, str(item["Key"]), None, owner)
        status = item.get("RestoreStatus")
        return ObjectState(
            bucket=bucket,
            key=str(item["Key"]),
            version_id=None,
            size=int(item.get("Size", 0)),
            storage_class=storage_class,
            restore_in_progress=bool(status.get("IsRestoreInProgress")) if status else None,
            restore_expiry=status.get("RestoreExpiryDate") if status else None,
        )

    def head(self, bucket: str, key: str, version_id: str | None, owner: str | None = None) -> ObjectState:
        request: dict[str, Any] = {"Bucket": bucket, "Key": key, **_owned(owner)}
        if version_id:
            request["VersionId"] = version_id
        try:
            head = self.client.head_object(**request)
        except ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code", ""))
            if code in MISSING:
                raise RestoreObjectMissingError(f"s3://{bucket}/{key}: {code}") from exc
            status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0))
            if code in THROTTLING or status >= 500:
                raise RestoreThrottledError(f"s3://{bucket}/{key}: {code}") from exc
            raise
        ongoing, expiry = restore_header(head.get("Restore"))
        return ObjectState(
            bucket=bucket,
            key=key,
            version_id=version_id,
            size=int(head.get("ContentLength", 0)),
            storage_class=str(head.get("StorageClass", "STANDARD")),
            archive_status=head.get("ArchiveStatus"),
            restore_in_progress=ongoing,
            restore_expiry=expiry,
        )

    def restore(
        self, obj: ObjectState, tier: str, days: int | None, owner: str | None = None
    ) -> RestoreResult:
        request: dict[str, Any] = {"GlacierJobParameters": {"Tier": tier}}
        if days is not None:  # never for Intelligent-Tiering archive tiers
            request["Days"] = days
        arguments: dict[str, Any] = {
            "Bucket": obj.bucket,
            "Key": obj.key,
            "RestoreRequest": request,
            **_owned(owner),
        }
        if obj.version_id:
            arguments["VersionId"] = obj.version_id
        try:
            response = self.client.restore_object(**arguments)
        except ClientError as exc:
            error = exc.response.get("Error", {})
            code = str(error.get("Code", "Unknown"))
            message = str(error.get("Message", ""))
            status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0))
            if code == "RestoreAlreadyInProgress":
                return RestoreResult(Outcome.IN_PROGRESS, code, message)
            if code in ("InvalidObjectState", "ObjectAlreadyInActiveTierError"):
                return RestoreResult(Outcome.NOT_ARCHIVED, code, message)
            if code == "GlacierExpeditedRetrievalNotAvailable":
                return RestoreResult(Outcome.EXPEDITED_UNAVAILABLE, code, message)
            if code in THROTTLING or status >= 500:
                raise RestoreThrottledError(f"{code}: {message}") from exc
            return RestoreResult(Outcome.FAILED, code, message)
        status = int(response.get("ResponseMetadata", {}).get("HTTPStatusCode", 202))
        return RestoreResult(Outcome.ALREADY_RESTORED if status == 200 else Outcome.STARTED)

    def enable_eventbridge(self, bucket: str) -> bool:
        """Turn EventBridge delivery on, keeping every Lambda, SQS and SNS notification; False when it
        was on already (PutBucketNotificationConfiguration replaces the whole configuration)."""
        current = self.client.get_bucket_notification_configuration(Bucket=bucket)
        current.pop("ResponseMetadata", None)
        if "EventBridgeConfiguration" in current:
            return False
        self.client.put_bucket_notification_configuration(
            Bucket=bucket, NotificationConfiguration={**current, "EventBridgeConfiguration": {}}
        )
        return True
