"""Compute adapters: start a launch plan on ECS Fargate, AWS Batch, a ParallelCluster head node (SSM) or
Step Functions, idempotently per launch attempt.

- Fargate: ``clientToken`` = sha256(launch_id:attempt) and ``startedBy`` = ``<launch_id>/a<attempt>``;
  ``failures[]`` means nothing started, classified as the broker classifies them.
- Batch: SubmitJob has no idempotency token, so an existing job named ``<launch_id>-a<attempt>`` in the
  queue is reused instead of submitting a second one.
- Step Functions: the execution name ``<launch_id>-a<attempt>`` makes the start idempotent.
- ParallelCluster: SSM SendCommand (AWS-RunShellScript) on the head node, with the attempt's
  client token as the comment so a repeated start is found by ListCommands.
Errors map to ``LaunchRejectedError`` (permanent) or ``LaunchTransientError`` (retry the record).
"""

from __future__ import annotations

import hashlib
import json
import shlex
from dataclasses import dataclass, field
from typing import Any, Protocol

from botocore.exceptions import ClientError

from blueprints.broker.classify import classify_error_code, classify_failures
from blueprints.core.aws import client as aws_client
from blueprints.core.errors import BlueprintError
from blueprints.genomics.engines import LaunchPlan
from blueprints.genomics.errors import LaunchRejectedError, LaunchTransientError
from blueprints.genomics.events import BATCH_LOG_GROUP
from blueprints.genomics.records import Launch


def started_by(launch_id: str, attempt: int) -> str:
    return f"{launch_id}/a{attempt}"


def job_name(launch_id: str, attempt: int) -> str:
    return f"{launch_id}-a{attempt}"


def client_token(launch_id: str, attempt: int) -> str:
    return hashlib.sha256(f"{launch_id}:{attempt}".encode()).hexdigest()[:64]


@dataclass(frozen=True)
class Started:
    """The handles of a started attempt, recorded on the launch."""

    values: dict[str, Any] = field(default_factory=dict)


class Runner(Protocol):
    def start(self, launch: Launch, plan: LaunchPlan, definition: str) -> Started: ...


def _typed(exc: ClientError) -> LaunchRejectedError | LaunchTransientError:
    error = exc.response.get("Error", {})
    return _genomics_error(classify_error_code(error.get("Code", "Unknown"), error.get("Message", "")))


def _genomics_error(error: BlueprintError) -> LaunchRejectedError | LaunchTransientError:
    code = str(getattr(error, "error_code", type(error).__name__))
    if error.retryable:
        return LaunchTransientError(code, str(error))
    return LaunchRejectedError(code, str(error))


def _environment(plan: LaunchPlan) -> list[dict[str, str]]:
    return [{"name": name, "value": value} for name, value in sorted(plan.environment.items())]


@dataclass
class FargateRunner:
    cluster_arn: str
    container_name: str
    log_group: str
    log_stream_prefix: str
    subnets: tuple[str, ...]
    security_groups: tuple[str, ...]
    assign_public_ip: str
    capacity_provider: str  # FARGATE or FARGATE_SPOT
    client: Any = None

    def start(self, launch: Launch, plan: LaunchPlan, definition: str) -> Started:
        ecs = self.client or aws_client("ecs")
        request: dict[str, Any] = {
            "cluster": self.cluster_arn,
            "taskDefinition": definition,
            "count": 1,
            "startedBy": started_by(launch.launch_id, launch.attempt),
            "clientToken": client_token(launch.launch_id, launch.attempt),
            "networkConfiguration": {
                "awsvpcConfiguration": {
                    "subnets": list(self.subnets[:16]),
                    "securityGroups": list(self.security_groups[:5]),
                    "assignPublicIp": self.assign_public_ip,
                }
            },
            "overrides": {
                "containerOverrides": [
                    {"name": self.container_name, "command": plan.command, "environment": _environment(plan)}
                ]
            },
            "tags": [
                {"key": "launch_id", "value": launch.launch_id},
                {"key": "attempt", "value": str(launch.attempt)},
            ],
            "propagateTags": "TASK_DEFINITION",
        }
        if self.capacity_provider == "FARGATE_SPOT":
            request["capacityProviderStrategy"] = [{"capacityProvider": "FARGATE_SPOT", "weight": 1}]
        else:
            request["launchType"] = "FARGATE"
        try:
            response = ecs.run_task(**request)
        except ClientError as exc:
            raise _typed(exc) from exc
        if response.get("failures") or not response.get("tasks"):
            failures = [
                {key: str(value) for key, value in item.items()} for item in response.get("failures") or []
            ]
            raise _genomics_error(classify_failures(failures))
        task_arn = str(response["tasks"][0]["taskArn"])
        task_id = task_arn.rsplit("/", 1)[-1]
        return Started(
            {
                "task_arn": task_arn,
                "log_group": self.log_group,
                "log_stream": f"{self.log_stream_prefix}/{self.container_name}/{task_id}",
            }
        )


