"""CKV_BP_6: SAM functions' SQS, DynamoDB and Kinesis events report batch item failures (raw templates).

The translated template is covered by CKV_BP_5 on the event source mappings SAM generates; this check
names the function and its event in the template people edit.
"""

from __future__ import annotations

from typing import Any

from bp_support import reports_batch_item_failures
from checkov.cloudformation.checks.resource.base_resource_check import BaseResourceCheck
from checkov.common.models.enums import CheckCategories, CheckResult

BATCH_ITEM_EVENT_TYPES = {"SQS", "DynamoDB", "Kinesis"}


class FunctionBatchEventsReportItemFailures(BaseResourceCheck):
    def __init__(self) -> None:
        super().__init__(
            name="SAM function SQS, DynamoDB and Kinesis events use ReportBatchItemFailures",
            id="CKV_BP_6",
            categories=[CheckCategories.GENERAL_SECURITY],
            supported_resources=["AWS::Serverless::Function"],
        )

    def scan_resource_conf(self, conf: dict[str, Any]) -> CheckResult:
        events = (conf.get("Properties") or {}).get("Events") or {}
        batch_events = [
            event
            for event in events.values()
            if isinstance(event, dict) and event.get("Type") in BATCH_ITEM_EVENT_TYPES
        ]
        if not batch_events:
            return CheckResult.UNKNOWN
        if all(reports_batch_item_failures(event.get("Properties") or {}) for event in batch_events):
            return CheckResult.PASSED
        return CheckResult.FAILED

    def get_evaluated_keys(self) -> list[str]:
        return ["Properties/Events"]


check = FunctionBatchEventsReportItemFailures()
