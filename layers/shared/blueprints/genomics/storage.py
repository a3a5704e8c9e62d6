"""S3 adapter: read a launch's configuration, size its data path, stage artifacts, write restore requests.

A configuration or data path that does not exist or cannot be read (404, 403, no such bucket, nothing
under the prefix) is ``MissingRequiredParametersError``; anything else is transient.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from blueprints.core.aws import client as aws_client
from blueprints.genomics.errors import LaunchTransientError, MissingRequiredParametersError

MISSING_CODES = frozenset(
    {"NoSuchKey", "404", "NotFound", "403", "AccessDenied", "NoSuchBucket", "AllAccessDisabled"}
)


def split_uri(uri: str) -> tuple[str, str]:
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    return bucket, key


ARCHIVE_CLASSES = frozenset({"GLACIER", "DEEP_ARCHIVE", "INTELLIGENT_TIERING"})  # may need a restore


@dataclass(frozen=True)
class DataSize:
    total_bytes: int
    objects: int
    partial: bool
    archived: int = 0  # objects in a class that may need a restore (the restore flow decides)


def _error(exc: ClientError, what: str) -> MissingRequiredParametersError | LaunchTransientError:
    code = str(exc.response.get("Error", {}).get("Code", "Unknown"))
    if code in MISSING_CODES:
        return MissingRequiredParametersError(f"{what} cannot be read ({code})")
    return LaunchTransientError(code, f"{what}: {exc}")


class LaunchStorage:
    def __init__(self, client: Any = None, monotonic: Any = time.monotonic) -> None:
        self._client = client
        self._monotonic = monotonic

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = aws_client("s3")
        return self._client

    def read(self, uri: str) -> bytes:
        bucket, key = split_uri(uri)
        try:
            return bytes(self.client.get_object(Bucket=bucket, Key=key)["Body"].read())
        except ClientError as exc:
            raise _error(exc, f"configuration {uri}") from exc

    def size(self, uri: str, budget_seconds: float) -> DataSize:
        """Sum the object sizes under ``uri`` (paginated), within ``budget_seconds``."""
        bucket, prefix = split_uri(uri)
        deadline = self._monotonic() + budget_seconds
        total = objects = archived = 0
        request: dict[str, Any] = {"Bucket": bucket, "Prefix": prefix}
        try:
            while True:
                page = self.client.list_objects_v2(**request)
                for item in page.get("Contents", []):
                    total += int(item.get("Size", 0))
                    objects += 1
                    archived += item.get("StorageClass") in ARCHIVE_CLASSES
                if not page.get("IsTruncated"):
                    break
                if self._monotonic() >= deadline:
                    return DataSize(total, objects, partial=True, archived=archived)
                request["ContinuationToken"] = page["NextContinuationToken"]
        except ClientError as exc:
            raise _error(exc, f"data path {uri}") from exc
        if objects == 0:
            raise MissingRequiredParametersError(f"data path {uri} holds no objects")
        return DataSize(total, objects, partial=False, archived=archived)

    def write(self, uri: str, body: bytes, content_type: str = "application/octet-stream") -> None:
        bucket, key = split_uri(uri)
        try:
            self.client.put_object(Bucket=bucket, Key=key, Body=body, ContentType=content_type)
        except ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code", "Unknown"))
            raise LaunchTransientError(code, f"writing {uri}: {exc}") from exc

    def write_json(self, uri: str, document: dict[str, Any]) -> None:
        self.write(uri, json.dumps(document, indent=2, sort_keys=True).encode(), "application/json")
