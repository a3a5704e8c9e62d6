"""The AWS Batch job simulator: lifecycle on the virtual clock, state-change events, outcomes from env vars,
retries, TerminateJob/CancelJob, ListJobs filters, job logs, and the instances that ran the jobs."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws
from moto.ec2.models.instance_types import INSTANCE_TYPES

from localcloud.clock import VirtualClock
from localcloud.simulators.batch_compute import ComputeFleet
from localcloud.simulators.batch_outcome import (
    AttemptOutcome,
    container_environment,
    instance_type,
    job_outcome,
    retries,
)
from localcloud.sources import EventSources
from localcloud.stepfunctions import StepFunctions, wait_for_executions
from tests.unit.localcloud_sources.conftest import START
from tests.unit.localcloud_sources.fake_lambda import FakeLambda
from tests.unit.localcloud_sources.resources import REGION, create_network, create_queue, drain

OOM = "OutOfMemoryError: Container killed due to memory usage"
ESSENTIAL = "Essential container in task exited"
LOCAL_CLOUD_CONFIG: Any = {"batch": {"use_docker": False}, "stepfunctions": {"execute_state_machine": True}}


@pytest.fixture
def aws(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """moto as the local cloud configures it (Batch without Docker); ``docker`` (indirect) keeps moto's
    Docker-backed Batch, which the simulator takes over just as well."""
    monkeypatch.setenv("MOTO_EC2_LOAD_DEFAULT_AMIS", "false")
    config = None if getattr(request, "param", None) == "docker" else LOCAL_CLOUD_CONFIG
    with mock_aws(config=config):
        yield


def batch() -> Any:
    return boto3.client("batch", region_name=REGION)


def ec2() -> Any:
    return boto3.client("ec2", region_name=REGION)


@dataclass(frozen=True)
class Compute:
    subnet_id: str
    clusters: dict[str, str]  # compute environment name -> its ECS cluster ARN


def _environment(name: str, kind: str, network: Any, role: str, profile: str, types: list[str]) -> str:
    resources: dict[str, Any] = {
        "type": kind,
        "maxvCpus": 64,
        "subnets": [network.subnet_id],
        "securityGroupIds": [network.security_group_id],
    }
    if not kind.startswith("FARGATE"):
        resources.update(minvCpus=0, instanceTypes=types, instanceRole=profile, tags={"project": "genomics"})
        resources["ec2KeyPair"] = "genomics-admin"
    arn: str = batch().create_compute_environment(
        computeEnvironmentName=name,
        type="MANAGED",
        state="ENABLED",
        computeResources=resources,
        serviceRole=role,
    )["computeEnvironmentArn"]
    return arn


@pytest.fixture
def compute(sources: EventSources) -> Compute:
    """Three queues: ``jobs`` (On-Demand EC2), ``spot-jobs`` (Spot) and ``fargate-jobs``; job definition
    ``align`` (an environment variable of its own, no retry strategy)."""
    network = create_network()
    iam = boto3.client("iam", region_name=REGION)
    role = iam.create_role(RoleName="batch-service", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    profile = iam.create_instance_profile(InstanceProfileName="batch-instance")["InstanceProfile"]["Arn"]
    clusters = {}
    for queue, name, kind, types in (
        ("jobs", "ondemand", "EC2", ["c5.xlarge", "optimal"]),
        ("spot-jobs", "spot", "SPOT", ["optimal", "r5"]),
        ("fargate-jobs", "serverless", "FARGATE", []),
    ):
        arn = _environment(name, kind, network, role, profile, types)
        batch().create_job_queue(
            jobQueueName=queue,
            state="ENABLED",
            priority=1,
            computeEnvironmentOrder=[{"order": 1, "computeEnvironment": arn}],
        )
        clusters[name] = batch().describe_compute_environments(computeEnvironments=[name])[
            "computeEnvironments"
        ][0]["ecsClusterArn"]
    register("align")
    return Compute(network.subnet_id, clusters)


def register(name: str, **arguments: Any) -> str:
    arn: str = batch().register_job_definition(
        jobDefinitionName=name,
        type="container",
        containerProperties={
            "image": "genomics/align:1",
            "command": ["align"],
            "resourceRequirements": [{"type": "VCPU", "value": "2"}, {"type": "MEMORY", "value": "4096"}],
            "environment": [{"name": "SAMPLE", "value": "s1"}],
        },
        **arguments,
    )["jobDefinitionArn"]
    return arn


def submit(name: str = "launch-1-a1", queue: str = "jobs", definition: str = "align", **env: str) -> str:
    """SubmitJob as the workflow manager's launcher calls it; returns the job id."""
    job_id: str = batch().submit_job(
        jobName=name,
        jobQueue=queue,
        jobDefinition=definition,
        containerOverrides={
            "command": ["align", "--sample", "s1"],
            "environment": [{"name": key, "value": value} for key, value in env.items()],
        },
        tags={"launch_id": "launch-1"},
        propagateTags=True,
    )["jobId"]
    return job_id


def describe(job_id: str) -> dict[str, Any]:
    described: dict[str, Any] = batch().describe_jobs(jobs=[job_id])["jobs"][0]
    return described


@pytest.fixture
def listener(fake_lambda: FakeLambda) -> str:
    """A Lambda on every Batch Job State Change (the workflow manager's rule); returns its name."""
    function = fake_lambda.create("on-job", lambda event: None)
    events = boto3.client("events", region_name=REGION)
    pattern = {"source": ["aws.batch"], "detail-type": ["Batch Job State Change"]}
    events.put_rule(Name="jobs", EventPattern=json.dumps(pattern))
    events.put_targets(Rule="jobs", Targets=[{"Id": "fn", "Arn": function}])
    return "on-job"


def details(fake_lambda: FakeLambda, listener: str) -> list[dict[str, Any]]:
    return [event["detail"] for event in fake_lambda.events(listener)]


def statuses(fake_lambda: FakeLambda, listener: str) -> list[str]:
    return [detail["status"] for detail in details(fake_lambda, listener)]


def millis(offset: float) -> int:
    return int((START + offset) * 1000)


# -- lifecycle ------------------------------------------------------------------------------------


