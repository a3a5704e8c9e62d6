"""CKV_BP_3: DynamoDB tables have server-side encryption with KMS and a customer-managed key.

``AWS::Serverless::SimpleTable`` passes ``SSESpecification`` through to the table it creates, so the raw
template is held to the same rule. Global tables set the key per replica.
"""

from __future__ import annotations

from typing import Any

from bp_support import is_customer_managed_key, is_true
from checkov.cloudformation.checks.resource.base_resource_check import BaseResourceCheck
from checkov.common.models.enums import CheckCategories, CheckResult

AWS_MANAGED = "alias/aws/dynamodb"


def _kms_enabled(sse: Any) -> bool:
    if not isinstance(sse, dict) or not is_true(sse.get("SSEEnabled")):
        return False
    return sse.get("SSEType", "KMS") == "KMS"


class DynamoDbTableCustomerManagedKey(BaseResourceCheck):
    def __init__(self) -> None:
        super().__init__(
            name="DynamoDB table has SSE enabled with KMS and a customer-managed key",
            id="CKV_BP_3",
            categories=[CheckCategories.ENCRYPTION],
            supported_resources=[
                "AWS::DynamoDB::Table",
                "AWS::DynamoDB::GlobalTable",
                "AWS::Serverless::SimpleTable",
            ],
        )

    def scan_resource_conf(self, conf: dict[str, Any]) -> CheckResult:
        properties = conf.get("Properties") or {}
        sse = properties.get("SSESpecification")
        if not _kms_enabled(sse):
            return CheckResult.FAILED
        if self.entity_type == "AWS::DynamoDB::GlobalTable":
            replicas = properties.get("Replicas") or []
            keys = [(replica.get("SSESpecification") or {}).get("KMSMasterKeyId") for replica in replicas]
            passed = bool(keys) and all(is_customer_managed_key(key, AWS_MANAGED) for key in keys)
        else:
            passed = is_customer_managed_key(sse.get("KMSMasterKeyId"), AWS_MANAGED)
        return CheckResult.PASSED if passed else CheckResult.FAILED

    def get_evaluated_keys(self) -> list[str]:
        return ["Properties/SSESpecification", "Properties/Replicas"]


check = DynamoDbTableCustomerManagedKey()
