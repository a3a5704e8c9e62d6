"""The rerun_on_eni_timeout handler on moto: re-enqueue the stored original once per event (acceptance 8)."""

from __future__ import annotations

import copy
import json
from typing import Any

import boto3
import pytest
from pydantic import ValidationError

from blueprints.broker.dispatcher import client_token
from blueprints.broker.state import Status
from blueprints.core import aws
from blueprints.core.errors import ConfigurationError
from tests.support.bodies import changed
from tests.support.botocore_hooks import Reply, Script, record_calls
from tests.support.cfn import REGION
from tests.support.emf import metric_documents
from tests.support.events import load_event
from tests.support.sqs_events import with_body
from tests.unit.broker.conftest import Broker

pytestmark = pytest.mark.usefixtures("no_sleep", "max_jitter")

REQUEST_ID = "cp-2024-11-25-plate7-site3"


def stopped_event(case: str, task_arn: str, event_id: str | None = None) -> dict[str, Any]:
    """A sample ECS Task State Change event about ``task_arn`` (a task moto really started)."""
    event = copy.deepcopy(load_event("broker", "rerun_on_eni_timeout", case))
    event["detail"]["taskArn"] = task_arn
    event["resources"] = [task_arn]
    for container in event["detail"]["containers"]:
        container["taskArn"] = task_arn
    if event_id is not None:
        event["id"] = event_id
    return event


def submit(broker: Broker, case: str = "valid_request", rerun_of: str | None = None) -> str:
    """Dispatch a request (or the re-enqueued body ``rerun_of``) and return the one new task's ARN."""
    broker.use_function("DispatchTaskFunction")
    before = {task["taskArn"] for task in broker.tasks()}
    if rerun_of is None:
        event = broker.sqs_event(case)
    else:
        event = with_body(broker.sqs_event("rerun_delivery"), rerun_of)
    assert broker.dispatch(event) == {"batchItemFailures": []}
    new: set[str] = {task["taskArn"] for task in broker.tasks()} - before
    [task_arn] = new
    return task_arn


def use_rerun(broker: Broker, **overrides: str) -> list[dict[str, Any]]:
    """Configure the rerun function from the template; return the list of its SendMessage calls."""
    broker.use_function("RerunOnEniTimeoutFunction", **overrides)
    return record_calls(aws.client("sqs"), "SendMessage")


def status_of(broker: Broker, request_id: str = REQUEST_ID) -> tuple[Status | None, int]:
    record = broker.record(request_id)
    assert record is not None
    return record.status, record.reruns


def test_an_eni_timeout_re_enqueues_the_stored_original_once(broker: Broker) -> None:
    # Given a submitted request whose task stopped on an ENI provisioning timeout
    task_arn = submit(broker)
    stored = broker.record(REQUEST_ID)
    assert stored is not None
    sends = use_rerun(broker)
    event = stopped_event("eni_timeout", task_arn)

    # When EventBridge delivers the event twice
    first = broker.rerun(event)
    second = broker.rerun(event)

    # Then the stored original was sent back to the request queue once, delayed, marked as re-run 1
    assert first == second == {"outcome": "RERUN"}
    [send] = sends
    assert send["QueueUrl"] == broker.request_queue_url
    assert send["MessageBody"] == stored.body
    assert send["DelaySeconds"] == 60
    assert send["MessageAttributes"] == {"blueprints-rerun": {"DataType": "Number", "StringValue": "1"}}
    delayed = broker.sqs().get_queue_attributes(
        QueueUrl=broker.request_queue_url, AttributeNames=["ApproximateNumberOfMessagesDelayed"]
    )["Attributes"]
    assert delayed["ApproximateNumberOfMessagesDelayed"] == "1"
    assert status_of(broker) == (Status.STOPPED, 1)
    # and the idempotency table (from the template) remembers the event
    items = boto3.client("dynamodb", region_name=REGION).scan(TableName=broker.stack.ref("IdempotencyTable"))[
        "Items"
    ]
    assert [item["status"]["S"] for item in items] == ["COMPLETED"]


