"""boto3 adapters of the broker: ECS (launch), SQS (visibility, DLQ, re-enqueue), SNS (notices).

Each takes an optional client (tests inject a Stubber-wrapped or moto-backed one) and otherwise uses
the shared factory. ``ClientError`` from ECS is translated into typed errors here, at the boundary.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from blueprints.broker.classify import classify_error_code
from blueprints.broker.errors import LaunchUnknownError
from blueprints.broker.ports import LaunchResult
from blueprints.broker.request import TaskDefinitionInfo
from blueprints.core.aws import client as aws_client
from blueprints.core.observability import logger

if TYPE_CHECKING:
    from mypy_boto3_ecs import ECSClient
    from mypy_boto3_sns import SNSClient
    from mypy_boto3_sqs import SQSClient


class EcsLauncher:
    def __init__(self, client: ECSClient | None = None) -> None:
        self._client = client
        self._task_definitions: dict[str, TaskDefinitionInfo] = {}

    @property
    def client(self) -> ECSClient:
        if self._client is None:
            self._client = aws_client("ecs")
        return self._client

    def describe(self, task_definition: str, *, cacheable: bool) -> TaskDefinitionInfo:
        """Describe a task definition; pinned revisions are cached for the life of the container."""
        cached = self._task_definitions.get(task_definition)
        if cached is not None:
            return cached
        try:
            described = self.client.describe_task_definition(taskDefinition=task_definition)
        except ClientError as exc:
            raise _typed(exc) from exc
        except BotoCoreError as exc:  # timeouts, connection errors: unclassified, retried to the limit
            raise LaunchUnknownError(type(exc).__name__, str(exc)) from exc
        definition = described["taskDefinition"]
        info = TaskDefinitionInfo(
            arn=definition.get("taskDefinitionArn", task_definition),
            network_mode=definition.get("networkMode", "bridge"),
            container_names=frozenset(c["name"] for c in definition.get("containerDefinitions", [])),
        )
        if cacheable:
            self._task_definitions[task_definition] = info
        return info

    def run(self, arguments: dict[str, Any]) -> LaunchResult:
        try:
            response = self.client.run_task(**arguments)
        except ClientError as exc:
            raise _typed(exc) from exc
        except BotoCoreError as exc:
            raise LaunchUnknownError(type(exc).__name__, str(exc)) from exc
        return LaunchResult(
            task_arns=[task["taskArn"] for task in response.get("tasks", []) if "taskArn" in task],
            failures=[
                {key: str(value) for key, value in failure.items()}
                for failure in response.get("failures", [])
            ],
        )


class SqsQueues:
    def __init__(self, dead_letter_queue_url: str, client: SQSClient | None = None) -> None:
        self.dead_letter_queue_url = dead_letter_queue_url
        self._client = client

    @property
    def client(self) -> SQSClient:
        if self._client is None:
            self._client = aws_client("sqs")
        return self._client

    def hide(self, queue_url: str, receipt_handle: str, seconds: int) -> bool:
        """Extend a message's visibility; False (logged) if SQS refused, the message then returns sooner."""
        try:
            self.client.change_message_visibility(
                QueueUrl=queue_url, ReceiptHandle=receipt_handle, VisibilityTimeout=seconds
            )
        except ClientError as exc:
            logger.warning(
                "visibility change failed",
                extra={"error_code": exc.response.get("Error", {}).get("Code"), "seconds": seconds},
            )
            return False
        return True

    def dead_letter(self, body: str, attributes: dict[str, str]) -> None:
        self.client.send_message(
            QueueUrl=self.dead_letter_queue_url,
            MessageBody=body,
            MessageAttributes=_string_attributes(attributes),
        )

    def enqueue(self, queue_url: str, body: str, delay_seconds: int, attributes: dict[str, str]) -> None:
        self.client.send_message(
            QueueUrl=queue_url,
            MessageBody=body,
            DelaySeconds=delay_seconds,
            MessageAttributes=_string_attributes(attributes),
        )


class SnsNotifier:
    def __init__(self, topic_arn: str, client: SNSClient | None = None) -> None:
        self.topic_arn = topic_arn
        self._client = client

    @property
    def client(self) -> SNSClient:
        if self._client is None:
            self._client = aws_client("sns")
        return self._client

    def publish(
        self,
        notice: dict[str, Any],
        subject: str,
        extra_topic_arn: str | None = None,
        *,
        extra_subject: str | None = None,
    ) -> None:
        """Publish to the failure topic (errors propagate), then best effort to an allow-listed topic."""
        message = json.dumps(notice, default=str)
        attributes = _string_attributes(
            {"error_class": str(notice["error_class"]), "request_id": str(notice["request_id"])}
        )
        self.client.publish(
            TopicArn=self.topic_arn, Message=message, Subject=subject, MessageAttributes=attributes
        )
        if not extra_topic_arn:
            return
        try:
            self.client.publish(
                TopicArn=extra_topic_arn,
                Message=message,
                Subject=extra_subject or subject,
                MessageAttributes=attributes,
            )
        except ClientError as exc:
            logger.warning(
                "extra notice failed",
                extra={
                    "topic_arn": extra_topic_arn,
                    "error_code": exc.response.get("Error", {}).get("Code"),
                },
            )


def _typed(exc: ClientError) -> Exception:
    error = exc.response.get("Error", {})
    return classify_error_code(error.get("Code", "Unknown"), error.get("Message", str(exc)))


def _string_attributes(attributes: dict[str, str]) -> dict[str, Any]:
    return {
        name: {"DataType": "Number" if value.isdigit() else "String", "StringValue": value or "-"}
        for name, value in attributes.items()
    }
