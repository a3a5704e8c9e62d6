"""Container log lines of simulated ECS tasks and Batch jobs, written into moto's CloudWatch Logs.

Written to the backend directly (no client call, so no nested HTTP request when served). Timestamps
follow the virtual clock, clamped to what CloudWatch Logs accepts (events more than 14 days old or 2
hours ahead of real time are rejected), and stay in order within a stream even where the clamping
folds several virtual times together.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping

from moto.logs.models import logs_backends

OLDEST_SECONDS = 14 * 24 * 3600 - 3600  # CloudWatch Logs rejects events older than 14 days
NEWEST_SECONDS = 2 * 3600 - 60  # ... or more than 2 hours ahead
LOG_LINES = "LOCALCLOUD_LOG_LINES"


def log_millis(epoch: float) -> int:
    """``epoch`` clamped to what CloudWatch Logs accepts, in milliseconds."""
    real = time.time()
    return round(min(max(epoch, real - OLDEST_SECONDS), real + NEWEST_SECONDS) * 1000)


def lines_from(environment: Mapping[str, str]) -> tuple[str, ...]:
    """The newline-separated ``LOCALCLOUD_LOG_LINES`` a container writes when it starts."""
    return tuple(line for line in environment.get(LOG_LINES, "").splitlines() if line.strip())


class ContainerLogs:
    def __init__(self) -> None:
        self._next: dict[tuple[str, str], int] = {}  # per (group, stream): the next free timestamp (ms)

    def write(
        self, account: str, region: str, group: str, stream: str, lines: Iterable[str], epoch: float
    ) -> None:
        logs = logs_backends[account][region]
        logs.ensure_log_group(group)
        logs.ensure_log_stream(group, stream)
        messages = list(lines)
        if not messages:
            return
        first = max(log_millis(epoch), self._next.get((group, stream), 0))
        events = [{"timestamp": first + offset, "message": line} for offset, line in enumerate(messages)]
        self._next[(group, stream)] = first + len(messages)
        logs.put_log_events(group, stream, events)
