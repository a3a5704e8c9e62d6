"""Structural checks of Amazon States Language definitions (``statemachines/<blueprint>/*.asl.json``).

``check_definition`` finds what is clearly wrong without running anything: a ``${Var}`` that the
template does not substitute, a ``StartAt``/``Next``/``Default``/``Catch`` target that is not a state,
a state that neither moves on nor ends, a state no path reaches, an error name misplaced in a retrier,
and Lambda retries without full jitter or retrying every error (business errors are caught by name,
never retried). ``lint_definition`` adds cfn-lint's own ASL validation (E3601) by wrapping the
definition in a plain ``AWS::StepFunctions::StateMachine``; cfn-lint does not look inside the
``DefinitionUri`` of a SAM state machine.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from typing import Any

from cfnlint.api import ManualArgs, lint

from tools.sam_translate import placeholder  # parameters get the same placeholders as in the translation

REGION = "us-east-1"
ACCOUNT = "123456789012"
SUBSTITUTION = re.compile(r"\$\{([^}]*)\}")
STATE_TYPES = {"Task", "Pass", "Choice", "Wait", "Succeed", "Fail", "Parallel", "Map"}
NO_TRANSITION_TYPES = {"Choice", "Succeed", "Fail"}  # they neither take Next nor End
LAMBDA_INVOKE = re.compile(r"^arn:[\w-]+:states:::lambda:invoke(\.waitForTaskToken)?$")
# A Lambda task's Resource written directly: a function ARN, or a substitution named after a function.
LAMBDA_RESOURCE = re.compile(r"^(arn:[\w-]+:lambda:.*|\$\{\w*Function(Arn)?\})$")
CATCH_ALL = "States.ALL"
NOT_RETRYABLE_ON_LAMBDA = ("States.ALL", "States.TaskFailed")
PLACEHOLDER_ROLE = f"arn:aws:iam::{ACCOUNT}:role/asl-lint"


def substitution_names(value: Any) -> Iterator[str]:
    """Every ``${Name}`` in the definition's keys and string values."""
    if isinstance(value, str):
        yield from SUBSTITUTION.findall(value)
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from substitution_names(key)
            yield from substitution_names(item)
    elif isinstance(value, list):
        for item in value:
            yield from substitution_names(item)


def is_lambda_task(state: Mapping[str, Any]) -> bool:
    resource = state.get("Resource")
    if state.get("Type") != "Task" or not isinstance(resource, str):
        return False
    return bool(LAMBDA_INVOKE.match(resource) or LAMBDA_RESOURCE.match(resource))


def _transitions(state: Mapping[str, Any]) -> Iterator[tuple[str, Any]]:
    """(where, target) for every transition a state declares."""
    if "Next" in state:
        yield "Next", state["Next"]
    if "Default" in state:
        yield "Default", state["Default"]
    for index, choice in enumerate(state.get("Choices") or []):
        if isinstance(choice, dict) and "Next" in choice:
            yield f"Choices[{index}].Next", choice["Next"]
    for index, catcher in enumerate(state.get("Catch") or []):
        if isinstance(catcher, dict) and "Next" in catcher:
            yield f"Catch[{index}].Next", catcher["Next"]


def _check_error_lists(where: str, field: str, entries: Any) -> list[str]:
    if not isinstance(entries, list):
        return [f"{where}: {field} must be a list"]
    problems = []
    for index, entry in enumerate(entries):
        errors = entry.get("ErrorEquals") if isinstance(entry, dict) else None
        if not isinstance(errors, list) or not errors:
            problems.append(f"{where}: {field}[{index}] needs a non-empty ErrorEquals")
        elif CATCH_ALL in errors and (len(errors) > 1 or index != len(entries) - 1):
            problems.append(f"{where}: {field}[{index}] {CATCH_ALL} must be alone and in the last entry")
    return problems


def _check_lambda_retry(where: str, retriers: list[Any]) -> list[str]:
    problems = []
    for index, retrier in enumerate(retriers):
        if not isinstance(retrier, dict):
            continue
        if retrier.get("JitterStrategy") != "FULL":
            problems.append(f"{where}: Retry[{index}] on a Lambda task must set JitterStrategy FULL")
        for error in NOT_RETRYABLE_ON_LAMBDA:
            if error in (retrier.get("ErrorEquals") or []):
                problems.append(
                    f"{where}: Retry[{index}] retries {error}; retry transient errors by name, "
                    "catch business errors"
                )
    return problems


