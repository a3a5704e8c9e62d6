"""Step Functions in the local cloud: state machines deployed from the templates and executed by moto's
interpreter, with the ``.sync`` integrations working and time on the virtual clock.

**Deploy.** moto's CloudFormation creates ``AWS::StepFunctions::StateMachine`` in its plain backend, which
never executes anything, and ignores ``DefinitionSubstitutions``. The applier registered here creates each
machine again through the Step Functions API (which, with execution enabled, is the interpreter's
backend) under the same name, so the ARN that CloudFormation reports (``Ref``, stack outputs, function
environments, rule targets) is the one that runs, with the definition that CloudFormation would run: the
ASL that the translation inlined from ``DefinitionUri`` (or ``Definition``, or ``DefinitionS3Location``),
its ``${Name}`` placeholders replaced by the resolved substitutions.

**Run.** ``StepFunctions(clock).install()`` installs the integration fixes (``stepfunctions_integrations``)
and the virtual time (``stepfunctions_time``): Wait states, Retry intervals and ``.sync`` polls wait for the
clock, and the clock stands still while an execution works.

**Wait.** Executions run in moto's threads. ``wait_for_executions(cloud_or_clock, timeout)`` settles them,
delivers the event sources, and advances the clock to the next due moment until every execution has ended:
flows wait for a terminal state without sleeping.

**Status.** ``list_executions(clients)`` and ``render_executions`` (API only: works against a served cloud).

**Events.** As in AWS, each execution puts "Step Functions Execution Status Change" (source ``aws.states``)
on the default bus when it starts (RUNNING) and when it ends (SUCCEEDED, FAILED, TIMED_OUT, ABORTED). The
interpreter's threads only schedule them on the clock; they are put when the clock next fires, so rules
and their Lambda targets run where every other simulator's events run.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from localcloud import LocalCloudError
from localcloud.clock import VirtualClock
from localcloud.deploy import Clients, DeployedResource, DeployError, register_applier
from localcloud.stepfunctions_integrations import integration_patches
from localcloud.stepfunctions_time import InterpreterClock, Park

__all__ = [
    "ExecutionSummary",
    "ExecutionsStillRunningError",
    "StepFunctions",
    "apply_state_machine",
    "list_executions",
    "render_executions",
    "substitute",
    "wait_for_executions",
]

DEFAULT_WAIT_SECONDS = 7 * 24 * 3600.0  # virtual: long enough for any flow, bounded for a stuck one
MAX_STALLED_ROUNDS = 1000  # a source that reports work due now but never does it must not hang a test
TERMINAL = frozenset({"SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"})
_PLACEHOLDER = re.compile(r"\$\{([^}]+)\}")
_INSTALLED: list[StepFunctions] = []
_INSTALLED_LOCK = threading.Lock()


class ExecutionsStillRunningError(LocalCloudError):
    """Executions that did not end within the virtual time allowed (or wait for something that never
    happens, such as a task token nobody sends)."""


# -- deploy ---------------------------------------------------------------------------------------------


def substitute(definition: str, substitutions: Mapping[str, Any]) -> str:
    """``${Name}`` replaced by its value, as CloudFormation applies ``DefinitionSubstitutions`` (unknown
    names are left alone: JSONPath and intrinsic functions may contain ``${`` too)."""

    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in substitutions:
            return match.group(0)
        found = substitutions[name]
        return str(found).lower() if isinstance(found, bool) else str(found)

    return _PLACEHOLDER.sub(value, definition)


def _definition(clients: Clients, properties: Mapping[str, Any]) -> str:
    if isinstance(properties.get("DefinitionString"), str):
        return str(properties["DefinitionString"])
    if isinstance(properties.get("Definition"), dict):
        return json.dumps(properties["Definition"])
    location = properties.get("DefinitionS3Location")
    if isinstance(location, dict):
        arguments = {"Bucket": location["Bucket"], "Key": location["Key"]}
        if location.get("Version"):
            arguments["VersionId"] = location["Version"]
        return str(clients("s3").get_object(**arguments)["Body"].read().decode())
    raise DeployError("no DefinitionString, Definition or DefinitionS3Location")


def _camel(value: Any) -> Any:
    """CloudFormation's PascalCase configuration keys in the API's camelCase."""
    if isinstance(value, dict):
        return {key[:1].lower() + key[1:]: _camel(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_camel(item) for item in value]
    return value


@register_applier("AWS::StepFunctions::StateMachine")
def apply_state_machine(clients: Clients, resource: DeployedResource) -> None:
    """Create (or update) the machine the interpreter runs, under the ARN CloudFormation reports."""
    properties = resource.properties
    try:
        definition = substitute(
            _definition(clients, properties), properties.get("DefinitionSubstitutions") or {}
        )
    except DeployError as exc:
        raise DeployError(f"state machine {resource.path}: {exc}") from exc
    arn = resource.physical_id
    name = arn.rsplit(":", 1)[-1] if arn else properties.get("StateMachineName") or resource.logical_id
    sfn = clients("stepfunctions")
    try:
        if arn and _exists(sfn, arn):  # execution off: the API shows moto's CloudFormation backend
            sfn.update_state_machine(stateMachineArn=arn, definition=definition)
            return
        arguments: dict[str, Any] = {
            "name": name,
            "definition": definition,
            "roleArn": properties.get("RoleArn") or f"arn:aws:iam::{_account(arn)}:role/{name}",
            "type": properties.get("StateMachineType", "STANDARD"),
            "tags": [{"key": tag["Key"], "value": str(tag["Value"])} for tag in properties.get("Tags", [])],
        }
        for key in ("LoggingConfiguration", "TracingConfiguration"):
            if properties.get(key):
                arguments[key[:1].lower() + key[1:]] = _camel(properties[key])
        created = sfn.create_state_machine(**arguments)["stateMachineArn"]
    except sfn.exceptions.ClientError as exc:
        raise DeployError(f"state machine {resource.path}: {exc}") from exc
    if arn and created != arn:
        raise DeployError(f"state machine {resource.path}: created {created}, CloudFormation reports {arn}")


def _exists(sfn: Any, arn: str) -> bool:
    try:
        sfn.describe_state_machine(stateMachineArn=arn)
    except sfn.exceptions.StateMachineDoesNotExist:
        return False
    return True


def _account(arn: str | None) -> str:
    parts = (arn or "").split(":")
    return parts[4] if len(parts) > 4 else "123456789012"


# -- runtime --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ExecutionSummary:
    """One execution as ``localcloud status`` and the tests see it."""

    state_machine: str
    name: str
    arn: str
    status: str
    started: datetime
    stopped: datetime | None = None
    state: str | None = None  # the state a running execution is in (from its history)
    waiting: str | None = None  # what it waits for, in-process only (e.g. "Wait until 12:00:00Z")

    @property
    def seconds(self) -> float | None:
        """How long it ran, in virtual seconds (``None`` while it runs)."""
        return None if self.stopped is None else (self.stopped - self.started).total_seconds()


_INTERPRETER_LOG = logging.getLogger("moto.stepfunctions.parser")


class StepFunctions:
    """moto's interpreter with the integration fixes and the virtual time, for one clock."""

    def __init__(self, clock: VirtualClock | None = None) -> None:
        """``clock``: the local cloud's (``None``: a clock of its own, driven by ``wait_for_executions``)."""
        self.clock = clock if clock is not None else VirtualClock()
        self.time = InterpreterClock(self.clock)

    @contextlib.contextmanager
    def install(self) -> Iterator[StepFunctions]:
        """Patch moto's interpreter for the block (process-wide: served requests see it too)."""
        with integration_patches(), self.time.install(), status_change_events(self.clock):
            _INTERPRETER_LOG.setLevel(logging.NOTSET)  # an earlier close silenced it
            with _INSTALLED_LOCK:
                _INSTALLED.append(self)
            try:
                yield self
            finally:
                with _INSTALLED_LOCK:
                    _INSTALLED.remove(self)
                self._abandon()

    def _abandon(self) -> None:
        """Stop what still runs and wake what is parked: no interpreter thread outlives the block."""
        running = [
            execution
            for execution in _interpreter_executions()
            if execution.exec_status is None or execution.exec_status.value == "RUNNING"
        ]
        if running:
            # The interpreter threads of a stopped execution log the interruption as errors (a Task or Map
            # "unhandled exception"); they are the expected end of a closed cloud, not failures to show.
            _INTERPRETER_LOG.setLevel(logging.CRITICAL)
        for execution in running:
            stopped = datetime.fromtimestamp(self.clock.now(), UTC)
            with contextlib.suppress(AttributeError):  # a worker whose thread has not started yet
                execution.stop(stop_date=stopped, error="LocalCloudClosed", cause="the local cloud closed")
        self.time.release()

    def settle(self) -> bool:
        """Block until every execution waits for the clock or for something outside the interpreter."""
        return self.time.settle()

    @property
    def progress(self) -> int:
        """Grows whenever an execution was woken by the clock (for a caller that loops until idle)."""
        return self.time.wakes

    def next_due(self) -> float | None:
        """When a running execution next needs the clock, ``.sync`` polls and timeouts included (the
        clock's own ``next_timer`` leaves those daemon timers out)."""
        return self.time.next_due()

    def executions(self) -> list[ExecutionSummary]:
        """Every execution of the in-process interpreter, oldest first (with what running ones wait for)."""
        parks: dict[str, Park] = {}
        for park in self.time.parks():
            parks.setdefault(park.execution, park)
        rows = [_summary(execution, parks.get(execution.exec_arn)) for execution in _interpreter_executions()]
        return sorted(rows, key=lambda row: row.started)

    def running(self) -> list[ExecutionSummary]:
        return [row for row in self.executions() if row.status not in TERMINAL]

    def wait(
        self, timeout_virtual_seconds: float = DEFAULT_WAIT_SECONDS, *, sources: Any = None
    ) -> list[ExecutionSummary]:
        """Settle, deliver and advance the clock until no execution runs; see ``wait_for_executions``."""
        deadline = self.clock.now() + timeout_virtual_seconds
        stalled = 0  # rounds in a row whose next due moment was already due (nothing moved the clock)
        while True:
            self.settle()
            if sources is not None:
                sources.run_until_idle(0)  # what is due now; the clock moves below, one due moment at a time
                self.settle()
            running = self.running()
            if not running:
                return self.executions()
            due = [self.clock.next_timer(), self.next_due(), sources.next_due() if sources else None]
            upcoming = min((moment for moment in due if moment is not None), default=None)
            stalled = stalled + 1 if upcoming is not None and upcoming <= self.clock.now() else 0
            if upcoming is None or upcoming > deadline or stalled > MAX_STALLED_ROUNDS:
                raise ExecutionsStillRunningError(_still_running(running, upcoming))
            self.clock.advance_to(max(upcoming, self.clock.now()))


def wait_for_executions(
    cloud_or_clock: Any, timeout_virtual_seconds: float = DEFAULT_WAIT_SECONDS
) -> list[ExecutionSummary]:
    """Run every execution to its end on the virtual clock, and return them all.

    ``cloud_or_clock``: a ``LocalCloud`` (its event sources deliver in between, so an execution waiting
    for a queue-driven task token progresses), a ``VirtualClock`` or a ``StepFunctions``. Interpreter work
    is settled first, then the clock moves to the next due moment (a Wait ending, a Retry, an ECS task
    changing state, a ``.sync`` poll, a message becoming visible), and so on: it stops at the moment the
    last execution ends, so the virtual time that passed is the flows' own. ``ExecutionsStillRunningError``
    when executions still run after ``timeout_virtual_seconds`` of virtual time, or when nothing that could
    end them is due.
    """
    runtime = _runtime(cloud_or_clock)
    return runtime.wait(timeout_virtual_seconds, sources=getattr(cloud_or_clock, "sources", None))


def _runtime(target: Any) -> StepFunctions:
    if isinstance(target, StepFunctions):
        return target
    attached = getattr(target, "stepfunctions", None)
    if isinstance(attached, StepFunctions):
        return attached
    clock = getattr(target, "clock", target)
    with _INSTALLED_LOCK:
        found = next((runtime for runtime in reversed(_INSTALLED) if runtime.clock is clock), None)
    if found is None:
        raise LocalCloudError(f"no Step Functions runtime is installed for {target!r}")
    return found


def _interpreter_executions() -> Iterator[Any]:
    from moto.stepfunctions.parser.models import stepfunctions_parser_backends

    backend: Any
    for _, _, backend in list(stepfunctions_parser_backends.iter_backends()):
        for machine in list(backend.state_machines):
            yield from list(machine.executions)


def _summary(execution: Any, park: Park | None) -> ExecutionSummary:
    status = execution.exec_status.value if execution.exec_status is not None else "RUNNING"
    waiting = None
    if park is not None and status == "RUNNING":
        waiting = f"{park.kind} until {_iso(park.when)}"
    return ExecutionSummary(
        state_machine=str(execution.state_machine.name),
        name=str(execution.name),
        arn=str(execution.exec_arn),
        status=str(status),
        started=execution.start_date,
        stopped=execution.stop_date,
        waiting=waiting,
    )


# -- "Step Functions Execution Status Change" events ------------------------------------------------------


def _millis(moment: datetime | None) -> int | None:
    return None if moment is None else int(moment.timestamp() * 1000)


def status_change_detail(execution: Any, *, started: bool = False) -> dict[str, Any]:
    """The event's detail, as AWS documents it, from the interpreter's execution. ``started``: the start's
    event, RUNNING whatever the worker thread (already running) has made of the execution meanwhile."""
    status = "RUNNING" if started or execution.exec_status is None else execution.exec_status.value
    output = execution.output if status == "SUCCEEDED" else None
    return {
        "executionArn": str(execution.exec_arn),
        "stateMachineArn": str(execution.state_machine_arn),
        "name": str(execution.name),
        "status": str(status),
        "startDate": _millis(execution.start_date),
        "stopDate": _millis(execution.stop_date) if status != "RUNNING" else None,
        "input": json.dumps(execution.input_data),
        "output": None if output is None else json.dumps(output),
        "inputDetails": {"included": True},
        "outputDetails": {"included": True} if output is not None else None,
        "error": None if status == "RUNNING" else execution.error,
        "cause": None if status == "RUNNING" else execution.cause,
    }


def _put_status_change(execution: Any, detail: dict[str, Any], when: float) -> None:
    from moto.events.models import events_backends

    entry = {
        "Source": "aws.states",
        "DetailType": "Step Functions Execution Status Change",
        "Detail": json.dumps(detail),
        "Resources": [detail["executionArn"]],
        "Time": when,
    }
    events_backends[str(execution.account_id)][str(execution.region_name)].put_events([entry])


@contextlib.contextmanager
def status_change_events(clock: VirtualClock) -> Iterator[None]:
    """Schedule the event when an execution starts and when it ends (the detail is taken at once, the
    event put at the clock's next firing)."""
    from unittest import mock

    from moto.stepfunctions.parser.backend.execution import BaseExecutionWorkerCommunication, Execution

    original_start = Execution.start
    original_terminated = BaseExecutionWorkerCommunication.terminated

    def announce(execution: Any, *, started: bool = False) -> None:
        detail, when = status_change_detail(execution, started=started), clock.now()
        clock.call_later(0, lambda: _put_status_change(execution, detail, when))

    def start(execution: Any) -> None:
        # Announced before the worker thread starts: a fast execution may end (and announce its end)
        # before ``start`` returns, and the start must come first on the bus.
        announce(execution, started=True)
        original_start(execution)

    def terminated(communication: Any) -> None:
        original_terminated(communication)
        announce(communication.execution)

    with (
        mock.patch.object(Execution, "start", start),
        mock.patch.object(BaseExecutionWorkerCommunication, "terminated", terminated),
    ):
        yield


def _iso(epoch: float) -> str:
    from localcloud.clock import isoformat

    return isoformat(epoch)


def _still_running(running: list[ExecutionSummary], upcoming: float | None) -> str:
    lines = [
        f"{row.arn}: {row.waiting or 'waiting for something outside the interpreter'}" for row in running
    ]
    reason = "nothing is due" if upcoming is None else f"the next due moment is {_iso(upcoming)}"
    return f"{len(running)} execution(s) still running ({reason}):\n  " + "\n  ".join(lines)


# -- status ---------------------------------------------------------------------------------------------


def list_executions(clients: Clients) -> list[ExecutionSummary]:
    """Every execution of every state machine through the public API (works against a served cloud);
    a running execution's current state comes from its history."""
    sfn = clients("stepfunctions")
    rows = []
    for page in sfn.get_paginator("list_state_machines").paginate():
        for machine in page["stateMachines"]:
            pages = sfn.get_paginator("list_executions").paginate(stateMachineArn=machine["stateMachineArn"])
            for execution in (item for listing in pages for item in listing["executions"]):
                running = execution["status"] == "RUNNING"
                rows.append(
                    ExecutionSummary(
                        state_machine=machine["name"],
                        name=execution["name"],
                        arn=execution["executionArn"],
                        status=execution["status"],
                        started=execution["startDate"],
                        stopped=execution.get("stopDate"),
                        state=_current_state(sfn, execution["executionArn"]) if running else None,
                    )
                )
    return sorted(rows, key=lambda row: row.started)


def _current_state(sfn: Any, arn: str) -> str | None:
    events = sfn.get_execution_history(executionArn=arn, maxResults=1000)["events"]
    entered = [
        event["stateEnteredEventDetails"]["name"] for event in events if "stateEnteredEventDetails" in event
    ]
    return entered[-1] if entered else None


def render_executions(rows: list[ExecutionSummary]) -> list[str]:
    """Readable lines for ``localcloud status``: machine/name, status, where it is or how long it took."""
    lines = [f"executions ({len(rows)})"]
    for row in rows:
        detail = row.waiting or (f"in {row.state}" if row.state else "")
        if row.seconds is not None:
            detail = f"{row.seconds:.0f} s"
        lines.append(f"  {row.state_machine}/{row.name}  {row.status}  {detail}".rstrip())
    return lines
