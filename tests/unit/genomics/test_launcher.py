"""The launcher end to end on the genomics stack in moto (S3, DynamoDB, ECS, Batch, Step Functions, SSM),
built by the composition root from the launch function's template environment. What moto never does
(RunTask failures[], throttling, 403/500 answers) is scripted on the launcher's own clients."""

from __future__ import annotations

import hashlib
import json
import re
import shlex
from datetime import datetime
from typing import Any

import boto3
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from blueprints.core import aws
from blueprints.genomics import wiring
from blueprints.genomics.compute import ParallelClusterRunner, client_token
from blueprints.genomics.engines import LaunchPlan, build
from blueprints.genomics.events import BATCH_LOG_GROUP
from blueprints.genomics.launcher import (
    ATTEMPT_FIELDS,
    LaunchChange,
    Launcher,
    Outcome,
    launchable,
    retry_delay,
)
from blueprints.genomics.settings import LaunchSettings
from blueprints.genomics.status import Status
from blueprints.genomics.storage import DataSize, LaunchStorage
from tests.support.botocore_hooks import Reply, Script, record_calls
from tests.support.cfn import REGION
from tests.unit.genomics.builders import (
    DATA_BUCKET,
    DATA_PATH,
    DELETE,
    LAUNCH_ID,
    NOW,
    REQUEST_BUCKET,
    SHEET_URI,
    context,
    document,
    registered,
)
from tests.unit.genomics.builders import launch as launch_model
from tests.unit.genomics.conftest import ARCHIVED_OBJECTS, DATA_OBJECTS, Genomics, client

INPUT_BYTES = sum(len(body) for key, body in DATA_OBJECTS.items() if key.startswith("cohort7/"))
ARTIFACTS_PREFIX = f"artifacts/launches/{LAUNCH_ID}/a1/"


def launcher(genomics: Genomics, **overrides: str) -> Launcher:
    """The launcher as the composition root builds it from the function's template environment."""
    env = genomics.use_function("launch_workflow", **overrides)
    return wiring.launcher(LaunchSettings.from_env(env))


def insert(genomics: Genomics, values: dict[str, Any] | None = None) -> LaunchChange:
    """Register a launch in the table; returns the INSERT record the stream would deliver."""
    values = values or registered()
    assert genomics.registry().create(values)
    return LaunchChange("INSERT", genomics.item(values["launch_id"]), None)


def modify(genomics: Genomics, launch_id: str, old: dict[str, Any]) -> LaunchChange:
    return LaunchChange("MODIFY", genomics.item(launch_id), old["status"])


def failed_first_attempt(genomics: Genomics) -> dict[str, Any]:
    """A launch whose attempt 1 started, then failed (OOM); returns the FAILED item."""
    outcome = launcher(genomics).handle(insert(genomics))
    assert outcome is Outcome.STARTED
    registry = genomics.registry()
    failed = registry.transition(
        LAUNCH_ID,
        attempt=1,
        sources={Status.LAUNCHING},
        target=Status.FAILED,
        now=wiring.utc_now(),
        set_values={"error_code": "OutOfMemoryError", "error_message": "OOM", "log_scan": "DONE"},
    )
    assert failed is not None
    return genomics.item(LAUNCH_ID)


def request_retry(genomics: Genomics, current: dict[str, Any]) -> LaunchChange:
    moved = genomics.registry().transition(
        LAUNCH_ID,
        attempt=current["attempt"],
        sources={Status(current["status"])},
        target=Status.RETRY_REQUESTED,
        now=wiring.utc_now(),
    )
    assert moved is not None
    return modify(genomics, LAUNCH_ID, current)


# --- a new launch ----------------------------------------------------------------------------------


def test_a_new_launch_starts_one_head_task_and_records_its_handles(genomics: Genomics) -> None:
    # Given a registered Snakemake 8 launch on Fargate (the sample configuration)
    run_task = record_calls(aws.client("ecs"), "RunTask")
    change = insert(genomics)

    # When the launcher handles its INSERT record
    outcome = launcher(genomics).handle(change)

    # Then one task runs and the launch is LAUNCHING with the task's handles and the input size
    assert outcome is Outcome.STARTED
    [task] = genomics.tasks()
    item = genomics.item(LAUNCH_ID)
    task_id = task["taskArn"].rsplit("/", 1)[-1]
    assert (item["status"], item["attempt"], item["task_arn"]) == ("LAUNCHING", 1, task["taskArn"])
    assert (item["log_group"], item["log_stream"]) == (genomics.head_log_group, f"launch/head/{task_id}")
    assert (item["input_size_bytes"], item["input_objects"]) == (INPUT_BYTES, 3)
    assert "input_size_partial" not in item
    assert item["engine_version"] == "8.30.0"
    assert item["definition"] == genomics.stack.ref("SnakemakeV8TaskDefinition")
    assert item["artifacts_uri"] == f"s3://{REQUEST_BUCKET}/{ARTIFACTS_PREFIX}"
    assert item["launch_started_at"] >= item["created_at"]
    # and the queue the engine submits its own jobs to is recorded, so benchmarking can cost them
    assert item["engine_job_queue"] == genomics.job_queue_arn
    # and the rendered artifacts are staged under the attempt's prefix
    artifacts = genomics.objects(REQUEST_BUCKET, "artifacts/")
    assert set(artifacts) == {f"{ARTIFACTS_PREFIX}Snakefile", f"{ARTIFACTS_PREFIX}config.yaml"}
    assert json.loads(artifacts[f"{ARTIFACTS_PREFIX}config.yaml"]) == {"samples": ["S1", "S2"]}
    # and RunTask got the attempt's identity, token, overrides, tags and the template's network
    [call] = run_task
    assert call["startedBy"] == f"{LAUNCH_ID}/a1"
    assert call["clientToken"] == hashlib.sha256(f"{LAUNCH_ID}:1".encode()).hexdigest()[:64]
    assert call["cluster"] == genomics.cluster_arn
    assert call["launchType"] == "FARGATE"
    assert "capacityProviderStrategy" not in call
    assert call["networkConfiguration"]["awsvpcConfiguration"] == {
        "subnets": [genomics.network.subnet_id],
        "securityGroups": [genomics.network.security_group_id],
        "assignPublicIp": "DISABLED",
    }
    [override] = call["overrides"]["containerOverrides"]
    assert override["name"] == "head"
    assert override["command"][:2] == ["sh", "-c"]
    assert "--executor aws-batch" in override["command"][2]
    environment = {pair["name"]: pair["value"] for pair in override["environment"]}
    assert environment["BLUEPRINTS_LAUNCH_ID"] == LAUNCH_ID
    assert [pair["name"] for pair in override["environment"]] == sorted(environment)
    assert call["tags"] == [{"key": "launch_id", "value": LAUNCH_ID}, {"key": "attempt", "value": "1"}]
    assert call["propagateTags"] == "TASK_DEFINITION"
    assert task["startedBy"] == f"{LAUNCH_ID}/a1"


