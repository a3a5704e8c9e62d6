"""The ECS task simulator: lifecycle on the virtual clock, state-change events, outcomes from env vars."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from localcloud.clock import VirtualClock
from localcloud.simulators.ecs_outcome import (
    RunTaskFault,
    RunTaskFaults,
    container_environments,
    run_task_faults,
    task_outcome,
)
from localcloud.sources import EventSources
from tests.unit.localcloud_sources.conftest import START
from tests.unit.localcloud_sources.fake_lambda import FakeLambda
from tests.unit.localcloud_sources.resources import REGION, Network, create_network, create_queue, drain

ENI_TIMEOUT = "Timeout waiting for network interface provisioning to complete."
OOM = "OutOfMemoryError: Container killed due to memory usage"


def ecs() -> Any:
    return boto3.client("ecs", region_name=REGION)


@pytest.fixture
def network(sources: EventSources) -> Network:
    ecs().create_cluster(clusterName="jobs")
    ecs().register_task_definition(
        family="job",
        networkMode="awsvpc",
        requiresCompatibilities=["FARGATE"],
        cpu="256",
        memory="512",  # task-level memory only: moto alone crashes on this shape
        containerDefinitions=[
            {
                "name": "main",
                "image": "job:1",
                "essential": True,
                "environment": [{"name": "MODE", "value": "x"}],
            },
            {"name": "sidecar", "image": "log:1", "essential": False},
        ],
    )
    return create_network()


@pytest.fixture
def listener(fake_lambda: FakeLambda) -> str:
    """A Lambda on every ECS Task State Change; returns its name."""
    function = fake_lambda.create("on-task", lambda event: None)
    events = boto3.client("events", region_name=REGION)
    pattern = {"source": ["aws.ecs"], "detail-type": ["ECS Task State Change"]}
    events.put_rule(Name="tasks", EventPattern=json.dumps(pattern))
    events.put_targets(Rule="tasks", Targets=[{"Id": "fn", "Arn": function}])
    return "on-task"


def run(network: Network, **environment: str) -> dict[str, Any]:
    overrides = {
        "containerOverrides": [
            {"name": "main", "environment": [{"name": k, "value": v} for k, v in environment.items()]}
        ]
    }
    task: dict[str, Any] = ecs().run_task(
        cluster="jobs",
        taskDefinition="job",
        launchType="FARGATE",
        networkConfiguration=network.configuration(),
        overrides=overrides,
        startedBy="broker",
    )["tasks"][0]
    return task


def describe(task_arn: str) -> dict[str, Any]:
    described: dict[str, Any] = ecs().describe_tasks(cluster="jobs", tasks=[task_arn])["tasks"][0]
    return described


def details(fake_lambda: FakeLambda, listener: str) -> list[dict[str, Any]]:
    return [event["detail"] for event in fake_lambda.events(listener)]


def test_a_task_runs_through_its_lifecycle_with_events(
    sources: EventSources, fake_lambda: FakeLambda, clock: VirtualClock, network: Network, listener: str
) -> None:
    task = run(network)
    assert task["lastStatus"] == "PROVISIONING"

    sources.run_until_idle()

    seen = details(fake_lambda, listener)
    assert [(d["lastStatus"], d["desiredStatus"]) for d in seen] == [
        ("PROVISIONING", "RUNNING"),
        ("PENDING", "RUNNING"),
        ("RUNNING", "RUNNING"),
        ("STOPPED", "STOPPED"),
    ]
    assert [d["version"] for d in seen] == [1, 2, 3, 4]
    stopped = seen[-1]
    assert (stopped["taskArn"], stopped["startedBy"], stopped["group"], stopped["launchType"]) == (
        task["taskArn"],
        "broker",
        "family:job",
        "FARGATE",
    )
    assert (stopped["stopCode"], stopped["stoppedReason"]) == (
        "EssentialContainerExited",
        "Essential container in task exited",
    )
    assert [(c["name"], c["exitCode"], c["lastStatus"]) for c in stopped["containers"]] == [
        ("main", 0, "STOPPED"),
        ("sidecar", 0, "STOPPED"),
    ]
    assert stopped["createdAt"] == "2023-11-14T22:13:20.000Z"
    assert stopped["startedAt"] == "2023-11-14T22:13:35.000Z"
    assert stopped["stoppedAt"] == "2023-11-14T22:14:35.000Z"
    assert stopped["overrides"]["containerOverrides"][0]["name"] == "main"
    assert fake_lambda.events(listener)[-1]["resources"] == [task["taskArn"]]
    assert fake_lambda.events(listener)[-1]["time"] == "2023-11-14T22:14:35Z"
    assert clock.now() == START + 75

    described = describe(task["taskArn"])
    assert (described["lastStatus"], described["desiredStatus"], described["stopCode"]) == (
        "STOPPED",
        "STOPPED",
        "EssentialContainerExited",
    )
    assert described["containers"][0]["exitCode"] == 0
    assert described["containers"][0]["taskArn"] == task["taskArn"]
    assert described["stoppedAt"].timestamp() == START + 75


def test_describe_tasks_follows_the_simulation(
    sources: EventSources, clock: VirtualClock, network: Network
) -> None:
    task_arn = run(network, LOCALCLOUD_RUN_SECONDS="600")["taskArn"]

    clock.advance(20)
    for _ in range(3):  # moto's state manager would move the task on each describe
        assert describe(task_arn)["lastStatus"] == "RUNNING"
    clock.advance(600)
    assert describe(task_arn)["lastStatus"] == "STOPPED"


def test_the_exit_code_and_run_time_come_from_the_environment(
    sources: EventSources, fake_lambda: FakeLambda, clock: VirtualClock, network: Network, listener: str
) -> None:
    run(network, LOCALCLOUD_EXIT_CODE="3", LOCALCLOUD_RUN_SECONDS="10")

    sources.run_until_idle()

    stopped = details(fake_lambda, listener)[-1]
    assert [c["exitCode"] for c in stopped["containers"]] == [3, 0]
    assert clock.now() == START + 25


def test_an_eni_timeout_stops_the_task_before_it_runs(
    sources: EventSources, fake_lambda: FakeLambda, network: Network, listener: str
) -> None:
    task_arn = run(network, LOCALCLOUD_STOPPED_REASON=ENI_TIMEOUT)["taskArn"]

    sources.run_until_idle()

    seen = details(fake_lambda, listener)
    assert [d["lastStatus"] for d in seen] == ["PROVISIONING", "STOPPED"]
    stopped = seen[-1]
    assert (stopped["stopCode"], stopped["stoppedReason"]) == ("TaskFailedToStart", ENI_TIMEOUT)
    assert "startedAt" not in stopped
    assert all("exitCode" not in container for container in stopped["containers"])
    assert describe(task_arn)["stopCode"] == "TaskFailedToStart"


def test_an_out_of_memory_kill_exits_137_with_the_container_reason(
    sources: EventSources, fake_lambda: FakeLambda, network: Network, listener: str
) -> None:
    run(network, LOCALCLOUD_STOPPED_REASON=OOM)

    sources.run_until_idle()

    stopped = details(fake_lambda, listener)[-1]
    assert [d["lastStatus"] for d in details(fake_lambda, listener)] == [
        "PROVISIONING",
        "PENDING",
        "RUNNING",
        "STOPPED",
    ]
    main = stopped["containers"][0]
    assert (main["exitCode"], main["reason"]) == (137, OOM)
    assert stopped["stopCode"] == "EssentialContainerExited"


def test_stop_task_stops_a_running_task_as_user_initiated(
    sources: EventSources, fake_lambda: FakeLambda, clock: VirtualClock, network: Network, listener: str
) -> None:
    task_arn = run(network)["taskArn"]
    clock.advance(30)
    ecs().stop_task(cluster="jobs", task=task_arn, reason="cancelled by operator")
    assert describe(task_arn)["stopCode"] == "UserInitiated"
    assert len(details(fake_lambda, listener)) == 3  # the STOPPED event is delivered asynchronously
    ecs().stop_task(cluster="jobs", task=task_arn, reason="again")  # changes nothing
    assert describe(task_arn)["stoppedReason"] == "cancelled by operator"

    sources.run_until_idle()

    stopped = details(fake_lambda, listener)[-1]
    assert [d["lastStatus"] for d in details(fake_lambda, listener)] == [
        "PROVISIONING",
        "PENDING",
        "RUNNING",
        "STOPPED",
    ]
    assert (stopped["stopCode"], stopped["stoppedReason"]) == ("UserInitiated", "cancelled by operator")
    assert stopped["containers"][0]["exitCode"] == 143
    assert clock.now() == START + 30


def test_a_stopped_task_event_drives_a_queue_consumer_end_to_end(
    sources: EventSources, fake_lambda: FakeLambda, network: Network
) -> None:
    queue = create_queue("task-results")
    events = boto3.client("events", region_name=REGION)
    pattern = {"source": ["aws.ecs"], "detail": {"lastStatus": ["STOPPED"]}}
    events.put_rule(Name="stopped", EventPattern=json.dumps(pattern))
    events.put_targets(Rule="stopped", Targets=[{"Id": "q", "Arn": queue.arn, "InputPath": "$.detail"}])
    fake_lambda.create("collector", lambda event: None)
    boto3.client("lambda", region_name=REGION).create_event_source_mapping(
        FunctionName="collector", EventSourceArn=queue.arn
    )
    run(network, LOCALCLOUD_EXIT_CODE="1")

    assert sources.run_until_idle() == 1

    [event] = fake_lambda.events("collector")
    detail = json.loads(event["Records"][0]["body"])
    assert (detail["lastStatus"], detail["containers"][0]["exitCode"]) == ("STOPPED", 1)
    assert drain(queue) == []


@pytest.mark.parametrize(
    ("environment", "expected"),
    [
        ({}, (0, "EssentialContainerExited", True, True)),
        (
            {"LOCALCLOUD_STOPPED_REASON": "CannotPullContainerError: pull access denied"},
            (None, "TaskFailedToStart", False, True),
        ),
        (
            {"LOCALCLOUD_STOPPED_REASON": "Your Spot Task was interrupted."},
            (0, "SpotInterruption", True, True),
        ),
        (
            {
                "LOCALCLOUD_STOPPED_REASON": "Something else",
                "LOCALCLOUD_STOP_CODE": "ServiceSchedulerInitiated",
            },
            (0, "ServiceSchedulerInitiated", True, True),
        ),
        ({"LOCALCLOUD_EXIT_CODE": "not a number"}, (0, "EssentialContainerExited", True, True)),
        ({"LOCALCLOUD_STOPPED_REASON": ENI_TIMEOUT}, (None, "TaskFailedToStart", False, False)),
    ],
)
def test_task_outcomes(environment: dict[str, str], expected: tuple[int | None, str, bool, bool]) -> None:
    definitions = [
        {"name": "app", "environment": [{"name": key, "value": value} for key, value in environment.items()]}
    ]
    outcome = task_outcome(container_environments(definitions, None))
    assert (outcome.exit_code, outcome.stop_code, outcome.starts, outcome.provisions) == expected


def test_overrides_win_over_the_task_definition_environment() -> None:
    definitions = [
        {"name": "first", "environment": [{"name": "A", "value": "1"}]},
        {"name": "second", "environment": [{"name": "LOCALCLOUD_EXIT_CODE", "value": "2"}]},
    ]
    overrides = {
        "containerOverrides": [
            {"name": "second", "environment": [{"name": "LOCALCLOUD_EXIT_CODE", "value": "9"}]}
        ]
    }

    environments = container_environments(definitions, overrides)
    outcome = task_outcome(environments)

    assert environments == {"first": {"A": "1"}, "second": {"LOCALCLOUD_EXIT_CODE": "9"}}
    assert (outcome.container, outcome.exit_code) == ("second", 9)


# -- RunTask faults (LOCALCLOUD_RUNTASK_*: the task definition's environment, per family) ---------------

CONCURRENCY = "You've reached the limit on the number of tasks you can run concurrently"


def register(family: str, **environment: str) -> None:
    ecs().register_task_definition(
        family=family,
        networkMode="awsvpc",
        requiresCompatibilities=["FARGATE"],
        cpu="256",
        memory="512",
        containerDefinitions=[
            {
                "name": "main",
                "image": "job:1",
                "environment": [{"name": k, "value": v} for k, v in environment.items()],
            }
        ],
    )


def single_attempt_ecs(invocation_id: str | None = None) -> Any:
    """An ECS client without SDK retries; ``invocation_id`` makes its calls look like retries of one."""
    client = boto3.client("ecs", region_name=REGION, config=Config(retries={"total_max_attempts": 1}))
    if invocation_id is not None:

        def same_invocation(request: Any, **_: Any) -> None:
            request.headers["amz-sdk-invocation-id"] = invocation_id

        # after botocore's own add_retry_headers (generic handlers run after specific ones)
        client.meta.events.register_last("request-created", same_invocation)
    return client


def attempt(network: Network, family: str, client: Any = None, **environment: str) -> dict[str, Any] | str:
    """One RunTask call: the response, or the error code it raised."""
    overrides = {
        "containerOverrides": [
            {"name": "main", "environment": [{"name": k, "value": v} for k, v in environment.items()]}
        ]
    }
    try:
        response: dict[str, Any] = (client or single_attempt_ecs()).run_task(
            cluster="jobs",
            taskDefinition=family,
            launchType="FARGATE",
            networkConfiguration=network.configuration(),
            overrides=overrides,
            startedBy="req-1",
            clientToken="token-1",
        )
    except ClientError as error:
        status = error.response["ResponseMetadata"]["HTTPStatusCode"]
        return f"{error.response['Error']['Code']} {status}"
    return response


def test_the_first_run_task_calls_of_a_family_are_throttled(
    sources: EventSources, clock: VirtualClock, network: Network
) -> None:
    register("throttled", LOCALCLOUD_RUNTASK_THROTTLE="2")

    outcomes = [attempt(network, "throttled") for _ in range(3)]
    other_family = attempt(network, "job")

    assert outcomes[:2] == ["ThrottlingException 400", "ThrottlingException 400"]
    third = outcomes[2]
    assert isinstance(third, dict)
    assert (len(third["tasks"]), third["failures"]) == (1, [])
    assert isinstance(other_family, dict)
    assert len(other_family["tasks"]) == 1
    calls = [call for call in sources.ecs.run_task_calls if call.family == "throttled"]
    assert [(call.fault, len(call.task_arns)) for call in calls] == [
        (RunTaskFault.THROTTLED, 0),
        (RunTaskFault.THROTTLED, 0),
        (None, 1),
    ]
    assert {(call.started_by, call.client_token, call.time) for call in calls} == {
        ("req-1", "token-1", START)
    }


def test_sdk_retries_of_a_throttled_call_are_throttled_too(sources: EventSources, network: Network) -> None:
    register("throttled", LOCALCLOUD_RUNTASK_THROTTLE="1")
    retrying = single_attempt_ecs(invocation_id="one-sdk-call")

    first, retried = attempt(network, "throttled", retrying), attempt(network, "throttled", retrying)
    next_call = attempt(network, "throttled")

    assert (first, retried) == ("ThrottlingException 400", "ThrottlingException 400")
    assert isinstance(next_call, dict)
    assert len(next_call["tasks"]) == 1


def test_run_task_failures_follow_the_throttles(sources: EventSources, network: Network) -> None:
    register(
        "crowded",
        LOCALCLOUD_RUNTASK_THROTTLE="1",
        LOCALCLOUD_RUNTASK_FAILURE=CONCURRENCY,
        LOCALCLOUD_RUNTASK_FAILURE_COUNT="2",
    )

    outcomes = [attempt(network, "crowded") for _ in range(4)]

    assert outcomes[0] == "ThrottlingException 400"
    cluster_arn = ecs().describe_clusters(clusters=["jobs"])["clusters"][0]["clusterArn"]
    for failed in outcomes[1:3]:
        assert isinstance(failed, dict)
        assert (failed["tasks"], failed["failures"]) == ([], [{"arn": cluster_arn, "reason": CONCURRENCY}])
    last = outcomes[3]
    assert isinstance(last, dict)
    assert (len(last["tasks"]), last["failures"]) == (1, [])
    assert len(sources.ecs.tasks) == 1  # failed calls start nothing


def test_run_task_faults_come_from_the_task_definition_only(sources: EventSources, network: Network) -> None:
    register("job-2")

    outcome = attempt(network, "job-2", LOCALCLOUD_RUNTASK_THROTTLE="5")

    assert isinstance(outcome, dict)
    assert len(outcome["tasks"]) == 1


def test_run_task_fault_counters_restart_when_the_simulator_is_installed_again(
    sources: EventSources, network: Network
) -> None:
    register("throttled", LOCALCLOUD_RUNTASK_THROTTLE="1")
    before = [attempt(network, "throttled") for _ in range(2)]

    with sources.ecs.install():
        after = attempt(network, "throttled")

    assert before[0] == "ThrottlingException 400"
    assert isinstance(before[1], dict)
    assert after == "ThrottlingException 400"


def test_a_bad_run_task_request_gets_motos_own_error(sources: EventSources, network: Network) -> None:
    outcome = attempt(network, "no-such-family")

    assert outcome == "ClientException 400"
    assert list(sources.ecs.run_task_calls) == []


@pytest.mark.parametrize(
    ("environment", "expected"),
    [
        ({}, (0, 0, "")),
        ({"LOCALCLOUD_RUNTASK_THROTTLE": "3"}, (3, 0, "")),
        ({"LOCALCLOUD_RUNTASK_FAILURE": "RESOURCE:MEMORY"}, (0, 1, "RESOURCE:MEMORY")),
        (
            {"LOCALCLOUD_RUNTASK_FAILURE": " RESOURCE:CPU ", "LOCALCLOUD_RUNTASK_FAILURE_COUNT": "4"},
            (0, 4, "RESOURCE:CPU"),
        ),
        ({"LOCALCLOUD_RUNTASK_FAILURE_COUNT": "4"}, (0, 0, "")),  # no reason: no failures
        ({"LOCALCLOUD_RUNTASK_THROTTLE": "many"}, (0, 0, "")),
        ({"LOCALCLOUD_RUNTASK_THROTTLE": "-2"}, (0, 0, "")),
    ],
)
def test_run_task_fault_settings(environment: dict[str, str], expected: tuple[int, int, str]) -> None:
    definitions = [
        {"name": "app", "environment": [{"name": key, "value": value} for key, value in environment.items()]}
    ]

    faults = run_task_faults(container_environments(definitions, None))

    assert (faults.throttles, faults.failures, faults.failure_reason) == expected


def test_run_task_faults_by_call_number() -> None:
    faults = RunTaskFaults(throttles=2, failures=1, failure_reason="AGENT")

    assert [faults.fault(call) for call in range(1, 5)] == [
        RunTaskFault.THROTTLED,
        RunTaskFault.THROTTLED,
        RunTaskFault.FAILED,
        None,
    ]


def test_only_the_first_failed_runs_of_a_key_fail(
    sources: EventSources, fake_lambda: FakeLambda, network: Network, listener: str
) -> None:
    # Given a failure that applies to the first run of key "retry-demo" only
    failure = {"LOCALCLOUD_STOPPED_REASON": OOM, "LOCALCLOUD_FAILED_RUNS": "retry-demo:1"}

    # When the same request runs twice, and a third task uses another key
    first = run(network, **failure)["taskArn"]
    sources.run_until_idle()
    second = run(network, **failure)["taskArn"]
    sources.run_until_idle()
    other = run(network, LOCALCLOUD_STOPPED_REASON=OOM, LOCALCLOUD_FAILED_RUNS="other:1")["taskArn"]
    sources.run_until_idle()

    # Then the first run was killed, the second ran normally, and the other key counts on its own
    exits = {arn: describe(arn)["containers"][0].get("exitCode") for arn in (first, second, other)}
    assert exits == {first: 137, second: 0, other: 137}


def test_container_log_lines_go_to_the_awslogs_stream(sources: EventSources, network: Network) -> None:
    # Given a task definition whose container logs with awslogs
    ecs().register_task_definition(
        family="logged",
        networkMode="awsvpc",
        requiresCompatibilities=["FARGATE"],
        cpu="256",
        memory="512",
        containerDefinitions=[
            {
                "name": "main",
                "image": "job:1",
                "logConfiguration": {
                    "logDriver": "awslogs",
                    "options": {"awslogs-group": "/jobs", "awslogs-stream-prefix": "run"},
                },
            }
        ],
    )
    overrides = {
        "containerOverrides": [
            {
                "name": "main",
                "environment": [
                    {"name": "LOCALCLOUD_LOG_LINES", "value": "loading reads\nERROR disk almost full"},
                    {"name": "LOCALCLOUD_STOPPED_REASON", "value": OOM},
                ],
            }
        ]
    }

    # When a task of it runs and is killed for memory
    task_arn = ecs().run_task(
        cluster="jobs",
        taskDefinition="logged",
        launchType="FARGATE",
        networkConfiguration=network.configuration(),
        overrides=overrides,
    )["tasks"][0]["taskArn"]
    sources.run_until_idle()

    # Then its stream holds the lines it wrote, then the kill reason, in order
    stream = f"run/main/{task_arn.rsplit('/', 1)[-1]}"
    logs = boto3.client("logs", region_name=REGION)
    events = logs.get_log_events(logGroupName="/jobs", logStreamName=stream, startFromHead=True)["events"]
    assert [event["message"] for event in events] == ["loading reads", "ERROR disk almost full", OOM]
