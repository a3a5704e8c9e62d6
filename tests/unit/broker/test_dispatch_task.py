"""The dispatch_task handler end to end, in process, on moto resources built from templates/broker.yaml.

ECS behaviour moto never shows (throttling, failures[], rejections) is scripted on the broker's own ECS
client through botocore's ``before-call`` hook; everything else is real moto. Each test states which
acceptance item of specs/queue-broker.md it demonstrates.
"""

from __future__ import annotations

import importlib.util
import io
import json
import sys
from typing import Any

import boto3
import pytest
from botocore.exceptions import ReadTimeoutError

from blueprints.broker.classify import CONCURRENT_TASK_LIMIT_PHRASE
from blueprints.broker.dispatcher import client_token
from blueprints.broker.request import request_id_of
from blueprints.broker.state import Status
from blueprints.core import aws
from blueprints.core.errors import ConfigurationError
from tests.support.bodies import DELETE, changed
from tests.support.botocore_hooks import PASS, Reply, Script, raise_on, record_calls
from tests.support.cfn import REGION
from tests.support.emf import dimensions, log_lines, metric_documents
from tests.support.paths import FUNCTIONS
from tests.support.sqs_events import message_ids, with_body, with_message_attribute, with_receive_count
from tests.unit.broker.conftest import Broker, subscribe_queue

pytestmark = pytest.mark.usefixtures("no_sleep", "max_jitter")

REQUEST_ID = "cp-2024-11-25-plate7-site3"
THROTTLED = Reply.error("ThrottlingException", "Rate exceeded")


def body_of(broker: Broker, case: str, index: int = 0) -> str:
    body: str = broker.sqs_event(case)["Records"][index]["body"]
    return body


def run_task_calls(broker: Broker) -> list[dict[str, Any]]:
    return record_calls(aws.client("ecs"), "RunTask")


def visibility_calls(broker: Broker) -> list[dict[str, Any]]:
    return record_calls(aws.client("sqs"), "ChangeMessageVisibility")


def failed_ids(response: dict[str, Any]) -> list[str]:
    return [item["itemIdentifier"] for item in response["batchItemFailures"]]


def attributes(message: dict[str, Any]) -> dict[str, str]:
    return {name: value["StringValue"] for name, value in message["MessageAttributes"].items()}


# --- Acceptance 1: a valid message starts exactly one task -------------------------------------


def test_a_valid_message_starts_one_task_and_is_recorded_submitted(broker: Broker) -> None:
    # Given the sample request as Lambda delivers it
    event = broker.sqs_event("valid_request")

    # When the broker handles it
    response = broker.dispatch(event)

    # Then nothing is reported for retry
    assert response == {"batchItemFailures": []}
    # and exactly one task runs, started by and tagged with the request id
    [task] = broker.tasks()
    assert task["startedBy"] == REQUEST_ID
    assert {"key": "request_id", "value": REQUEST_ID} in task["tags"]
    assert task["overrides"]["containerOverrides"][0]["command"] == [
        "run",
        "--job",
        "s3://jobs/plate7/site3.json",
    ]
    # and the request is SUBMITTED with that task's ARN and the original body verbatim
    record = broker.record(REQUEST_ID)
    assert record is not None
    assert record.status == Status.SUBMITTED
    assert record.task_arns == frozenset({task["taskArn"]})
    assert record.body == event["Records"][0]["body"]
    assert broker.dead_letters() == []
    assert broker.notices() == []


def test_the_message_is_gone_from_the_queue_after_success(broker: Broker) -> None:
    # Given a producer's message on the request queue
    broker.send(body_of(broker, "valid_request"))

    # When the event source delivers it
    delivery = broker.esm().poll()

    # Then it succeeded and the queue is empty (not visible, not in flight)
    assert delivery is not None
    assert delivery.failed_ids == []
    assert broker.queue_depth(broker.request_queue_url) == (0, 0)
    assert len(broker.tasks()) == 1


def test_run_task_gets_the_token_started_by_and_tags(broker: Broker) -> None:
    calls = run_task_calls(broker)

    broker.dispatch(broker.sqs_event("valid_request"))

    [call] = calls
    assert call["clientToken"] == client_token(REQUEST_ID, 0)
    assert call["startedBy"] == REQUEST_ID
    assert call["tags"][0] == {"key": "request_id", "value": REQUEST_ID}
    assert call["propagateTags"] == "TASK_DEFINITION"
    assert call["networkConfiguration"]["awsvpcConfiguration"]["subnets"] == [broker.network.subnet_id]


