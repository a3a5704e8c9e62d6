"""A local cloud with the S3 fixture application: a bucket notifying Lambda, SQS and EventBridge."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from localcloud.cloud import LocalCloud
from localcloud.s3_events import encode_key

FIXTURE_APP = Path(__file__).parent / "fixtures" / "app" / "template.yaml"


@dataclass
class S3App:
    """The deployed fixture, with what the ``Notices`` queue received so far."""

    cloud: LocalCloud
    bucket: str
    versioned: str
    notices_url: str
    alert_copies_url: str
    notices: list[dict[str, Any]] = field(default_factory=list)

    @property
    def s3(self) -> Any:
        return self.cloud.client("s3")

    def drain(self) -> list[dict[str, Any]]:
        """Every message body the ``Notices`` queue has received (read and deleted as they come)."""
        sqs = self.cloud.client("sqs")
        while True:
            messages = sqs.receive_message(QueueUrl=self.notices_url, MaxNumberOfMessages=10).get(
                "Messages", []
            )
            if not messages:
                return self.notices
            for message in messages:
                self.notices.append(json.loads(message["Body"]))
                sqs.delete_message(QueueUrl=self.notices_url, ReceiptHandle=message["ReceiptHandle"])

    def records(self, bucket: str, key: str) -> list[dict[str, Any]]:
        """The notification records ``Notices`` received for one object, in arrival order."""
        return [
            record
            for body in self.drain()
            for record in body.get("Records", [])
            if record["s3"]["bucket"]["name"] == bucket and record["s3"]["object"]["key"] == encode_key(key)
        ]

    def events(self, function: str) -> list[Any]:
        return [call.event for call in self.cloud.calls(function)]

    def bus_events(self, key: str) -> list[dict[str, Any]]:
        """The EventBridge events the rule's function received for one object (keys are raw there)."""
        return [
            event for event in self.events("BusEventsFunction") if event["detail"]["object"]["key"] == key
        ]


@pytest.fixture(scope="module")
def s3_app() -> Iterator[S3App]:
    with LocalCloud(FIXTURE_APP, stack_name="s3shapes") as cloud:
        outputs = cloud.deploy().outputs()
        cloud.run_until_idle()  # the queue consumer gets the s3:TestEvent sent when notifications were put
        yield S3App(
            cloud,
            outputs["UploadsBucket"],
            outputs["VersionedBucket"],
            outputs["NoticesUrl"],
            outputs["AlertCopiesUrl"],
        )
