"""Small boto3 adapters: the alerts notifier, the stopper of a launch's task or job, the restore queue."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from blueprints.core.aws import client as aws_client
from blueprints.genomics.records import Launch
from blueprints.genomics.restore_s3 import RestoreThrottledError

SUBJECT_LIMIT = 100
SQS_BATCH = 10


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


@dataclass
class SqsChunkQueue:
    """The restore queue: bodies sent with SendMessageBatch, ten a call; failed entries are sent again at
    once (a few times), then the caller's record is retried."""

    queue_url: str
    client: Any = None

    def send(self, bodies: Sequence[str]) -> int:
        sqs: Any = self.client or aws_client("sqs")
        calls = 0
        for start in range(0, len(bodies), SQS_BATCH):
            entries = [
                {"Id": str(index), "MessageBody": body}
                for index, body in enumerate(bodies[start : start + SQS_BATCH])
            ]
            for _ in range(3):
                calls += 1
                failed = {
                    item["Id"]
                    for item in sqs.send_message_batch(QueueUrl=self.queue_url, Entries=entries).get(
                        "Failed", []
                    )
                }
                entries = [entry for entry in entries if entry["Id"] in failed]
                if not entries:
                    break
            else:
                raise RestoreThrottledError(f"{len(entries)} restore chunks could not be queued")
        return calls


@dataclass
class InstanceFacts:
    """What ran a Batch job, captured while it runs (instances and their volumes disappear soon after
    they terminate): the EC2 instance behind a container instance, its type, market, zone and volumes."""

    ecs: Any = None
    ec2: Any = None

    def of_container_instance(self, container_instance_arn: str) -> dict[str, Any]:
        resource = container_instance_arn.split(":", 5)[-1].split("/")  # container-instance/<cluster>/<id>
        if len(resource) != 3:
            return {}
        ecs = self.ecs or aws_client("ecs")
        ec2 = self.ec2 or aws_client("ec2")
        described = ecs.describe_container_instances(
            cluster=resource[1], containerInstances=[container_instance_arn]
        )
        instances = described.get("containerInstances", [])
        if not instances or not instances[0].get("ec2InstanceId"):
            return {}
        instance_id = str(instances[0]["ec2InstanceId"])
        reservations = ec2.describe_instances(InstanceIds=[instance_id]).get("Reservations", [])
        found = [item for reservation in reservations for item in reservation.get("Instances", [])]
        facts: dict[str, Any] = {"ec2_instance_id": instance_id}
        if not found:
            return facts
        instance = found[0]
        facts.update(
            {
                "instance_type": instance.get("InstanceType", ""),
                "purchase_option": "spot" if instance.get("InstanceLifecycle") == "spot" else "on-demand",
                "availability_zone": instance.get("Placement", {}).get("AvailabilityZone", ""),
            }
        )
        volume_ids = [
            mapping["Ebs"]["VolumeId"]
            for mapping in instance.get("BlockDeviceMappings", [])
            if "Ebs" in mapping
        ]
        if volume_ids:
            volumes = ec2.describe_volumes(VolumeIds=volume_ids).get("Volumes", [])
            facts["volumes"] = [
                {
                    "volume_id": volume["VolumeId"],
                    "size_gib": int(volume.get("Size", 0)),
                    "volume_type": volume.get("VolumeType", ""),
                    **({"iops": int(volume["Iops"])} if volume.get("Iops") is not None else {}),
                    **(
                        {"throughput": int(volume["Throughput"])}
                        if volume.get("Throughput") is not None
                        else {}
                    ),
                }
                for volume in volumes
            ]
        return facts