def test_a_capacity_provider_request_runs_on_fargate_spot(broker: Broker) -> None:
    response = broker.dispatch(broker.sqs_event("capacity_provider"))

    assert response == {"batchItemFailures": []}
    [task] = broker.tasks()
    assert task["capacityProviderName"] == "FARGATE_SPOT"
    assert task["startedBy"] == "cp-2024-11-25-plate7-site8"


def test_a_started_task_is_counted(broker: Broker, capsys: pytest.CaptureFixture[str]) -> None:
    broker.dispatch(broker.sqs_event("valid_request"))

    [document] = metric_documents(capsys.readouterr().out, "TasksStarted")
    assert document["TasksStarted"] == [1.0]


def test_logs_carry_correlation_keys_and_redact_secrets(broker: Broker, logs: io.StringIO) -> None:
    # Given a request with a secret-looking environment variable
    event = broker.sqs_event("valid_request")
    secret = changed(
        json.loads(event["Records"][0]["body"]),
        {"overrides.containerOverrides.0.environment": [{"name": "DB_PASSWORD", "value": "hunter2"}]},
    )

    broker.dispatch(with_body(event, json.dumps(secret)))

    [line] = log_lines(logs.getvalue(), "launching")
    assert (line["request_id"], line["message_id"], line["attempt"]) == (
        REQUEST_ID,
        event["Records"][0]["messageId"],
        1,
    )
    assert line["overrides"]["containerOverrides"][0]["environment"] == [
        {"name": "DB_PASSWORD", "value": "***"}
    ]
    assert "hunter2" not in logs.getvalue()


# --- Acceptance 2: a duplicate delivery still results in one task ------------------------------


