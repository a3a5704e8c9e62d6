"""Glacier restores: ObjectRestore:Completed with glacierEventData, and its EventBridge event."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from aws_lambda_powertools.utilities.parser.models import S3EventNotificationEventBridgeModel, S3Model
from botocore.exceptions import ClientError

from localcloud.clock import isoformat
from localcloud.cloud import LocalCloud
from tests.unit.localcloud_s3.conftest import FIXTURE_APP, S3App


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


def test_restore_notifications_reach_lambda_and_sns_when_s3_sends_them(s3_app: S3App) -> None:
    # Given a bucket notifying the fixture's function of every restore event and its topic of completions
    s3, sns = s3_app.s3, s3_app.cloud.client("sns")
    [topic] = [item["TopicArn"] for item in sns.list_topics()["Topics"]]
    function = s3_app.cloud.client("lambda").get_function(
        FunctionName=s3_app.cloud.deployment.function("ObjectsFunction").name  # type: ignore[union-attr]
    )["Configuration"]["FunctionArn"]
    bucket, key = "restores-to-lambda", "cold/sample 1.bam"
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_notification_configuration(
        Bucket=bucket,
        NotificationConfiguration={
            "LambdaFunctionConfigurations": [
                {"LambdaFunctionArn": function, "Events": ["s3:ObjectRestore:*"]}
            ],
            "TopicConfigurations": [{"TopicArn": topic, "Events": ["s3:ObjectRestore:Completed"]}],
        },
    )
    s3.put_object(Bucket=bucket, Key=key, Body=b"bam", StorageClass="DEEP_ARCHIVE")
    seen = len(s3_app.events("ObjectsFunction"))

    # When a Bulk restore is requested, then the clock passes its completion (48 hours)
    s3.restore_object(
        Bucket=bucket, Key=key, RestoreRequest={"Days": 1, "GlacierJobParameters": {"Tier": "Bulk"}}
    )
    at_request = [event["Records"][0]["eventName"] for event in s3_app.events("ObjectsFunction")[seen:]]
    s3_app.cloud.run_until_idle(max_virtual_seconds=49 * 3600)

    # Then the function got the request's event at once and the completion's later, as S3 invokes it
    # (asynchronously), and the topic relayed the completion
    calls = s3_app.cloud.calls("ObjectsFunction")[seen:]
    copies = s3_app.cloud.client("sqs").receive_message(
        QueueUrl=s3_app.alert_copies_url, MaxNumberOfMessages=10
    )
    relayed = [json.loads(json.loads(message["Body"])["Message"]) for message in copies.get("Messages", [])]
    assert at_request == ["ObjectRestore:Post"]
    assert [call.event["Records"][0]["eventName"] for call in calls] == [
        "ObjectRestore:Post",
        "ObjectRestore:Completed",
    ]
    assert {call.invocation_type for call in calls} == {"Event"}
    assert calls[1].payload == {"bucket": bucket, "key": key}  # Powertools' S3Event reads it
    assert [body["Records"][0]["eventName"] for body in relayed if "Records" in body] == [
        "ObjectRestore:Completed"
    ]


@pytest.mark.enable_socket
def test_restores_work_served_with_s3s_status_codes() -> None:
    # Given the local cloud served over HTTP, with its event sources and an archived object
    with LocalCloud(FIXTURE_APP, serve=True, port=0) as cloud:
        s3 = cloud.client("s3")
        s3.create_bucket(Bucket="served-archive")
        s3.put_object(Bucket="served-archive", Key="k", Body=b"k", StorageClass="GLACIER")
        cloud.sources.s3_restore.throttle(1)

        # When restores are requested through the endpoint and the clock passes the completion
        with pytest.raises(ClientError) as throttled:
            s3.restore_object(Bucket="served-archive", Key="k", RestoreRequest={"Days": 1})
        accepted = s3.restore_object(Bucket="served-archive", Key="k", RestoreRequest={"Days": 1})
        with pytest.raises(ClientError) as conflict:
            s3.restore_object(Bucket="served-archive", Key="k", RestoreRequest={"Days": 1})
        cloud.run_until_idle(max_virtual_seconds=5 * 3600)
        restored = s3.head_object(Bucket="served-archive", Key="k")["Restore"]

    # Then S3's answers and the completed restore come back over HTTP
    assert cloud.endpoint_url is not None
    assert throttled.value.response["Error"]["Code"] == "SlowDown"
    assert throttled.value.response["ResponseMetadata"]["HTTPStatusCode"] == 503
    assert accepted["ResponseMetadata"]["HTTPStatusCode"] == 202
    assert conflict.value.response["ResponseMetadata"]["HTTPStatusCode"] == 409
    assert conflict.value.response["Error"]["Code"] == "RestoreAlreadyInProgress"
    assert restored.startswith('ongoing-request="false", expiry-date=')
