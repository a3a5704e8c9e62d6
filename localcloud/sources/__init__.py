"""Event sources with AWS semantics where moto has none, driven by the virtual clock.

moto delivers SQS and DynamoDB-stream mappings inline, one record per invocation, without batching,
filters, partial batch responses, retries or destinations; it never fires scheduled rules, cannot
deliver EventBridge events to Lambda, Step Functions or SNS, and finishes ECS tasks without events.
``EventSources`` replaces those paths (see each module) and leaves everything else to moto.

Delivery is explicit: ``pump()`` runs one round over all mappings, ``run_until_idle()`` repeats rounds
and moves the virtual clock to the next due moment (a message becoming visible, a batching window
closing, a stream retry, an ECS state change) until nothing is left. Install the clock too
(``VirtualClock.install()``), so moto's SQS times follow it.

Mappings are read from moto's Lambda backend: the ones a deployment created (``sync()``), and any
created later (every round syncs). Kinesis mappings are left to moto.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from typing import Protocol

from moto.awslambda.models import lambda_backends

from localcloud.clock import VirtualClock
from localcloud.simulators.batch import BatchJobSimulator
from localcloud.simulators.ecs import EcsTaskSimulator
from localcloud.simulators.s3_restore import S3RestoreSimulator
from localcloud.simulators.ssm import SsmCommandSimulator
from localcloud.sources.eventbridge import EventBridgeTargets
from localcloud.sources.pipes import Pipes
from localcloud.sources.scheduler import ScheduleInvocation, Scheduler
from localcloud.sources.schedules import ScheduledRules
from localcloud.sources.sqs import SqsPoller, disable_moto_delivery
from localcloud.sources.streams import StreamPoller, capture_stream_records

__all__ = ["EventSources", "MappingStatus", "SettleError"]

DEFAULT_ACCOUNT_ID = "123456789012"
MAX_ROUNDS = 100_000

Poller = SqsPoller | StreamPoller


class SettleError(RuntimeError):
    """Deliveries kept making progress without the clock moving (a handler feeding its own source)."""


@dataclass(frozen=True)
class MappingStatus:
    """One event source mapping as the local cloud runs it."""

    uuid: str
    kind: str
    source_arn: str
    function_arn: str
    enabled: bool
    batch_size: int
    function_response_types: tuple[str, ...]
    maximum_concurrency: int | None  # recorded only: invocations are sequential (concurrency 1)
    invocations: int
    backlog: int


class ClockWorker(Protocol):
    """Work that runs on the virtual clock besides the pollers (Step Functions executions)."""

    progress: int

    def settle(self) -> bool:
        """Let in-flight work reach its next wait; True if anything moved."""
        ...

    def next_due(self) -> float | None: ...


class EventSources:
    """SQS and DynamoDB-stream pollers, EventBridge targets and schedules, and the ECS simulator."""

    def __init__(
        self, clock: VirtualClock, account_id: str = DEFAULT_ACCOUNT_ID, region: str = "us-east-1"
    ) -> None:
        self.clock = clock
        self.account_id = account_id
        self.region = region
        self.pollers: dict[str, Poller] = {}
        self.workers: list[ClockWorker] = []  # other work on the clock (Step Functions executions)
        self.eventbridge = EventBridgeTargets()
        self.schedules = ScheduledRules(clock, account_id, region, self.eventbridge.deliver)
        self.ecs = EcsTaskSimulator(clock)
        self.batch = BatchJobSimulator(clock)  # AWS Batch jobs (and their EC2 instances)
        self.s3_restore = S3RestoreSimulator(clock, account_id)  # Glacier restores
        self.ssm = SsmCommandSimulator(clock)  # SSM Run Command status changes
        self.pipes = Pipes(clock, account_id, region, self.workers)  # EventBridge Pipes
        self.scheduler = Scheduler(clock, account_id, region)  # EventBridge Scheduler schedules
        self._lock = threading.RLock()

    @contextmanager
    def install(self) -> Iterator[EventSources]:
        """Switch moto's own SQS/stream delivery off and install the EventBridge and ECS patches."""
        with ExitStack() as stack:
            stack.enter_context(disable_moto_delivery())
            stack.enter_context(capture_stream_records())
            stack.enter_context(self.eventbridge.install())
            stack.enter_context(self.ecs.install())
            stack.enter_context(self.batch.install())
            stack.enter_context(self.s3_restore.install())
            stack.enter_context(self.ssm.install())
            self.sync()
            yield self

    def sync(self) -> None:
        """Follow moto's current mappings and scheduled rules (new, changed, deleted)."""
        with self._lock:
            backend = lambda_backends[self.account_id][self.region]
            mappings = {
                str(mapping.uuid): mapping for mapping in list(backend._event_source_mappings.values())
            }
            for uuid in set(self.pollers) - set(mappings):
                del self.pollers[uuid]
            for uuid, mapping in mappings.items():
                known = self.pollers.get(uuid)
                if known is not None and known.mapping is mapping:
                    continue
                service = str(mapping.event_source_arn).split(":")[2]
                if service == "sqs":
                    self.pollers[uuid] = SqsPoller(mapping, self.clock, self.account_id, self.region)
                elif service == "dynamodb":
                    poller = StreamPoller(mapping, self.clock, self.account_id, self.region)
                    poller.attach()  # fixes the LATEST starting position now
                    self.pollers[uuid] = poller
            self.schedules.sync()
            self.pipes.sync()
            self.scheduler.sync()

    def pump(self) -> int:
        """One delivery round: each mapping delivers at most one batch. Returns Lambda invocations."""
        with self._lock:
            self.sync()
            return sum(poller.pump() for poller in list(self.pollers.values())) + self.pipes.pump()

    def _progress(self) -> int:
        pollers = sum(poller.progress for poller in list(self.pollers.values()))
        return pollers + sum(worker.progress for worker in self.workers) + self.pipes.progress

    def next_due(self) -> float | None:
        """The next virtual time at which something becomes deliverable (daemon timers excluded)."""
        with self._lock:
            due = [poller.next_due() for poller in list(self.pollers.values())]
            due.extend(worker.next_due() for worker in self.workers)
            due.append(self.pipes.next_due())
            due.append(self.clock.next_timer())
            return min((moment for moment in due if moment is not None), default=None)

    def run_until_idle(self, max_virtual_seconds: float = 3600) -> int:
        """Deliver until nothing is deliverable, advancing the clock to each next due time.

        Stops when nothing is due any more or the next due time lies beyond ``max_virtual_seconds``
        from now (a message that fails forever without a DLQ keeps coming back). Returns the number
        of Lambda invocations made by the pollers.
        """
        deadline = self.clock.now() + max_virtual_seconds
        invocations = 0
        for _ in range(MAX_ROUNDS):
            before = self._progress()
            invoked = self.pump()
            fired = self.clock.advance(0)
            for worker in self.workers:
                worker.settle()
            invocations += invoked
            if invoked or fired or self._progress() != before:
                continue
            due = self.next_due()
            if due is None or due > deadline:
                return invocations
            self.clock.advance_to(max(due, self.clock.now()))
        raise SettleError(f"event sources still busy after {MAX_ROUNDS} rounds")

    def fire_schedule(self, name: str, group: str = "default") -> ScheduleInvocation:
        """Invoke an EventBridge Scheduler schedule's target now (tests; see ``Scheduler``)."""
        return self.scheduler.fire_schedule(name, group)

    def status(self) -> list[MappingStatus]:
        with self._lock:
            self.sync()
            rows = []
            for uuid, poller in sorted(self.pollers.items()):
                mapping = poller.mapping
                scaling = mapping.scaling_config or {}
                concurrency = scaling.get("MaximumConcurrency")
                rows.append(
                    MappingStatus(
                        uuid=uuid,
                        kind=poller.kind,
                        source_arn=str(mapping.event_source_arn),
                        function_arn=str(mapping.function_arn),
                        enabled=bool(mapping.enabled),
                        batch_size=int(mapping.batch_size),
                        function_response_types=tuple(mapping.function_response_types or ()),
                        maximum_concurrency=int(concurrency) if concurrency is not None else None,
                        invocations=poller.stats.invocations,
                        backlog=poller.backlog(),
                    )
                )
            return rows
