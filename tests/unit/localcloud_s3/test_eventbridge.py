"""S3 events on the default EventBridge bus: AWS's detail, parsed by Powertools' model."""

from __future__ import annotations

from aws_lambda_powertools.utilities.parser.models import S3EventNotificationEventBridgeModel

from tests.unit.localcloud_s3.conftest import S3App


def test_object_created_reaches_the_rule_target_with_the_raw_key(s3_app: S3App) -> None:
    key = "eb/created 1+2.txt"
    s3_app.s3.put_object(Bucket=s3_app.bucket, Key=key, Body=b"abc")

    [event] = s3_app.bus_events(key)
    parsed = S3EventNotificationEventBridgeModel.model_validate(event)

    assert parsed.detail_type == "Object Created"
    assert parsed.source == "aws.s3"
    assert parsed.account == "123456789012"
    assert parsed.resources == [f"arn:aws:s3:::{s3_app.bucket}"]
    assert parsed.detail.object.key == key  # EventBridge carries the key as it is
    assert parsed.detail.object.size == 3
    assert parsed.detail.object.etag == "900150983cd24fb0d6963f7d28e17f72"
    assert parsed.detail.reason == "PutObject"
    assert parsed.detail.requester == "123456789012"
    assert parsed.detail.source_ip_address == "127.0.0.1"
    assert event["time"].endswith("Z")


def test_one_action_has_one_request_id_and_sequencer_on_every_destination(s3_app: S3App) -> None:
    key = "notices/both.txt"
    s3_app.s3.put_object(Bucket=s3_app.bucket, Key=key, Body=b"x")

    [record] = s3_app.records(s3_app.bucket, key)
    [event] = s3_app.bus_events(key)

    assert event["detail"]["request-id"] == record["responseElements"]["x-amz-request-id"]
    assert event["detail"]["object"]["sequencer"] == record["s3"]["object"]["sequencer"]


def test_copy_multipart_and_delete_give_aws_reasons(s3_app: S3App) -> None:
    s3, bucket = s3_app.s3, s3_app.bucket
    s3.put_object(Bucket=bucket, Key="eb/source", Body=b"s")
    s3.copy_object(Bucket=bucket, Key="eb/copy", CopySource={"Bucket": bucket, "Key": "eb/source"})
    upload = s3.create_multipart_upload(Bucket=bucket, Key="eb/big")["UploadId"]
    part = s3.upload_part(Bucket=bucket, Key="eb/big", UploadId=upload, PartNumber=1, Body=b"p")
    s3.complete_multipart_upload(
        Bucket=bucket,
        Key="eb/big",
        UploadId=upload,
        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]},
    )
    s3.delete_object(Bucket=bucket, Key="eb/copy")

    copy_events = [
        S3EventNotificationEventBridgeModel.model_validate(e) for e in s3_app.bus_events("eb/copy")
    ]
    [big] = [S3EventNotificationEventBridgeModel.model_validate(e) for e in s3_app.bus_events("eb/big")]

    assert [(e.detail_type, e.detail.reason) for e in copy_events] == [
        ("Object Created", "CopyObject"),
        ("Object Deleted", "DeleteObject"),
    ]
    assert copy_events[1].detail.deletion_type == "Permanently Deleted"
    assert (big.detail_type, big.detail.reason) == ("Object Created", "CompleteMultipartUpload")


def test_rules_on_other_buses_do_not_get_s3_events(s3_app: S3App) -> None:
    events, sqs = s3_app.cloud.client("events"), s3_app.cloud.client("sqs")
    url = sqs.create_queue(QueueName="other-bus-copies")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.create_event_bus(Name="other")
    events.put_rule(Name="all-s3", EventBusName="other", EventPattern='{"source": ["aws.s3"]}')
    events.put_targets(Rule="all-s3", EventBusName="other", Targets=[{"Id": "q", "Arn": arn}])

    s3_app.s3.put_object(Bucket=s3_app.bucket, Key="eb/default-bus-only", Body=b"x")

    assert s3_app.bus_events("eb/default-bus-only")
    assert "Messages" not in sqs.receive_message(QueueUrl=url)
