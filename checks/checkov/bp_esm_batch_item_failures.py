"""CKV_BP_5: event source mappings from SQS, DynamoDB streams and Kinesis report batch item failures.

A mapping is exempt only when it is evidently another kind of source (Kafka, Amazon MQ, DocumentDB):
a literal ARN of that service or a property only those sources take. A mapping whose source is a
reference (``!GetAtt Queue.Arn``) is held to the rule: that is how the templates name queues and streams.
"""

from __future__ import annotations

from typing import Any

from bp_support import reports_batch_item_failures
from checkov.cloudformation.checks.resource.base_resource_check import BaseResourceCheck
from checkov.common.models.enums import CheckCategories, CheckResult

BATCH_ITEM_SERVICES = {"sqs", "kinesis", "dynamodb"}
OTHER_SOURCE_PROPERTIES = {
    "SelfManagedEventSource",
    "SelfManagedKafkaEventSourceConfig",
    "AmazonManagedKafkaEventSourceConfig",
    "DocumentDBEventSourceConfig",
    "Topics",
    "Queues",
}


def is_batch_item_source(properties: dict[str, Any]) -> bool:
    if OTHER_SOURCE_PROPERTIES & set(properties):
        return False
    source = properties.get("EventSourceArn")
    if isinstance(source, str) and source.startswith("arn:"):
        parts = source.split(":")
        return len(parts) > 2 and parts[2] in BATCH_ITEM_SERVICES
    return True


class EventSourceMappingReportsBatchItemFailures(BaseResourceCheck):
    def __init__(self) -> None:
        super().__init__(
            name="SQS, DynamoDB stream and Kinesis event source mappings use ReportBatchItemFailures",
            id="CKV_BP_5",
            categories=[CheckCategories.GENERAL_SECURITY],
            supported_resources=["AWS::Lambda::EventSourceMapping"],
        )

    def scan_resource_conf(self, conf: dict[str, Any]) -> CheckResult:
        properties = conf.get("Properties") or {}
        if not is_batch_item_source(properties):
            return CheckResult.UNKNOWN
        if reports_batch_item_failures(properties):
            return CheckResult.PASSED
        return CheckResult.FAILED

    def get_evaluated_keys(self) -> list[str]:
        return ["Properties/FunctionResponseTypes", "Properties/EventSourceArn"]


check = EventSourceMappingReportsBatchItemFailures()