def test_a_job_walks_through_its_lifecycle_with_events(
    sources: EventSources, fake_lambda: FakeLambda, clock: VirtualClock, compute: Compute, listener: str
) -> None:
    # Given a submitted job, still SUBMITTED as SubmitJob returns
    job_id = submit()
    assert describe(job_id)["status"] == "SUBMITTED"

    # When the virtual clock runs the simulation to its end
    sources.run_until_idle()

    # Then one event per change after submission (AWS emits none for SUBMITTED), in order
    seen = details(fake_lambda, listener)
    assert [d["status"] for d in seen] == ["PENDING", "RUNNABLE", "STARTING", "RUNNING", "SUCCEEDED"]
    assert clock.now() == START + 77  # 1 s submitted, 1 s pending, 5 s runnable, 10 s starting, 60 s run
    event = fake_lambda.events(listener)[-1]
    assert (event["source"], event["detail-type"], event["time"]) == (
        "aws.batch",
        "Batch Job State Change",
        "2023-11-14T22:14:37Z",
    )
    done = seen[-1]
    assert event["resources"] == [done["jobArn"]]
    assert (done["jobId"], done["jobName"], done["statusReason"]) == (job_id, "launch-1-a1", ESSENTIAL)
    assert done["jobQueue"] == "arn:aws:batch:us-east-1:123456789012:job-queue/jobs"
    assert done["jobDefinition"] == "arn:aws:batch:us-east-1:123456789012:job-definition/align:1"
    assert (done["createdAt"], done["startedAt"], done["stoppedAt"]) == (millis(0), millis(17), millis(77))
    assert (done["tags"], done["propagateTags"], done["retryStrategy"]) == (
        {"launch_id": "launch-1"},
        True,
        {"attempts": 1, "evaluateOnExit": []},
    )
    assert (done["dependsOn"], done["parameters"], done["platformCapabilities"]) == ([], {}, [])
    container = done["container"]
    assert (container["image"], container["command"], container["exitCode"]) == (
        "genomics/align:1",
        ["align", "--sample", "s1"],
        0,
    )
    assert container["environment"] == [{"name": "SAMPLE", "value": "s1"}]
    assert container["resourceRequirements"] == [
        {"type": "VCPU", "value": "2"},
        {"type": "MEMORY", "value": "4096"},
    ]
    task_id = container["taskArn"].rsplit("/", 1)[-1]
    assert re.fullmatch(r"[0-9a-f]{32}", task_id)
    assert container["logStreamName"] == f"align/default/{task_id}"
    assert container["containerInstanceArn"].startswith(
        "arn:aws:ecs:us-east-1:123456789012:container-instance/"
    )
    [attempt] = done["attempts"]
    assert attempt == {
        "container": {
            "containerInstanceArn": container["containerInstanceArn"],
            "taskArn": container["taskArn"],
            "exitCode": 0,
            "logStreamName": container["logStreamName"],
            "networkInterfaces": [],
        },
        "startedAt": millis(17),
        "stoppedAt": millis(77),
        "statusReason": ESSENTIAL,
    }
    # And the running event already names the task, the instance and the log stream; no attempt has ended
    running = seen[3]
    assert (running["attempts"], running["startedAt"], "stoppedAt" in running) == ([], millis(17), False)
    assert running["container"]["logStreamName"] == container["logStreamName"]
    assert "exitCode" not in running["container"]
    # And DescribeJobs answers what the last event said
    assert describe(job_id) == done


def test_describe_and_list_jobs_follow_the_simulation(
    sources: EventSources, clock: VirtualClock, compute: Compute
) -> None:
    # Given a job that runs for ten minutes
    job_id = submit(LOCALCLOUD_RUN_SECONDS="600")

    # When the clock passes the moments of its changes
    seen = []
    for seconds in (1, 1, 5, 10, 600):
        clock.advance(seconds)
        seen.append(
            (
                describe(job_id)["status"],
                [j["jobId"] for j in batch().list_jobs(jobQueue="jobs")["jobSummaryList"]],
            )
        )

    # Then DescribeJobs follows it, and ListJobs without a status lists RUNNING jobs only (as on AWS)
    assert seen == [
        ("PENDING", []),
        ("RUNNABLE", []),
        ("STARTING", []),
        ("RUNNING", [job_id]),
        ("SUCCEEDED", []),
    ]
    [summary] = batch().list_jobs(jobQueue="jobs", jobStatus="SUCCEEDED")["jobSummaryList"]
    assert summary == {
        "jobArn": describe(job_id)["jobArn"],
        "jobId": job_id,
        "jobName": "launch-1-a1",
        "createdAt": millis(0),
        "status": "SUCCEEDED",
        "statusReason": ESSENTIAL,
        "startedAt": millis(17),
        "stoppedAt": millis(617),
        "container": {"exitCode": 0},
        "jobDefinition": "arn:aws:batch:us-east-1:123456789012:job-definition/align:1",
    }


def test_the_exit_code_and_run_time_come_from_the_environment(
    sources: EventSources, fake_lambda: FakeLambda, clock: VirtualClock, compute: Compute, listener: str
) -> None:
    # Given a job whose container exits 3 after 10 s
    job_id = submit(LOCALCLOUD_EXIT_CODE="3", LOCALCLOUD_RUN_SECONDS="10")

    # When it runs
    sources.run_until_idle()

    # Then it fails with that exit code, as AWS reports a non-zero exit
    done = describe(job_id)
    assert (done["status"], done["statusReason"], done["container"]["exitCode"]) == ("FAILED", ESSENTIAL, 3)
    assert "reason" not in done["container"]
    assert statuses(fake_lambda, listener)[-1] == "FAILED"
    assert clock.now() == START + 27


def test_an_out_of_memory_kill_fails_with_exit_137_and_the_container_reason(
    sources: EventSources, compute: Compute
) -> None:
    # Given a job killed for its memory use
    job_id = submit(LOCALCLOUD_STOPPED_REASON=OOM)

    # When it runs
    sources.run_until_idle()

    # Then the job fails as AWS reports it, and the reason is in its log for a log scan to find
    done = describe(job_id)
    assert (done["status"], done["statusReason"]) == ("FAILED", ESSENTIAL)
    assert (done["container"]["exitCode"], done["container"]["reason"]) == (137, OOM)
    assert (done["attempts"][0]["container"]["exitCode"], done["attempts"][0]["container"]["reason"]) == (
        137,
        OOM,
    )
    found = boto3.client("logs", region_name=REGION).filter_log_events(
        logGroupName="/aws/batch/job",
        logStreamNames=[done["container"]["logStreamName"]],
        filterPattern="?ERROR ?Exception ?OutOfMemoryError ?Killed",
    )["events"]
    assert [event["message"] for event in found] == [OOM]


