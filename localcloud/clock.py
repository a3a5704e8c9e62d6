"""A virtual clock that moto's time-dependent behaviour follows, so offline flows finish in seconds.

Why: SQS visibility timeouts, ``DelaySeconds``, retry back-offs, schedules and the ECS task simulator all
wait on time. Sleeping for real would make a flow that spans an hour of AWS time take an hour. Instead,
everything asks this clock, and tests (or ``localcloud up``, accelerated) move it forward explicitly.

``install()`` patches the time functions moto's modules imported by name (``from moto.core.utils import
unix_time``), so patching ``moto.core.utils`` itself would change nothing. What follows the virtual clock:

- SQS (``moto.sqs.models``): send timestamps, ``DelaySeconds``, visibility timeouts (receive and
  ``ChangeMessageVisibility``), first-receive timestamps, retention and the FIFO deduplication window;
- DynamoDB (``moto.dynamodb.models.table``): stream records' ``ApproximateCreationDateTime`` (and the
  table's other timestamps, such as stream labels);
- EventBridge (``moto.events.models``): an event's ``time`` when ``PutEvents`` gives none, and its
  ingestion time (but not the timestamp of events written to a log-group target, see below).

Everything else follows real time: Step Functions (its Wait and Retry are patched elsewhere), Lambda
metadata, CloudWatch Logs timestamps (moto's Logs rejects events more than 14 days old or 2 hours ahead
of real time, so log timestamps must stay real), S3 ``LastModified``, ECS (the simulator stamps its own
times).
Receives never long-poll (the event sources pass ``WaitTimeSeconds`` 0), so nothing waits on real time.
"""

from __future__ import annotations

import heapq
import itertools
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime
from unittest import mock

Callback = Callable[[], None]

# Module attributes that moto imported by name, and what each one means.
_UNIX_TIME_MODULES = ("moto.sqs.models", "moto.events.models")
# Not moto.events.models' unix_time_millis: it stamps log-group target events, and CloudWatch Logs
# (on real time) rejects events more than 14 days old or 2 hours ahead.
_UNIX_TIME_MILLIS_MODULES = ("moto.sqs.models", "moto.dynamodb.models.table")
_UTCNOW_MODULES = ("moto.dynamodb.models.table",)


class Timer:
    """A callback due at a virtual time; ``cancel()`` before it fires to drop it."""

    def __init__(self, when: float, callback: Callback, *, daemon: bool) -> None:
        self.when = when
        self.callback = callback
        self.daemon = daemon
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True


class VirtualClock:
    """Epoch seconds that move only when told to, with timers fired in time order.

    ``daemon`` timers (recurring schedules) fire whenever the clock passes them, but never keep
    ``EventSources.run_until_idle`` advancing on their own: a ``rate(1 minute)`` rule would otherwise
    make every flow run to its time bound.
    """

    def __init__(self, start: float | None = None) -> None:
        self._now = time.time() if start is None else float(start)
        self._timers: list[tuple[float, int, Timer]] = []
        self._sequence = itertools.count()
        self._lock = threading.RLock()

    def now(self) -> float:
        with self._lock:
            return self._now

    def utcnow(self) -> datetime:
        """The virtual time as a naive UTC datetime, as moto's ``utcnow`` returns it."""
        return datetime.fromtimestamp(self.now(), UTC).replace(tzinfo=None)

    def call_at(self, when: float, callback: Callback, *, daemon: bool = False) -> Timer:
        """Run ``callback`` when the clock reaches ``when`` (at the next advance if it already has)."""
        timer = Timer(when, callback, daemon=daemon)
        with self._lock:
            heapq.heappush(self._timers, (when, next(self._sequence), timer))
        return timer

    def call_later(self, delay: float, callback: Callback, *, daemon: bool = False) -> Timer:
        return self.call_at(self.now() + delay, callback, daemon=daemon)

    def next_timer(self, *, include_daemon: bool = False) -> float | None:
        """When the earliest pending timer is due (non-daemon ones only, unless asked)."""
        with self._lock:
            due = [
                when
                for when, _, timer in self._timers
                if not timer.cancelled and (include_daemon or not timer.daemon)
            ]
        return min(due, default=None)

    def advance(self, seconds: float) -> int:
        """Move forward ``seconds`` (0 fires what is due now); returns how many timers fired."""
        if seconds < 0:
            raise ValueError(f"the clock cannot go back ({seconds} s)")
        return self.advance_to(self.now() + seconds)

    def advance_to(self, when: float) -> int:
        """Move to ``when``, firing every timer due by then in time order, each at its own time.

        Callbacks run outside the lock: they may schedule new timers (fired in the same call when
        due before ``when``) or call moto, which may call back into the clock.
        """
        fired = 0
        while True:
            with self._lock:
                if not self._timers or self._timers[0][0] > when:
                    self._now = max(self._now, when)
                    return fired
                due, _, timer = heapq.heappop(self._timers)
                if timer.cancelled:
                    continue
                self._now = max(self._now, due)
            timer.callback()
            fired += 1

    @contextmanager
    def install(self) -> Iterator[VirtualClock]:
        """Make moto's SQS, DynamoDB-stream and EventBridge times follow this clock (see module doc)."""
        from moto.core.utils import unix_time as real_unix_time

        def unix_time(dt: datetime | None = None) -> float:
            return self.now() if dt is None else real_unix_time(dt)

        def unix_time_millis(dt: datetime | None = None) -> float:
            return unix_time(dt) * 1000.0

        with ExitStack() as stack:
            for module in _UNIX_TIME_MODULES:
                stack.enter_context(mock.patch(f"{module}.unix_time", unix_time))
            for module in _UNIX_TIME_MILLIS_MODULES:
                stack.enter_context(mock.patch(f"{module}.unix_time_millis", unix_time_millis))
            for module in _UTCNOW_MODULES:
                stack.enter_context(mock.patch(f"{module}.utcnow", self.utcnow))
            yield self


def isoformat(epoch: float, *, millis: bool = False) -> str:
    """Epoch seconds as AWS writes timestamps in events: ``2024-01-02T03:04:05Z`` (or ``...05.678Z``)."""
    moment = datetime.fromtimestamp(epoch, UTC)
    if millis:
        return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
