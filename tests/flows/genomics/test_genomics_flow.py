"""The genomics workflow manager end to end on the local cloud, from the real templates
(spec: workflow-manager, Acceptance; issue: config upload, Snakefile upload, OOM, missing data path,
duplicate upload, retry, out-of-order events, Batch, RUNNABLE alert, API).

The scenarios live in ``demos/genomics.py`` (``localcloud demo genomics`` narrates the same ones); here every
outcome is asserted: launch items, status history, RunTask and SubmitJob calls, task events, alerts and
HTTP codes.
"""

from __future__ import annotations

import hashlib

from demos.genomics import (
    DATA_BUCKET,
    OOM,
    GenomicsWorld,
    api_queries,
    batch_launch,
    config_upload,
    duplicate_upload,
    missing_data_path,
    out_of_memory,
    out_of_order_events,
    retry_after_failure,
    runnable_stuck,
    snakefile_upload,
)

LIFECYCLE = ["REGISTERED", "LAUNCHING", "RUNNING", "COMPLETE"]
TASK_LIFECYCLE = ["PROVISIONING", "PENDING", "RUNNING", "STOPPED"]


def token(launch_id: str, attempt: int) -> str:
    return hashlib.sha256(f"{launch_id}:{attempt}".encode()).hexdigest()[:64]


def test_a_config_upload_runs_once_on_fargate_to_complete(world: GenomicsWorld) -> None:
    # Given a scientist's JSON launch configuration for Snakemake (default version 8.30.0)
    # When it is uploaded under launches/ and the event sources run until idle
    facts = config_upload(world)

    # Then one launch walked the whole lifecycle on attempt 1
    launch = facts.launch("wf-qc-0001")
    assert [status for status, _ in launch.history] == LIFECYCLE
    assert (launch.status, launch.attempt, launch.item["compute_service"]) == ("COMPLETE", 1, "fargate")
    # and exactly one task was started, idempotent by client token, and ran to exit 0
    assert launch.run_task_calls == [
        {
            "started_by": "wf-qc-0001/a1",
            "client_token": token("wf-qc-0001", 1),
            "task_arns": (launch.item["task_arn"],),
        }
    ]
    assert launch.task_statuses == TASK_LIFECYCLE
    assert launch.item["exit_code"] == 0
    # and the launch recorded what benchmarking and cost prediction need
    assert launch.item["input_size_bytes"] == sum(len(body) for body in world_reads())
    assert launch.item["compute_resources"]["kind"] == "ecs"
    assert launch.item["log_stream"].startswith("launch/head/")
    assert launch.item["engine_version"] == "8.30.0"
    assert launch.item["definition"].split("/")[-1].startswith("genomics-dev-snakemake8")


def world_reads() -> list[bytes]:
    from demos.genomics import READS

    return list(READS.values())


def test_a_snakefile_bundle_launches_with_default_settings(world: GenomicsWorld) -> None:
    # When a Snakefile bundle is uploaded under snakefiles/<launch id>/ (its sheet first)
    facts = snakefile_upload(world)

    # Then the Snakefile's upload (not the sheet's) registered one launch with the default settings
    launch = facts.launch("qc-bundle-7")
    bundle = f"s3://{world.request_bucket}/snakefiles/qc-bundle-7/"
    assert (launch.item["workflow_type"], launch.item["compute_service"]) == ("snakemake", "fargate")
    assert launch.item["s3_data_path"] == bundle
    assert launch.item["snakefile_s3_uri"] == f"{bundle}Snakefile"
    assert [status for status, _ in launch.history] == LIFECYCLE
    assert len(launch.run_task_calls) == 1


def test_an_out_of_memory_kill_ends_failed_with_the_reason_and_the_first_error_lines(
    world: GenomicsWorld,
) -> None:
    facts = out_of_memory(world)

    launch = facts.launch("wf-align-0002")
    assert [status for status, _ in launch.history] == ["REGISTERED", "LAUNCHING", "RUNNING", "FAILED"]
    assert (launch.error_code, launch.item["exit_code"]) == ("OutOfMemoryError", 137)
    assert OOM in launch.item["error_message"]
    # the log scan kept only the lines matching the error pattern, and classified them
    assert launch.item["error_lines"] == ["Killed", OOM]
    assert (launch.item["log_scan"], launch.item["log_error_code"]) == ("DONE", "OutOfMemoryError")