def test_a_container_that_cannot_start_fails_without_running(
    sources: EventSources, fake_lambda: FakeLambda, compute: Compute, listener: str
) -> None:
    # Given a job whose image cannot be pulled
    reason = "CannotPullContainerError: pull image manifest has been retried 1 time(s)"
    job_id = submit(LOCALCLOUD_STOPPED_REASON=reason)

    # When it runs
    sources.run_until_idle()

    # Then it goes from STARTING to FAILED, with no start time and no exit code
    assert statuses(fake_lambda, listener) == ["PENDING", "RUNNABLE", "STARTING", "FAILED"]
    done = describe(job_id)
    assert (done["statusReason"], done["container"]["reason"]) == ("Task failed to start", reason)
    assert "startedAt" not in done
    assert "exitCode" not in done["container"]
    assert "startedAt" not in done["attempts"][0]


def test_a_failed_attempt_is_retried_and_each_attempt_is_recorded(
    sources: EventSources, fake_lambda: FakeLambda, clock: VirtualClock, compute: Compute, listener: str
) -> None:
    # Given a job with three attempts whose first attempt exits 1
    job_id = batch().submit_job(
        jobName="launch-2-a1",
        jobQueue="jobs",
        jobDefinition="align",
        retryStrategy={"attempts": 3},
        containerOverrides={
            "environment": [
                {"name": "LOCALCLOUD_EXIT_CODE", "value": "1"},
                {"name": "LOCALCLOUD_FAILED_ATTEMPTS", "value": "1"},
                {"name": "LOCALCLOUD_LOG_LINES", "value": "attempt started"},
            ]
        },
    )["jobId"]

    # When it runs
    sources.run_until_idle()

    # Then the failed attempt goes back to RUNNABLE and the second one succeeds
    assert statuses(fake_lambda, listener) == [
        "PENDING",
        "RUNNABLE",
        "STARTING",
        "RUNNING",
        "RUNNABLE",
        "STARTING",
        "RUNNING",
        "SUCCEEDED",
    ]
    retried = details(fake_lambda, listener)[4]
    assert [attempt["container"]["exitCode"] for attempt in retried["attempts"]] == [1]
    done = describe(job_id)
    assert done["retryStrategy"] == {"attempts": 3, "evaluateOnExit": []}
    first, second = done["attempts"]
    assert (first["container"]["exitCode"], second["container"]["exitCode"]) == (1, 0)
    assert (first["startedAt"], first["stoppedAt"], second["startedAt"], second["stoppedAt"]) == (
        millis(17),
        millis(77),
        millis(92),
        millis(152),
    )
    assert first["container"]["taskArn"] != second["container"]["taskArn"]
    assert done["container"]["taskArn"] == second["container"]["taskArn"]
    assert (done["startedAt"], done["stoppedAt"]) == (millis(17), millis(152))
    # And each attempt wrote its own log stream
    logs = boto3.client("logs", region_name=REGION)
    for attempt in (first, second):
        stream = attempt["container"]["logStreamName"]
        events = logs.get_log_events(logGroupName="/aws/batch/job", logStreamName=stream)["events"]
        assert [event["message"] for event in events] == ["attempt started"]


def test_the_job_definitions_retry_strategy_stops_on_an_exit_condition(
    sources: EventSources, compute: Compute
) -> None:
    # Given a job definition that retries up to 3 attempts, except after an out-of-memory kill
    register(
        "align-oom-exit",
        retryStrategy={
            "attempts": 3,
            "evaluateOnExit": [{"onReason": "OutOfMemoryError*", "action": "EXIT"}],
        },
    )
    oom = submit("oom", definition="align-oom-exit", LOCALCLOUD_STOPPED_REASON=OOM)
    crash = submit("crash", definition="align-oom-exit", LOCALCLOUD_EXIT_CODE="2")

    # When both run
    sources.run_until_idle()

    # Then the killed job ends after one attempt and the crashing one uses all three
    assert [len(describe(job)["attempts"]) for job in (oom, crash)] == [1, 3]
    assert {describe(job)["status"] for job in (oom, crash)} == {"FAILED"}


def test_a_long_runnable_time_keeps_the_job_runnable_with_the_blocked_reason(
    sources: EventSources, fake_lambda: FakeLambda, clock: VirtualClock, compute: Compute, listener: str
) -> None:
    # Given a job stuck for lack of capacity for two hours, and a rule on blocked-queue events
    blocked = create_queue("blocked")
    events = boto3.client("events", region_name=REGION)
    events.put_rule(Name="blocked", EventPattern=json.dumps({"detail-type": ["Batch Job Queue Blocked"]}))
    events.put_targets(Rule="blocked", Targets=[{"Id": "q", "Arn": blocked.arn}])
    capacity = "CAPACITY:INSUFFICIENT_INSTANCE_CAPACITY - Service cannot fulfill the capacity requested"
    job_id = submit(LOCALCLOUD_RUNNABLE_SECONDS="7200", LOCALCLOUD_RUNNABLE_REASON=capacity)

    # When an hour passes
    clock.advance(3600)

    # Then the job is still RUNNABLE with the reason AWS gives, and the queue was reported blocked
    assert (describe(job_id)["status"], describe(job_id)["statusReason"]) == ("RUNNABLE", capacity)
    listed = batch().list_jobs(jobQueue="jobs", jobStatus="RUNNABLE")["jobSummaryList"]
    assert [(job["jobId"], job["statusReason"]) for job in listed] == [(job_id, capacity)]
    [message] = drain(blocked)
    body = json.loads(message["Body"])
    assert (body["detail"]["jobId"], body["resources"][1]) == (job_id, describe(job_id)["jobQueue"])
    # And once capacity arrives it runs, the reason gone
    sources.run_until_idle(max_virtual_seconds=7200)
    assert clock.now() == START + 2 + 7200 + 10 + 60
    runnable = details(fake_lambda, listener)[1]
    assert runnable["statusReason"] == capacity
    assert "statusReason" not in details(fake_lambda, listener)[2]


