"""The launch status model: statuses, their ranks and the one transition table every write obeys."""

from __future__ import annotations

from enum import StrEnum


class Status(StrEnum):
    REGISTERED = "REGISTERED"
    WAITING = "WAITING"
    READY = "READY"
    LAUNCHING = "LAUNCHING"
    RUNNING = "RUNNING"
    COMPLETE = "COMPLETE"
    FAILED = "FAILED"
    RETRY_REQUESTED = "RETRY_REQUESTED"


RANK: dict[Status, int] = {
    Status.RETRY_REQUESTED: 5,
    Status.REGISTERED: 10,
    Status.WAITING: 20,
    Status.READY: 30,
    Status.LAUNCHING: 40,
    Status.RUNNING: 50,
    Status.COMPLETE: 90,
    Status.FAILED: 90,
}

# from -> the statuses it may move to. Backward edges exist only to release a claim that could not
# complete (LAUNCHING or WAITING -> the status it was claimed from) and for a retry. A retry checks the
# inputs again (RETRY_REQUESTED -> WAITING): a restore may have failed, or the restored copies expired.
TRANSITIONS: dict[Status, frozenset[Status]] = {
    Status.REGISTERED: frozenset({Status.WAITING, Status.LAUNCHING, Status.FAILED}),
    Status.WAITING: frozenset({Status.READY, Status.REGISTERED, Status.RETRY_REQUESTED, Status.FAILED}),
    Status.READY: frozenset({Status.LAUNCHING, Status.FAILED}),
    Status.LAUNCHING: frozenset(
        {
            Status.RUNNING,
            Status.COMPLETE,
            Status.FAILED,
            Status.REGISTERED,
            Status.READY,
            Status.RETRY_REQUESTED,
        }
    ),
    Status.RUNNING: frozenset({Status.COMPLETE, Status.FAILED}),
    Status.COMPLETE: frozenset(),
    Status.FAILED: frozenset({Status.RETRY_REQUESTED}),
    Status.RETRY_REQUESTED: frozenset({Status.LAUNCHING, Status.WAITING, Status.FAILED}),
}

TERMINAL = frozenset({Status.COMPLETE, Status.FAILED})
LAUNCHABLE = frozenset({Status.REGISTERED, Status.READY, Status.RETRY_REQUESTED})


class InvalidTransitionError(ValueError):
    """A code path asked for a transition the table does not allow (a programming error)."""


def check_transition(sources: frozenset[Status], target: Status) -> None:
    """Raise unless every status in ``sources`` may move to ``target``."""
    bad = sorted(source for source in sources if target not in TRANSITIONS[source])
    if bad:
        raise InvalidTransitionError(f"{', '.join(bad)} -> {target} is not a transition")
