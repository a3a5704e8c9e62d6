"""Step Functions on the virtual clock: Wait states, Retry intervals, ``.sync`` polls and task timeouts wait
for ``VirtualClock`` timers, never for real time.

Why: moto's interpreter sleeps for real, so a ``Wait`` of an hour takes an hour and every Retry back-off is
slept. The local cloud moves time explicitly (tests call ``clock.advance``, ``localcloud up`` advances it at
its speed), so every place where the interpreter waits for time becomes a *park*: the execution's thread
blocks until a timer on the clock fires (or its execution is stopped).

- ``Wait`` (Seconds, SecondsPath, Timestamp, TimestampPath) and Retry intervals are ordinary timers: they
  are work due at a moment, so ``EventSources.run_until_idle`` advances the clock to them.
- ``.sync`` polls (moto polls every 0.5 s of real time) are *daemon* timers set at the next moment anything
  else is due (an ECS task changing state, a child execution's Wait ending), backing off from 1 s to 60 s
  when nothing is due; when an execution ends, every poll wakes at once. A parent polling a child that
  waits an hour polls a handful of times, not 7200, and sees the child's end at the same virtual instant.
- Task ``TimeoutSeconds``/``HeartbeatSeconds`` and ``waitForTaskToken`` timeouts are daemon timers too: they
  fire when the clock passes them, and do not pull the clock forward on their own.
- The interpreter's timestamps (execution start and stop, history events, ``$$.State.EnteredTime``, the
  ``Timestamp`` of a Wait) read the clock.

Virtual time stands still while an execution works: a timer that wakes a park returns only when every
interpreter thread is blocked again (``settle``), so the clock fires its next timer after the woken work
has reached its next wait, as it would on AWS where the work takes no noticeable time. ``settle`` finds
moto's interpreter threads (its ``TMP_THREADS`` list, plus any thread running interpreter code) and reads
their frames: a thread is blocked when it waits on an unset event, joins a thread that still runs Python
code, waits on a latch that is not released, or is parked. The interpreter starts threads in a dozen
places; observing them needs no patch in each, and a new wait built on ``threading.Event`` is recognised
without change.

``StopExecution`` wakes the execution's parks and returns once it has ended, ABORTED (as on AWS); the work
it interrupts does not turn it FAILED.

Not virtual: a state machine's own top-level ``TimeoutSeconds`` (moto joins its worker thread on real time).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import logging
import sys
import threading
import time
from collections.abc import Callable, Iterator
from types import FrameType
from typing import Any, Self
from unittest import mock

from localcloud.clock import Timer, VirtualClock

log = logging.getLogger(__name__)

POLL_FIRST_SECONDS = 1.0  # virtual: the first .sync poll when nothing else is due
POLL_MAX_SECONDS = 60.0  # virtual: the longest gap between two .sync polls
STOP_CHECK_SECONDS = 0.2  # real: how soon a parked thread notices that its execution was stopped
SETTLE_PATIENCE_SECONDS = 30.0  # real: how long ``settle`` waits for interpreter work before giving up

_PARSER = "moto.stepfunctions.parser"
_PARSER_PATH = "/moto/stepfunctions/parser/"
# Modules of the interpreter that read the wall clock through ``datetime.datetime.now``.
_DATETIME_MODULES = (
    f"{_PARSER}.models",
    f"{_PARSER}.backend.execution",
    f"{_PARSER}.asl.eval.event.event_manager",
    f"{_PARSER}.asl.component.state.state",
    f"{_PARSER}.asl.component.state.wait.wait_function.timestamp",
    f"{_PARSER}.asl.component.state.exec.state_parallel.branches_decl",
    f"{_PARSER}.asl.component.state.exec.state_map.iteration.itemprocessor.map_run_record",
)
_RETRIER = f"{_PARSER}.asl.component.common.retry.retrier_decl"
_CALLBACK_SERVICE = f"{_PARSER}.asl.component.state.exec.state_task.service.state_task_service_callback"
_CALLBACK = f"{_PARSER}.asl.eval.callback.callback"
_EXECUTE_STATE = f"{_PARSER}.asl.component.state.exec.execute_state"

Rule = Callable[[FrameType, set[int]], bool]


class Park:
    """One interpreter thread waiting for the virtual clock (``kind``: Wait, Retry, Poll or Timeout)."""

    def __init__(
        self, kind: str, execution: str, when: float, condition: threading.Condition | None = None
    ) -> None:
        self.kind = kind
        self.execution = execution
        self.when = when
        self.woken = threading.Event()
        self.timer: Timer | None = None
        self._condition = condition  # what the parked thread waits on, when not ``woken`` itself

    def wake(self) -> None:
        if self._condition is None:
            self.woken.set()
            return
        with self._condition:
            self.woken.set()
            self._condition.notify_all()

    def __repr__(self) -> str:
        return f"Park({self.kind} until {self.when:.3f} for {self.execution or '?'})"


class _ModuleProxy:
    """A stand-in for a module an interpreter module imported (``time``, ``datetime``, ``threading``):
    the given attributes replaced, every other one the real module's."""

    def __init__(self, module: Any, **replaced: Any) -> None:
        self._module = module
        self.__dict__.update(replaced)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._module, name)