def test_a_duplicate_record_is_skipped_and_starts_nothing(genomics: Genomics) -> None:
    # Given a launch whose INSERT record was handled once
    run_task = record_calls(aws.client("ecs"), "RunTask")
    change = insert(genomics)
    first = launcher(genomics).handle(change)

    # When the same record is delivered again (a stream retry)
    second = launcher(genomics).handle(change)

    # Then the claim fails and there is still exactly one task
    assert (first, second) == (Outcome.STARTED, Outcome.DUPLICATE)
    assert len(run_task) == 1
    assert len(genomics.tasks()) == 1


def test_fargate_spot_is_asked_for_by_capacity_provider(genomics: Genomics) -> None:
    run_task = record_calls(aws.client("ecs"), "RunTask")

    launcher(genomics, FARGATE_CAPACITY_PROVIDER="FARGATE_SPOT").handle(insert(genomics))

    [call] = run_task
    assert call["capacityProviderStrategy"] == [{"capacityProvider": "FARGATE_SPOT", "weight": 1}]
    assert "launchType" not in call


@pytest.mark.parametrize(
    ("event_name", "status", "old_status"),
    [
        ("MODIFY", "LAUNCHING", "REGISTERED"),
        ("MODIFY", "REGISTERED", "WAITING"),  # a released restore claim: the INSERT is retried instead
        ("INSERT", "READY", None),
        ("MODIFY", "FAILED", "RUNNING"),
        ("REMOVE", "REGISTERED", "REGISTERED"),
    ],
)
def test_records_that_are_not_launchable_are_ignored(
    genomics: Genomics, event_name: str, status: str, old_status: str | None
) -> None:
    change = LaunchChange(event_name, {**registered(), "status": status}, old_status)

    assert launcher(genomics).handle(change) is Outcome.IGNORED
    assert genomics.items() == []


# --- required parameters and unreadable configurations ---------------------------------------------------


def test_a_launch_without_its_configuration_path_fails_with_missing_parameters(genomics: Genomics) -> None:
    values = registered()
    del values["config_s3_uri"]

    outcome = launcher(genomics).handle(insert(genomics, values))

    assert outcome is Outcome.FAILED
    item = genomics.item(LAUNCH_ID)
    assert (item["status"], item["error_code"]) == ("FAILED", "MissingRequiredParametersError")
    assert item["error_message"] == "missing required parameters: config_s3_uri"
    assert item["log_scan"] == "NOT_APPLICABLE"
    assert genomics.tasks() == []


@pytest.mark.parametrize(
    ("reply", "code"),
    [
        (None, "NoSuchKey"),  # moto answers 404 itself
        (Reply.error("AccessDenied", "Access Denied", 403), "AccessDenied"),
        (Reply.error("NoSuchBucket", "The specified bucket does not exist", 404), "NoSuchBucket"),
    ],
)
def test_an_unreadable_configuration_fails_with_missing_parameters_and_no_retry(
    genomics: Genomics, reply: Reply | None, code: str
) -> None:
    # Given a launch whose sheet is missing or forbidden
    values = registered(document(config_s3_uri=f"s3://{DATA_BUCKET}/cohort7/missing.csv"))
    if reply is not None:
        Script(aws.client("s3"), "GetObject", [reply])

    # When it is launched, it ends FAILED at once (returned, not raised: the stream does not retry)
    outcome = launcher(genomics).handle(insert(genomics, values))

    assert outcome is Outcome.FAILED
    item = genomics.item(LAUNCH_ID)
    assert (item["status"], item["error_code"]) == ("FAILED", "MissingRequiredParametersError")
    assert item["error_message"] == (
        f"configuration s3://{DATA_BUCKET}/cohort7/missing.csv cannot be read ({code})"
    )
    assert genomics.tasks() == []


def test_an_empty_data_path_fails_with_missing_parameters(genomics: Genomics) -> None:
    values = registered(document(s3_data_path=f"s3://{DATA_BUCKET}/cohort9/"))

    outcome = launcher(genomics).handle(insert(genomics, values))

    assert outcome is Outcome.FAILED
    item = genomics.item(LAUNCH_ID)
    assert item["error_code"] == "MissingRequiredParametersError"
    assert item["error_message"] == f"data path s3://{DATA_BUCKET}/cohort9/ holds no objects"


def parked(genomics: Genomics, status: str = "REGISTERED", *, tries: int = 1) -> dict[str, Any]:
    """Assert the launch is parked in ``status`` after ``tries`` transient start failures; returns it."""
    item = genomics.item(LAUNCH_ID)
    assert (item["status"], item["start_tries"]) == (status, tries)
    assert item["next_try_at"] > item["updated_at"]
    return item


def redriven(genomics: Genomics, old: dict[str, Any]) -> LaunchChange:
    """What the stuck check does once ``next_try_at`` has passed; returns the MODIFY record it causes."""
    moved = genomics.registry().update(
        LAUNCH_ID,
        attempt=old["attempt"],
        status=Status(old["status"]),
        now=wiring.utc_now(),
        remove=("next_try_at",),
        expect={"next_try_at": old["next_try_at"]},
    )
    assert moved is not None
    return modify(genomics, LAUNCH_ID, old)


