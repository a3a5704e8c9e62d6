"""CKV_BP_1: SQS queues are encrypted with a customer-managed KMS key (the shared key), not SSE-SQS."""

from __future__ import annotations

from typing import Any

from bp_support import is_customer_managed_key, may_be_true
from checkov.cloudformation.checks.resource.base_resource_check import BaseResourceCheck
from checkov.common.models.enums import CheckCategories, CheckResult


class SqsQueueCustomerManagedKey(BaseResourceCheck):
    def __init__(self) -> None:
        super().__init__(
            name="SQS queue is encrypted with a customer-managed KMS key (not alias/aws/sqs, not SSE-SQS)",
            id="CKV_BP_1",
            categories=[CheckCategories.ENCRYPTION],
            supported_resources=["AWS::SQS::Queue"],
        )

    def scan_resource_conf(self, conf: dict[str, Any]) -> CheckResult:
        properties = conf.get("Properties") or {}
        if may_be_true(properties.get("SqsManagedSseEnabled")):
            return CheckResult.FAILED
        if is_customer_managed_key(properties.get("KmsMasterKeyId"), "alias/aws/sqs"):
            return CheckResult.PASSED
        return CheckResult.FAILED

    def get_evaluated_keys(self) -> list[str]:
        return ["Properties/KmsMasterKeyId", "Properties/SqsManagedSseEnabled"]


check = SqsQueueCustomerManagedKey()
