"""Deliver a message to an SQS queue or SNS topic named by ARN, through moto's backends.

Used for what AWS sends when it gives up on something: a stream mapping's ``OnFailure`` destination
and an EventBridge target's ``DeadLetterConfig``. moto stores both settings and never uses them.
"""

from __future__ import annotations

from typing import Any

from moto.sns.models import sns_backends
from moto.sqs.models import sqs_backends


class UnsupportedDestinationError(ValueError):
    """The ARN names a service the local cloud cannot deliver failure records to."""


def _sqs_attributes(values: dict[str, str]) -> dict[str, dict[str, Any]]:
    return {name: {"DataType": "String", "StringValue": value} for name, value in values.items()}


def _sns_attributes(values: dict[str, str]) -> dict[str, dict[str, Any]]:
    # moto's SNS backend keeps attributes in the shape its Publish handler converts them to.
    return {name: {"Type": "String", "Value": value} for name, value in values.items()}


def send(arn: str, body: str, attributes: dict[str, str] | None = None) -> None:
    """Send ``body`` to the queue or topic ``arn`` (``arn:aws:sqs|sns:region:account:name``)."""
    parts = arn.split(":")
    if len(parts) < 6:
        raise UnsupportedDestinationError(f"not an ARN: {arn!r}")
    service, region, account_id, name = parts[2], parts[3], parts[4], parts[5]
    values = attributes or {}
    if service == "sqs":
        sqs_backends[account_id][region].send_message(
            queue_name=name, message_body=body, message_attributes=_sqs_attributes(values)
        )
    elif service == "sns":
        sns_backends[account_id][region].publish(
            message=body, arn=arn, message_attributes=_sns_attributes(values)
        )
    else:
        raise UnsupportedDestinationError(f"cannot deliver to {arn} (only SQS queues and SNS topics)")