def test_a_server_error_reading_the_configuration_parks_the_launch(genomics: Genomics) -> None:
    # Given S3 answering 500 to the configuration read
    Script(
        aws.client("s3"), "GetObject", [Reply.error("InternalError", "We encountered an internal error", 500)]
    )
    change = insert(genomics)

    # When the launcher handles the record, it is done with it (the stream does not retry it)
    assert launcher(genomics).handle(change) is Outcome.DEFERRED

    # Then the claim is given back with the try counted, the reason and the time of the next try
    item = parked(genomics)
    assert item["attempt"] == 1
    assert item["last_start_error"] == (
        f"InternalError: configuration {SHEET_URI}: An error occurred (InternalError) when calling the "
        "GetObject operation: We encountered an internal error"
    )
    assert [entry["status"] for entry in item["status_history"]] == ["REGISTERED", "LAUNCHING", "REGISTERED"]
    # and its own MODIFY record is not taken by the launcher; the re-drive record launches it
    assert launcher(genomics).handle(modify(genomics, LAUNCH_ID, item)) is Outcome.IGNORED
    assert launcher(genomics).handle(redriven(genomics, item)) is Outcome.STARTED
    started = genomics.item(LAUNCH_ID)
    assert (started["status"], started["start_tries"]) == ("LAUNCHING", 1)
    assert "next_try_at" not in started


@pytest.mark.parametrize(
    ("restore_check", "history"),
    [(False, ["REGISTERED", "LAUNCHING", "REGISTERED"]), (True, ["REGISTERED"])],  # checked before the claim
)
def test_a_listing_error_of_the_data_path_parks_the_launch(
    genomics: Genomics, restore_check: bool, history: list[str]
) -> None:
    Script(
        aws.client("s3"), "ListObjectsV2", [Reply.error("SlowDown", "Please reduce your request rate", 503)]
    )

    outcome = launcher(genomics).handle(insert(genomics, registered(restore_check=restore_check)))

    assert outcome is Outcome.DEFERRED
    item = parked(genomics)
    assert item["last_start_error"].startswith("SlowDown: ")
    assert [entry["status"] for entry in item["status_history"]] == history


def test_throttled_starts_are_retried_a_bounded_number_of_times_then_fail(genomics: Genomics) -> None:
    # Given RunTask throttled on every try, and the template's limit of tries
    built = launcher(genomics)
    limit = built.config.max_start_tries
    Script(aws.client("ecs"), "RunTask", [Reply.error("ThrottlingException", "Rate exceeded")] * limit)

    # When the launch is handled, and re-driven each time its next try is due
    outcomes = [built.handle(insert(genomics))]
    while outcomes[-1] is Outcome.DEFERRED:
        outcomes.append(built.handle(redriven(genomics, genomics.item(LAUNCH_ID))))

    # Then it was tried `limit` times, with growing waits, and ended FAILED with the last reason
    assert outcomes == [Outcome.DEFERRED] * (limit - 1) + [Outcome.FAILED]
    item = genomics.item(LAUNCH_ID)
    assert (item["status"], item["error_code"], item["start_tries"]) == (
        "FAILED",
        "StartRetriesExhausted",
        limit,
    )
    assert item["error_message"] == (
        f"compute did not start after {limit} tries; last error ThrottlingException: Rate exceeded"
    )
    assert "next_try_at" not in item
    # and the history stays bounded: one claim and one release per try
    assert len(item["status_history"]) == 1 + 2 * limit
    assert genomics.tasks() == []


def test_a_start_that_succeeds_on_a_later_try_runs(genomics: Genomics) -> None:
    Script(aws.client("ecs"), "RunTask", [Reply.error("ThrottlingException", "Rate exceeded")] * 2)
    built = launcher(genomics)

    outcomes = [built.handle(insert(genomics))]
    outcomes.append(built.handle(redriven(genomics, parked(genomics, tries=1))))
    outcomes.append(built.handle(redriven(genomics, parked(genomics, tries=2))))

    assert outcomes == [Outcome.DEFERRED, Outcome.DEFERRED, Outcome.STARTED]
    item = genomics.item(LAUNCH_ID)
    assert (item["status"], item["start_tries"], item["attempt"]) == ("LAUNCHING", 2, 1)
    assert len(genomics.tasks()) == 1


@pytest.mark.parametrize(
    ("tries", "jitter", "seconds"),
    [(1, 0.0, 30), (1, 1.0, 60), (2, 0.5, 90), (3, 0.0, 120), (10, 0.0, 900), (10, 1.0, 1800)],
)
def test_the_backoff_doubles_per_try_with_jitter_up_to_the_cap(
    tries: int, jitter: float, seconds: int
) -> None:
    # Given a 60 s base and a 30 min cap: half the wait is sure, the other half scaled by the jitter
    assert retry_delay(tries, 60, 1800, jitter).total_seconds() == seconds


def test_each_park_waits_longer(genomics: Genomics) -> None:
    # Given a launcher without jitter (the wait's random half is zero)
    Script(aws.client("ecs"), "RunTask", [Reply.error("ThrottlingException", "Rate exceeded")] * 2)
    built = launcher(genomics)
    built.jitter = lambda: 0.0
    built.now = lambda: NOW

    built.handle(insert(genomics))
    first = parked(genomics, tries=1)
    built.handle(redriven(genomics, first))
    second = parked(genomics, tries=2)

    def wait(item: dict[str, Any]) -> float:
        due, parked_at = (datetime.fromisoformat(item[name]) for name in ("next_try_at", "updated_at"))
        return (due - parked_at).total_seconds()

    assert (wait(first), wait(second)) == (30, 60)


def test_a_listing_cut_short_records_the_partial_size(genomics: Genomics) -> None:
    # Given a data path listed in two pages and a listing budget already spent after the first
    ticks = iter([0.0, 100.0])
    built = launcher(genomics)
    built.storage = LaunchStorage(monotonic=lambda: next(ticks))
    Script(
        aws.client("s3"),
        "ListObjectsV2",
        [
            Reply.ok(
                {
                    "Contents": [{"Key": "cohort7/reads/S1.fastq.gz", "Size": 700}],
                    "IsTruncated": True,
                    "NextContinuationToken": "page-2",
                }
            )
        ],
    )

    # When the launch starts
    assert built.handle(insert(genomics)) is Outcome.STARTED

    # Then the partial sum is stored and marked partial
    item = genomics.item(LAUNCH_ID)
    assert (item["input_size_bytes"], item["input_objects"], item["input_size_partial"]) == (700, 1, True)


# --- archived inputs -----------------------------------------------------------------------------------

ARCHIVED_PATH = f"s3://{DATA_BUCKET}/cohort8/"


def archived_launch() -> dict[str, Any]:
    return registered(document(s3_data_path=ARCHIVED_PATH), restore_check=True)