def test_an_attempt_longer_than_its_timeout_fails_and_is_not_retried(
    sources: EventSources, clock: VirtualClock, compute: Compute
) -> None:
    # Given a job that would run 10 minutes with a 2-minute attempt timeout and 2 attempts
    job_id = batch().submit_job(
        jobName="slow",
        jobQueue="jobs",
        jobDefinition="align",
        timeout={"attemptDurationSeconds": 120},
        retryStrategy={"attempts": 2},
        containerOverrides={"environment": [{"name": "LOCALCLOUD_RUN_SECONDS", "value": "600"}]},
    )["jobId"]

    # When it runs
    sources.run_until_idle()

    # Then it is terminated at the timeout, once
    done = describe(job_id)
    assert (done["status"], done["statusReason"], len(done["attempts"])) == (
        "FAILED",
        "Job attempt duration exceeded timeout",
        1,
    )
    assert (done["timeout"], done["stoppedAt"]) == ({"attemptDurationSeconds": 120}, millis(137))


# -- TerminateJob / CancelJob ---------------------------------------------------------------------


def test_terminate_job_stops_a_running_job_at_once(
    sources: EventSources, fake_lambda: FakeLambda, clock: VirtualClock, compute: Compute, listener: str
) -> None:
    # Given a running job (with retries left)
    job_id = batch().submit_job(
        jobName="running", jobQueue="jobs", jobDefinition="align", retryStrategy={"attempts": 3}
    )["jobId"]
    clock.advance(30)
    assert describe(job_id)["status"] == "RUNNING"

    # When an operator terminates it
    batch().terminate_job(jobId=job_id, reason="stopped by operator")

    # Then DescribeJobs shows it FAILED at once, the container killed, and no retry
    done = describe(job_id)
    assert (done["status"], done["statusReason"], done["isTerminated"]) == (
        "FAILED",
        "stopped by operator",
        True,
    )
    assert (done["container"]["exitCode"], done["attempts"][0]["statusReason"]) == (
        143,
        "stopped by operator",
    )
    assert statuses(fake_lambda, listener)[-1] == "RUNNING"  # the event is delivered asynchronously
    batch().terminate_job(jobId=job_id, reason="again")  # changes nothing
    assert describe(job_id)["statusReason"] == "stopped by operator"
    sources.run_until_idle()
    assert statuses(fake_lambda, listener)[-1] == "FAILED"
    assert details(fake_lambda, listener)[-1]["stoppedAt"] == millis(30)
    assert clock.now() == START + 30


def test_cancel_job_fails_a_waiting_job_and_leaves_a_running_one(
    sources: EventSources, fake_lambda: FakeLambda, clock: VirtualClock, compute: Compute, listener: str
) -> None:
    # Given a job stuck RUNNABLE and a running one
    waiting = submit("waiting", LOCALCLOUD_RUNNABLE_SECONDS="3600")
    running = submit("running")
    clock.advance(30)

    # When both are cancelled
    batch().cancel_job(jobId=waiting, reason="no longer needed")
    batch().cancel_job(jobId=running, reason="no longer needed")
    sources.run_until_idle()

    # Then the waiting one is FAILED as cancelled, never started; the running one carries on (as on AWS)
    cancelled = describe(waiting)
    assert (cancelled["status"], cancelled["statusReason"], cancelled["isCancelled"]) == (
        "FAILED",
        "no longer needed",
        True,
    )
    assert (cancelled["attempts"], "startedAt" in cancelled) == ([], False)
    assert describe(running)["status"] == "SUCCEEDED"


def test_a_job_waiting_for_a_dependency_or_starting_can_be_stopped(
    sources: EventSources, clock: VirtualClock, compute: Compute
) -> None:
    # Given a long job, a job waiting for it, and a job that is STARTING
    long = submit("long", LOCALCLOUD_RUN_SECONDS="3600")
    waiting = batch().submit_job(
        jobName="waiting", jobQueue="jobs", jobDefinition="align", dependsOn=[{"jobId": long}]
    )["jobId"]
    clock.advance(10)
    starting = submit("starting")
    clock.advance(8)
    assert (describe(waiting)["status"], describe(starting)["status"]) == ("PENDING", "STARTING")

    # When the waiting one is cancelled and the starting one terminated
    batch().cancel_job(jobId=waiting, reason="input withdrawn")
    batch().terminate_job(jobId=starting, reason="wrong image")
    batch().terminate_job(jobId=long, reason="done")
    sources.run_until_idle()

    # Then both end FAILED with their reasons; the starting one's attempt has no exit code
    cancelled, terminated = describe(waiting), describe(starting)
    assert (cancelled["status"], cancelled["statusReason"], cancelled.get("isCancelled")) == (
        "FAILED",
        "input withdrawn",
        True,
    )
    assert (terminated["statusReason"], terminated.get("isTerminated")) == ("wrong image", True)
    assert terminated["attempts"][0]["statusReason"] == "wrong image"
    assert "exitCode" not in terminated["attempts"][0]["container"]


def test_cancelling_an_array_job_leaves_running_children_to_finish(
    sources: EventSources, clock: VirtualClock, compute: Compute
) -> None:
    # Given an array job whose children are running
    parent = batch().submit_job(
        jobName="array", jobQueue="jobs", jobDefinition="align", arrayProperties={"size": 2}
    )["jobId"]
    clock.advance(30)

    # When it is cancelled
    batch().cancel_job(jobId=parent, reason="too late")
    sources.run_until_idle()

    # Then nothing was cancelled (AWS cancels only jobs before STARTING): the array ends with its children
    assert [describe(job)["status"] for job in (parent, f"{parent}:0", f"{parent}:1")] == ["SUCCEEDED"] * 3


def test_terminate_and_cancel_keep_motos_validation(sources: EventSources, compute: Compute) -> None:
    # Given a job
    job_id = submit()

    # When the reason is missing
    with pytest.raises(ClientError) as error:
        batch().terminate_job(jobId=job_id, reason="")

    # Then the request fails as moto (and AWS) reject it, and an unknown job is a no-op
    assert error.value.response["Error"]["Code"] == "ClientException"
    batch().cancel_job(jobId="00000000-0000-0000-0000-000000000000", reason="unknown")
    assert describe(job_id)["status"] == "SUBMITTED"


