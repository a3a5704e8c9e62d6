"""The change-resolution queue: one message per deployment whose changes are to be (re)computed."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from blueprints.core.aws import client as aws_client
from blueprints.core.observability import logger
from blueprints.dora.model import Deployment

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient


def message(deployment: Deployment) -> str:
    return json.dumps({"pipeline_arn": deployment.pipeline_arn, "execution_id": deployment.execution_id})


class ChangeQueue:
    def __init__(self, queue_url: str, client: SQSClient | None = None) -> None:
        self.queue_url = queue_url
        self._client = client

    @property
    def client(self) -> SQSClient:
        if self._client is None:
            self._client = aws_client("sqs")
        return self._client

    def enqueue(self, deployments: list[Deployment]) -> None:
        for start in range(0, len(deployments), 10):
            entries: list[Any] = [
                {"Id": str(index), "MessageBody": message(deployment)}
                for index, deployment in enumerate(deployments[start : start + 10])
            ]
            failed = self.client.send_message_batch(QueueUrl=self.queue_url, Entries=entries).get(
                "Failed", []
            )
            if failed:
                raise RuntimeError(f"SendMessageBatch failed for {len(failed)} change-resolution messages")

    def hide(self, queue_url: str, receipt_handle: str, seconds: int) -> bool:
        """Keep a message away for ``seconds`` (GitHub's rate-limit reset); False if SQS refused."""
        try:
            self.client.change_message_visibility(
                QueueUrl=queue_url, ReceiptHandle=receipt_handle, VisibilityTimeout=min(seconds, 43_200)
            )
        except ClientError as exc:
            logger.warning(
                "visibility change failed", extra={"error_code": exc.response.get("Error", {}).get("Code")}
            )
            return False
        return True