def test_archived_inputs_send_the_launch_to_the_restore_flow_and_start_nothing(genomics: Genomics) -> None:
    # Given a launch with restore checking on whose inputs are in Glacier
    change = insert(genomics, archived_launch())

    # When the launcher handles it
    outcome = launcher(genomics).handle(change)

    # Then it WAITS, with the restore request written for the restore flow
    assert outcome is Outcome.WAITING
    item = genomics.item(LAUNCH_ID)
    uri = f"s3://{REQUEST_BUCKET}/restore/{LAUNCH_ID}.json"
    assert (item["status"], item["restore_request_uri"]) == ("WAITING", uri)
    assert (item["input_size_bytes"], item["input_objects"]) == (
        sum(len(body) for body in ARCHIVED_OBJECTS.values()),
        2,
    )
    request = json.loads(genomics.objects(REQUEST_BUCKET, "restore/")[f"restore/{LAUNCH_ID}.json"])
    assert request == {
        "launch_id": LAUNCH_ID,
        "s3_urls": [ARCHIVED_PATH],
        "tier": genomics.use_function("launch_workflow")["RESTORE_TIER"],
        "days": int(genomics.use_function("launch_workflow")["RESTORE_DAYS"]),
        "deadline_hours": int(genomics.use_function("launch_workflow")["RESTORE_DEADLINE_HOURS"]),
        "attempt": 1,
    }
    # and nothing was started or staged
    assert genomics.tasks() == []
    assert genomics.objects(REQUEST_BUCKET, "artifacts/") == {}


def test_restore_checking_without_archived_inputs_launches_at_once(genomics: Genomics) -> None:
    listings = record_calls(aws.client("s3"), "ListObjectsV2")

    outcome = launcher(genomics).handle(insert(genomics, registered(restore_check=True)))

    assert outcome is Outcome.STARTED
    assert genomics.item(LAUNCH_ID)["status"] == "LAUNCHING"
    assert genomics.objects(REQUEST_BUCKET, "restore/") == {}
    assert len(listings) == 1  # the data path is listed once, for both questions


def test_restore_checking_an_empty_data_path_fails_before_any_claim(genomics: Genomics) -> None:
    values = registered(document(s3_data_path=f"s3://{DATA_BUCKET}/cohort9/"), restore_check=True)

    outcome = launcher(genomics).handle(insert(genomics, values))

    assert outcome is Outcome.FAILED
    item = genomics.item(LAUNCH_ID)
    assert (item["status"], item["error_code"]) == ("FAILED", "MissingRequiredParametersError")
    assert [entry["status"] for entry in item["status_history"]] == ["REGISTERED", "FAILED"]


def test_a_failed_restore_request_gives_the_launch_back(genomics: Genomics) -> None:
    Script(aws.client("s3"), "PutObject", [Reply.error("InternalError", "boom", 500)])
    change = insert(genomics, archived_launch())

    assert launcher(genomics).handle(change) is Outcome.DEFERRED

    item = parked(genomics)
    assert "restore/" in item["last_start_error"]
    assert "restore_request_uri" not in item
    assert genomics.objects(REQUEST_BUCKET, "restore/") == {}


def test_a_retry_after_a_failed_restore_restores_again_then_launches_its_attempt(genomics: Genomics) -> None:
    # Given an archived launch whose restore timed out (attempt 1 FAILED while WAITING)
    launcher(genomics).handle(insert(genomics, archived_launch()))
    registry = genomics.registry()
    registry.transition(
        LAUNCH_ID,
        attempt=1,
        sources={Status.WAITING},
        target=Status.FAILED,
        now=wiring.utc_now(),
        set_values={"error_code": "RestoreTimeout", "error_message": "restore deadline passed"},
    )
    change = request_retry(genomics, genomics.item(LAUNCH_ID))

    # When the retry is handled
    outcome = launcher(genomics).handle(change)

    # Then attempt 2 WAITs again, with the restore request written anew for attempt 2, and nothing runs
    assert outcome is Outcome.WAITING
    item = genomics.item(LAUNCH_ID)
    assert (item["status"], item["attempt"]) == ("WAITING", 2)
    assert "error_code" not in item
    request = json.loads(genomics.objects(REQUEST_BUCKET, "restore/")[f"restore/{LAUNCH_ID}.json"])
    assert (request["launch_id"], request["attempt"]) == (LAUNCH_ID, 2)
    assert genomics.tasks() == []
    # and once the restore flow sets attempt 2 READY, attempt 2 is launched once
    waiting = genomics.item(LAUNCH_ID)
    assert registry.transition(
        LAUNCH_ID, attempt=2, sources={Status.WAITING}, target=Status.READY, now=wiring.utc_now()
    )
    ready = modify(genomics, LAUNCH_ID, waiting)
    assert [launcher(genomics).handle(ready) for _ in range(2)] == [Outcome.STARTED, Outcome.DUPLICATE]
    [task] = genomics.tasks()
    assert task["startedBy"] == f"{LAUNCH_ID}/a2"


def test_a_retry_whose_restore_request_cannot_be_written_is_parked_at_its_attempt(genomics: Genomics) -> None:
    # Given a failed archived launch, a retry request, and S3 refusing the restore request once
    launcher(genomics).handle(insert(genomics, archived_launch()))
    genomics.registry().transition(
        LAUNCH_ID, attempt=1, sources={Status.WAITING}, target=Status.FAILED, now=wiring.utc_now()
    )
    change = request_retry(genomics, genomics.item(LAUNCH_ID))
    Script(aws.client("s3"), "PutObject", [Reply.error("InternalError", "boom", 500)])

    assert launcher(genomics).handle(change) is Outcome.DEFERRED

    # Then the retry request is back at attempt 2 (prepared), and its re-drive WAITs at attempt 2
    item = parked(genomics, "RETRY_REQUESTED")
    assert (item["attempt"], item["retry_prepared"]) == (2, 2)
    assert launcher(genomics).handle(redriven(genomics, item)) is Outcome.WAITING
    waiting = genomics.item(LAUNCH_ID)
    assert (waiting["status"], waiting["attempt"]) == ("WAITING", 2)
    request = json.loads(genomics.objects(REQUEST_BUCKET, "restore/")[f"restore/{LAUNCH_ID}.json"])
    assert request["attempt"] == 2


