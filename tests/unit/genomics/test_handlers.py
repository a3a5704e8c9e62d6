"""Every genomics handler invoked in process with its sample events (events/genomics/<function>/) and
its template environment, against the stack in moto."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from blueprints.core import aws
from blueprints.genomics.status import Status
from tests.support.bodies import changed
from tests.support.botocore_hooks import PASS, Reply, Script
from tests.support.events import event_cases, load_event
from tests.unit.genomics.builders import (
    DELETE,
    LAUNCH_ID,
    REQUEST_BUCKET,
    at,
    batch_event,
    document,
    ecs_event,
    registered,
    stream_event,
    stream_record,
)
from tests.unit.genomics.conftest import FUNCTIONS, Genomics, client

SUBMITTED = "wf-2024-0050"
CALLER = "arn:aws:sts::123456789012:assumed-role/Scientist/scientist"


def test_every_handler_has_sample_events() -> None:
    for function in FUNCTIONS:
        assert event_cases("genomics", function), function


# --- register_launch -----------------------------------------------------------------------------------


def test_a_config_upload_event_registers_the_launch(genomics_core: Genomics) -> None:
    # Given the uploaded configuration the sample event announces
    genomics_core.put_object(REQUEST_BUCKET, f"launches/{LAUNCH_ID}.json", json.dumps(document()).encode())

    # When the handler gets the event (twice: EventBridge delivers at least once)
    event = load_event("genomics", "register_launch", "config_json")
    results = [genomics_core.invoke("register_launch", event) for _ in range(2)]

    # Then one launch is registered, at the upload's time, with the object's version
    assert results == [
        {"launch_id": LAUNCH_ID, "outcome": "created"},
        {"launch_id": LAUNCH_ID, "outcome": "duplicate"},
    ]
    item = genomics_core.item(LAUNCH_ID)
    assert (item["status"], item["created_at"]) == ("REGISTERED", "2026-11-30T09:15:02+00:00")
    assert item["config_source"]["version_id"] == "3HL4kqtJvjVBH40Nrjfkd"


def test_a_yaml_upload_event_registers_the_launch(genomics_core: Genomics) -> None:
    body = "\n".join(f"{name}: {value}" for name, value in document(launch_id="wf-2024-0043").items())
    genomics_core.put_object(
        REQUEST_BUCKET, "launches/wf-2024-0043.yaml", body.replace("{'jobs': 20}", "{jobs: 20}").encode()
    )

    result = genomics_core.invoke("register_launch", load_event("genomics", "register_launch", "config_yaml"))

    assert result == {"launch_id": "wf-2024-0043", "outcome": "created"}


def test_an_upload_event_for_a_vanished_object_records_the_launch_failed(genomics_core: Genomics) -> None:
    result = genomics_core.invoke("register_launch", load_event("genomics", "register_launch", "config_json"))

    assert result == {"launch_id": LAUNCH_ID, "outcome": "rejected"}
    item = genomics_core.item(LAUNCH_ID)
    assert (item["status"], item["error_code"]) == ("FAILED", "MissingRequiredParametersError")
    assert len(genomics_core.notices()) == 1


@pytest.mark.parametrize(
    ("case", "outcome", "launch_id"),
    [("snakefile_bundle", "created", "qc-cohort7"), ("sheet_next_to_snakefile", "skipped", "")],
)
def test_snakefile_uploads(genomics_core: Genomics, case: str, outcome: str, launch_id: str) -> None:
    result = genomics_core.invoke("register_launch", load_event("genomics", "register_launch", case))

    assert result == {"launch_id": launch_id, "outcome": outcome}


def test_an_upload_that_is_not_a_configuration_is_ignored_quietly(genomics_core: Genomics) -> None:
    # Given the upload of launches/wf-2024-0044.txt (not .json, .yaml or .yml)
    result = genomics_core.invoke(
        "register_launch", load_event("genomics", "register_launch", "unsupported_file")
    )

    # Then it is skipped: no launch item and no notice on the alerts topic
    assert result == {"launch_id": "", "outcome": "skipped"}
    assert genomics_core.items() == []
    assert genomics_core.notices() == []


# --- handle_launch_api -------------------------------------------------------------------------------------


def api(genomics: Genomics, case: str, **changes: Any) -> tuple[int, dict[str, Any]]:
    event = changed(load_event("genomics", "handle_launch_api", case), changes)
    response = genomics.invoke("handle_launch_api", event)
    return int(response["statusCode"]), json.loads(response["body"])


def test_post_launches_creates_then_answers_duplicate(genomics_core: Genomics) -> None:
    first = api(genomics_core, "submit_launch")
    again = api(genomics_core, "submit_launch")

    assert first == (201, {"launch_id": SUBMITTED, "outcome": "created"})
    assert again == (200, {"launch_id": SUBMITTED, "outcome": "duplicate"})
    item = genomics_core.item(SUBMITTED)
    assert (item["requested_by"], item["compute_service"]) == (CALLER, "batch")


def test_post_launches_with_an_invalid_config_is_400_with_the_error_code(genomics_core: Genomics) -> None:
    status, body = api(genomics_core, "submit_invalid")

    assert status == 400
    assert body["error_code"] == "InvalidLaunchConfigError"
    assert body["message"].startswith("workflow_type: Input should be")
    assert genomics_core.items() == []


@pytest.mark.parametrize("body", ["[1, 2]", None, '"launch"'])
def test_post_launches_needs_a_json_object(genomics_core: Genomics, body: str | None) -> None:
    status, answer = api(genomics_core, "submit_launch", body=body if body is not None else DELETE)

    assert (status, answer["error_code"]) == (400, "InvalidLaunchConfigError")
    assert answer["message"] == "the body must be a JSON object"


def test_post_launches_with_a_body_that_is_not_json_is_400(genomics_core: Genomics) -> None:
    status, answer = api(genomics_core, "submit_launch", body='{"launch_id": "wf-2024-0050",')

    assert (status, answer["error_code"]) == (400, "InvalidLaunchConfigError")
    assert answer["message"].startswith("the body is not JSON")


def test_post_launches_for_a_taken_id_is_a_conflict(genomics_core: Genomics) -> None:
    api(genomics_core, "submit_launch")
    other = json.loads(load_event("genomics", "handle_launch_api", "submit_launch")["body"])
    other["parameters"]["revision"] = "3.15.0"

    status, answer = api(genomics_core, "submit_launch", body=json.dumps(other))

    assert (status, answer["error_code"]) == (409, "LaunchConflictError")


def test_get_a_launch(genomics_core: Genomics) -> None:
    genomics_core.registry().create(registered())

    status, body = api(genomics_core, "get_launch")

    assert status == 200
    assert (body["launch_id"], body["status"]) == (LAUNCH_ID, "REGISTERED")
    assert body["request"]["parameters"] == {"jobs": 20}


def test_get_an_unknown_launch_is_404(genomics_core: Genomics) -> None:
    status, body = api(genomics_core, "get_launch")

    assert (status, body) == (404, {"error_code": "LaunchNotFoundError", "message": f"no launch {LAUNCH_ID}"})


def failed(genomics: Genomics, launch_id: str, minute: float) -> None:
    registry = genomics.registry()
    registry.create(registered(document(launch_id=launch_id), now=at(minute)))
    registry.transition(
        launch_id, attempt=1, sources={Status.REGISTERED}, target=Status.FAILED, now=at(minute)
    )


def test_list_failed_launches_page_by_page(genomics_core: Genomics) -> None:
    # Given three failed launches
    for index in range(3):
        failed(genomics_core, f"launch-{index}", index)

    # When GET /launches?status=FAILED&limit=2, then the next page with the token
    status, first = api(genomics_core, "list_failed", **{"queryStringParameters.limit": "2"})
    _, second = api(
        genomics_core,
        "list_failed",
        **{"queryStringParameters.limit": "2", "queryStringParameters.next_token": first["next_token"]},
    )

    # Then every failed launch comes back once, newest first
    assert status == 200
    assert [item["launch_id"] for item in first["launches"] + second["launches"]] == [
        "launch-2",
        "launch-1",
        "launch-0",
    ]
    assert second["next_token"] is None


def test_list_without_a_status_is_400(genomics_core: Genomics) -> None:
    status, body = api(genomics_core, "list_failed", queryStringParameters=DELETE)

    assert (status, body["error_code"]) == (400, "InvalidLaunchConfigError")


def test_retry_a_failed_launch_is_202(genomics_core: Genomics) -> None:
    failed(genomics_core, LAUNCH_ID, 1)

    status, body = api(genomics_core, "retry_launch")

    assert (status, body) == (202, {"launch_id": LAUNCH_ID, "status": "RETRY_REQUESTED", "attempt": 2})


def test_retry_a_launch_that_is_not_failed_is_409(genomics_core: Genomics) -> None:
    genomics_core.registry().create(registered())

    status, body = api(genomics_core, "retry_launch")

    assert (status, body["error_code"]) == (409, "RetryNotAllowedError")


def test_retry_an_unknown_launch_is_404(genomics_core: Genomics) -> None:
    assert api(genomics_core, "retry_launch")[0] == 404


# --- launch_workflow --------------------------------------------------------------------------------------


def inserted(genomics: Genomics, values: dict[str, Any], sequence: str) -> dict[str, Any]:
    genomics.registry().create(values)
    return stream_record(genomics.raw_item(values["launch_id"]), sequence=sequence)


def test_the_sample_record_of_a_new_launch_starts_it(genomics: Genomics) -> None:
    # Given the sample launch registered (the sample record's image is the item as stored)
    genomics.registry().create(registered())
    event = load_event("genomics", "launch_workflow", "new_launch")

    # When the stream delivers the sample record
    response = genomics.invoke("launch_workflow", event)

    # Then it started, stamped with the record's (approximate creation) time
    assert response == {"batchItemFailures": []}
    item = genomics.item(LAUNCH_ID)
    assert item["status"] == "LAUNCHING"
    created = event["Records"][0]["dynamodb"]["ApproximateCreationDateTime"]
    assert item["status_history"][-1]["at"] == datetime.fromtimestamp(created, UTC).isoformat()
    assert len(genomics.tasks()) == 1


def test_the_sample_record_without_config_path_fails_the_launch(genomics: Genomics) -> None:
    values = registered()
    del values["config_s3_uri"]
    genomics.registry().create(values)

    response = genomics.invoke("launch_workflow", load_event("genomics", "launch_workflow", "missing_config"))

    assert response == {"batchItemFailures": []}
    assert genomics.item(LAUNCH_ID)["error_code"] == "MissingRequiredParametersError"


def test_a_transient_failure_in_a_batch_parks_its_launch_and_settles_every_record(genomics: Genomics) -> None:
    # Given three new launches in one batch: one fine, one whose RunTask is throttled, one invalid
    records = [
        inserted(genomics, registered(document(launch_id="ok-1")), "100"),
        inserted(genomics, registered(document(launch_id="throttled-2")), "200"),
        inserted(genomics, registered(document(launch_id="invalid-3", parameters={"jobs": 0})), "300"),
    ]
    Script(aws.client("ecs"), "RunTask", [PASS, Reply.error("ThrottlingException", "Rate exceeded")])

    # When the batch is handled
    response = genomics.invoke("launch_workflow", stream_event(*records))

    # Then no record comes back (the stream never loops on a start failure): the throttled launch is
    # parked for the stuck check's re-drive, the others are settled
    assert response == {"batchItemFailures": []}
    assert genomics.item("ok-1")["status"] == "LAUNCHING"
    throttled = genomics.item("throttled-2")
    assert (throttled["status"], throttled["start_tries"]) == ("REGISTERED", 1)
    assert genomics.item("invalid-3")["status"] == "FAILED"


def test_a_record_without_a_creation_time_is_stamped_with_the_clock(genomics: Genomics) -> None:
    record = inserted(genomics, registered(), "100")
    del record["dynamodb"]["ApproximateCreationDateTime"]

    assert genomics.invoke("launch_workflow", stream_event(record)) == {"batchItemFailures": []}
    assert genomics.item(LAUNCH_ID)["status_history"][-1]["at"] > datetime.now(UTC).isoformat()[:10]


def test_the_ready_and_retry_samples_start_the_launch(genomics: Genomics) -> None:
    # Given a launch READY after its restore
    registry = genomics.registry()
    registry.create(registered())
    registry.transition(LAUNCH_ID, attempt=1, sources={Status.REGISTERED}, target=Status.WAITING, now=at(1))
    registry.transition(LAUNCH_ID, attempt=1, sources={Status.WAITING}, target=Status.READY, now=at(2))

    ready = genomics.invoke(
        "launch_workflow", load_event("genomics", "launch_workflow", "ready_after_restore")
    )

    assert ready == {"batchItemFailures": []}
    assert genomics.item(LAUNCH_ID)["status"] == "LAUNCHING"

    # And once it failed and a retry was asked for, the retry sample starts attempt 2
    registry.transition(LAUNCH_ID, attempt=1, sources={Status.LAUNCHING}, target=Status.FAILED, now=at(3))
    registry.transition(
        LAUNCH_ID, attempt=1, sources={Status.FAILED}, target=Status.RETRY_REQUESTED, now=at(4)
    )
    retried = genomics.invoke("launch_workflow", load_event("genomics", "launch_workflow", "retry_requested"))

    assert retried == {"batchItemFailures": []}
    assert (genomics.item(LAUNCH_ID)["status"], genomics.item(LAUNCH_ID)["attempt"]) == ("LAUNCHING", 2)
    assert len(genomics.tasks()) == 2


# --- trackers ----------------------------------------------------------------------------------------------


def launching(genomics: Genomics) -> None:
    registry = genomics.registry()
    registry.create(registered())
    registry.transition(LAUNCH_ID, attempt=1, sources={Status.REGISTERED}, target=Status.LAUNCHING, now=at(1))


@pytest.mark.parametrize(
    ("cases", "outcomes", "status"),
    [
        (["task_running", "task_succeeded"], ["applied", "applied"], "COMPLETE"),
        (["task_out_of_memory", "task_running"], ["applied", "ignored"], "FAILED"),
        (["task_failed_to_start"], ["applied"], "FAILED"),
        (["foreign_task"], ["foreign"], "LAUNCHING"),
    ],
)
def test_track_ecs_task_with_the_sample_events(
    genomics_core: Genomics, cases: list[str], outcomes: list[str], status: str
) -> None:
    launching(genomics_core)

    results = [genomics_core.invoke("track_ecs_task", ecs_event(case)) for case in cases]

    assert results == [{"outcome": outcome} for outcome in outcomes]
    assert genomics_core.item(LAUNCH_ID)["status"] == status


@pytest.mark.parametrize(
    ("cases", "outcomes", "status"),
    [
        (["job_runnable", "job_running", "job_succeeded"], ["applied", "applied", "applied"], "COMPLETE"),
        (["job_running", "job_out_of_memory"], ["applied", "applied"], "FAILED"),
    ],
)
def test_track_batch_job_with_the_sample_events(
    genomics_core: Genomics, cases: list[str], outcomes: list[str], status: str
) -> None:
    launching(genomics_core)

    results = [genomics_core.invoke("track_batch_job", batch_event(case)) for case in cases]

    assert results == [{"outcome": outcome} for outcome in outcomes]
    item = genomics_core.item(LAUNCH_ID)
    assert item["status"] == status
    assert item["log_group"] == "/aws/batch/job"


# --- parse_launch_logs ------------------------------------------------------------------------------------


def test_the_logs_of_a_failed_launch_are_scanned_and_stored(genomics_core: Genomics) -> None:
    # Given the sample FAILED launch and its head task's log stream holding error lines
    sample = load_event("genomics", "parse_launch_logs", "failed_launch")
    image = sample["Records"][0]["dynamodb"]["NewImage"]
    group, stream = image["log_group"]["S"], image["log_stream"]["S"]
    started_ms = int(datetime.fromisoformat(image["launch_started_at"]["S"]).timestamp() * 1000)
    assert group == genomics_core.head_log_group
    logs = client("logs")
    logs.create_log_stream(logGroupName=group, logStreamName=stream)
    logs.put_log_events(
        logGroupName=group,
        logStreamName=stream,
        logEvents=[
            {"timestamp": started_ms + 60_000, "message": "Error in rule fastqc: WorkflowError"},
            {
                "timestamp": started_ms + 61_000,
                "message": "OutOfMemoryError: Container killed due to memory usage",
            },
        ],
    )
    registry = genomics_core.registry()
    registry.create(registered())
    registry.transition(LAUNCH_ID, attempt=1, sources={Status.REGISTERED}, target=Status.FAILED, now=at(1))

    # When the stream delivers the FAILED record
    response = genomics_core.invoke("parse_launch_logs", sample)

    # Then the error lines are stored on the launch with their classification
    assert response == {"batchItemFailures": []}
    item = genomics_core.item(LAUNCH_ID)
    assert item["error_lines"] == [
        "Error in rule fastqc: WorkflowError",
        "OutOfMemoryError: Container killed due to memory usage",
    ]
    assert (item["log_scan"], item["log_error_code"]) == ("DONE", "WorkflowError")


def test_a_scan_that_fails_is_reported_for_retry(genomics_core: Genomics) -> None:
    sample = load_event("genomics", "parse_launch_logs", "failed_launch")
    Script(aws.client("logs"), "FilterLogEvents", [Reply.error("ThrottlingException", "Rate exceeded")])

    response = genomics_core.invoke("parse_launch_logs", sample)

    assert response == {"batchItemFailures": [{"itemIdentifier": "111100000000012345678901"}]}


def test_a_scan_with_little_time_left_stops_paging(genomics_core: Genomics) -> None:
    sample = load_event("genomics", "parse_launch_logs", "failed_launch")
    registry = genomics_core.registry()
    registry.create(registered())
    registry.transition(LAUNCH_ID, attempt=1, sources={Status.REGISTERED}, target=Status.FAILED, now=at(1))
    Script(
        aws.client("logs"),
        "FilterLogEvents",
        [Reply.ok({"events": [{"message": "ERROR a"}], "nextToken": "t"})],
    )

    response = genomics_core.invoke("parse_launch_logs", sample, remaining_millis=5_000)

    assert response == {"batchItemFailures": []}
    item = genomics_core.item(LAUNCH_ID)
    assert (item["error_lines"], item["error_lines_truncated"]) == (["ERROR a"], True)


# --- detect_stuck_launches --------------------------------------------------------------------------------


def test_the_scheduled_check_alerts_on_a_job_runnable_too_long(genomics_core: Genomics) -> None:
    # Given a Batch launch RUNNABLE since 09:15:09 (the sample job event)
    launching(genomics_core)
    genomics_core.invoke("track_batch_job", batch_event("job_runnable"))

    # When the 10:00 check runs (its sample event)
    result = genomics_core.invoke(
        "detect_stuck_launches", load_event("genomics", "detect_stuck_launches", "scheduled_check")
    )

    # Then the launch is alerted
    assert result == {"checked": 1, "alerted": [LAUNCH_ID], "timed_out": [], "redriven": [], "slow": []}
    assert len(genomics_core.notices()) == 1