def test_a_missing_data_path_fails_before_any_compute_and_is_not_retried(world: GenomicsWorld) -> None:
    facts = missing_data_path(world)

    launch = facts.launch("wf-missing-0003")
    assert launch.status == "FAILED"
    assert launch.error_code == "MissingRequiredParametersError"
    assert f"s3://{DATA_BUCKET}/cohort99/" in launch.item["error_message"]
    assert launch.run_task_calls == []
    assert [status for status, _ in launch.history] == ["REGISTERED", "FAILED"]  # found before any claim
    assert launch.item["log_scan"] == "NOT_APPLICABLE"


def test_the_same_upload_delivered_three_times_is_one_launch_and_one_task(world: GenomicsWorld) -> None:
    facts = duplicate_upload(world)

    launch = facts.launch("wf-dup-0004")
    assert len(launch.run_task_calls) == 1
    assert [status for status, _ in launch.history] == LIFECYCLE
    registrations = [
        call
        for call in world.cloud.calls("Genomics/RegisterLaunchFunction")
        if (call.payload or {}).get("launch_id") == "wf-dup-0004"
    ]
    assert sorted(call.payload["outcome"] for call in registrations) == ["created", "duplicate", "duplicate"]


def test_a_retry_runs_attempt_two_with_a_new_token_and_a_late_attempt_one_event_changes_nothing(
    world: GenomicsWorld,
) -> None:
    facts = retry_after_failure(world)

    launch = facts.launch("wf-retry-0005")
    assert facts.http["retry"] == 202
    assert facts.notes == ["first attempt: FAILED"]
    assert launch.history == [
        ("REGISTERED", 1),
        ("LAUNCHING", 1),
        ("RUNNING", 1),
        ("FAILED", 1),
        ("RETRY_REQUESTED", 1),
        ("LAUNCHING", 2),
        ("RUNNING", 2),
        ("COMPLETE", 2),
    ]
    assert [call["client_token"] for call in launch.run_task_calls] == [
        token("wf-retry-0005", 1),
        token("wf-retry-0005", 2),
    ]
    assert [call["started_by"] for call in launch.run_task_calls] == ["wf-retry-0005/a1", "wf-retry-0005/a2"]
    # the previous attempt is summarised, its error fields cleared
    assert launch.item["attempt_history"][0]["error_code"] == "OutOfMemoryError"
    assert "error_code" not in launch.item


def test_out_of_order_events_never_move_a_launch_backwards(world: GenomicsWorld) -> None:
    facts = out_of_order_events(world)

    launch = facts.launch("wf-order-0006")
    assert launch.status == "COMPLETE"
    assert [status for status, _ in launch.history] == LIFECYCLE


def test_a_container_run_on_batch_spot_completes_from_batch_events(world: GenomicsWorld) -> None:
    facts = batch_launch(world)

    launch = facts.launch("wf-batch-0007")
    assert [status for status, _ in launch.history] == LIFECYCLE
    assert [(job["job_name"], job["status"]) for job in launch.submitted_jobs] == [
        ("wf-batch-0007-a1", "SUCCEEDED")
    ]
    assert launch.item["batch_job_ids"] == [launch.submitted_jobs[0]["job_id"]]
    resources = launch.item["compute_resources"]
    assert resources["kind"] == "batch"
    assert resources["container_instance_arn"].startswith("arn:aws:ecs:")
    assert launch.item["log_group"] == "/aws/batch/job"
    # and, captured while it ran (instances vanish after they terminate), what ran it, for benchmarking
    assert resources["ec2_instance_id"].startswith("i-")
    assert (resources["instance_type"], resources["purchase_option"]) == ("m5.large", "spot")
    assert resources["availability_zone"].startswith("us-east-1")
    assert [volume["volume_id"][:4] for volume in resources["volumes"]] == ["vol-"]