def test_a_retry_whose_input_listing_fails_is_parked_before_its_new_attempt(genomics: Genomics) -> None:
    # Given a failed archived launch, a retry request, and S3 slowing down the listing (before any claim)
    launcher(genomics).handle(insert(genomics, archived_launch()))
    genomics.registry().transition(
        LAUNCH_ID, attempt=1, sources={Status.WAITING}, target=Status.FAILED, now=wiring.utc_now()
    )
    change = request_retry(genomics, genomics.item(LAUNCH_ID))
    Script(
        aws.client("s3"), "ListObjectsV2", [Reply.error("SlowDown", "Please reduce your request rate", 503)]
    )

    assert launcher(genomics).handle(change) is Outcome.DEFERRED

    # Then the retry request waits at attempt 1, not prepared, and its re-drive starts attempt 2 once
    item = parked(genomics, "RETRY_REQUESTED")
    assert item["attempt"] == 1
    assert "retry_prepared" not in item
    assert launcher(genomics).handle(redriven(genomics, item)) is Outcome.WAITING
    waiting = genomics.item(LAUNCH_ID)
    assert (waiting["status"], waiting["attempt"]) == ("WAITING", 2)
    assert [summary["attempt"] for summary in waiting["attempt_history"]] == [1]


def test_ready_after_restore_launches_once(genomics: Genomics) -> None:
    # Given a launch that waited and was set READY by the restore flow
    launcher(genomics).handle(insert(genomics, archived_launch()))
    waiting = genomics.item(LAUNCH_ID)
    genomics.registry().transition(
        LAUNCH_ID, attempt=1, sources={Status.WAITING}, target=Status.READY, now=wiring.utc_now()
    )
    ready = modify(genomics, LAUNCH_ID, waiting)

    # When the READY record arrives (twice)
    outcomes = [launcher(genomics).handle(ready), launcher(genomics).handle(ready)]

    # Then it is launched once
    assert outcomes == [Outcome.STARTED, Outcome.DUPLICATE]
    assert genomics.item(LAUNCH_ID)["status"] == "LAUNCHING"
    assert len(genomics.tasks()) == 1


# --- retries -----------------------------------------------------------------------------------------------


def test_a_retry_from_failed_starts_attempt_2_with_a_new_token(genomics: Genomics) -> None:
    # Given attempt 1 failed and a retry was requested
    run_task = record_calls(aws.client("ecs"), "RunTask")
    failed = failed_first_attempt(genomics)
    change = request_retry(genomics, failed)

    # When the RETRY_REQUESTED record is handled
    outcome = launcher(genomics).handle(change)

    # Then attempt 2 runs with its own identity and client token
    assert outcome is Outcome.STARTED
    first, second = run_task
    assert (second["startedBy"], first["startedBy"]) == (f"{LAUNCH_ID}/a2", f"{LAUNCH_ID}/a1")
    assert second["clientToken"] == client_token(LAUNCH_ID, 2) != first["clientToken"]
    assert {"key": "attempt", "value": "2"} in second["tags"]
    assert len(genomics.tasks()) == 2
    # and the item is attempt 2, the first attempt summarised, its facts gone
    item = genomics.item(LAUNCH_ID)
    assert (item["status"], item["attempt"]) == ("LAUNCHING", 2)
    assert item["attempt_history"] == [
        {
            "attempt": 1,
            "error_code": "OutOfMemoryError",
            "task_arn": failed["task_arn"],
            "batch_job_ids": [],
            "ended_at": failed["updated_at"],
        }
    ]
    assert item["task_arn"] != failed["task_arn"]
    assert not {"error_code", "error_message", "log_scan"} & set(item)
    assert item["artifacts_uri"].endswith(f"/{LAUNCH_ID}/a2/")
    assert f"artifacts/launches/{LAUNCH_ID}/a2/Snakefile" in genomics.objects(REQUEST_BUCKET, "artifacts/")


def test_an_attempt_without_history_ended_when_it_was_last_updated(genomics: Genomics) -> None:
    # Given a failed attempt stored without status history (an item older than the history)
    failed_first_attempt(genomics)
    client("dynamodb").update_item(
        TableName=genomics.table_name,
        Key={"launch_id": {"S": LAUNCH_ID}},
        UpdateExpression="REMOVE status_history",
    )
    change = request_retry(genomics, genomics.item(LAUNCH_ID))

    launcher(genomics).handle(change)

    # Then the summary's end is the last update of the attempt (here: the retry request)
    [summary] = genomics.item(LAUNCH_ID)["attempt_history"]
    assert summary["ended_at"] == change.new["updated_at"]


def test_every_attempt_field_is_cleared_on_a_retry(genomics: Genomics) -> None:
    failed = failed_first_attempt(genomics)
    genomics.registry().update(
        LAUNCH_ID,
        attempt=1,
        status=Status.FAILED,
        now=wiring.utc_now(),
        # (next_try_at aside: an item that has it is parked, and its record is not the launcher's)
        set_values={name: "stale" for name in ATTEMPT_FIELDS if name not in failed and name != "next_try_at"},
    )
    change = request_retry(genomics, genomics.item(LAUNCH_ID))
    Script(aws.client("ecs"), "RunTask", [Reply.error("ClientException", "stop here")])

    launcher(genomics).handle(change)

    item = genomics.item(LAUNCH_ID)
    assert item["attempt"] == 2
    assert {name for name in ATTEMPT_FIELDS if item.get(name) == "stale"} == set()


def test_a_transient_failure_of_a_retry_parks_the_new_attempt(genomics: Genomics) -> None:
    failed = failed_first_attempt(genomics)
    change = request_retry(genomics, failed)
    Script(aws.client("ecs"), "RunTask", [Reply.error("ThrottlingException", "Rate exceeded")])

    assert launcher(genomics).handle(change) is Outcome.DEFERRED

    # Then the retry request is given back at attempt 2, prepared (summarised once)
    item = parked(genomics, "RETRY_REQUESTED")
    assert (item["attempt"], item["retry_prepared"]) == (2, 2)
    assert [summary["attempt"] for summary in item["attempt_history"]] == [1]
    # and the redelivered record (attempt 1) is stale, while the re-drive starts attempt 2 once
    assert launcher(genomics).handle(change) is Outcome.DUPLICATE
    again = redriven(genomics, item)
    assert launcher(genomics).handle(again) is Outcome.STARTED
    assert launcher(genomics).handle(again) is Outcome.DUPLICATE
    started = genomics.item(LAUNCH_ID)
    assert (started["status"], started["attempt"]) == ("LAUNCHING", 2)
    assert "retry_prepared" not in started
    assert [summary["attempt"] for summary in started["attempt_history"]] == [1]
    assert len(genomics.tasks()) == 2


