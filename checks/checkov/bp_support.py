"""Helpers shared by the checks in this folder (checkov puts the folder on sys.path; imported by name)."""

from __future__ import annotations

from typing import Any


def intrinsic(value: Any) -> tuple[str, Any] | None:
    """(function, argument) of a one-key intrinsic such as ``{"Fn::If": [...]}``, else None.

    checkov adds ``__startline__``-style keys to the dicts of JSON templates; they are not properties.
    """
    if not isinstance(value, dict):
        return None
    keys = [key for key in value if not (key.startswith("__") and key.endswith("__"))]
    return (keys[0], value[keys[0]]) if len(keys) == 1 else None


def alternatives(value: Any) -> list[Any]:
    """The values a property can take: both branches of ``Fn::If`` (nested too), else the value itself."""
    function = intrinsic(value)
    if function and function[0] == "Fn::If" and isinstance(function[1], list) and len(function[1]) == 3:
        return alternatives(function[1][1]) + alternatives(function[1][2])
    return [value]


def is_customer_managed_key(value: Any, aws_managed_alias: str) -> bool:
    """True when every alternative names a key: a reference (Ref, GetAtt, Sub, ImportValue) or a key id/ARN
    that is not the service's AWS-managed alias. Absent, empty and ``AWS::NoValue`` are not keys."""
    for candidate in alternatives(value):
        if candidate is None or intrinsic(candidate) == ("Ref", "AWS::NoValue"):
            return False
        if isinstance(candidate, str) and (not candidate.strip() or candidate.endswith(aws_managed_alias)):
            return False
    return True


def _true(candidate: Any) -> bool:
    return candidate is True or str(candidate).lower() == "true"  # CloudFormation also writes "true"


def is_true(value: Any) -> bool:
    """True in every alternative."""
    return all(_true(candidate) for candidate in alternatives(value))


def may_be_true(value: Any) -> bool:
    """True in at least one alternative."""
    return any(_true(candidate) for candidate in alternatives(value))


def reports_batch_item_failures(properties: dict[str, Any]) -> bool:
    response_types = properties.get("FunctionResponseTypes")
    return isinstance(response_types, list) and "ReportBatchItemFailures" in response_types