def test_a_batch_job_stuck_in_runnable_raises_exactly_one_alert(world: GenomicsWorld) -> None:
    facts = runnable_stuck(world)

    launch = facts.launch("wf-stuck-0008")
    assert launch.item["alerts"] == ["RUNNABLE_STUCK"]
    assert [alert["alert"] for alert in facts.alerts] == ["RUNNABLE_STUCK"]
    alert = facts.alerts[0]
    assert alert["minutes"] >= 20
    assert alert["batch_job_ids"] == launch.item["batch_job_ids"]
    # and the job, once capacity came, still completed
    assert launch.status == "COMPLETE"


def test_the_api_submits_reads_lists_and_rejects_unsigned_calls(world: GenomicsWorld) -> None:
    facts = api_queries(world)

    assert facts.http == {
        "submit": 201,
        "resubmit": 200,
        "invalid": 400,
        "get": 200,
        "list_failed": 200,
        "unsigned": 403,
        "unknown": 404,
    }
    launch = facts.launch("wf-api-0009")
    assert launch.status == "COMPLETE"
    assert launch.item["requested_by"].startswith("arn:aws:")
    assert "missing required parameters: config_s3_uri, s3_data_path" in facts.notes[0]
    listed = facts.notes[2].removeprefix("FAILED: ").split(", ")
    assert {"wf-align-0002", "wf-missing-0003"} <= set(listed)
    assert "wf-api-0009" not in listed


def test_setting_retry_requested_in_the_console_relaunches_as_a_new_attempt(world: GenomicsWorld) -> None:
    # Given a launch killed for memory (every run of it is, its environment says so)
    out_of_memory(world)
    launch_id = "wf-align-0002"
    # When a scientist sets its status to RETRY_REQUESTED in the console (a plain UpdateItem)
    world.cloud.client("dynamodb").update_item(
        TableName=world.table,
        Key={"launch_id": {"S": launch_id}},
        UpdateExpression="SET #s = :retry",
        ExpressionAttributeNames={"#s": "status"},
        ExpressionAttributeValues={":retry": {"S": "RETRY_REQUESTED"}},
    )
    world.settle()

    # Then attempt 2 ran (its own task) and failed the same way, with attempt 1 summarised
    launch = world.launch(launch_id)
    assert (launch.status, launch.attempt, launch.error_code) == ("FAILED", 2, "OutOfMemoryError")
    assert [call["started_by"] for call in launch.run_task_calls] == [f"{launch_id}/a1", f"{launch_id}/a2"]
    assert [entry["attempt"] for entry in launch.item["attempt_history"]] == [1]


def test_a_readme_under_launches_reaches_no_function_and_pages_nobody(world: GenomicsWorld) -> None:
    # Given the alerts so far read, and the invocations so far counted
    world.alerts()
    before = len(world.cloud.calls())

    # When a README and a sheet (not .json, .yaml or .yml) are uploaded under launches/
    world.upload("launches/README.md", "How to write a launch configuration")
    world.upload("launches/notes/samples.csv", "sample\nS1\n")
    world.settle()

    # Then the upload rule's suffix filter delivered neither: no invocation, no launch item, no notice
    keys = [
        call.event.get("detail", {}).get("object", {}).get("key")
        for call in world.cloud.calls()[before:]
        if isinstance(call.event, dict)
    ]
    assert not {"launches/README.md", "launches/notes/samples.csv"} & set(keys)
    assert world.alerts() == []


def test_a_fixed_upload_after_a_rejected_one_launches_to_complete(world: GenomicsWorld) -> None:
    # Given launches/wf-fixed-1.json rejected at registration (an unknown workflow type)
    world.upload("launches/wf-fixed-1.json", '{"launch_id": "wf-fixed-1", "workflow_type": "cromwell"}')
    world.settle()
    assert world.item("wf-fixed-1")["status"] == "FAILED"

    # When the scientist uploads the fixed configuration under the same key
    world.upload_config("wf-fixed-1")
    world.settle()

    # Then the fixed version replaced the rejection and ran through the whole lifecycle once
    launch = world.launch("wf-fixed-1")
    assert [status for status, _ in launch.history] == LIFECYCLE
    assert len(launch.run_task_calls) == 1
    assert launch.item["replaced_rejection"]["error_code"] == "MissingRequiredParametersError"
