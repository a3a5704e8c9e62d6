"""Records S3 delivers to Lambda, SQS and SNS: AWS's shape, parsed by Powertools' models."""

from __future__ import annotations

import json
import re

from aws_lambda_powertools.utilities.parser.models import S3Model, S3SqsEventNotificationModel

from tests.unit.localcloud_s3.conftest import S3App

KEY = "in/2024 report/a b+c.csv"  # spaces, slashes and a plus: the cases S3 encodes
ISO_MILLIS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def test_put_reaches_lambda_as_aws_sends_it_and_powertools_reads_it(s3_app: S3App) -> None:
    s3_app.s3.put_object(Bucket=s3_app.bucket, Key=KEY, Body=b"a,b\n1,2\n")

    [event] = [event for event in s3_app.events("ObjectsFunction") if "2024" in json.dumps(event)]
    [call] = [call for call in s3_app.cloud.calls("ObjectsFunction") if call.event is event]
    [record] = event["Records"]
    parsed = S3Model.model_validate(event).Records[0]

    assert call.invocation_type == "Event"  # S3 invokes asynchronously
    assert call.payload == {"bucket": s3_app.bucket, "key": KEY}  # Powertools' data class decodes the key
    assert record["s3"]["object"]["key"] == "in/2024+report/a+b%2Bc.csv"  # '/' kept, ' ' -> '+'
    assert parsed.eventName == "ObjectCreated:Put"
    assert record["eventVersion"] == "2.1"
    assert ISO_MILLIS.match(record["eventTime"])
    assert record["userIdentity"]["principalId"].startswith("AWS:")
    assert record["requestParameters"] == {"sourceIPAddress": "127.0.0.1"}
    assert set(record["responseElements"]) == {"x-amz-request-id", "x-amz-id-2"}
    assert record["s3"]["bucket"]["ownerIdentity"]["principalId"]
    assert record["s3"]["bucket"]["arn"] == f"arn:aws:s3:::{s3_app.bucket}"
    assert parsed.s3.object is not None
    assert parsed.s3.object.size == 8
    assert parsed.s3.object.versionId is None  # the bucket is not versioned
    assert re.fullmatch(r"[0-9A-F]{18}", str(parsed.s3.object.sequencer))


def test_lambda_filters_prefix_and_suffix_on_the_raw_key(s3_app: S3App) -> None:
    for key in ("in/skipped.txt", "out/skipped.csv"):
        s3_app.s3.put_object(Bucket=s3_app.bucket, Key=key, Body=b"x")

    keys = [event["Records"][0]["s3"]["object"]["key"] for event in s3_app.events("ObjectsFunction")]
    assert not [key for key in keys if "skipped" in key]
    assert {event["detail"]["object"]["key"] for event in s3_app.events("BusEventsFunction")} >= {
        "in/skipped.txt",
        "out/skipped.csv",
    }  # EventBridge gets every event of the bucket


def test_queue_gets_the_same_record_and_the_test_event_as_aws_sends_it(s3_app: S3App) -> None:
    key = "notices/q 1.json"
    s3_app.s3.put_object(Bucket=s3_app.bucket, Key=key, Body=b"{}")

    [record] = s3_app.records(s3_app.bucket, key)
    test_events = [body for body in s3_app.drain() if body.get("Event") == "s3:TestEvent"]

    assert S3Model.model_validate({"Records": [record]}).Records[0].s3.object is not None
    assert record["s3"]["object"]["key"] == "notices/q+1.json"
    assert {body["Bucket"] for body in test_events} == {s3_app.bucket, s3_app.versioned}
    for body in test_events:
        assert set(body) == {"Service", "Event", "Time", "Bucket", "RequestId", "HostId"}
        assert body["Service"] == "Amazon S3"
        assert ISO_MILLIS.match(body["Time"])


