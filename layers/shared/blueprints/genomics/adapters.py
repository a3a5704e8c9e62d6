"""Small boto3 adapters: the alerts notifier and the stopper of a launch's task or job."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from blueprints.core.aws import client as aws_client
from blueprints.genomics.records import Launch

SUBJECT_LIMIT = 100


@dataclass
class SnsNotifier:
    topic_arn: str
    client: Any = None

    def notify(self, subject: str, message: dict[str, Any]) -> None:
        sns = self.client or aws_client("sns")
        sns.publish(
            TopicArn=self.topic_arn,
            Subject=subject[:SUBJECT_LIMIT],
            Message=json.dumps(message, sort_keys=True, default=str),
            MessageAttributes={"blueprint": {"DataType": "String", "StringValue": "genomics"}},
        )


@dataclass
class ComputeStopper:
    cluster_arn: str
    ecs: Any = None
    batch: Any = None

    def stop(self, launch: Launch, reason: str) -> None:
        if launch.task_arn:
            (self.ecs or aws_client("ecs")).stop_task(
                cluster=self.cluster_arn, task=launch.task_arn, reason=reason
            )
        for job_id in launch.batch_job_ids:
            (self.batch or aws_client("batch")).terminate_job(jobId=job_id, reason=reason)