def _check_state(where: str, state: Any, names: set[str]) -> list[str]:
    if not isinstance(state, dict):
        return [f"{where}: a state must be an object"]
    kind = state.get("Type")
    if kind not in STATE_TYPES:
        return [f"{where}: unknown Type {kind!r}"]
    problems = [
        f"{where}: {field} target {target!r} is not a state"
        for field, target in _transitions(state)
        if target not in names
    ]
    has_next, ends = "Next" in state, state.get("End") is True
    if kind in NO_TRANSITION_TYPES:
        if has_next or "End" in state:
            problems.append(f"{where}: a {kind} state takes neither Next nor End")
    elif has_next == ends:
        problems.append(f"{where}: needs exactly one of Next or End: true")
    if kind == "Choice" and not state.get("Choices"):
        problems.append(f"{where}: a Choice state needs Choices")
    if kind == "Task" and "Resource" not in state:
        problems.append(f"{where}: a Task state needs a Resource")
    for field in ("Retry", "Catch"):
        if field in state:
            problems += _check_error_lists(where, field, state[field])
    if is_lambda_task(state) and isinstance(state.get("Retry"), list):
        problems += _check_lambda_retry(where, state["Retry"])
    if kind == "Parallel":
        branches = state.get("Branches")
        if not isinstance(branches, list) or not branches:
            problems.append(f"{where}: a Parallel state needs Branches")
        else:
            for index, branch in enumerate(branches):
                problems += _check_machine(f"{where}.Branches[{index}]", branch)
    if kind == "Map":
        processor = state.get("ItemProcessor", state.get("Iterator"))
        if processor is None:
            problems.append(f"{where}: a Map state needs an ItemProcessor")
        else:
            problems += _check_machine(f"{where}.ItemProcessor", processor)
    return problems


def _reachable(start: str, states: Mapping[str, Any]) -> set[str]:
    seen: set[str] = set()
    pending = [start]
    while pending:
        name = pending.pop()
        if name in seen or name not in states:
            continue
        seen.add(name)
        state = states[name]
        if isinstance(state, dict):
            pending.extend(target for _, target in _transitions(state) if isinstance(target, str))
    return seen


def _check_machine(where: str, machine: Any) -> list[str]:
    """One scope: the top level, a Parallel branch or a Map processor (targets stay inside it)."""
    prefix = f"{where}." if where else ""
    if not isinstance(machine, dict) or not isinstance(machine.get("States"), dict) or not machine["States"]:
        return [f"{prefix}States: must be a non-empty object"]
    states: dict[str, Any] = machine["States"]
    problems = []
    start = machine.get("StartAt")
    if start not in states:
        problems.append(f"{prefix}StartAt: {start!r} is not a state")
    else:
        problems += [
            f"{prefix}States.{name}: no path from StartAt reaches it"
            for name in states
            if name not in _reachable(start, states)
        ]
    names = set(states)
    for name, state in states.items():
        problems += _check_state(f"{prefix}States.{name}", state, names)
    return problems


def check_definition(definition: dict[str, Any], substitutions: set[str]) -> list[str]:
    """Problems of one ASL definition whose template declares ``substitutions`` (empty list: fine)."""
    missing = sorted(set(substitution_names(definition)) - substitutions)
    problems = [f"${{{name}}} is not in DefinitionSubstitutions" for name in missing]
    return problems + _check_machine("", definition)


def lint_definition(definition: dict[str, Any], substitution_values: Mapping[str, str]) -> list[str]:
    """cfn-lint's findings on the definition (``RULE message at path``), substitutions filled in."""
    properties: dict[str, Any] = {"RoleArn": PLACEHOLDER_ROLE, "Definition": definition}
    if substitution_values:
        properties["DefinitionSubstitutions"] = dict(substitution_values)
    template = {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Resources": {"StateMachine": {"Type": "AWS::StepFunctions::StateMachine", "Properties": properties}},
    }
    matches = lint(json.dumps(template), config=ManualArgs(regions=["us-east-1"]))
    return [f"{match.rule.id} {match.message} at {'/'.join(map(str, match.path))}" for match in matches]