@dataclass
class BatchRunner:
    job_queue: str
    client: Any = None

    def start(self, launch: Launch, plan: LaunchPlan, definition: str) -> Started:
        batch = self.client or aws_client("batch")
        name = job_name(launch.launch_id, launch.attempt)
        try:
            existing = batch.list_jobs(
                jobQueue=self.job_queue, filters=[{"name": "JOB_NAME", "values": [name]}]
            ).get("jobSummaryList", [])
            if existing:
                job_id = str(existing[0]["jobId"])
            else:
                job_id = str(
                    batch.submit_job(
                        jobName=name,
                        jobQueue=self.job_queue,
                        jobDefinition=definition,
                        containerOverrides={"command": plan.command, "environment": _environment(plan)},
                        tags={"launch_id": launch.launch_id, "attempt": str(launch.attempt)},
                        propagateTags=True,
                    )["jobId"]
                )
        except ClientError as exc:
            raise _typed(exc) from exc
        return Started({"batch_job_ids": {job_id}, "log_group": BATCH_LOG_GROUP})


@dataclass
class StepFunctionsRunner:
    state_machine_arn: str
    client: Any = None

    def start(self, launch: Launch, plan: LaunchPlan, definition: str) -> Started:
        del definition  # the state machine is the definition
        if not self.state_machine_arn:
            raise LaunchRejectedError(
                "PipelineNotDeployed", "no state machine is configured for this workflow type"
            )
        sfn = self.client or aws_client("stepfunctions")
        name = job_name(launch.launch_id, launch.attempt)
        arn = f"{self.state_machine_arn.replace(':stateMachine:', ':execution:')}:{name}"
        try:
            arn = str(
                sfn.start_execution(
                    stateMachineArn=self.state_machine_arn,
                    name=name,
                    input=json.dumps(plan.state_machine_input or {}),
                )["executionArn"]
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "ExecutionAlreadyExists":
                raise _typed(exc) from exc
        return Started({"sfn_execution_arn": arn})


@dataclass
class ParallelClusterRunner:
    head_node_instance_id: str
    log_group: str
    client: Any = None

    def start(self, launch: Launch, plan: LaunchPlan, definition: str) -> Started:
        del definition  # the head node's own software runs the command
        if not self.head_node_instance_id:
            raise LaunchRejectedError(
                "ParallelClusterNotConfigured", "no ParallelCluster head node is configured"
            )
        ssm = self.client or aws_client("ssm")
        token = client_token(launch.launch_id, launch.attempt)
        try:
            previous = ssm.list_commands(
                InstanceId=self.head_node_instance_id,
                Filters=[{"key": "DocumentName", "value": "AWS-RunShellScript"}],
            ).get("Commands", [])
            found = [command for command in previous if command.get("Comment") == token[:100]]
            if found:
                command_id = str(found[0]["CommandId"])
            else:
                exports = [
                    f"export {name}={shlex.quote(value)}" for name, value in sorted(plan.environment.items())
                ]
                command_id = str(
                    ssm.send_command(
                        InstanceIds=[self.head_node_instance_id],
                        DocumentName="AWS-RunShellScript",
                        Comment=token[:100],
                        Parameters={"commands": [*exports, shlex.join(plan.command)]},
                        CloudWatchOutputConfig={
                            "CloudWatchOutputEnabled": True,
                            "CloudWatchLogGroupName": self.log_group,
                        },
                    )["Command"]["CommandId"]
                )
        except ClientError as exc:
            raise _typed(exc) from exc
        return Started({"ssm_command_id": command_id, "log_group": self.log_group})
