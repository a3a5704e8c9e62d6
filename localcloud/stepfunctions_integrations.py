"""Fixes of moto 5.2.5's Step Functions interpreter for the optimised integrations our flows use.

- **Request/response normalisation** (moto issue #10076; its ``_normalise_parameters``/``_normalise_response``
  are no-ops): integrations whose boto shapes are camelCase (``states:startExecution``, ``batch:submitJob``,
  ``ecs:runTask``, their ``.sync`` forms) fail with ``KeyError('StateMachineArn'/'JobName'/'Cluster')``. The
  parameters are converted to the operation's boto casing and the response back to the PascalCase AWS
  returns (``Owner.ID`` becomes ``Owner.Id``, as on AWS), timestamps as epoch milliseconds (as AWS writes
  them; moto's ``describe_execution`` cannot serialise a ``datetime``). The lambda, dynamodb, sns, sqs and
  aws-sdk integrations are unaffected.
- **Execution names**: ``StartExecution`` without a name (a nested ``states:startExecution`` without
  ``Name``, or a client omitting it) gives an execution named ``None`` in moto, so the second one fails
  with ``ExecutionAlreadyExists``. AWS generates a UUID; so does the patch.
- **Definite JSONPaths**: moto returns ``$.Tasks[0].TaskArn`` (a path through an array index) as a
  one-element list; AWS returns the value. A path made only of names and indexes (no wildcard, slice,
  filter or recursive descent) that matches one value gives that value; other paths keep moto's result.
- **``ecs:runTask.sync`` outcome**: moto returns any STOPPED task as success. AWS fails the state with
  ``States.TaskFailed`` (the task description as cause) when the task failed to start or a container
  exited with a non-zero code, which is what the ECS simulator's ``LOCALCLOUD_EXIT_CODE`` steers.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import re
import sys
import uuid
from collections.abc import Callable, Iterator
from typing import Any
from unittest import mock

import botocore.exceptions
import botocore.session
from botocore import xform_name

FAILED_TO_START = "TaskFailedToStart"
_DEFINITE_PATH = re.compile(r"^\$\$?(?:\.[^.\[\]*?@()',:]+|\[\d+\]|\['[^']*'\])*$")


@functools.cache
def _operation(service: str, action: str) -> Any:
    """The botocore operation model of ``action`` (snake case) in ``service``, if there is one."""
    try:
        model = botocore.session.get_session().get_service_model(service)
    except botocore.exceptions.BotoCoreError:  # a service botocore does not know: nothing to normalise
        return None
    return next(
        (model.operation_model(name) for name in model.operation_names if xform_name(name) == action), None
    )


def _normalise_parameters(
    service: Any,
    parameters: dict[str, Any],
    boto_service_name: str | None = None,
    service_action_name: str | None = None,
) -> None:
    operation = _operation(
        service._get_boto_service_name(boto_service_name),
        service._get_boto_service_action(service_action_name),
    )
    if operation is not None and operation.input_shape is not None:
        service._to_boto_request(parameters, operation.input_shape)


def _normalise_response(
    service: Any, response: Any, boto_service_name: str | None = None, service_action_name: str | None = None
) -> None:
    operation = _operation(
        service._get_boto_service_name(boto_service_name),
        service._get_boto_service_action(service_action_name),
    )
    if operation is not None and operation.output_shape is not None:
        service._from_boto_response(response, operation.output_shape)
    epoch_millis(response)


def epoch_millis(value: Any) -> None:
    """Replace, in place and recursively, every ``datetime`` by epoch milliseconds."""
    items: Any = (
        value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    )
    for key, item in list(items):
        if isinstance(item, dt.datetime):
            value[key] = int(item.timestamp() * 1000)
        else:
            epoch_millis(item)


def task_failed(task: dict[str, Any]) -> bool:
    """Whether a STOPPED ECS task (as ``DescribeTasks`` reports it, SFN-cased) counts as a failure."""
    if task.get("StopCode") == FAILED_TO_START:
        return True
    return any(container.get("ExitCode") not in (0, None) for container in task.get("Containers", []))


def _ecs_sync_resolver(original: Callable[..., Any]) -> Callable[..., Any]:
    def build(service: Any, env: Any, *args: Any, **kwargs: Any) -> Callable[[], Any] | None:
        resolve = original(service, env, *args, **kwargs)
        if resolve is None:
            return None

        def resolver() -> Any:
            task = resolve()
            if isinstance(task, dict) and task_failed(task):
                raise _task_failure(service, env, task)
            return task

        return resolver

    return build


def _task_failure(service: Any, env: Any, task: dict[str, Any]) -> Exception:
    from moto.stepfunctions.parser.api import HistoryEventType, TaskFailedEventDetails
    from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import (
        FailureEvent,
        FailureEventException,
    )
    from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name import StatesErrorName
    from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name_type import (
        StatesErrorNameType,
    )
    from moto.stepfunctions.parser.asl.eval.event.event_detail import EventDetails
    from moto.stepfunctions.parser.asl.utils.encoding import to_json_str

    error = StatesErrorNameType.StatesTaskFailed
    details: Any = EventDetails  # a TypedDict of which the interpreter sets one key per event
    return FailureEventException(
        FailureEvent(
            env=env,
            error_name=StatesErrorName(typ=error),
            event_type=HistoryEventType.TaskFailed,
            event_details=details(
                taskFailedEventDetails=TaskFailedEventDetails(
                    resource=service._get_sfn_resource(),
                    resourceType=service._get_sfn_resource_type(),
                    error=error.to_name(),
                    cause=to_json_str(task),
                )
            ),
        )
    )


def _definite_paths(original: Callable[[str, Any], Any]) -> Callable[[str, Any], Any]:
    def extract_json(path: str, data: Any) -> Any:
        if _DEFINITE_PATH.match(path):
            from jsonpath_ng.ext.parser import parse

            matches = parse(path).find(data)
            if len(matches) == 1:
                return matches[0].value
        return original(path, data)

    return extract_json


def _patch_everywhere(stack: contextlib.ExitStack, original: Any, replacement: Any, prefix: str) -> None:
    """Replace ``original`` in every loaded module under ``prefix`` that imported it by name."""
    name = original.__name__
    for module_name, module in list(sys.modules.items()):
        if module_name.startswith(prefix) and getattr(module, name, None) is original:
            stack.enter_context(mock.patch.object(module, name, replacement))


@contextlib.contextmanager
def integration_patches() -> Iterator[None]:
    """Install the fixes (process-wide, for the block)."""
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service import (
        StateTaskService,
    )
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_ecs import (
        StateTaskServiceEcs,
    )
    from moto.stepfunctions.parser.asl.utils import json_path
    from moto.stepfunctions.parser.models import StepFunctionsParserBackend  # loads every ASL component

    start_execution = StepFunctionsParserBackend.start_execution

    def named_start_execution(
        backend: Any, state_machine_arn: str, name: str | None = None, *args: Any, **kwargs: Any
    ) -> Any:
        return start_execution(backend, state_machine_arn, name or str(uuid.uuid4()), *args, **kwargs)

    with contextlib.ExitStack() as stack:
        stack.enter_context(
            mock.patch.multiple(
                StateTaskService,
                _normalise_parameters=_normalise_parameters,
                _normalise_response=_normalise_response,
            )
        )
        stack.enter_context(
            mock.patch.object(StepFunctionsParserBackend, "start_execution", named_start_execution)
        )
        stack.enter_context(
            mock.patch.object(
                StateTaskServiceEcs,
                "_build_sync_resolver",
                _ecs_sync_resolver(StateTaskServiceEcs._build_sync_resolver),
            )
        )
        _patch_everywhere(
            stack,
            json_path.extract_json,
            _definite_paths(json_path.extract_json),
            "moto.stepfunctions.parser",
        )
        yield