# -- ListJobs and SubmitJob fixes ----------------------------------------------------------------


def test_list_jobs_filters_by_job_name_definition_and_creation_time(
    sources: EventSources, clock: VirtualClock, compute: Compute
) -> None:
    # Given jobs of two launches and two definitions, created a minute apart
    register("call")
    first = submit("launch-1-a1")
    clock.advance(60)
    second = submit("launch-1-a2")
    clock.advance(60)
    other = submit("Launch-10-a1", definition="call")

    def names(*filters: dict[str, Any]) -> list[str]:
        listed = batch().list_jobs(jobQueue="jobs", filters=list(filters))["jobSummaryList"]
        return sorted(job["jobId"] for job in listed)

    # When the launcher looks a job up by name before submitting (and other filters are used)
    # Then names match exactly but case-insensitively, or by prefix with '*', whatever their status
    assert names({"name": "JOB_NAME", "values": ["launch-1-a2"]}) == [second]
    assert names({"name": "JOB_NAME", "values": ["LAUNCH-1-A1"]}) == [first]
    assert names({"name": "JOB_NAME", "values": ["launch-1-*"]}) == sorted([first, second])
    assert names({"name": "JOB_NAME", "values": ["launch-3-a1"]}) == []
    assert names({"name": "JOB_DEFINITION", "values": ["call"]}) == [other]
    assert names({"name": "JOB_DEFINITION", "values": ["ali*"]}) == sorted([first, second])
    align_arn = describe(first)["jobDefinition"]
    assert names({"name": "JOB_DEFINITION", "values": [align_arn]}) == sorted([first, second])
    assert names({"name": "AFTER_CREATED_AT", "values": [str(millis(60))]}) == sorted([second, other])
    assert names({"name": "BEFORE_CREATED_AT", "values": [str(millis(60))]}) == sorted([first, second])
    assert names({"name": "BEFORE_CREATED_AT", "values": ["yesterday"]}) == []
    with pytest.raises(ClientError, match="Job status is not one of"):
        batch().list_jobs(jobQueue="jobs", jobStatus="DONE")
    with pytest.raises(ClientError, match="Job queue nowhere does not exist"):
        batch().list_jobs(jobQueue="nowhere")


def test_submit_job_rejects_names_aws_rejects(sources: EventSources, compute: Compute) -> None:
    # Given moto's no-Docker SubmitJob, which accepts any name
    # When a name with a dot is submitted
    with pytest.raises(ClientError) as error:
        submit("launch.1-a1")

    # Then it is rejected as on AWS, while a one-character name is accepted
    assert error.value.response["Error"]["Code"] == "ClientException"
    assert describe(submit("x"))["jobName"] == "x"


# -- dependencies and array jobs -----------------------------------------------------------------


def test_a_dependent_job_waits_and_fails_when_its_dependency_fails(
    sources: EventSources, clock: VirtualClock, compute: Compute
) -> None:
    # Given a job that succeeds, one that fails, and a job depending on each
    good = submit("good")
    bad = submit("bad", LOCALCLOUD_EXIT_CODE="1")
    after_good = batch().submit_job(
        jobName="after-good", jobQueue="jobs", jobDefinition="align", dependsOn=[{"jobId": good}]
    )["jobId"]
    after_bad = batch().submit_job(
        jobName="after-bad", jobQueue="jobs", jobDefinition="align", dependsOn=[{"jobId": bad}]
    )["jobId"]

    # When the clock passes the first jobs' run
    clock.advance(60)
    waiting = (describe(after_good)["status"], describe(after_bad)["status"])
    sources.run_until_idle()

    # Then the dependents waited PENDING; one ran after its dependency, the other failed with it
    assert waiting == ("PENDING", "PENDING")
    assert describe(after_good)["status"] == "SUCCEEDED"
    assert describe(after_good)["startedAt"] == millis(77 + 1 + 5 + 10)
    failed = describe(after_bad)
    assert (failed["status"], failed["statusReason"], failed["attempts"]) == (
        "FAILED",
        "Dependent Job failed",
        [],
    )


def test_an_array_job_runs_its_children_and_ends_with_them(
    sources: EventSources, fake_lambda: FakeLambda, compute: Compute, listener: str
) -> None:
    # Given an array job of three children
    parent = batch().submit_job(
        jobName="array", jobQueue="jobs", jobDefinition="align", arrayProperties={"size": 3}
    )["jobId"]

    # When it runs
    sources.run_until_idle()

    # Then each child ran, and the parent ended after them
    children = batch().list_jobs(arrayJobId=parent, jobStatus="SUCCEEDED")["jobSummaryList"]
    assert sorted(child["jobId"] for child in children) == [f"{parent}:{index}" for index in range(3)]
    assert sorted(child["arrayProperties"]["index"] for child in children) == [0, 1, 2]
    done = describe(parent)
    assert (done["status"], done["arrayProperties"]["size"]) == ("SUCCEEDED", 3)
    assert done["arrayProperties"]["statusSummary"]["SUCCEEDED"] == 3
    assert [d["jobId"] for d in details(fake_lambda, listener)][-1] == parent
    assert statuses(fake_lambda, listener).count("SUCCEEDED") == 4
    listed = batch().list_jobs(jobQueue="jobs", jobStatus="SUCCEEDED")["jobSummaryList"]
    assert [job["jobId"] for job in listed] == [parent]  # children are listed by arrayJobId only


def test_terminating_an_array_job_stops_its_children(
    sources: EventSources, clock: VirtualClock, compute: Compute
) -> None:
    # Given a running array job of two children
    parent = batch().submit_job(
        jobName="array", jobQueue="jobs", jobDefinition="align", arrayProperties={"size": 2}
    )["jobId"]
    clock.advance(30)

    # When it is terminated
    batch().terminate_job(jobId=parent, reason="wrong input")
    sources.run_until_idle()

    # Then the children and the parent are FAILED with the reason
    jobs = [parent, f"{parent}:0", f"{parent}:1"]
    assert [(describe(job)["status"], describe(job)["statusReason"]) for job in jobs] == [
        ("FAILED", "wrong input")
    ] * 3