def test_queue_consumer_batches_parse_with_the_s3_over_sqs_model(s3_app: S3App) -> None:
    first = s3_app.events("QueuedFunction")[0]
    s3_app.s3.put_object(Bucket=s3_app.bucket, Key="queued/one.json", Body=b"1")
    s3_app.s3.put_object(Bucket=s3_app.bucket, Key="queued/two.json", Body=b"2")
    s3_app.cloud.run_until_idle()

    batches = [
        S3SqsEventNotificationModel.model_validate(event) for event in s3_app.events("QueuedFunction")[1:]
    ]
    keys = [record.body.Records[0].s3.object.key for batch in batches for record in batch.Records]  # type: ignore[union-attr]

    assert json.loads(first["Records"][0]["body"])["Event"] == "s3:TestEvent"  # delivered as AWS sends it
    assert keys == ["queued/one.json", "queued/two.json"]


def test_topic_wraps_the_records_in_the_sns_envelope_with_s3s_subject(s3_app: S3App) -> None:
    s3_app.s3.put_object(Bucket=s3_app.versioned, Key="topic/t 1.txt", Body=b"t")

    sqs = s3_app.cloud.client("sqs")
    messages = sqs.receive_message(QueueUrl=s3_app.alert_copies_url, MaxNumberOfMessages=10)["Messages"]
    envelopes = [json.loads(message["Body"]) for message in messages]
    [notice] = [envelope for envelope in envelopes if "Records" in envelope["Message"]]

    assert notice["Subject"] == "Amazon S3 Notification"
    record = S3Model.model_validate_json(notice["Message"]).Records[0]
    assert record.s3.object is not None
    assert record.s3.object.key == "topic/t+1.txt"
    assert any(json.loads(envelope["Message"]).get("Event") == "s3:TestEvent" for envelope in envelopes)


def test_versioned_bucket_reports_versions_and_delete_markers_with_increasing_sequencers(
    s3_app: S3App,
) -> None:
    s3 = s3_app.s3
    bucket, key = s3_app.versioned, "v/report 1.csv"
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    first = s3.put_object(Bucket=bucket, Key=key, Body=b"1")["VersionId"]
    second = s3.put_object(Bucket=bucket, Key=key, Body=b"22")["VersionId"]
    marker = s3.delete_object(Bucket=bucket, Key=key)["VersionId"]
    s3.delete_object(Bucket=bucket, Key=key, VersionId=first)

    records = s3_app.records(bucket, key)
    parsed = S3Model.model_validate({"Records": records}).Records
    objects = [record.s3.object for record in parsed]

    assert [record.eventName for record in parsed] == [
        "ObjectCreated:Put",
        "ObjectCreated:Put",
        "ObjectRemoved:DeleteMarkerCreated",
        "ObjectRemoved:Delete",
    ]
    assert [item.versionId for item in objects if item] == [first, second, marker, first]
    sequencers = [str(item.sequencer) for item in objects if item]
    assert sequencers == sorted(sequencers)
    assert len(set(sequencers)) == 4
    assert "size" not in records[2]["s3"]["object"]  # deletions carry no size or eTag


def test_copy_multipart_and_delete_have_their_event_names(s3_app: S3App) -> None:
    s3, bucket = s3_app.s3, s3_app.bucket
    s3.put_object(Bucket=bucket, Key="notices/source.bin", Body=b"s")
    s3.copy_object(
        Bucket=bucket, Key="notices/copy.bin", CopySource={"Bucket": bucket, "Key": "notices/source.bin"}
    )
    upload = s3.create_multipart_upload(Bucket=bucket, Key="notices/big.bin")["UploadId"]
    part = s3.upload_part(Bucket=bucket, Key="notices/big.bin", UploadId=upload, PartNumber=1, Body=b"p" * 10)
    s3.complete_multipart_upload(
        Bucket=bucket,
        Key="notices/big.bin",
        UploadId=upload,
        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]},
    )
    s3.delete_object(Bucket=bucket, Key="notices/copy.bin")

    copy_records = s3_app.records(bucket, "notices/copy.bin")
    [big] = s3_app.records(bucket, "notices/big.bin")

    assert [record["eventName"] for record in copy_records] == ["ObjectCreated:Copy", "ObjectRemoved:Delete"]
    assert big["eventName"] == "ObjectCreated:CompleteMultipartUpload"
    assert big["s3"]["object"]["eTag"].endswith("-1")
    S3Model.model_validate({"Records": [*copy_records, big]})
