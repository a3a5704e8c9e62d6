"""A minimal SQS event source mapping for unit tests: receive, invoke, delete what succeeded.

moto's own ESM ignores ``ReportBatchItemFailures`` (spec §12), so tests drive the real queue by hand:
messages are received from the (moto) queue with real receipt handles and receive counts, handed to
the handler in the Lambda event shape, and deleted unless reported in ``batchItemFailures``, as
Lambda does. ``expire_visibility`` stands for the passing of time between deliveries.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tests.support.cfn import REGION

Handler = Callable[[dict[str, Any]], dict[str, Any]]


def lambda_record(message: dict[str, Any], queue_arn: str) -> dict[str, Any]:
    """One received SQS message in the shape Lambda hands to the function."""
    attributes = message.get("Attributes", {})
    record: dict[str, Any] = {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": {
            key: attributes[key]
            for key in (
                "ApproximateReceiveCount",
                "SentTimestamp",
                "SenderId",
                "ApproximateFirstReceiveTimestamp",
            )
            if key in attributes
        },
        "messageAttributes": {
            name: {
                "stringValue": value.get("StringValue"),
                "stringListValues": [],
                "binaryListValues": [],
                "dataType": value["DataType"],
            }
            for name, value in message.get("MessageAttributes", {}).items()
        },
        "md5OfBody": message["MD5OfBody"],
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": REGION,
    }
    if "MD5OfMessageAttributes" in message:
        record["md5OfMessageAttributes"] = message["MD5OfMessageAttributes"]
    return record


@dataclass
class Delivery:
    event: dict[str, Any]
    response: dict[str, Any]

    @property
    def message_ids(self) -> list[str]:
        return [record["messageId"] for record in self.event["Records"]]

    @property
    def failed_ids(self) -> list[str]:
        return [item["itemIdentifier"] for item in self.response["batchItemFailures"]]


class EventSourceMapping:
    def __init__(
        self, sqs: Any, queue_url: str, queue_arn: str, handler: Handler, batch_size: int = 10
    ) -> None:
        self.sqs = sqs
        self.queue_url = queue_url
        self.queue_arn = queue_arn
        self.handler = handler
        self.batch_size = batch_size

    def poll(self) -> Delivery | None:
        """One poll: invoke the handler with what is visible now, delete what was not reported."""
        messages = self.sqs.receive_message(
            QueueUrl=self.queue_url,
            MaxNumberOfMessages=self.batch_size,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        ).get("Messages", [])
        if not messages:
            return None
        event = {"Records": [lambda_record(message, self.queue_arn) for message in messages]}
        response = self.handler(event)
        failed = {item["itemIdentifier"] for item in response.get("batchItemFailures", [])}
        done = [message for message in messages if message["MessageId"] not in failed]
        if done:
            self.sqs.delete_message_batch(
                QueueUrl=self.queue_url,
                Entries=[
                    {"Id": str(index), "ReceiptHandle": m["ReceiptHandle"]} for index, m in enumerate(done)
                ],
            )
        return Delivery(event, response)

    def expire_visibility(self, delivery: Delivery) -> None:
        """Time passes: the messages still in flight become visible again (test-side shortcut)."""
        for record in delivery.event["Records"]:
            if record["messageId"] in delivery.failed_ids:
                self.sqs.change_message_visibility(
                    QueueUrl=self.queue_url, ReceiptHandle=record["receiptHandle"], VisibilityTimeout=0
                )