# -- where the jobs ran --------------------------------------------------------------------------


def instance_of(job: dict[str, Any], cluster: str) -> dict[str, Any]:
    """The EC2 instance that ran ``job``, found as the benchmarking blueprint finds it."""
    ecs = boto3.client("ecs", region_name=REGION)
    arn = job["container"]["containerInstanceArn"]
    [found] = ecs.describe_container_instances(cluster=cluster, containerInstances=[arn])[
        "containerInstances"
    ]
    instance: dict[str, Any] = ec2().describe_instances(InstanceIds=[found["ec2InstanceId"]])["Reservations"][
        0
    ]["Instances"][0]
    return instance


def test_jobs_on_an_ec2_environment_share_an_instance_until_it_scales_in(
    sources: EventSources, clock: VirtualClock, compute: Compute
) -> None:
    # Given two overlapping jobs on the On-Demand environment
    first, second = submit("one"), submit("two", LOCALCLOUD_RUN_SECONDS="120")
    sources.run_until_idle()

    # When a third job comes after the instance scaled in (300 s idle)
    clock.advance(300)
    third = submit("three")
    sources.run_until_idle()

    # Then the overlapping jobs ran on one instance, of the environment's first concrete type, On-Demand,
    # in its subnet, launched when the first job started; the third on a new one
    cluster = compute.clusters["ondemand"]
    one, two, three = (instance_of(describe(job), cluster) for job in (first, second, third))
    assert one["InstanceId"] == two["InstanceId"] != three["InstanceId"]
    assert (one["InstanceType"], "InstanceLifecycle" in one, one["SubnetId"]) == (
        "c5.xlarge",
        False,
        compute.subnet_id,
    )
    assert one["Placement"]["AvailabilityZone"] == "us-east-1a"
    assert one["LaunchTime"].timestamp() == START + 7
    assert {tag["Key"]: tag["Value"] for tag in one["Tags"]} == {"project": "genomics"}
    assert one["KeyName"] == "genomics-admin"
    # And the first instance was terminated 300 s after its last job, its container instance INACTIVE
    assert (one["State"]["Name"], one["StateTransitionReason"]) == (
        "terminated",
        "User initiated (2023-11-14 22:20:37 GMT)",  # START + 137 (the last job's end) + 300
    )
    ecs = boto3.client("ecs", region_name=REGION)
    arn = describe(first)["container"]["containerInstanceArn"]
    [container_instance] = ecs.describe_container_instances(cluster=cluster, containerInstances=[arn])[
        "containerInstances"
    ]
    assert (container_instance["status"], container_instance["runningTasksCount"]) == ("INACTIVE", 0)
    assert three["State"]["Name"] == "running"


def test_a_spot_environment_runs_jobs_on_spot_instances(sources: EventSources, compute: Compute) -> None:
    # Given a job on the Spot environment ("optimal" and the r5 family)
    job_id = submit(queue="spot-jobs")

    # When it runs
    sources.run_until_idle()

    # Then its instance is a Spot r5.large, registered in the environment's cluster
    instance = instance_of(describe(job_id), compute.clusters["spot"])
    assert (instance["InstanceType"], instance["InstanceLifecycle"]) == ("r5.large", "spot")
    assert describe(job_id)["container"]["taskArn"].startswith(
        compute.clusters["spot"].replace(":cluster/", ":task/") + "/"
    )


def test_a_fargate_job_reports_its_task_and_no_instance(sources: EventSources, compute: Compute) -> None:
    # Given a job on the Fargate environment
    job_id = submit(queue="fargate-jobs")

    # When it runs
    sources.run_until_idle()

    # Then it has a task ARN in the environment's cluster and no container instance; no instance exists
    done = describe(job_id)
    assert done["status"] == "SUCCEEDED"
    assert "containerInstanceArn" not in done["container"]
    assert "containerInstanceArn" not in done["attempts"][0]["container"]
    assert done["container"]["taskArn"].startswith(
        compute.clusters["serverless"].replace(":cluster/", ":task/") + "/"
    )
    assert ec2().describe_instances()["Reservations"] == []


def test_an_unmanaged_environment_uses_its_registered_instance(
    sources: EventSources, compute: Compute
) -> None:
    # Given an unmanaged environment with one instance registered by hand in its cluster
    role = boto3.client("iam", region_name=REGION).get_role(RoleName="batch-service")["Role"]["Arn"]
    arn = batch().create_compute_environment(
        computeEnvironmentName="byo", type="UNMANAGED", state="ENABLED", serviceRole=role
    )["computeEnvironmentArn"]
    batch().create_job_queue(
        jobQueueName="byo-jobs",
        state="ENABLED",
        priority=1,
        computeEnvironmentOrder=[{"order": 1, "computeEnvironment": arn}],
    )
    cluster = batch().describe_compute_environments(computeEnvironments=["byo"])["computeEnvironments"][0][
        "ecsClusterArn"
    ]
    early = submit("early", queue="byo-jobs")
    sources.run_until_idle()
    instance_id = ec2().run_instances(
        ImageId="ami-12345678", MinCount=1, MaxCount=1, SubnetId=compute.subnet_id
    )["Instances"][0]["InstanceId"]
    identity = json.dumps({"instanceId": instance_id})
    boto3.client("ecs", region_name=REGION).register_container_instance(
        cluster=cluster, instanceIdentityDocument=identity
    )

    # When a job runs there
    job_id = submit(queue="byo-jobs")
    sources.run_until_idle()

    # Then it ran on that instance; the job before the registration ran on none
    assert instance_of(describe(job_id), cluster)["InstanceId"] == instance_id
    assert (describe(early)["status"], "containerInstanceArn" in describe(early)["container"]) == (
        "SUCCEEDED",
        False,
    )


