"""What a running local cloud holds, read through the public APIs only (works against any endpoint)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

Clients = Callable[[str], Any]


@dataclass(frozen=True)
class QueueDepth:
    name: str
    visible: int
    in_flight: int


@dataclass(frozen=True)
class Execution:
    state_machine: str
    name: str
    status: str


@dataclass
class Status:
    stacks: list[tuple[str, str]] = field(default_factory=list)
    functions: list[str] = field(default_factory=list)
    queues: list[QueueDepth] = field(default_factory=list)
    executions: list[Execution] = field(default_factory=list)


def collect(clients: Clients) -> Status:
    status = Status()
    cloudformation = clients("cloudformation")
    for page in cloudformation.get_paginator("describe_stacks").paginate():
        status.stacks += [(stack["StackName"], stack["StackStatus"]) for stack in page["Stacks"]]
    for page in clients("lambda").get_paginator("list_functions").paginate():
        status.functions += sorted(function["FunctionName"] for function in page["Functions"])
    sqs = clients("sqs")
    for url in sqs.list_queues().get("QueueUrls", []):
        attributes = sqs.get_queue_attributes(
            QueueUrl=url,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        status.queues.append(
            QueueDepth(
                url.rsplit("/", 1)[-1],
                int(attributes.get("ApproximateNumberOfMessages", 0)),
                int(attributes.get("ApproximateNumberOfMessagesNotVisible", 0)),
            )
        )
    sfn = clients("stepfunctions")
    for machine in sfn.list_state_machines().get("stateMachines", []):
        for execution in sfn.list_executions(stateMachineArn=machine["stateMachineArn"]).get(
            "executions", []
        ):
            status.executions.append(Execution(machine["name"], execution["name"], execution["status"]))
    return status


def render(status: Status) -> list[str]:
    """Readable lines, one section per kind of resource."""
    lines = [f"stacks ({len(status.stacks)})"]
    lines += [f"  {name}  {state}" for name, state in status.stacks]
    lines.append(f"functions ({len(status.functions)})")
    lines += [f"  {name}" for name in status.functions]
    lines.append(f"queues ({len(status.queues)})  visible / in flight")
    lines += [f"  {queue.name}  {queue.visible} / {queue.in_flight}" for queue in status.queues]
    if status.executions:
        lines.append(f"executions ({len(status.executions)})")
        lines += [f"  {run.state_machine}/{run.name}  {run.status}" for run in status.executions]
    return lines
