"""SSM Run Command simulator: moto answers ``SendCommand`` with a command that is ``Success`` at once and
never reports a status change. While installed, each command sent to instances walks ``Pending`` →
``InProgress`` → its end on the virtual clock, and every change is put on the default event bus as the
two events AWS emits: "EC2 Command Invocation Status-change Notification" (one per instance) and "EC2
Command Status-change Notification" (the command), source ``aws.ssm``.

The end is steered the ``LOCALCLOUD_*`` way, from the command's own environment: ``export NAME=value``
lines of an ``AWS-RunShellScript`` command (what a head node would run):

- ``LOCALCLOUD_COMMAND_STATUS``: ``Success`` (default), ``Failed``, ``TimedOut`` or ``Cancelled``;
- ``LOCALCLOUD_RUN_SECONDS``: how long the command runs, in virtual seconds (default 60).
"""

from __future__ import annotations

import json
import shlex
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any
from unittest import mock

from moto.events.models import events_backends
from moto.ssm.models import Command, SimpleSystemManagerBackend

from localcloud.clock import VirtualClock

STATUS = "LOCALCLOUD_COMMAND_STATUS"
RUN_SECONDS = "LOCALCLOUD_RUN_SECONDS"
ENDS = ("Success", "Failed", "TimedOut", "Cancelled")
DELIVERY_SECONDS = 1.0  # Pending -> InProgress
DEFAULT_RUN_SECONDS = 60.0
EVENT_LOG_SIZE = 1000


def command_environment(parameters: dict[str, Any] | None) -> dict[str, str]:
    """``NAME=value`` pairs of the command's ``export`` lines (shell-quoted values are unquoted)."""
    found: dict[str, str] = {}
    for line in (parameters or {}).get("commands") or []:
        try:
            words = shlex.split(str(line))
        except ValueError:
            continue
        if len(words) == 2 and words[0] == "export" and "=" in words[1]:
            name, value = words[1].split("=", 1)
            found[name] = value
    return found


def outcome(environment: dict[str, str]) -> tuple[str, float]:
    status = environment.get(STATUS, "Success")
    try:
        seconds = float(environment.get(RUN_SECONDS, DEFAULT_RUN_SECONDS))
    except ValueError:
        seconds = DEFAULT_RUN_SECONDS
    return (status if status in ENDS else "Failed"), max(0.0, seconds)


class SsmCommandSimulator:
    """Drives every command moto's ``send_command`` creates while installed."""

    def __init__(self, clock: VirtualClock) -> None:
        self.clock = clock
        self.events: deque[dict[str, Any]] = deque(maxlen=EVENT_LOG_SIZE)

    @contextmanager
    def install(self) -> Iterator[SsmCommandSimulator]:
        original = SimpleSystemManagerBackend.send_command
        simulator = self

        def send_command(backend: SimpleSystemManagerBackend, *args: Any, **kwargs: Any) -> Command:
            command: Command = original(backend, *args, **kwargs)
            simulator.start(backend, command)
            return command

        with mock.patch.object(SimpleSystemManagerBackend, "send_command", send_command):
            yield self

    def start(self, backend: SimpleSystemManagerBackend, command: Command) -> None:
        status, seconds = outcome(command_environment(command.parameters))
        requested = datetime.fromtimestamp(self.clock.now(), UTC).isoformat()

        def change(status: str) -> None:
            self._change(backend, command, status, requested)

        change("Pending")
        self.clock.call_later(DELIVERY_SECONDS, lambda: change("InProgress"))
        self.clock.call_later(DELIVERY_SECONDS + seconds, lambda: change(status))

    def _change(
        self, backend: SimpleSystemManagerBackend, command: Command, status: str, requested: str
    ) -> None:
        command.status = status
        command.status_details = status
        for invocation in command.invocations:
            invocation["Status"] = invocation["StatusDetails"] = status
        common = {
            "command-id": command.command_id,
            "document-name": command.document_name,
            "requested-date-time": requested,
            "status": status,
        }
        entries = [
            self._entry(
                backend,
                "EC2 Command Invocation Status-change Notification",
                {**common, "instance-id": instance_id},
                [f"arn:aws:ec2:{backend.region_name}:{backend.account_id}:instance/{instance_id}"],
            )
            for instance_id in command.instance_ids
        ]
        entries.append(self._entry(backend, "EC2 Command Status-change Notification", common, []))
        events_backends[backend.account_id][backend.region_name].put_events(entries)

    def _entry(
        self,
        backend: SimpleSystemManagerBackend,
        detail_type: str,
        detail: dict[str, Any],
        resources: list[str],
    ) -> dict[str, Any]:
        self.events.append({"detail-type": detail_type, **detail})
        return {
            "Source": "aws.ssm",
            "DetailType": detail_type,
            "Detail": json.dumps(detail),
            "Resources": resources,
            "Time": self.clock.now(),
        }