def test_an_instance_terminated_behind_the_simulators_back_is_replaced(
    sources: EventSources, clock: VirtualClock, compute: Compute
) -> None:
    # Given a finished job whose idle instance is terminated by someone else before it scales in
    first = submit("first")
    sources.run_until_idle()
    cluster = compute.clusters["ondemand"]
    gone = instance_of(describe(first), cluster)["InstanceId"]
    ec2().terminate_instances(InstanceIds=[gone])
    reason = ec2().describe_instances(InstanceIds=[gone])["Reservations"][0]["Instances"][0][
        "StateTransitionReason"
    ]

    # When another job comes, and the first instance's scale-in moment passes
    second = submit("second")
    sources.run_until_idle()
    replacement = instance_of(describe(second), cluster)
    clock.advance(300 - 77)  # the first instance's scale-in timer was due 300 s after the first job

    # Then the second job ran on a new instance, and the scale-in left the terminated one as it was
    assert replacement["InstanceId"] != gone
    assert replacement["State"]["Name"] == "running"
    gone_now = ec2().describe_instances(InstanceIds=[gone])["Reservations"][0]["Instances"][0]
    assert gone_now["StateTransitionReason"] == reason


def test_a_job_moto_does_not_simulate_is_left_to_moto(
    sources: EventSources, clock: VirtualClock, compute: Compute
) -> None:
    # Given a multi-node job definition (not simulated) and a simulated job submitted a minute earlier
    simulated = submit("simulated")
    clock.advance(60)
    batch().register_job_definition(
        jobDefinitionName="mpi",
        type="multinode",
        nodeProperties={
            "numNodes": 2,
            "mainNode": 0,
            "nodeRangeProperties": [
                {"targetNodes": "0:1", "container": {"image": "mpi:1", "vcpus": 1, "memory": 512}}
            ],
        },
    )

    # When a multi-node job is submitted
    job_id = submit("nodes", definition="mpi")

    # Then moto finishes it at once, as without the simulator, and ListJobs still filters it
    assert describe(job_id)["status"] == "SUCCEEDED"
    after = batch().list_jobs(
        jobQueue="jobs", filters=[{"name": "AFTER_CREATED_AT", "values": [str(millis(30))]}]
    )
    assert [job["jobId"] for job in after["jobSummaryList"]] == [job_id]
    anything = batch().list_jobs(jobQueue="jobs", filters=[{"name": "SHARE_IDENTIFIER", "values": ["x"]}])
    assert sorted(job["jobId"] for job in anything["jobSummaryList"]) == sorted([simulated, job_id])
    assert [
        job["jobId"] for job in batch().list_jobs(jobQueue="jobs", jobStatus="SUCCEEDED")["jobSummaryList"]
    ] == [job_id]


def test_container_overrides_replace_resource_requirements_by_type(
    sources: EventSources, compute: Compute
) -> None:
    # Given a job that asks for more memory than its definition
    job_id = batch().submit_job(
        jobName="big",
        jobQueue="jobs",
        jobDefinition="align",
        containerOverrides={"resourceRequirements": [{"type": "MEMORY", "value": "16384"}]},
    )["jobId"]

    # When it is described
    container = describe(job_id)["container"]

    # Then the override replaced the memory and kept the vCPUs
    assert container["resourceRequirements"] == [
        {"type": "VCPU", "value": "2"},
        {"type": "MEMORY", "value": "16384"},
    ]
    assert container["command"] == ["align"]


# -- moto variants and integrations ---------------------------------------------------------------


@pytest.mark.parametrize("aws", ["docker"], indirect=True)
def test_moto_batch_with_docker_is_taken_over_too(
    sources: EventSources, fake_lambda: FakeLambda, compute: Compute, listener: str
) -> None:
    # Given moto's Docker-backed Batch (no Docker here: moto alone would fail the job)
    # When a job is submitted and the clock runs
    job_id = submit()
    sources.run_until_idle()

    # Then the simulation ran it
    assert statuses(fake_lambda, listener) == ["PENDING", "RUNNABLE", "STARTING", "RUNNING", "SUCCEEDED"]
    assert describe(job_id)["status"] == "SUCCEEDED"


def test_without_the_simulator_moto_finishes_jobs_at_once(aws: None) -> None:
    # Given moto's Batch without the event sources (the simulator is not installed)
    network = create_network()
    role = boto3.client("iam", region_name=REGION).create_role(RoleName="r", AssumeRolePolicyDocument="{}")
    arn = _environment("plain", "FARGATE", network, role["Role"]["Arn"], "", [])
    batch().create_job_queue(
        jobQueueName="plain",
        state="ENABLED",
        priority=1,
        computeEnvironmentOrder=[{"order": 1, "computeEnvironment": arn}],
    )
    register("align")

    # When a job is submitted
    job_id = submit(queue="plain")

    # Then moto's own behaviour is unchanged
    assert describe(job_id)["status"] == "SUCCEEDED"


def test_a_state_machine_waits_for_a_simulated_job_with_sync(
    sources: EventSources, clock: VirtualClock, compute: Compute
) -> None:
    # Given a state machine that submits a job and waits for it (.sync), twice: one job fails
    with StepFunctions(clock).install():
        sfn = boto3.client("stepfunctions", region_name=REGION)
        definition = {
            "StartAt": "Submit",
            "States": {
                "Submit": {
                    "Type": "Task",
                    "Resource": "arn:aws:states:::batch:submitJob.sync",
                    "Parameters": {
                        "JobName.$": "$.name",
                        "JobQueue": "jobs",
                        "JobDefinition": "align",
                        "ContainerOverrides": {"Environment.$": "$.environment"},
                    },
                    "ResultSelector": {"status.$": "$.Status", "stopped.$": "$.StoppedAt"},
                    "End": True,
                }
            },
        }
        machine = sfn.create_state_machine(
            name="submit", definition=json.dumps(definition), roleArn="arn:aws:iam::123456789012:role/sfn"
        )["stateMachineArn"]
        ok = sfn.start_execution(stateMachineArn=machine, input=json.dumps({"name": "ok", "environment": []}))
        failing = [{"Name": "LOCALCLOUD_EXIT_CODE", "Value": "4"}]
        bad = sfn.start_execution(
            stateMachineArn=machine, input=json.dumps({"name": "bad", "environment": failing})
        )

        # When the executions run on the virtual clock
        wait_for_executions(clock)

        # Then the execution waited for the simulated job's end and failed when the job failed
        succeeded = sfn.describe_execution(executionArn=ok["executionArn"])
        assert json.loads(succeeded["output"]) == {"status": "SUCCEEDED", "stopped": millis(77)}
        failed = sfn.describe_execution(executionArn=bad["executionArn"])
        assert (failed["status"], failed["error"]) == ("FAILED", "States.TaskFailed")
        assert (
            json.loads(failed["cause"])["Container"]["ExitCode"] == 4
        )  # the job, as Step Functions spells it