def test_the_same_message_delivered_twice_starts_one_task(
    broker: Broker, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given the message was handled once
    event = broker.sqs_event("valid_request")
    calls = run_task_calls(broker)
    broker.dispatch(event)

    # When SQS delivers it again
    response = broker.dispatch(with_receive_count(event, 2))

    # Then it is recognised as a duplicate: no second RunTask, nothing to retry
    assert response == {"batchItemFailures": []}
    assert len(calls) == 1
    assert len(broker.tasks()) == 1
    record = broker.record(REQUEST_ID)
    assert record is not None
    assert (record.status, record.attempts) == (Status.SUBMITTED, 1)
    assert len(metric_documents(capsys.readouterr().out, "BrokerDuplicate")) == 1


def test_retries_of_one_run_share_the_client_token(broker: Broker) -> None:
    # Given the first attempt was throttled after ECS may have seen it
    event = broker.sqs_event("valid_request")
    calls = run_task_calls(broker)
    Script(aws.client("ecs"), "RunTask", [THROTTLED])
    broker.dispatch(event)

    # When the message comes back
    broker.dispatch(with_receive_count(event, 2))

    # Then both calls carry the same token: ECS cannot start a second task for one run
    assert [call["clientToken"] for call in calls] == [client_token(REQUEST_ID, 0)] * 2
    assert len(broker.tasks()) == 1


# --- Acceptance 3: invalid messages go to the DLQ with one notice, no retry --------------------


@pytest.mark.parametrize(
    ("case", "request_id", "field"),
    [
        ("missing_subnets", "cp-2024-11-25-plate7-site5", "networkConfiguration.awsvpcConfiguration.subnets"),
        ("unknown_container", "cp-2024-11-25-plate7-site6", "overrides.containerOverrides[0].name"),
    ],
)
def test_an_invalid_request_is_dead_lettered_with_one_notice_naming_the_field(
    broker: Broker, case: str, request_id: str, field: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given an invalid request
    event = broker.sqs_event(case)
    calls = run_task_calls(broker)

    # When the broker handles it
    response = broker.dispatch(event)

    # Then it is not retried and no task is started
    assert response == {"batchItemFailures": []}
    assert calls == []
    assert broker.tasks() == []
    # and the DLQ holds exactly one copy of the original body, with the error attributes
    [dead] = broker.dead_letters()
    assert dead["Body"] == event["Records"][0]["body"]
    assert attributes(dead) == {"error_class": "Invalid", "error_code": "InvalidArguments", "attempt": "1"}
    # and exactly one notice names the field, with the log location of the invocation
    [notice] = broker.notices()
    assert notice["request_id"] == request_id
    assert notice["error_class"] == "Invalid"
    assert [error["field"] for error in notice["errors"]] == [field]
    assert field in notice["message"]
    assert notice["log_group"] == "/aws/lambda/blueprints-broker-DispatchTaskFunction-1A2B3C4D5E6F"
    assert notice["log_stream"].startswith("2024/11/25/[$LATEST]")
    assert notice["aws_request_id"] == "3f5c6a0e-8b1d-4f0a-9d7e-2b6c1e4a9f00"
    assert notice["_attributes"] == {"error_class": "Invalid", "request_id": request_id}
    # and the request is FAILED with the reason, and the failure counted
    record = broker.record(request_id)
    assert record is not None
    assert record.status == Status.FAILED
    assert record.last_error is not None
    assert (record.last_error.failure_class, record.last_error.code) == ("Invalid", "InvalidArguments")
    [metric] = metric_documents(capsys.readouterr().out, "BrokerFailure")
    assert dimensions(metric) == {"class": "Invalid", "code": "InvalidArguments", "service": "broker"}


def test_an_invalid_message_never_comes_back(broker: Broker) -> None:
    broker.send(body_of(broker, "missing_subnets"))

    delivery = broker.esm().poll()

    assert delivery is not None
    assert delivery.failed_ids == []
    assert broker.queue_depth(broker.request_queue_url) == (0, 0)
    assert broker.queue_depth(broker.dlq_url) == (1, 0)


def test_a_body_that_is_not_json_is_dead_lettered_verbatim(broker: Broker) -> None:
    event = broker.sqs_event("invalid_json")

    response = broker.dispatch(event)

    assert response == {"batchItemFailures": []}
    [dead] = broker.dead_letters()
    assert dead["Body"] == event["Records"][0]["body"]
    [notice] = broker.notices()
    assert notice["request_id"] == f"invalid:{event['Records'][0]['messageId']}"
    assert notice["errors"][0]["field"] == "body"
    assert notice["cluster"] == notice["taskDefinition"] == ""
    record = broker.record(f"invalid:{event['Records'][0]['messageId']}")
    assert record is not None
    assert record.status == Status.FAILED


def test_an_invalid_message_never_moves_a_submitted_request_backwards(broker: Broker) -> None:
    # Given a submitted request
    broker.dispatch(broker.sqs_event("valid_request"))
    # and a malformed message that reuses its request id
    event = broker.sqs_event("valid_request")
    body = changed(json.loads(event["Records"][0]["body"]), {"count": 0})

    # When the malformed message is handled
    response = broker.dispatch(with_body(event, json.dumps(body)))

    # Then it is dead-lettered and notified, but the request stays SUBMITTED with its task
    assert response == {"batchItemFailures": []}
    assert len(broker.dead_letters()) == 1
    assert [notice["request_id"] for notice in broker.notices()] == [REQUEST_ID]
    record = broker.record(REQUEST_ID)
    assert record is not None
    assert (record.status, record.last_error) == (Status.SUBMITTED, None)
    assert len(record.task_arns) == 1


def test_a_different_body_reusing_a_submitted_request_id_is_invalid(broker: Broker) -> None:
    # Given a submitted request
    broker.dispatch(broker.sqs_event("valid_request"))
    event = broker.sqs_event("valid_request")
    body = changed(
        json.loads(event["Records"][0]["body"]), {"overrides.containerOverrides.0.command": ["other"]}
    )

    # When another body arrives under the same request id
    response = broker.dispatch(with_body(event, json.dumps(body)))

    # Then it starts nothing, is dead-lettered as Invalid with a notice, and the first stays SUBMITTED
    assert response == {"batchItemFailures": []}
    assert len(broker.tasks()) == 1
    [dead] = broker.dead_letters()
    assert attributes(dead)["error_class"] == "Invalid"
    [notice] = broker.notices()
    assert notice["errors"] == [
        {"field": "request_id", "message": "already used by a different request that was submitted"}
    ]
    record = broker.record(REQUEST_ID)
    assert record is not None
    assert record.status == Status.SUBMITTED


def test_the_same_request_re_serialised_is_still_a_duplicate(broker: Broker) -> None:
    broker.dispatch(broker.sqs_event("valid_request"))
    event = broker.sqs_event("valid_request")
    reformatted = json.dumps(json.loads(event["Records"][0]["body"]), indent=2, sort_keys=True)

    response = broker.dispatch(with_body(event, reformatted))

    assert response == {"batchItemFailures": []}
    assert len(broker.tasks()) == 1
    assert broker.dead_letters() == []


def test_an_invalid_rerun_attribute_is_invalid(broker: Broker) -> None:
    event = with_message_attribute(broker.sqs_event("valid_request"), "blueprints-rerun", "many")

    response = broker.dispatch(event)

    assert response == {"batchItemFailures": []}
    [notice] = broker.notices()
    assert notice["errors"] == [
        {"field": "messageAttributes.blueprints-rerun", "message": "must be an integer 0..1000"}
    ]
    assert broker.tasks() == []


def test_an_unregistered_task_definition_is_a_permanent_api_failure(broker: Broker) -> None:
    event = broker.sqs_event("valid_request")
    body = changed(json.loads(event["Records"][0]["body"]), {"taskDefinition": "broker-missing:3"})

    response = broker.dispatch(with_body(event, json.dumps(body)))

    assert response == {"batchItemFailures": []}
    [dead] = broker.dead_letters()
    assert attributes(dead)["error_class"] == "PermanentApi"
    assert attributes(dead)["error_code"] == "ClientException"


def test_invalid_parameter_from_ecs_is_not_retried(broker: Broker) -> None:
    Script(aws.client("ecs"), "RunTask", [Reply.error("InvalidParameterException", "No Container Instances")])

    response = broker.dispatch(broker.sqs_event("valid_request"))

    assert response == {"batchItemFailures": []}
    [notice] = broker.notices()
    assert (notice["error_class"], notice["error_code"]) == ("PermanentApi", "InvalidParameterException")
    assert len(broker.dead_letters()) == 1


def test_an_allow_listed_notify_topic_also_gets_the_notice(broker: Broker) -> None:
    # Given a team topic on the allow-list, and a request naming it
    team_topic = boto3.client("sns", region_name=REGION).create_topic(Name="team-alerts")["TopicArn"]
    team_queue = subscribe_queue(team_topic, "team-notices")
    broker.use_function("DispatchTaskFunction", NOTIFY_TOPIC_ALLOWLIST=team_topic)
    event = broker.sqs_event("unknown_container")
    body = changed(json.loads(event["Records"][0]["body"]), {"notify": {"topic_arn": team_topic}})

    # When the request fails
    broker.dispatch(with_body(event, json.dumps(body)))

    # Then both topics got the notice
    [notice] = broker.notices()
    [team_message] = broker.drain(team_queue)
    assert json.loads(team_message["Body"]) == {
        key: value for key, value in notice.items() if key != "_attributes"
    }


def test_the_request_notify_subject_is_used(broker: Broker) -> None:
    team_topic = boto3.client("sns", region_name=REGION).create_topic(Name="team-alerts")["TopicArn"]
    broker.use_function("DispatchTaskFunction", NOTIFY_TOPIC_ALLOWLIST=team_topic)
    subjects = record_calls(aws.client("sns"), "Publish")
    event = broker.sqs_event("unknown_container")
    body = changed(
        json.loads(event["Records"][0]["body"]),
        {"notify": {"topic_arn": team_topic, "subject": "plate 7 failed"}},
    )

    broker.dispatch(with_body(event, json.dumps(body)))

    # the broker's own topic keeps its standard subject (subscribers filter on it)
    assert [(call["TopicArn"], call["Subject"]) for call in subjects] == [
        (broker.stack.ref("FailureTopic"), "Blueprints broker Invalid: cp-2024-11-25-plate7-site6"),
        (team_topic, "plate 7 failed"),
    ]


def test_the_default_subject_names_class_and_request(broker: Broker) -> None:
    subjects = record_calls(aws.client("sns"), "Publish")

    broker.dispatch(broker.sqs_event("unknown_container"))

    assert [call["Subject"] for call in subjects] == ["Blueprints broker Invalid: cp-2024-11-25-plate7-site6"]


def test_a_timeout_calling_ecs_is_retried_as_unknown(broker: Broker) -> None:
    raise_on(
        aws.client("ecs"), "RunTask", ReadTimeoutError(endpoint_url="https://ecs.us-east-1.amazonaws.com")
    )
    hidden = visibility_calls(broker)

    response = broker.dispatch(broker.sqs_event("valid_request"))

    assert len(failed_ids(response)) == 1
    assert [call["VisibilityTimeout"] for call in hidden] == [15]
    record = broker.record(REQUEST_ID)
    assert record is not None
    assert record.last_error is not None
    assert (record.last_error.failure_class, record.last_error.code) == ("Unknown", "ReadTimeoutError")


# --- Acceptance 4: throttled twice, then success: visibility grows, nothing sleeps -------------


def test_throttling_is_retried_through_visibility_with_growing_delays(broker: Broker) -> None:
    # Given ECS throttles the first two attempts (time.sleep fails the test: fixture no_sleep)
    broker.send(body_of(broker, "valid_request"))
    Script(aws.client("ecs"), "RunTask", [THROTTLED, THROTTLED])
    hidden = visibility_calls(broker)
    esm = broker.esm()

    # When the event source delivers the message three times
    first = esm.poll()
    assert first is not None
    assert first.failed_ids == first.message_ids
    assert broker.queue_depth(broker.request_queue_url) == (0, 1)  # hidden, not deleted
    esm.expire_visibility(first)
    second = esm.poll()
    assert second is not None
    assert second.failed_ids == second.message_ids
    assert second.event["Records"][0]["attributes"]["ApproximateReceiveCount"] == "2"
    esm.expire_visibility(second)
    third = esm.poll()

    # Then the visibility grew per attempt (API base 15 s, equal jitter at its upper bound)
    assert [call["VisibilityTimeout"] for call in hidden] == [15, 30]
    assert {call["ReceiptHandle"] for call in hidden} == {
        first.event["Records"][0]["receiptHandle"],
        second.event["Records"][0]["receiptHandle"],
    }
    # and the third attempt started exactly one task and the message is gone
    assert third is not None
    assert third.failed_ids == []
    assert len(broker.tasks()) == 1
    assert broker.queue_depth(broker.request_queue_url) == (0, 0)
    record = broker.record(REQUEST_ID)
    assert record is not None
    assert (record.status, record.attempts) == (Status.SUBMITTED, 3)
    assert record.last_error is not None
    assert record.last_error.code == "ThrottlingException"


def test_a_throttled_attempt_records_and_counts_the_cause(
    broker: Broker, capsys: pytest.CaptureFixture[str]
) -> None:
    Script(aws.client("ecs"), "RunTask", [THROTTLED])

    response = broker.dispatch(broker.sqs_event("valid_request"))

    assert failed_ids(response) == message_ids(broker.sqs_event("valid_request"))
    record = broker.record(REQUEST_ID)
    assert record is not None
    assert record.status == Status.RECEIVED
    assert record.last_error is not None
    assert (record.last_error.failure_class, record.last_error.code) == (
        "RetryableApi",
        "ThrottlingException",
    )
    [metric] = metric_documents(capsys.readouterr().out, "BrokerFailure")
    assert dimensions(metric) == {"class": "RetryableApi", "code": "ThrottlingException", "service": "broker"}
    assert broker.dead_letters() == []
    assert broker.notices() == []


def test_an_unknown_error_code_is_retried_with_the_api_base(broker: Broker) -> None:
    Script(aws.client("ecs"), "RunTask", [Reply.error("BrandNewException", "?")])
    hidden = visibility_calls(broker)

    response = broker.dispatch(broker.sqs_event("valid_request"))

    assert len(failed_ids(response)) == 1
    assert [call["VisibilityTimeout"] for call in hidden] == [15]
    record = broker.record(REQUEST_ID)
    assert record is not None
    assert record.last_error is not None
    assert (record.last_error.failure_class, record.last_error.code) == ("Unknown", "BrandNewException")


def test_an_empty_run_task_answer_is_retried_as_unknown(broker: Broker) -> None:
    Script(aws.client("ecs"), "RunTask", [Reply.ok({"tasks": [], "failures": []})])

    response = broker.dispatch(broker.sqs_event("valid_request"))

    assert len(failed_ids(response)) == 1
    record = broker.record(REQUEST_ID)
    assert record is not None
    assert record.last_error is not None
    assert record.last_error.code == "EmptyFailure"


def test_a_refused_visibility_change_still_reports_the_retry(broker: Broker) -> None:
    # The sample event's receipt handle is not one moto issued: SQS refuses the change
    Script(aws.client("ecs"), "RunTask", [THROTTLED])

    response = broker.dispatch(broker.sqs_event("valid_request"))

    assert len(failed_ids(response)) == 1


# --- Acceptance 5: the concurrency limit is capacity, with the larger base ---------------------


def test_the_concurrent_task_limit_is_retried_as_capacity(
    broker: Broker, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given RunTask answers 200 with the documented concurrency failure
    failure = {"arn": broker.cluster_arn, "reason": CONCURRENT_TASK_LIMIT_PHRASE + "."}
    Script(aws.client("ecs"), "RunTask", [Reply.ok({"tasks": [], "failures": [failure]})])
    hidden = visibility_calls(broker)

    # When the broker handles the message
    response = broker.dispatch(broker.sqs_event("valid_request"))

    # Then it is retried with the capacity base (60 s, not 15 s) and counted as capacity
    assert len(failed_ids(response)) == 1
    assert [call["VisibilityTimeout"] for call in hidden] == [60]
    [metric] = metric_documents(capsys.readouterr().out, "BrokerFailure")
    assert dimensions(metric) == {
        "class": "RetryableCapacity",
        "code": "ConcurrentTaskLimit",
        "service": "broker",
    }
    record = broker.record(REQUEST_ID)
    assert record is not None
    assert record.last_error is not None
    assert record.last_error.failure_class == "RetryableCapacity"
    assert broker.dead_letters() == []


@pytest.mark.parametrize(("attempt", "expected"), [(1, 60), (2, 120), (3, 240), (5, 900)])
def test_capacity_backoff_grows_from_the_capacity_base(broker: Broker, attempt: int, expected: int) -> None:
    Script(aws.client("ecs"), "RunTask", [Reply.ok({"failures": [{"reason": "RESOURCE:ENI"}]})])
    hidden = visibility_calls(broker)

    broker.dispatch(with_receive_count(broker.sqs_event("valid_request"), attempt))

    assert [call["VisibilityTimeout"] for call in hidden] == [expected]


def test_a_partial_launch_is_submitted_with_the_failure_recorded(broker: Broker) -> None:
    task_arn = f"arn:aws:ecs:us-east-1:123456789012:task/broker/{'a' * 32}"
    reply = Reply.ok({"tasks": [{"taskArn": task_arn}], "failures": [{"arn": "x", "reason": "RESOURCE:CPU"}]})
    Script(aws.client("ecs"), "RunTask", [reply])

    response = broker.dispatch(broker.sqs_event("valid_request"))

    assert response == {"batchItemFailures": []}
    record = broker.record(REQUEST_ID)
    assert record is not None
    assert (record.status, record.task_arns) == (Status.SUBMITTED, frozenset({task_arn}))
    assert record.last_error is not None
    assert record.last_error.code == "RESOURCE:CPU"


# --- Acceptance 6: the retry limit: the broker notifies once and dead-letters once -------------


def test_over_the_retry_limit_the_last_root_cause_is_notified_and_dead_lettered_once(broker: Broker) -> None:
    # Given an earlier attempt failed with throttling (the recorded root cause)
    event = broker.sqs_event("retry_limit_exceeded")
    Script(aws.client("ecs"), "RunTask", [THROTTLED])
    broker.dispatch(with_receive_count(event, 1))
    calls = run_task_calls(broker)
    # and the first SNS publish of the final attempt fails
    Script(aws.client("sns"), "Publish", [Reply.error("KMSThrottlingException", "slow down")])

    # When the attempt RETRY_LIMIT + 1 (6) arrives, and after the reported failure arrives again
    first = broker.dispatch(event)
    assert failed_ids(first) == message_ids(event)
    assert broker.queue_depth(broker.dlq_url) == (1, 0)
    second = broker.dispatch(event)

    # Then the second run completes, without any RunTask call over the limit
    assert second == {"batchItemFailures": []}
    assert calls == []
    # and the DLQ holds exactly one copy, and subscribers got exactly one notice with the root cause
    [dead] = broker.dead_letters()
    assert attributes(dead) == {
        "error_class": "RetryLimitExceeded",
        "error_code": "ThrottlingException",
        "attempt": "6",
    }
    [notice] = broker.notices()
    assert (notice["error_class"], notice["error_code"], notice["attempt"]) == (
        "RetryLimitExceeded",
        "ThrottlingException",
        6,
    )
    assert "Rate exceeded" in notice["message"]
    record = broker.record("cp-2024-11-25-plate7-site7")
    assert record is not None
    assert record.status == Status.FAILED


def test_the_retry_limit_comes_from_the_settings(broker: Broker) -> None:
    broker.use_function("DispatchTaskFunction", RETRY_LIMIT="2")

    within = broker.dispatch(with_receive_count(broker.sqs_event("valid_request"), 2))
    assert within == {"batchItemFailures": []}
    assert len(broker.tasks()) == 1

    over = with_receive_count(broker.sqs_event("capacity_provider"), 3)
    assert broker.dispatch(over) == {"batchItemFailures": []}
    [notice] = broker.notices()
    assert (notice["error_class"], notice["error_code"]) == ("RetryLimitExceeded", "Unknown")
    assert "no error was recorded" in notice["message"]


def test_a_failing_dead_letter_queue_keeps_the_message(broker: Broker) -> None:
    # Given the DLQ copy fails once
    event = broker.sqs_event("unknown_container")
    Script(aws.client("sqs"), "SendMessage", [Reply.error("KMS.KMSInvalidStateException", "key pending")])

    # When the invalid message is handled twice
    first = broker.dispatch(event)
    second = broker.dispatch(event)

    # Then the first run reports it (nothing lost, nothing notified), the second completes it
    assert failed_ids(first) == message_ids(event)
    assert second == {"batchItemFailures": []}
    assert len(broker.dead_letters()) == 1
    assert len(broker.notices()) == 1


def test_a_failed_status_write_repeats_no_step_already_done(broker: Broker) -> None:
    # Given the DLQ copy and the notice succeed but the FAILED status write fails (3rd update)
    event = broker.sqs_event("unknown_container")
    Script(
        aws.client("dynamodb"),
        "UpdateItem",
        [PASS, PASS, Reply.error("InternalServerError", "try again", 500)],
    )

    # When the message is handled, reported, and handled again
    first = broker.dispatch(event)
    second = broker.dispatch(event)

    # Then the retry only completes the status: one DLQ copy, one notice
    assert failed_ids(first) == message_ids(event)
    assert second == {"batchItemFailures": []}
    assert len(broker.dead_letters()) == 1
    assert len(broker.notices()) == 1
    record = broker.record("cp-2024-11-25-plate7-site6")
    assert record is not None
    assert record.status == Status.FAILED


# --- Acceptance 7: a batch of 10 with 3 bad messages -------------------------------------------


def test_a_batch_with_three_invalid_messages_processes_the_other_seven(broker: Broker) -> None:
    # Given the ten sample messages on the queue
    sample = broker.sqs_event("batch_with_invalid")
    for record in sample["Records"]:
        broker.send(record["body"])

    # When the event source delivers them as one batch
    delivery = broker.esm().poll()

    # Then the three invalid ones went to the DLQ (not reported), the seven started
    assert delivery is not None
    assert len(delivery.message_ids) == 10
    assert delivery.failed_ids == []
    assert len(broker.tasks()) == 7
    dead = broker.dead_letters()
    assert sorted(message["Body"] for message in dead) == sorted(
        sample["Records"][index]["body"] for index in (2, 5, 8)
    )
    assert {attributes(message)["error_class"] for message in dead} == {"Invalid"}
    assert len(broker.notices()) == 3
    assert broker.queue_depth(broker.request_queue_url) == (0, 0)


def test_in_a_batch_exactly_the_retryable_failures_are_reported(broker: Broker) -> None:
    # Given ECS throttles the 2nd and 5th launch of the batch
    event = broker.sqs_event("batch_with_invalid")
    calls = run_task_calls(broker)
    Script(aws.client("ecs"), "RunTask", [PASS, THROTTLED, PASS, PASS, THROTTLED])

    # When the sample batch is handled
    response = broker.dispatch(event)

    # Then exactly the throttled records are reported; invalid ones are not
    throttled_request_ids = {calls[1]["startedBy"], calls[4]["startedBy"]}
    expected = [
        record["messageId"]
        for record in event["Records"]
        if request_id_of(record["body"]) in throttled_request_ids
    ]
    assert sorted(failed_ids(response)) == sorted(expected)
    assert len(expected) == 2
    assert len(calls) == 7
    assert len(broker.tasks()) == 5
    assert len(broker.dead_letters()) == 3


# --- configuration and import ------------------------------------------------------------------


def test_a_missing_setting_fails_the_invocation_naming_it(
    broker: Broker, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CLUSTER_ARN")
    broker.dispatch_module.SETTINGS.reset()

    with pytest.raises(ConfigurationError, match="CLUSTER_ARN"):
        broker.dispatch(broker.sqs_event("valid_request"))


def test_importing_the_handler_reads_no_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given an environment without any broker setting
    for name in ("REQUESTS_TABLE_NAME", "CLUSTER_ARN", "RETRY_LIMIT", "DEAD_LETTER_QUEUE_URL"):
        monkeypatch.delenv(name, raising=False)
    path = FUNCTIONS / "broker" / "dispatch_task" / "app.py"
    spec = importlib.util.spec_from_file_location("dispatch_task_import_check", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)

    # When the module is imported / Then nothing fails and nothing is loaded yet
    monkeypatch.setitem(sys.modules, "dispatch_task_import_check", module)
    spec.loader.exec_module(module)
    assert module.SETTINGS._value is None


# --- known defects (strict xfail: they pass once the production code is fixed) -----------------


def test_a_body_with_a_huge_number_is_dead_lettered_not_retried(broker: Broker) -> None:
    event = broker.sqs_event("valid_request")
    huge = event["Records"][0]["body"].replace('"count": 1', '"count": ' + "9" * 5000)

    response = broker.dispatch(with_body(event, huge))

    assert response == {"batchItemFailures": []}
    [dead] = broker.dead_letters()
    assert attributes(dead)["error_class"] == "Invalid"


def test_network_defaults_are_not_added_to_a_bridge_mode_task(broker: Broker) -> None:
    # Given network defaults are configured, and an EC2 bridge-mode task definition
    broker.use_function(
        "DispatchTaskFunction",
        DEFAULT_SUBNETS=broker.network.subnet_id,
        DEFAULT_SECURITY_GROUPS=broker.network.security_group_id,
        DEFAULT_ASSIGN_PUBLIC_IP="DISABLED",
    )
    boto3.client("ecs", region_name=REGION).register_task_definition(
        family="broker-legacy",
        networkMode="bridge",
        requiresCompatibilities=["EC2"],
        containerDefinitions=[{"name": "worker", "image": "legacy:1", "memory": 512}],
    )
    calls = run_task_calls(broker)
    task_arn = f"arn:aws:ecs:us-east-1:123456789012:task/broker/{'b' * 32}"
    Script(aws.client("ecs"), "RunTask", [Reply.ok({"tasks": [{"taskArn": task_arn}], "failures": []})])
    event = broker.sqs_event("valid_request")
    body = changed(
        json.loads(event["Records"][0]["body"]),
        {"launchType": "EC2", "taskDefinition": "broker-legacy:1", "networkConfiguration": DELETE},
    )

    # When the request is dispatched
    broker.dispatch(with_body(event, json.dumps(body)))

    # Then RunTask gets no networkConfiguration for a bridge-mode task
    [call] = calls
    assert "networkConfiguration" not in call


def test_a_submitted_request_redelivered_over_the_limit_is_a_duplicate(broker: Broker) -> None:
    # Given the last allowed attempt submitted the task, but the message was not deleted
    event = broker.sqs_event("valid_request")
    broker.dispatch(with_receive_count(event, 5))

    # When it is delivered once more (attempt 6 > RETRY_LIMIT 5)
    response = broker.dispatch(with_receive_count(event, 6))

    # Then it is a duplicate: no DLQ copy, no failure notice, still SUBMITTED
    assert response == {"batchItemFailures": []}
    assert broker.notices() == []
    assert broker.dead_letters() == []