def console_edit(genomics: Genomics, status: str) -> None:
    """Set the status by hand, as scientists did in the console (no condition, no history)."""
    boto3.client("dynamodb", region_name=REGION).update_item(
        TableName=genomics.table_name,
        Key={"launch_id": {"S": LAUNCH_ID}},
        UpdateExpression="SET #s = :s",
        ExpressionAttributeNames={"#s": "status"},
        ExpressionAttributeValues={":s": {"S": status}},
    )


@pytest.mark.parametrize("previous", ["LAUNCHING", "RUNNING", "COMPLETE"])
def test_a_retry_requested_before_the_run_ended_is_undone_with_a_reason(
    genomics: Genomics, previous: str
) -> None:
    # Given a started launch in `previous`, edited to RETRY_REQUESTED by hand
    launcher(genomics).handle(insert(genomics))
    registry = genomics.registry()
    if previous != "LAUNCHING":
        registry.transition(
            LAUNCH_ID, attempt=1, sources={Status.LAUNCHING}, target=Status(previous), now=wiring.utc_now()
        )
    before = genomics.item(LAUNCH_ID)
    console_edit(genomics, "RETRY_REQUESTED")

    # When its record arrives
    outcome = launcher(genomics).handle(modify(genomics, LAUNCH_ID, before))

    # Then nothing starts, the previous status is back (so trackers can move it again), and the item says why
    assert outcome is Outcome.IGNORED
    item = genomics.item(LAUNCH_ID)
    assert (item["status"], item["status_rank"], item["attempt"]) == (previous, before["status_rank"], 1)
    assert item["error_message"] == (
        f"a retry is possible only after the run ended (FAILED); the launch was {previous}, "
        "so the retry request was undone"
    )
    assert item["status_history"] == before["status_history"]
    assert len(genomics.tasks()) == 1
    # and a tracker can finish the run
    if previous != "COMPLETE":
        done = registry.transition(
            LAUNCH_ID, attempt=1, sources={Status(previous)}, target=Status.COMPLETE, now=wiring.utc_now()
        )
        assert done is not None


def test_an_undo_does_not_overwrite_a_later_edit(genomics: Genomics) -> None:
    # Given a RUNNING launch edited to RETRY_REQUESTED, then to FAILED, before the first record is handled
    launcher(genomics).handle(insert(genomics))
    genomics.registry().transition(
        LAUNCH_ID, attempt=1, sources={Status.LAUNCHING}, target=Status.RUNNING, now=wiring.utc_now()
    )
    running = genomics.item(LAUNCH_ID)
    console_edit(genomics, "RETRY_REQUESTED")
    change = modify(genomics, LAUNCH_ID, running)
    console_edit(genomics, "FAILED")

    assert launcher(genomics).handle(change) is Outcome.IGNORED

    assert genomics.item(LAUNCH_ID)["status"] == "FAILED"


# --- compute failures ------------------------------------------------------------------------------------


def test_runtask_capacity_failures_are_transient(genomics: Genomics) -> None:
    # Given RunTask answering with failures[] (nothing started) for lack of memory
    Script(
        aws.client("ecs"),
        "RunTask",
        [Reply.ok({"tasks": [], "failures": [{"arn": "arn:aws:ecs:cluster", "reason": "RESOURCE:MEMORY"}]})],
    )
    change = insert(genomics)

    assert launcher(genomics).handle(change) is Outcome.DEFERRED

    # Then the claim is parked for a later try, and no task is left running
    assert parked(genomics)["last_start_error"].startswith("RESOURCE:MEMORY: ")
    assert genomics.tasks() == []


def test_runtask_without_tasks_or_failures_is_transient(genomics: Genomics) -> None:
    Script(aws.client("ecs"), "RunTask", [Reply.ok({"tasks": [], "failures": []})])

    assert launcher(genomics).handle(insert(genomics)) is Outcome.DEFERRED

    assert parked(genomics)["last_start_error"].startswith("EmptyFailure: ")


def test_a_runtask_client_exception_fails_the_launch(genomics: Genomics) -> None:
    Script(aws.client("ecs"), "RunTask", [Reply.error("ClientException", "TaskDefinition is inactive")])

    outcome = launcher(genomics).handle(insert(genomics))

    assert outcome is Outcome.FAILED
    item = genomics.item(LAUNCH_ID)
    assert (item["status"], item["error_code"]) == ("FAILED", "ClientException")
    assert item["error_message"] == "TaskDefinition is inactive"


def test_a_container_program_the_deployment_does_not_allow_fails_the_launch(genomics: Genomics) -> None:
    # Given a deployment whose ContainerCommands allows only run-qc, and a container launch of a shell
    values = registered(document(workflow_type="container", parameters={"command": ["sh", "-c", "env"]}))
    run_task = record_calls(aws.client("ecs"), "RunTask")

    # When the launcher handles it
    outcome = launcher(genomics, CONTAINER_COMMANDS="run-qc").handle(insert(genomics, values))

    # Then it fails with the reason and no task runs
    assert outcome is Outcome.FAILED
    item = genomics.item(LAUNCH_ID)
    assert (item["status"], item["error_code"]) == ("FAILED", "InvalidLaunchConfigError")
    assert (
        item["error_message"] == "parameters.command: 'sh' is not a program this deployment allows (run-qc)"
    )
    assert run_task == []


def test_an_invalid_engine_parameter_fails_the_launch(genomics: Genomics) -> None:
    values = registered(document(parameters={"jobs": 0}))

    outcome = launcher(genomics).handle(insert(genomics, values))

    assert outcome is Outcome.FAILED
    item = genomics.item(LAUNCH_ID)
    assert (item["status"], item["error_code"]) == ("FAILED", "InvalidLaunchConfigError")
    assert item["error_message"] == "parameters: jobs: Input should be greater than or equal to 1"
    assert genomics.objects(REQUEST_BUCKET, "artifacts/") == {}


def test_an_artifact_write_failure_is_transient(genomics: Genomics) -> None:
    Script(aws.client("s3"), "PutObject", [Reply.error("InternalError", "boom", 500)])

    assert launcher(genomics).handle(insert(genomics)) is Outcome.DEFERRED

    assert re.search(r"Snakefile|config\.yaml", parked(genomics)["last_start_error"])


# --- AWS Batch -------------------------------------------------------------------------------------------


def batch_launch(launch_id: str = LAUNCH_ID) -> dict[str, Any]:
    return registered(document(launch_id=launch_id, compute_service="batch"))