def test_the_re_run_is_dispatched_with_a_new_client_token(broker: Broker) -> None:
    # Given a re-run was enqueued after an ENI timeout
    calls = record_calls(aws.client("ecs"), "RunTask")
    first_task = submit(broker)
    sends = use_rerun(broker)
    broker.rerun(stopped_event("eni_timeout", first_task))

    # When the re-enqueued message is dispatched (it carries blueprints-rerun=1)
    second_task = submit(broker, rerun_of=sends[0]["MessageBody"])

    # Then RunTask got a new token, so ECS starts a new task, recorded as the current run
    assert [call["clientToken"] for call in calls] == [
        client_token(REQUEST_ID, 0),
        client_token(REQUEST_ID, 1),
    ]
    assert second_task != first_task
    record = broker.record(REQUEST_ID)
    assert record is not None
    assert (record.status, record.task_arns, record.reruns) == (Status.SUBMITTED, frozenset({second_task}), 1)


def test_after_max_eni_reruns_a_notice_is_sent_instead(broker: Broker) -> None:
    # Given the request was re-run MAX_ENI_RERUNS (3, the template default) times
    task_arn = submit(broker)
    for run in range(1, 4):
        sends = use_rerun(broker)
        assert broker.rerun(stopped_event("eni_timeout", task_arn, event_id=f"eni-{run}")) == {
            "outcome": "RERUN"
        }
        assert sends[0]["DelaySeconds"] == 60 * run
        task_arn = submit(broker, rerun_of=sends[0]["MessageBody"])
    sends = use_rerun(broker)

    # When its task stops on an ENI timeout once more
    outcome = broker.rerun(stopped_event("eni_timeout", task_arn, event_id="eni-4"))

    # Then nothing is re-enqueued; one EniTimeout notice and one DLQ copy of the original are sent
    assert outcome == {"outcome": "FAILED"}
    assert [send["QueueUrl"] for send in sends] == [broker.dlq_url]
    [notice] = broker.notices()
    assert (notice["request_id"], notice["error_class"], notice["error_code"]) == (
        REQUEST_ID,
        "EniTimeout",
        "EniProvisioningTimeout",
    )
    assert "stopped after 3 re-runs" in notice["message"]
    assert notice["log_group"] == "/aws/lambda/blueprints-broker-RerunOnEniTimeoutFunction-6F5E4D3C2B1A"
    [dead] = broker.dead_letters()
    assert json.loads(dead["Body"])["request_id"] == REQUEST_ID
    assert dead["MessageAttributes"]["error_class"]["StringValue"] == "EniTimeout"
    assert status_of(broker) == (Status.FAILED, 3)


def test_with_no_reruns_allowed_the_first_timeout_is_notified(broker: Broker) -> None:
    task_arn = submit(broker)
    sends = use_rerun(broker, MAX_ENI_RERUNS="0")

    outcome = broker.rerun(stopped_event("eni_timeout", task_arn))

    assert outcome == {"outcome": "FAILED"}
    assert [send["QueueUrl"] for send in sends] == [broker.dlq_url]
    assert len(broker.notices()) == 1
    assert status_of(broker) == (Status.FAILED, 0)


def test_giving_up_ignores_a_task_of_another_run(broker: Broker) -> None:
    submit(broker)
    sends = use_rerun(broker, MAX_ENI_RERUNS="0")
    foreign = f"arn:aws:ecs:us-east-1:123456789012:task/broker/{'c' * 32}"

    assert broker.rerun(stopped_event("eni_timeout", foreign)) == {"outcome": "IGNORED"}
    assert sends == []
    assert broker.notices() == []
    assert status_of(broker) == (Status.SUBMITTED, 0)


def test_a_rerun_is_counted(broker: Broker, capsys: pytest.CaptureFixture[str]) -> None:
    task_arn = submit(broker)
    use_rerun(broker)
    capsys.readouterr()

    broker.rerun(stopped_event("eni_timeout", task_arn))

    [metric] = metric_documents(capsys.readouterr().out, "EniRerun")
    assert metric["EniRerun"] == [1.0]


@pytest.mark.parametrize("case", ["other_stop_reason", "no_started_by"])
def test_other_stops_and_tasks_without_started_by_are_ignored(broker: Broker, case: str) -> None:
    task_arn = submit(broker)
    sends = use_rerun(broker)

    outcome = broker.rerun(stopped_event(case, task_arn))

    assert outcome == {"outcome": "IGNORED"}
    assert sends == []
    assert status_of(broker) == (Status.SUBMITTED, 0)


