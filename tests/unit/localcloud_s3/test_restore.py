"""Glacier restores: ObjectRestore:Completed with glacierEventData, and its EventBridge event."""

from __future__ import annotations

import datetime as dt

from aws_lambda_powertools.utilities.parser.models import S3EventNotificationEventBridgeModel, S3Model

from localcloud.clock import isoformat
from tests.unit.localcloud_s3.conftest import S3App


def test_restore_completed_carries_the_expiry_and_storage_class(s3_app: S3App) -> None:
    # Given an archived object
    s3, bucket, key = s3_app.s3, s3_app.bucket, "archive/old run.tar"
    s3.put_object(Bucket=bucket, Key=key, Body=b"tar", StorageClass="GLACIER")

    # When a (Standard) restore for 2 days is requested and the virtual clock passes its completion
    s3.restore_object(Bucket=bucket, Key=key, RestoreRequest={"Days": 2})
    requested = s3_app.cloud.clock.now()
    pending = s3.head_object(Bucket=bucket, Key=key)["Restore"]
    s3_app.cloud.run_until_idle(max_virtual_seconds=5 * 3600)

    # Then S3's completion record and EventBridge event describe the restored copy
    [record] = [r for r in s3_app.records(bucket, key) if r["eventName"].startswith("ObjectRestore")]
    parsed = S3Model.model_validate({"Records": [record]}).Records[0]
    [event] = [e for e in s3_app.bus_events(key) if e["detail-type"] == "Object Restore Completed"]
    detail = S3EventNotificationEventBridgeModel.model_validate(event).detail

    assert pending == 'ongoing-request="true"'  # nothing completes at the next read any more
    assert parsed.eventName == "ObjectRestore:Completed"
    assert record["eventTime"] == isoformat(requested + 4 * 3600, millis=True)  # default Standard: 4 h
    assert record["requestParameters"] == {"sourceIPAddress": "s3.amazonaws.com"}  # S3 did it
    assert record["userIdentity"]["principalId"].startswith("AmazonCustomer:")
    assert parsed.glacierEventData is not None
    restore = parsed.glacierEventData.restoreEventData
    assert restore.lifecycleRestoreStorageClass == "GLACIER"
    expiry = restore.lifecycleRestorationExpiryTime
    assert (expiry.hour, expiry.minute, expiry.second) == (0, 0, 0)  # S3 rounds up to midnight UTC
    assert dt.timedelta(days=2) <= expiry - parsed.eventTime < dt.timedelta(days=3)
    assert s3.head_object(Bucket=bucket, Key=key)["Restore"] == (
        f'ongoing-request="false", expiry-date="{expiry.strftime("%a, %d %b %Y %H:%M:%S GMT")}"'
    )
    assert detail.requester == "s3.amazonaws.com"
    assert detail.source_storage_class == "GLACIER"
    assert detail.restore_expiry_time == expiry.strftime("%Y-%m-%dT%H:%M:%SZ")
