"""``InterpreterClock`` on its own: parks, events with virtual timeouts, and when settling gives up."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest
from moto.stepfunctions.parser.utils import TMP_THREADS

from localcloud.clock import VirtualClock
from localcloud.stepfunctions_time import InterpreterClock, Park
from tests.unit.localcloud_stepfunctions.conftest import START


@pytest.fixture
def interpreter() -> InterpreterClock:
    return InterpreterClock(VirtualClock(start=START), patience=0.05)


@pytest.fixture
def busy_thread() -> Iterator[threading.Thread]:
    """A thread of the interpreter's list that keeps running (not waiting on anything known)."""
    stop = threading.Event()

    def spin() -> None:
        while not stop.is_set():
            time.sleep(0.001)

    thread = threading.Thread(target=spin, daemon=True)
    TMP_THREADS.append(thread)
    thread.start()
    yield thread
    stop.set()
    thread.join()


def run_in_thread(target: object) -> threading.Thread:
    thread = threading.Thread(target=target, daemon=True)  # type: ignore[arg-type]
    TMP_THREADS.append(thread)
    thread.start()
    return thread


def test_settling_gives_up_after_its_patience_when_work_keeps_running(
    interpreter: InterpreterClock, busy_thread: threading.Thread, caplog: pytest.LogCaptureFixture
) -> None:
    assert busy_thread.ident in interpreter.busy_threads()
    assert interpreter.settle() is False
    assert "still busy" in caplog.text


def test_a_parked_thread_is_settled_and_wakes_when_its_timer_fires(interpreter: InterpreterClock) -> None:
    run_in_thread(lambda: interpreter.sleep(None, 30, "Wait"))
    assert interpreter.settle() is True
    [park] = interpreter.parks()
    assert (park.kind, park.when, repr(park)) == (
        "Wait",
        START + 30,
        f"Park(Wait until {START + 30:.3f} for ?)",
    )

    interpreter.clock.advance(30)  # fires the timer and settles: the thread has left its park

    assert interpreter.parks() == []
    assert interpreter.wakes == 1


def test_no_wait_parks_nothing(interpreter: InterpreterClock) -> None:
    interpreter.sleep(None, 0, "Wait")  # a Timestamp in the past
    interpreter.sleep(None, -5, "Wait")
    assert interpreter.parks() == []


def test_clock_events_are_events_whose_timeouts_are_virtual(interpreter: InterpreterClock) -> None:
    event = interpreter.event_class()()
    assert (event.is_set(), event.wait(0)) == (False, False)
    event.set()
    assert (event.is_set(), event.wait(), event.wait(10)) == (True, True, True)
    event.clear()
    outcome: list[bool] = []
    run_in_thread(lambda: outcome.append(event.wait(120)))
    interpreter.settle()
    assert [park.kind for park in interpreter.parks()] == ["Timeout"]

    interpreter.clock.advance(120)

    assert outcome == [False]
    assert interpreter.parks() == []


def test_releasing_wakes_every_park_without_the_clock(interpreter: InterpreterClock) -> None:
    event = interpreter.event_class()()
    threads = [
        run_in_thread(lambda: interpreter.sleep(None, 60, "Retry")),
        run_in_thread(lambda: event.wait(60)),
    ]
    interpreter.settle()
    assert len(interpreter.parks()) == 2

    interpreter.release()

    for thread in threads:
        thread.join(timeout=2)
        assert not thread.is_alive()
    assert interpreter.clock.now() == START


def test_a_park_without_a_condition_wakes_through_its_event() -> None:
    park = Park("Poll", "arn", START)
    park.wake()
    assert park.woken.is_set()