# Placeholders for DefinitionSubstitutions: cfn-lint substitutes them before it validates resources' ARNs.


def _arn(service: str, resource: str) -> str:
    return f"arn:aws:{service}:{REGION}:{ACCOUNT}:{resource}"


STATE_MACHINE_ARN = _arn("states", "stateMachine:{id}")
# What Ref and GetAtt <x>Arn return, by resource type ({id} is the logical id), for plausible placeholders.
REF_AND_ARN: dict[str, tuple[str, str]] = {
    "AWS::Serverless::Function": ("{id}", _arn("lambda", "function:{id}")),
    "AWS::Lambda::Function": ("{id}", _arn("lambda", "function:{id}")),
    "AWS::SQS::Queue": (f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/{{id}}", _arn("sqs", "{id}")),
    "AWS::SNS::Topic": (_arn("sns", "{id}"), _arn("sns", "{id}")),
    "AWS::DynamoDB::Table": ("{id}", _arn("dynamodb", "table/{id}")),
    "AWS::Serverless::SimpleTable": ("{id}", _arn("dynamodb", "table/{id}")),
    "AWS::Serverless::StateMachine": (STATE_MACHINE_ARN, STATE_MACHINE_ARN),
    "AWS::StepFunctions::StateMachine": (STATE_MACHINE_ARN, STATE_MACHINE_ARN),
    "AWS::S3::Bucket": ("{id}", "arn:aws:s3:::{id}"),
    "AWS::Events::EventBus": ("{id}", _arn("events", "event-bus/{id}")),
    "AWS::ECS::Cluster": ("{id}", _arn("ecs", "cluster/{id}")),
}
PSEUDO = {
    "AWS::Region": REGION,
    "AWS::AccountId": ACCOUNT,
    "AWS::Partition": "aws",
    "AWS::URLSuffix": "amazonaws.com",
}


def _resolve_ref(name: str, template: Mapping[str, Any]) -> str:
    if name in PSEUDO:
        return PSEUDO[name]
    parameter = (template.get("Parameters") or {}).get(name)
    if isinstance(parameter, dict):
        return str(parameter["Default"]) if "Default" in parameter else placeholder(name, parameter)
    kind = ((template.get("Resources") or {}).get(name) or {}).get("Type", "")
    return REF_AND_ARN.get(kind, ("{id}", ""))[0].replace("{id}", name)


def _resolve_get_att(logical_id: str, attribute: str, template: Mapping[str, Any]) -> str:
    if not attribute.endswith("Arn"):
        return logical_id  # QueueName, TopicName, Name, ...
    kind = ((template.get("Resources") or {}).get(logical_id) or {}).get("Type", "")
    service = kind.split("::")[1].lower() if kind.count("::") == 2 else "service"
    return REF_AND_ARN.get(kind, ("", _arn(service, "{id}")))[1].replace("{id}", logical_id)


def placeholder_value(value: Any, template: Mapping[str, Any]) -> str:
    """A plausible stand-in for one DefinitionSubstitutions value (a literal, Ref, GetAtt or If)."""
    if isinstance(value, str | int | float | bool):
        return str(value)
    if isinstance(value, dict) and len(value) == 1:
        ((function, argument),) = value.items()
        if function == "Ref" and isinstance(argument, str):
            return _resolve_ref(argument, template)
        if function == "Fn::GetAtt":
            logical_id, _, attribute = (
                argument.partition(".") if isinstance(argument, str) else (argument[0], ".", argument[1])
            )
            return _resolve_get_att(str(logical_id), str(attribute), template)
        if function == "Fn::If" and isinstance(argument, list) and len(argument) == 3:
            return placeholder_value(argument[1], template)
    return "placeholder"


def placeholder_values(substitutions: Mapping[str, Any], template: Mapping[str, Any]) -> dict[str, str]:
    return {name: placeholder_value(value, template) for name, value in substitutions.items()}