def execution_of(env: Any) -> str:
    """The ARN of the execution an interpreter ``Environment`` belongs to ("" when unknown)."""
    try:
        return str(env.states.context_object.context_object_data["Execution"]["Id"])
    except (AttributeError, KeyError, TypeError):
        return ""


class InterpreterClock:
    """Parks interpreter threads on a ``VirtualClock`` and tells when interpreter work has settled."""

    def __init__(self, clock: VirtualClock, *, patience: float = SETTLE_PATIENCE_SECONDS) -> None:
        self.clock = clock
        self.patience = patience
        self.wakes = 0  # parks woken so far: progress for callers that watch the clock
        self._parks: set[Park] = set()
        self._lock = threading.Lock()
        self._local = threading.local()  # .env: the state being evaluated (Retry, .sync); .polls
        self._rule_table: dict[Any, Rule] | None = None

    # -- parking -------------------------------------------------------------------------------------

    def sleep(self, env: Any, seconds: float, kind: str) -> None:
        """A Wait state or a Retry interval: park until the clock is ``seconds`` later (a due timer)."""
        if seconds <= 0:
            return
        self._park(Park(kind, execution_of(env), self.clock.now() + seconds), env, daemon=False)

    def poll(self, env: Any) -> None:
        """Between two ``.sync`` polls: park until the next moment anything else is due (see module doc)."""
        polls: int = getattr(self._local, "polls", 0)
        self._local.polls = polls + 1
        now = self.clock.now()
        when = now + min(POLL_MAX_SECONDS, POLL_FIRST_SECONDS * 2**polls)
        due = self.clock.next_timer()
        if due is not None and due < when:
            when = max(due, now)
        self._park(Park("Poll", execution_of(env), when), env, daemon=True)

    def _park(self, park: Park, env: Any, *, daemon: bool) -> None:
        with self._lock:
            self._parks.add(park)
        park.timer = self.clock.call_at(park.when, functools.partial(self._wake, park), daemon=daemon)
        try:
            self._park_wait(park, env)
        finally:
            park.timer.cancel()
            with self._lock:
                self._parks.discard(park)

    def _park_wait(self, park: Park, env: Any) -> None:  # recognised by ``blocked`` (see _rules)
        while not park.woken.wait(STOP_CHECK_SECONDS):
            if env is not None and not env.is_running():
                return

    def _wake(self, park: Park) -> None:
        """A park's timer fired: let its thread run, and return once the woken work has settled."""
        park.wake()
        self.wakes += 1
        self.settle()

    def release(self) -> None:
        """Wake every park without settling (the clock is going away: nothing may stay parked on it)."""
        for park in self.parks():
            if park.timer is not None:
                park.timer.cancel()
            park.wake()

    def wake_polls(self) -> None:
        """An execution ended: every ``.sync`` poll looks again now (a parent sees its child's end)."""
        with self._lock:
            polls = [park for park in self._parks if park.kind == "Poll"]
        for park in polls:
            if park.timer is not None:
                park.timer.cancel()
            park.wake()

    def stopped(self, execution: str) -> None:
        """``StopExecution``: its parks wake now and the call returns once it has ended (ABORTED at once,
        as on AWS, rather than when a parked thread next checks)."""
        for park in self.parks():
            if park.execution == execution:
                if park.timer is not None:
                    park.timer.cancel()
                park.wake()
        self.settle()

    def parks(self) -> list[Park]:
        """What the interpreter waits for now, earliest first."""
        with self._lock:
            return sorted(self._parks, key=lambda park: park.when)

    def next_due(self) -> float | None:
        """The earliest moment a park (daemon ones included) is due, if any."""
        return min((park.when for park in self.parks() if not park.woken.is_set()), default=None)

    # -- events with virtual timeouts ------------------------------------------------------------------

    def event_class(self) -> type[Any]:
        """A ``threading.Event`` whose ``wait(timeout)`` times out on the virtual clock."""
        owner = self

        class ClockEvent:
            def __init__(self) -> None:
                self.flag = False
                self.condition = threading.Condition()

            def is_set(self) -> bool:
                return self.flag

            def set(self) -> None:
                with self.condition:
                    self.flag = True
                    self.condition.notify_all()

            def clear(self) -> None:
                with self.condition:
                    self.flag = False

            def wait(self, timeout: float | None = None) -> bool:
                return owner.wait_event(self, timeout)

        return ClockEvent

    def wait_event(self, event: Any, timeout: float | None) -> bool:  # recognised by ``blocked``
        """``ClockEvent.wait``: until the event is set or ``timeout`` virtual seconds pass."""
        if event.flag or (timeout is not None and timeout <= 0):
            return bool(event.flag)
        park: Park | None = None
        if timeout is not None:
            execution = execution_of(getattr(self._local, "env", None))
            park = Park("Timeout", execution, self.clock.now() + timeout, event.condition)
            with self._lock:
                self._parks.add(park)
            park.timer = self.clock.call_at(park.when, functools.partial(self._wake, park), daemon=True)
        try:
            with event.condition:
                while not event.flag and (park is None or not park.woken.is_set()):
                    event.condition.wait()
            return bool(event.flag)
        finally:
            if park is not None and park.timer is not None:
                park.timer.cancel()
                with self._lock:
                    self._parks.discard(park)

    # -- settling ----------------------------------------------------------------------------------------

    def busy_threads(self) -> list[int]:
        """Interpreter threads (by ident) that are running, not waiting for the clock or another thread."""
        from moto.stepfunctions.parser.utils import TMP_THREADS

        _forget_finished(TMP_THREADS)
        known = {thread.ident for thread in list(TMP_THREADS) if thread.is_alive()}
        me = threading.get_ident()
        frames = sys._current_frames()
        busy = []
        for ident, frame in frames.items():
            if ident == me or (ident not in known and not _runs_interpreter(frame)):
                continue
            if not self._blocked(frame, set(frames)):
                busy.append(ident)
        return busy

    def settle(self, patience: float | None = None) -> bool:
        """Block (real time) until every interpreter thread waits for the clock or for something outside
        the interpreter; ``False`` if they were still busy after ``patience`` seconds."""
        deadline = time.monotonic() + (self.patience if patience is None else patience)
        pause = 0.0002
        while busy := self.busy_threads():
            if time.monotonic() > deadline:
                log.warning("Step Functions still busy after %ss (threads %s)", self.patience, busy)
                return False
            time.sleep(pause)
            pause = min(pause * 2, 0.005)
        return True

    def _blocked(self, frame: FrameType | None, running: set[int]) -> bool:
        """A thread inside a ``threading`` call is blocked as the innermost frame outside ``threading``
        says when it is a known wait, else as the outermost known ``threading`` call says (``Thread.start``
        waiting for its thread to run is progress, although it waits on an ``Event``). A thread running
        anything else, or a known wait's own code before it waits, is running."""
        if self._rule_table is None:
            self._rule_table = self._rules()
        rules = self._rule_table
        decision, waiting = False, False
        while frame is not None:
            rule = rules.get(frame.f_code)
            if frame.f_code.co_filename != threading.__file__:
                return _applies(rule, frame, running) if rule is not None and waiting else decision
            waiting = True
            if rule is not None:
                decision = _applies(rule, frame, running)
            frame = frame.f_back
        return decision

    def _rules(self) -> dict[Any, Rule]:
        """Known waits, by code object: whether the waiting thread is still blocked (given the idents of
        the threads that run Python code). A joined thread that has returned from its Python code but is
        not dead yet counts as running: its joiner is about to continue."""
        from moto.stepfunctions.parser.asl.eval.count_down_latch import CountDownLatch

        def local(frame: FrameType, name: str) -> Any:
            return frame.f_locals[name]

        return {
            threading.Thread.start.__code__: lambda f, _: False,
            threading.Event.wait.__code__: lambda f, _: not local(f, "self").is_set(),
            threading.Thread.join.__code__: lambda f, running: local(f, "self").ident in running,
            CountDownLatch.wait.__code__: lambda f, _: local(f, "self")._num > 0,
            InterpreterClock._park_wait.__code__: lambda f, _: not local(f, "park").woken.is_set(),
            InterpreterClock.wait_event.__code__: lambda f, _: (
                not local(f, "event").flag
                and (local(f, "park") is None or not local(f, "park").woken.is_set())
            ),
        }

    # -- installation ----------------------------------------------------------------------------------

    @contextlib.contextmanager
    def install(self) -> Iterator[InterpreterClock]:
        """Patch moto's interpreter so it waits on this clock (process-wide, for the block)."""
        import importlib

        from moto.stepfunctions.parser.asl.component.common.retry.retrier_decl import RetrierDecl
        from moto.stepfunctions.parser.asl.component.state.exec.execute_state import ExecutionState
        from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (
            state_task_service_callback as callback_service,
        )
        from moto.stepfunctions.parser.asl.component.state.wait.wait_function.wait_function import (
            WaitFunction,
        )
        from moto.stepfunctions.parser.asl.eval.environment import Environment
        from moto.stepfunctions.parser.asl.eval.program_state import ProgramStopped
        from moto.stepfunctions.parser.backend.execution import BaseExecutionWorkerCommunication, Execution

        owner = self
        service = callback_service.StateTaskServiceCallback
        terminated, stop = BaseExecutionWorkerCommunication.terminated, Execution.stop
        set_error = Environment.set_error

        def wait_interval(_: Any, env: Any, wait_seconds: int) -> None:
            owner.sleep(env, wait_seconds, "Wait")

        def on_terminated(communication: Any) -> None:
            terminated(communication)
            owner.wake_polls()

        def stop_now(execution: Any, *args: Any, **kwargs: Any) -> None:
            stop(execution, *args, **kwargs)
            owner.stopped(str(execution.exec_arn))

        def keep_stopped(env: Any, error: Any) -> None:
            # The work a stop interrupts fails (its waits end early); the execution stays ABORTED.
            if not isinstance(env._program_state, ProgramStopped):
                set_error(env, error)

        clock_event = self.event_class()
        virtual_datetime = _ModuleProxy(dt, datetime=self._datetime_class())
        with contextlib.ExitStack() as stack:
            patch = stack.enter_context
            patch(mock.patch.object(WaitFunction, "_wait_interval", wait_interval))
            # Methods whose waits need the Environment they evaluate (the execution a park belongs to).
            for owner_class, method in (
                (RetrierDecl, "_eval_body"),
                (ExecutionState, "_evaluate_with_timeout"),
                (service, "_eval_integration_pattern"),
                (service, "_eval_sync"),
            ):
                patch(
                    mock.patch.object(owner_class, method, self._recording_env(getattr(owner_class, method)))
                )
            sleep_for_retry = functools.partial(self._sleep_here, "Retry")
            patch(mock.patch(f"{_RETRIER}.time", _ModuleProxy(time, sleep=sleep_for_retry)))
            patch(mock.patch.object(callback_service, "time", _ModuleProxy(time, sleep=self._poll_here)))
            patch(mock.patch.object(BaseExecutionWorkerCommunication, "terminated", on_terminated))
            patch(mock.patch.object(Execution, "stop", stop_now))
            patch(mock.patch.object(Environment, "set_error", keep_stopped))
            patch(mock.patch(f"{_CALLBACK}.Event", clock_event))
            patch(mock.patch(f"{_EXECUTE_STATE}.threading", _ModuleProxy(threading, Event=clock_event)))
            for name in _DATETIME_MODULES:
                importlib.import_module(name)
                patch(mock.patch(f"{name}.datetime", virtual_datetime))
            yield self

    def _recording_env(self, method: Callable[..., Any]) -> Callable[..., Any]:
        """``method(component, env, ...)`` with ``env`` recorded for the waits of this thread (a ``.sync``
        evaluation also starts its poll back-off afresh)."""
        fresh_polls = method.__name__ == "_eval_sync"

        def recording(component: Any, env: Any, *args: Any, **kwargs: Any) -> Any:
            with self._evaluating(env, **({"polls": 0} if fresh_polls else {})):
                return method(component, env, *args, **kwargs)

        return recording

    def _sleep_here(self, kind: str, seconds: float) -> None:
        self.sleep(getattr(self._local, "env", None), seconds, kind)

    def _poll_here(self, _: float) -> None:
        self.poll(getattr(self._local, "env", None))

    @contextlib.contextmanager
    def _evaluating(self, env: Any, **state: int) -> Iterator[None]:
        saved = {name: getattr(self._local, name, None) for name in ("env", *state)}
        self._local.env = env
        for name, value in state.items():
            setattr(self._local, name, value)
        try:
            yield
        finally:
            for name, previous in saved.items():
                setattr(self._local, name, previous)

    def _datetime_class(self) -> type[dt.datetime]:
        clock = self.clock

        class VirtualDatetime(dt.datetime):
            @classmethod
            def now(cls, tz: dt.tzinfo | None = None) -> Self:
                return cls.fromtimestamp(clock.now(), tz)

        return VirtualDatetime


def _applies(rule: Rule, frame: FrameType, running: set[int]) -> bool:
    """A rule's verdict; running when the frame is not where the rule expects it (locals not set yet)."""
    try:
        return rule(frame, running)
    except (KeyError, AttributeError):
        return False


def _runs_interpreter(frame: FrameType | None) -> bool:
    while frame is not None:
        if _PARSER_PATH in frame.f_code.co_filename:
            return True
        frame = frame.f_back
    return False


def _forget_finished(threads: list[threading.Thread]) -> None:
    """moto keeps every interpreter thread it ever started in ``TMP_THREADS``; drop the finished ones so a
    long ``localcloud up`` does not grow it (threads not started yet have no ident and are kept)."""
    finished = [thread for thread in list(threads) if thread.ident is not None and not thread.is_alive()]
    for thread in finished:
        with contextlib.suppress(ValueError):
            threads.remove(thread)