@pytest.mark.parametrize("started_by", ["ecs-svc/1234567890123456789", "someone-else"])
def test_tasks_the_broker_did_not_start_are_ignored(broker: Broker, started_by: str) -> None:
    task_arn = submit(broker)
    sends = use_rerun(broker)
    event = stopped_event("eni_timeout", task_arn)
    event["detail"]["startedBy"] = started_by

    assert broker.rerun(event) == {"outcome": "IGNORED"}
    assert sends == []


def test_a_task_outside_the_current_run_is_ignored(broker: Broker) -> None:
    submit(broker)
    sends = use_rerun(broker)
    foreign = f"arn:aws:ecs:us-east-1:123456789012:task/broker/{'d' * 32}"

    assert broker.rerun(stopped_event("eni_timeout", foreign)) == {"outcome": "IGNORED"}
    assert sends == []
    assert status_of(broker) == (Status.SUBMITTED, 0)


def test_a_failed_request_is_not_re_run(broker: Broker) -> None:
    broker.dispatch(broker.sqs_event("missing_subnets"))  # FAILED, never started
    sends = use_rerun(broker)
    task_arn = f"arn:aws:ecs:us-east-1:123456789012:task/broker/{'e' * 32}"
    event = stopped_event("eni_timeout", task_arn)
    event["detail"]["startedBy"] = "cp-2024-11-25-plate7-site5"

    assert broker.rerun(event) == {"outcome": "IGNORED"}
    assert sends == []


def test_a_failed_enqueue_is_repaired_by_the_retry(broker: Broker) -> None:
    # Given the re-enqueue fails once after the re-run was counted
    task_arn = submit(broker)
    sends = use_rerun(broker)
    Script(aws.client("sqs"), "SendMessage", [Reply.error("KMS.KMSInvalidStateException", "key pending")])
    event = stopped_event("eni_timeout", task_arn)
    with pytest.raises(Exception, match="KMSInvalidStateException"):
        broker.rerun(event)

    # When Lambda retries the same event
    outcome = broker.rerun(event)

    # Then the message is enqueued, and the re-run counted only once
    assert outcome == {"outcome": "RERUN"}
    assert len(sends) == 2  # the failed attempt and the retry
    assert sends[1]["MessageAttributes"]["blueprints-rerun"]["StringValue"] == "1"
    assert status_of(broker) == (Status.STOPPED, 1)


def test_a_malformed_event_fails_the_invocation(broker: Broker) -> None:
    use_rerun(broker)
    event = load_event("broker", "rerun_on_eni_timeout", "eni_timeout")
    del event["detail"]["taskArn"]

    with pytest.raises(ValidationError):
        broker.rerun(event)


def test_a_missing_setting_fails_the_invocation_naming_it(
    broker: Broker, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_rerun(broker)
    monkeypatch.delenv("IDEMPOTENCY_TABLE_NAME")
    broker.rerun_module.SETTINGS.reset()

    with pytest.raises(ConfigurationError, match="IDEMPOTENCY_TABLE_NAME"):
        broker.rerun(load_event("broker", "rerun_on_eni_timeout", "eni_timeout"))


def test_a_late_event_of_a_multi_task_run_does_not_fail_a_pending_rerun(broker: Broker) -> None:
    # Given a request for two tasks, at its last allowed re-run (MAX_ENI_RERUNS=1)
    broker.use_function("DispatchTaskFunction")
    event = broker.sqs_event("valid_request")
    broker.dispatch(
        with_body(event, json.dumps(changed(json.loads(event["Records"][0]["body"]), {"count": 2})))
    )
    record = broker.record(REQUEST_ID)
    assert record is not None
    first, second = sorted(record.task_arns)
    sends = use_rerun(broker, MAX_ENI_RERUNS="1")

    # When both tasks stop on ENI timeouts: the first event starts the one allowed re-run
    assert broker.rerun(stopped_event("eni_timeout", first, event_id="eni-a")) == {"outcome": "RERUN"}
    outcome = broker.rerun(stopped_event("eni_timeout", second, event_id="eni-b"))

    # Then the second event (same run, re-run already pending) is ignored, not a failure
    assert outcome == {"outcome": "IGNORED"}
    assert [send["QueueUrl"] for send in sends] == [broker.request_queue_url]
    assert broker.notices() == []