def test_a_batch_launch_submits_one_job_named_after_the_attempt(genomics: Genomics) -> None:
    submit = record_calls(aws.client("batch"), "SubmitJob")

    outcome = launcher(genomics).handle(insert(genomics, batch_launch()))

    assert outcome is Outcome.STARTED
    [call] = submit
    assert call["jobName"] == f"{LAUNCH_ID}-a1"
    assert call["jobQueue"] == genomics.job_queue_arn
    assert call["jobDefinition"] == genomics.stack.ref("SnakemakeV8JobDefinition")
    assert call["tags"] == {"launch_id": LAUNCH_ID, "attempt": "1"}
    assert call["propagateTags"] is True
    assert call["containerOverrides"]["command"][:2] == ["sh", "-c"]
    [job] = genomics.jobs()
    item = genomics.item(LAUNCH_ID)
    assert item["batch_job_ids"] == [job["jobId"]]
    assert item["log_group"] == BATCH_LOG_GROUP
    assert "task_arn" not in item


def test_an_existing_job_with_the_attempts_name_is_reused(genomics: Genomics) -> None:
    # Given a job of this attempt already in the queue (an earlier delivery submitted it, then died)
    existing = boto3.client("batch", region_name=REGION).submit_job(
        jobName=f"{LAUNCH_ID}-a1",
        jobQueue=genomics.job_queue_arn,
        jobDefinition=genomics.stack.ref("SnakemakeV8JobDefinition"),
    )["jobId"]
    submit = record_calls(aws.client("batch"), "SubmitJob")

    # When the launch starts
    launcher(genomics).handle(insert(genomics, batch_launch()))

    # Then no second job is submitted; the existing one is recorded
    assert submit == []
    assert genomics.item(LAUNCH_ID)["batch_job_ids"] == [existing]
    assert len(genomics.jobs()) == 1


def test_a_batch_error_is_classified(genomics: Genomics) -> None:
    Script(aws.client("batch"), "ListJobs", [Reply.error("ClientException", "job queue disabled")])

    assert launcher(genomics).handle(insert(genomics, batch_launch())) is Outcome.FAILED
    assert genomics.item(LAUNCH_ID)["error_code"] == "ClientException"


def test_a_batch_launch_without_job_definitions_fails(genomics: Genomics) -> None:
    outcome = launcher(genomics, JOB_DEFINITIONS="{}").handle(insert(genomics, batch_launch()))

    assert outcome is Outcome.FAILED
    item = genomics.item(LAUNCH_ID)
    assert item["error_code"] == "DefinitionNotConfigured"
    assert item["error_message"] == "no batch definition is configured for snakemake8"


# --- Step Functions (regenie) ----------------------------------------------------------------------------


def regenie_launch() -> dict[str, Any]:
    return registered(document(workflow_type="regenie", parameters={"phenotypes": ["bmi"]}))


def test_a_regenie_launch_starts_one_execution_named_after_the_attempt(genomics: Genomics) -> None:
    outcome = launcher(genomics).handle(insert(genomics, regenie_launch()))

    assert outcome is Outcome.STARTED
    sfn = boto3.client("stepfunctions", region_name=REGION)
    [execution] = sfn.list_executions(stateMachineArn=genomics.regenie_state_machine_arn)["executions"]
    assert execution["name"] == f"{LAUNCH_ID}-a1"
    assert genomics.item(LAUNCH_ID)["sfn_execution_arn"] == execution["executionArn"]
    started = json.loads(sfn.describe_execution(executionArn=execution["executionArn"])["input"])
    assert (started["launch_id"], started["attempt"], started["parameters"]) == (
        LAUNCH_ID,
        1,
        {"phenotypes": ["bmi"]},
    )


def test_an_execution_that_already_exists_counts_as_started(genomics: Genomics) -> None:
    sfn = boto3.client("stepfunctions", region_name=REGION)
    existing = sfn.start_execution(
        stateMachineArn=genomics.regenie_state_machine_arn, name=f"{LAUNCH_ID}-a1", input='{"other": 1}'
    )["executionArn"]

    outcome = launcher(genomics).handle(insert(genomics, regenie_launch()))

    assert outcome is Outcome.STARTED
    assert genomics.item(LAUNCH_ID)["sfn_execution_arn"] == existing
    assert len(sfn.list_executions(stateMachineArn=genomics.regenie_state_machine_arn)["executions"]) == 1


def test_a_regenie_launch_without_the_pipeline_fails(genomics: Genomics) -> None:
    outcome = launcher(genomics, REGENIE_STATE_MACHINE_ARN="").handle(insert(genomics, regenie_launch()))

    assert outcome is Outcome.FAILED
    assert genomics.item(LAUNCH_ID)["error_code"] == "PipelineNotDeployed"


def test_a_step_functions_throttle_is_transient(genomics: Genomics) -> None:
    Script(aws.client("stepfunctions"), "StartExecution", [Reply.error("ThrottlingException", "slow down")])

    assert launcher(genomics).handle(insert(genomics, regenie_launch())) is Outcome.DEFERRED

    assert parked(genomics)["last_start_error"] == "ThrottlingException: slow down"


# --- ParallelCluster ---------------------------------------------------------------------------------------


def cluster_launch() -> dict[str, Any]:
    return registered(document(compute_service="parallelcluster", environment={"THREADS": "it's 8"}))


def test_parallelcluster_not_configured_fails_the_launch(genomics: Genomics) -> None:
    outcome = launcher(genomics).handle(insert(genomics, cluster_launch()))

    assert outcome is Outcome.FAILED
    item = genomics.item(LAUNCH_ID)
    assert (item["error_code"], item["error_message"]) == (
        "ParallelClusterNotConfigured",
        "no ParallelCluster head node is configured",
    )