# -- outcomes, retry decisions and instance types (pure functions) ----------------------------------


@pytest.mark.parametrize(
    ("environment", "expected"),
    [
        ({}, (0, None, ESSENTIAL, True, False)),
        ({"LOCALCLOUD_EXIT_CODE": "2"}, (2, None, ESSENTIAL, True, True)),
        ({"LOCALCLOUD_STOPPED_REASON": OOM}, (137, OOM, ESSENTIAL, True, True)),
        (
            {"LOCALCLOUD_STOPPED_REASON": OOM, "LOCALCLOUD_EXIT_CODE": "139"},
            (139, OOM, ESSENTIAL, True, True),
        ),
        (
            {"LOCALCLOUD_STOPPED_REASON": "ResourceInitializationError: unable to pull secrets"},
            (
                None,
                "ResourceInitializationError: unable to pull secrets",
                "Task failed to start",
                False,
                True,
            ),
        ),
        (
            {"LOCALCLOUD_STOPPED_REASON": "Host EC2 (instance i-0abc) terminated."},
            (None, None, "Host EC2 (instance i-0abc) terminated.", True, True),
        ),
        (
            {
                "LOCALCLOUD_STOPPED_REASON": "Host EC2 (instance i-0abc) terminated.",
                "LOCALCLOUD_EXIT_CODE": "0",
            },
            (0, None, "Host EC2 (instance i-0abc) terminated.", True, True),
        ),
        ({"LOCALCLOUD_EXIT_CODE": "not a number"}, (0, None, ESSENTIAL, True, False)),
    ],
)
def test_attempt_outcomes(
    environment: dict[str, str], expected: tuple[int | None, str | None, str, bool, bool]
) -> None:
    outcome = job_outcome(environment).attempt(1)

    assert (
        outcome.exit_code,
        outcome.container_reason,
        outcome.status_reason,
        outcome.starts,
        outcome.failed,
    ) == expected


def test_only_the_first_failed_attempts_fail_and_timings_have_defaults() -> None:
    steered = job_outcome({"LOCALCLOUD_EXIT_CODE": "1", "LOCALCLOUD_FAILED_ATTEMPTS": "2"})
    plain = job_outcome({"LOCALCLOUD_RUN_SECONDS": "-5", "LOCALCLOUD_LOG_LINES": "a\n\n  \nb"})

    assert [steered.attempt(number).failed for number in (1, 2, 3)] == [True, True, False]
    assert (plain.run_seconds, plain.runnable_seconds, plain.runnable_reason, plain.log_lines) == (
        0.0,
        5.0,
        None,
        ("a", "b"),
    )


def test_the_environment_is_the_definitions_with_overrides_winning() -> None:
    definition = [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}]
    overrides = [{"name": "B", "value": "3"}, {"name": "C", "value": "4"}]

    assert container_environment(definition, overrides) == {"A": "1", "B": "3", "C": "4"}
    assert container_environment(None, None) == {}


OOM_ATTEMPT = job_outcome({"LOCALCLOUD_STOPPED_REASON": OOM}).attempt(1)
SPOT_ATTEMPT = job_outcome({"LOCALCLOUD_STOPPED_REASON": "Host EC2 (instance i-1) terminated."}).attempt(1)


@pytest.mark.parametrize(
    ("strategy", "attempt", "outcome", "expected"),
    [
        (None, 1, OOM_ATTEMPT, False),
        ({"attempts": 2}, 1, OOM_ATTEMPT, True),
        ({"attempts": 2}, 2, OOM_ATTEMPT, False),
        ({"attempts": 50}, 10, OOM_ATTEMPT, False),  # AWS allows 10 at most
        ({"attempts": "many"}, 1, OOM_ATTEMPT, False),
        ({"attempts": 3, "evaluateOnExit": [{"onExitCode": "137", "action": "exit"}]}, 1, OOM_ATTEMPT, False),
        ({"attempts": 3, "evaluateOnExit": [{"onExitCode": "13*", "action": "EXIT"}]}, 1, OOM_ATTEMPT, False),
        ({"attempts": 3, "evaluateOnExit": [{"onExitCode": "1", "action": "EXIT"}]}, 1, OOM_ATTEMPT, True),
        (
            {
                "attempts": 3,
                "evaluateOnExit": [
                    {"onStatusReason": "Host EC2*", "action": "RETRY"},
                    {"onReason": "*", "action": "EXIT"},
                ],
            },
            1,
            SPOT_ATTEMPT,
            True,
        ),
        (
            {
                "attempts": 3,
                "evaluateOnExit": [
                    {"onStatusReason": "Host EC2*", "action": "RETRY"},
                    {"onReason": "*", "action": "EXIT"},
                ],
            },
            1,
            OOM_ATTEMPT,
            False,
        ),
    ],
)
def test_retry_decisions(
    strategy: dict[str, Any] | None, attempt: int, outcome: AttemptOutcome, expected: bool
) -> None:
    assert retries(strategy, attempt, outcome) is expected


@pytest.mark.parametrize(
    ("types", "expected"),
    [
        (["optimal"], "m5.large"),
        ([], "m5.large"),
        (["optimal", "c5"], "c5.large"),
        (["c5", "m6i.2xlarge"], "m6i.2xlarge"),
        (["x1"], "x1.16xlarge"),  # a family without a .large size: its first size
        (["nonesuch"], "m5.large"),
    ],
)
def test_instance_types(types: list[str], expected: str) -> None:
    assert instance_type(types, INSTANCE_TYPES) == expected


def test_a_queue_without_a_compute_environment_gets_a_task_and_no_instance(clock: VirtualClock) -> None:
    fleet = ComputeFleet(clock)

    placement = fleet.place(None, "123456789012", "us-east-1")

    assert re.fullmatch(r"arn:aws:ecs:us-east-1:123456789012:task/default/[0-9a-f]{32}", placement.task_arn)
    assert (placement.container_instance_arn, placement.instance_id) == (None, None)
    fleet.release(placement)  # nothing to release
