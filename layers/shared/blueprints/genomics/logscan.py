"""Log scan of a failed launch: the first error lines of its log stream, bounded, and a classification.

``FilterLogEvents`` is paginated until ``nextToken`` is absent; empty pages can come before the end,
so an empty page never stops the scan. The work is bounded by the time the caller has left; a scan cut
short records ``error_lines_truncated``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from blueprints.core.aws import client as aws_client
from blueprints.genomics.records import Launch
from blueprints.genomics.registry import LaunchRegistry
from blueprints.genomics.status import Status

FILTER_PATTERN = (
    "?ERROR ?Exception ?OutOfMemoryError ?Killed ?CannotPullContainerError ?ResourceInitializationError "
    "?MissingInputException ?WorkflowError"
)
MAX_LINES = 20
MAX_LINE_BYTES = 1024
CLASSES = (
    ("OutOfMemoryError", "OutOfMemoryError"),
    ("CannotPullContainerError", "ImagePullError"),
    ("ResourceInitializationError", "TaskInitError"),
    ("MissingInputException", "WorkflowError"),
    ("WorkflowError", "WorkflowError"),
)


@dataclass(frozen=True)
class ScanResult:
    lines: list[str]
    truncated: bool
    error_class: str | None
    status: str  # DONE, NO_LOGS


def classify(lines: list[str]) -> str | None:
    for line in lines:
        for pattern, code in CLASSES:
            if pattern in line:
                return code
    return None


def _clip(message: str) -> str:
    data = message.rstrip("\n").encode()[:MAX_LINE_BYTES]
    return data.decode("utf-8", errors="ignore")


class LogScanner:
    def __init__(self, client: Any = None) -> None:
        self._client = client

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = aws_client("logs")
        return self._client

    def scan(self, group: str, stream: str, start_ms: int, has_time: Callable[[], bool]) -> ScanResult:
        lines: list[str] = []
        request: dict[str, Any] = {
            "logGroupName": group,
            "logStreamNames": [stream],
            "startTime": start_ms,
            "filterPattern": FILTER_PATTERN,
        }
        truncated = False
        try:
            while True:
                page = self.client.filter_log_events(**request)
                for event in page.get("events", []):
                    if len(lines) < MAX_LINES:
                        lines.append(_clip(str(event.get("message", ""))))
                    else:
                        truncated = True  # a matching line beyond the first MAX_LINES is left out
                token = page.get("nextToken")
                if not token or len(lines) >= MAX_LINES:
                    truncated = truncated or bool(token)
                    break
                if not has_time():
                    truncated = True
                    break
                request["nextToken"] = token
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ResourceNotFoundException":
                return ScanResult([], False, None, "NO_LOGS")
            raise
        return ScanResult(lines, truncated, classify(lines), "DONE")


class LogScan:
    """Scan the failed launch's logs once and store the result on the launch."""

    def __init__(self, registry: LaunchRegistry, scanner: LogScanner, now: Callable[[], datetime]) -> None:
        self.registry = registry
        self.scanner = scanner
        self.now = now

    def handle(self, launch: Launch, has_time: Callable[[], bool]) -> ScanResult:
        if not (launch.log_group and launch.log_stream):
            result = ScanResult([], False, None, "NO_LOGS")
        else:
            start = launch.launch_started_at or str(launch.raw.get("created_at", ""))
            start_ms = int(datetime.fromisoformat(start).timestamp() * 1000) if start else 0
            result = self.scanner.scan(launch.log_group, launch.log_stream, start_ms, has_time)
        facts: dict[str, Any] = {"log_scan": result.status}
        if result.lines:
            facts["error_lines"] = result.lines
        if result.truncated:
            facts["error_lines_truncated"] = True
        if result.error_class:
            facts["log_error_code"] = result.error_class
        self.registry.update(
            launch.launch_id,
            attempt=launch.attempt,
            status=Status.FAILED,
            now=self.now(),
            set_values=facts,
            only_if_absent=("log_scan",),
        )
        return result
