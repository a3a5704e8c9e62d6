"""Log scan of failed launches: FilterLogEvents paged to the end through empty pages (Stubber), the
20-line and 1 KB bounds, classification, the time budget, missing logs, and the result stored once."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber

from blueprints.genomics.logscan import FILTER_PATTERN, LogScan, LogScanner, ScanResult, classify
from blueprints.genomics.registry import LaunchRegistry
from blueprints.genomics.status import Status
from tests.support.cfn import REGION
from tests.unit.genomics.builders import LAUNCH_ID, at, registered

GROUP = "genomics-dev-HeadLogGroup"
STREAM = "launch/head/0f1e2d3c4b5a69788796a5b4c3d2e1f0"
START_MS = 1796029504000


@pytest.fixture
def logs() -> Iterator[tuple[Any, Stubber]]:
    client = boto3.client("logs", region_name=REGION)
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


def page(*messages: str, token: str | None = None) -> dict[str, Any]:
    response: dict[str, Any] = {
        "events": [
            {
                "logStreamName": STREAM,
                "timestamp": START_MS + index,
                "message": message,
                "eventId": str(index),
            }
            for index, message in enumerate(messages)
        ],
        "searchedLogStreams": [{"logStreamName": STREAM, "searchedCompletely": token is None}],
    }
    if token is not None:
        response["nextToken"] = token
    return response


def request(token: str | None = None) -> dict[str, Any]:
    expected: dict[str, Any] = {
        "logGroupName": GROUP,
        "logStreamNames": [STREAM],
        "startTime": START_MS,
        "filterPattern": FILTER_PATTERN,
    }
    if token is not None:
        expected["nextToken"] = token
    return expected


def always() -> bool:
    return True


def test_paging_continues_through_empty_pages_to_the_end(logs: tuple[Any, Stubber]) -> None:
    # Given a log search whose second page is empty but not the last
    client, stubber = logs
    stubber.add_response("filter_log_events", page("ERROR one", "ERROR two", token="t1"), request())
    stubber.add_response("filter_log_events", page(token="t2"), request("t1"))
    stubber.add_response("filter_log_events", page("MissingInputException: rule qc"), request("t2"))

    # When the stream is scanned
    result = LogScanner(client).scan(GROUP, STREAM, START_MS, always)

    # Then every page was read and every line kept, classified, not truncated
    assert result == ScanResult(
        ["ERROR one", "ERROR two", "MissingInputException: rule qc"], False, "WorkflowError", "DONE"
    )


def test_the_scan_keeps_the_first_20_lines_and_stops(logs: tuple[Any, Stubber]) -> None:
    client, stubber = logs
    stubber.add_response("filter_log_events", page(*[f"ERROR {n}" for n in range(15)], token="t1"), request())
    stubber.add_response(
        "filter_log_events", page(*[f"ERROR {n}" for n in range(15, 30)], token="t2"), request("t1")
    )

    result = LogScanner(client).scan(GROUP, STREAM, START_MS, always)

    assert result.lines == [f"ERROR {n}" for n in range(20)]
    assert result.truncated is True


def test_more_than_20_lines_on_the_last_page_are_truncated_too(logs: tuple[Any, Stubber]) -> None:
    client, stubber = logs
    stubber.add_response("filter_log_events", page(*[f"ERROR {n}" for n in range(25)]), request())

    result = LogScanner(client).scan(GROUP, STREAM, START_MS, always)

    assert len(result.lines) == 20
    assert result.truncated is True


def test_exactly_20_lines_are_not_truncated(logs: tuple[Any, Stubber]) -> None:
    client, stubber = logs
    stubber.add_response("filter_log_events", page(*[f"ERROR {n}" for n in range(20)]), request())

    result = LogScanner(client).scan(GROUP, STREAM, START_MS, always)

    assert (len(result.lines), result.truncated) == (20, False)


def test_each_line_is_clipped_to_1_kb_on_a_character_boundary(logs: tuple[Any, Stubber]) -> None:
    client, stubber = logs
    long_line = "ERROR " + "x" * 1017 + "é" + "y" * 500  # the 2-byte é straddles byte 1024
    stubber.add_response("filter_log_events", page(long_line, "ERROR short\n"), request())

    result = LogScanner(client).scan(GROUP, STREAM, START_MS, always)

    assert result.lines == ["ERROR " + "x" * 1017, "ERROR short"]
    assert len(result.lines[0].encode()) == 1023


def test_the_time_budget_cuts_the_scan_short(logs: tuple[Any, Stubber]) -> None:
    client, stubber = logs
    stubber.add_response("filter_log_events", page("ERROR one", token="t1"), request())

    result = LogScanner(client).scan(GROUP, STREAM, START_MS, lambda: False)

    assert (result.lines, result.truncated, result.status) == (["ERROR one"], True, "DONE")


def test_a_missing_log_group_or_stream_is_no_logs(logs: tuple[Any, Stubber]) -> None:
    client, stubber = logs
    stubber.add_client_error(
        "filter_log_events", "ResourceNotFoundException", "The specified log group does not exist."
    )

    assert LogScanner(client).scan(GROUP, STREAM, START_MS, always) == ScanResult([], False, None, "NO_LOGS")


def test_other_errors_propagate(logs: tuple[Any, Stubber]) -> None:
    client, stubber = logs
    stubber.add_client_error("filter_log_events", "ThrottlingException", "Rate exceeded", 400)

    with pytest.raises(ClientError, match="ThrottlingException"):
        LogScanner(client).scan(GROUP, STREAM, START_MS, always)


@pytest.mark.parametrize(
    ("lines", "code"),
    [
        (["OutOfMemoryError: Container killed due to memory usage"], "OutOfMemoryError"),
        (["CannotPullContainerError: pull image manifest has been retried"], "ImagePullError"),
        (["ResourceInitializationError: unable to pull secrets"], "TaskInitError"),
        (["MissingInputException in rule fastqc"], "WorkflowError"),
        (["WorkflowError: Target rules may not contain wildcards"], "WorkflowError"),
        (["ERROR something else", "Killed"], None),
        ([], None),
        (["ERROR first", "CannotPullContainerError", "OutOfMemoryError"], "ImagePullError"),
    ],
)
def test_classification(lines: list[str], code: str | None) -> None:
    assert classify(lines) == code


def test_the_default_client_is_the_shared_factorys() -> None:
    scanner = LogScanner()

    assert scanner.client.meta.service_model.service_name == "logs"


# --- storing the result ------------------------------------------------------------------------------


def failed(registry: LaunchRegistry, **facts: Any) -> Any:
    """A launch that started at 09:15:04 and FAILED, with ``facts`` (log group and stream)."""
    registry.create(registered())
    registry.transition(
        LAUNCH_ID,
        attempt=1,
        sources={Status.REGISTERED},
        target=Status.LAUNCHING,
        now=at(1),
        set_values={"launch_started_at": datetime.fromtimestamp(START_MS / 1000).astimezone().isoformat()},
    )
    launch = registry.transition(
        LAUNCH_ID, attempt=1, sources={Status.LAUNCHING}, target=Status.FAILED, now=at(30), set_values=facts
    )
    assert launch is not None
    return launch


def test_the_result_is_stored_once(registry: LaunchRegistry, logs: tuple[Any, Stubber]) -> None:
    # Given a FAILED launch with its head task's log stream
    client, stubber = logs
    launch = failed(registry, log_group=GROUP, log_stream=STREAM)
    stubber.add_response(
        "filter_log_events", page("OutOfMemoryError: Container killed", token="t1"), request()
    )
    scan = LogScan(registry, LogScanner(client), lambda: at(31))

    # When it is scanned (the budget spent after one page), then scanned again
    first = scan.handle(launch, lambda: False)
    stubber.add_response("filter_log_events", page("ERROR later"), request())
    second = scan.handle(launch, always)

    # Then the first result is what the launch keeps
    assert first.lines == ["OutOfMemoryError: Container killed"]
    assert second.lines == ["ERROR later"]
    item = registry.get_plain(LAUNCH_ID)
    assert item is not None
    assert item["log_scan"] == "DONE"
    assert item["error_lines"] == ["OutOfMemoryError: Container killed"]
    assert (item["error_lines_truncated"], item["log_error_code"]) == (True, "OutOfMemoryError")
    assert item["status"] == "FAILED"


def test_a_launch_without_logs_is_recorded_no_logs(registry: LaunchRegistry) -> None:
    launch = failed(registry)

    result = LogScan(registry, LogScanner(object()), lambda: at(31)).handle(launch, always)

    assert result == ScanResult([], False, None, "NO_LOGS")
    item = registry.get_plain(LAUNCH_ID)
    assert item is not None
    assert item["log_scan"] == "NO_LOGS"
    assert not {"error_lines", "error_lines_truncated", "log_error_code"} & set(item)


def test_without_a_start_time_the_creation_time_bounds_the_search(
    registry: LaunchRegistry, logs: tuple[Any, Stubber]
) -> None:
    client, stubber = logs
    registry.create(registered())
    launch = registry.transition(
        LAUNCH_ID,
        attempt=1,
        sources={Status.REGISTERED},
        target=Status.FAILED,
        now=at(1),
        set_values={"log_group": GROUP, "log_stream": STREAM},
    )
    assert launch is not None
    created_ms = int(datetime.fromisoformat(launch.raw["created_at"]).timestamp() * 1000)
    stubber.add_response("filter_log_events", page(), {**request(), "startTime": created_ms})

    result = LogScan(registry, LogScanner(client), lambda: at(2)).handle(launch, always)

    assert (result.lines, result.status) == ([], "DONE")
    item = registry.get_plain(LAUNCH_ID)
    assert item is not None
    assert item["log_scan"] == "DONE"
    assert "error_lines" not in item