def test_a_parallelcluster_launch_sends_one_command_to_the_head_node(genomics: Genomics) -> None:
    head_node = "i-0123456789abcdef0"
    send = record_calls(aws.client("ssm"), "SendCommand")
    built = launcher(genomics, PARALLELCLUSTER_HEAD_NODE_ID=head_node)

    outcome = built.handle(insert(genomics, cluster_launch()))

    assert outcome is Outcome.STARTED
    [call] = send
    assert call["InstanceIds"] == [head_node]
    assert call["Comment"] == client_token(LAUNCH_ID, 1)
    commands = call["Parameters"]["commands"]
    assert "export THREADS='it'\"'\"'s 8'" in commands
    assert commands[-1].startswith("sh -c ")
    assert "--executor slurm" in commands[-1]
    item = genomics.item(LAUNCH_ID)
    assert item["log_group"] == genomics.head_log_group
    # and starting the same attempt again finds the command instead of sending another
    launch = genomics.launch(LAUNCH_ID)
    plan_runner = built.runners["parallelcluster"]
    again = plan_runner.start(launch, build(launch, context(compute="parallelcluster")), "")
    assert again.values["ssm_command_id"] == item["ssm_command_id"]
    assert len(send) == 1


def test_an_ssm_error_is_classified(genomics: Genomics) -> None:
    Script(aws.client("ssm"), "ListCommands", [Reply.error("ThrottlingException", "slow")])
    built = launcher(genomics, PARALLELCLUSTER_HEAD_NODE_ID="i-0123456789abcdef0")

    assert built.handle(insert(genomics, cluster_launch())) is Outcome.DEFERRED
    assert parked(genomics)["last_start_error"] == "ThrottlingException: slow"


def test_a_launch_without_parameters_starts_with_the_engines_defaults(genomics: Genomics) -> None:
    run_task = record_calls(aws.client("ecs"), "RunTask")
    values = registered(document(parameters=DELETE))

    assert launcher(genomics).handle(insert(genomics, values)) is Outcome.STARTED
    [call] = run_task
    assert "snakemake --jobs 50 --retries 3 " in call["overrides"]["containerOverrides"][0]["command"][2]


class FakeSsm:
    """An SSM client that remembers SendCommand (no command was sent before)."""

    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []

    def list_commands(self, **_: Any) -> dict[str, Any]:
        return {"Commands": []}

    def send_command(self, **arguments: Any) -> dict[str, Any]:
        self.sent.append(arguments)
        return {"Command": {"CommandId": "c-0123"}}


@settings(max_examples=100, deadline=None)
@given(
    value=st.text(
        st.characters(exclude_characters="\x00", categories=("L", "M", "N", "P", "S", "Z", "Cc", "Cf")),
        max_size=40,
    )
)
def test_head_node_commands_never_break_out_of_quoting(value: str) -> None:
    # Given a plan whose environment value and argument are arbitrary text
    ssm = FakeSsm()
    plan = LaunchPlan("container", "", ["run-qc", value], {"SAMPLE": value})
    runner = ParallelClusterRunner("i-0123456789abcdef0", "genomics-dev-HeadLogGroup", client=ssm)

    # When it is sent to the head node
    started = runner.start(launch_model(), plan, "")

    # Then each shell line splits back into exactly the intended words
    [call] = ssm.sent
    export, command = call["Parameters"]["commands"]
    assert shlex.split(export) == ["export", f"SAMPLE={value}"]
    assert shlex.split(command) == ["run-qc", value]
    assert started.values == {"ssm_command_id": "c-0123", "log_group": "genomics-dev-HeadLogGroup"}


@pytest.mark.usefixtures("aws")
def test_a_data_path_listed_in_pages_is_summed_across_them() -> None:
    Script(
        aws.client("s3"),
        "ListObjectsV2",
        [
            Reply.ok(
                {
                    "Contents": [{"Key": "a", "Size": 5, "StorageClass": "GLACIER"}, {"Key": "b", "Size": 7}],
                    "IsTruncated": True,
                    "NextContinuationToken": "page-2",
                }
            ),
            Reply.ok(
                {"Contents": [{"Key": "c", "Size": 11, "StorageClass": "DEEP_ARCHIVE"}], "IsTruncated": False}
            ),
        ],
    )
    listed = record_calls(aws.client("s3"), "ListObjectsV2")

    size = LaunchStorage().size(DATA_PATH, 30)

    assert size == DataSize(total_bytes=23, objects=3, partial=False, archived=2)
    assert [call.get("ContinuationToken") for call in listed] == [None, "page-2"]


def test_a_retry_keeps_the_first_attempts_cost_in_its_summary_and_leaves_the_new_one_uncosted(
    genomics: Genomics,
) -> None:
    # Given attempt 1 failed and was costed by the benchmarking blueprint
    failed_first_attempt(genomics)
    genomics.registry().update(
        LAUNCH_ID,
        attempt=1,
        status=Status.FAILED,
        now=wiring.utc_now(),
        set_values={
            "totalCost": "0.0079",
            "costStatus": "COSTED",
            "costBreakdown": {"fargate_cost": "0.0079"},
        },
    )
    change = request_retry(genomics, genomics.item(LAUNCH_ID))

    # When the retry is claimed
    launcher(genomics).handle(change)

    # Then the summary of attempt 1 keeps its cost, and attempt 2 carries none (its own costing will come)
    item = genomics.item(LAUNCH_ID)
    [summary] = item["attempt_history"]
    assert (summary["totalCost"], summary["costStatus"]) == ("0.0079", "COSTED")
    assert not {"totalCost", "costStatus", "costBreakdown"} & set(item)


@pytest.mark.parametrize(
    ("event_name", "values", "taken"),
    [
        ("INSERT", {"status": "REGISTERED"}, True),
        ("MODIFY", {"status": "REGISTERED"}, False),  # e.g. a released restore claim
        ("MODIFY", {"status": "REGISTERED", "start_tries": 2}, True),  # a re-drive
        (
            "MODIFY",
            {"status": "REGISTERED", "start_tries": 2, "next_try_at": "2026-12-01T00:00:00+00:00"},
            False,
        ),
        ("MODIFY", {"status": "READY"}, True),
        ("MODIFY", {"status": "READY", "start_tries": 1, "next_try_at": "2026-12-01T00:00:00+00:00"}, False),
        ("MODIFY", {"status": "RETRY_REQUESTED", "retry_prepared": 2}, True),
        ("MODIFY", {"status": "LAUNCHING"}, False),
        ("REMOVE", {"status": "READY"}, False),
    ],
)
def test_the_launcher_takes_what_the_stream_filter_lets_through(
    event_name: str, values: dict[str, Any], taken: bool
) -> None:
    # Given a record of the launches table (the template's filter says the same; moto ignores filters)
    change = LaunchChange(event_name, {"launch_id": LAUNCH_ID, **values}, "FAILED")

    # Then only new, READY, retried and re-driven launches are the launcher's; parked ones wait
    assert launchable(change) is taken
