"""CKV_BP_2: SNS topics are encrypted with a customer-managed KMS key (the shared key)."""

from __future__ import annotations

from typing import Any

from bp_support import is_customer_managed_key
from checkov.cloudformation.checks.resource.base_resource_check import BaseResourceCheck
from checkov.common.models.enums import CheckCategories, CheckResult


class SnsTopicCustomerManagedKey(BaseResourceCheck):
    def __init__(self) -> None:
        super().__init__(
            name="SNS topic is encrypted with a customer-managed KMS key (not alias/aws/sns)",
            id="CKV_BP_2",
            categories=[CheckCategories.ENCRYPTION],
            supported_resources=["AWS::SNS::Topic"],
        )

    def scan_resource_conf(self, conf: dict[str, Any]) -> CheckResult:
        properties = conf.get("Properties") or {}
        if is_customer_managed_key(properties.get("KmsMasterKeyId"), "alias/aws/sns"):
            return CheckResult.PASSED
        return CheckResult.FAILED

    def get_evaluated_keys(self) -> list[str]:
        return ["Properties/KmsMasterKeyId"]


check = SnsTopicCustomerManagedKey()
