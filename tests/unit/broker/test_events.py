"""The ECS Task State Change parser model, on the sample events."""

from __future__ import annotations

import hashlib
from dataclasses import asdict

import pytest
from aws_lambda_powertools.utilities.parser import parse
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from blueprints.broker.errors import InvalidArgumentsError
from blueprints.broker.events import EcsTaskStateChangeEvent
from blueprints.broker.request import BrokerPolicy, parse_request
from tests.support.events import event_cases, load_event

TASK_ARN = "arn:aws:ecs:us-east-1:123456789012:task/broker/5c2e6b0f1d9a4e7b8c3f2a1d0e9b8c7a"


def test_an_eni_timeout_event_becomes_a_task_stopped() -> None:
    stopped = parse(
        event=load_event("broker", "rerun_on_eni_timeout", "eni_timeout"), model=EcsTaskStateChangeEvent
    )

    assert asdict(stopped.task_stopped()) == {
        "event_id": "6a7e8d4b-3c2f-4e1a-9b0d-8f7e6d5c4b3a",
        "task_arn": TASK_ARN,
        "started_by": "cp-2024-11-25-plate7-site3",
        "stopped_reason": "Timeout waiting for network interface provisioning to complete.",
    }
    assert stopped.detail.stopCode == "TaskFailedToStart"


def test_a_missing_started_by_is_empty() -> None:
    stopped = parse(
        event=load_event("broker", "rerun_on_eni_timeout", "no_started_by"), model=EcsTaskStateChangeEvent
    )
    assert stopped.task_stopped().started_by == ""


@pytest.mark.parametrize("case", event_cases("broker", "rerun_on_eni_timeout"))
def test_every_sample_event_parses(case: str) -> None:
    stopped = parse(event=load_event("broker", "rerun_on_eni_timeout", case), model=EcsTaskStateChangeEvent)
    assert stopped.detail_type == "ECS Task State Change"
    assert stopped.detail.lastStatus == "STOPPED"
    assert stopped.detail.clusterArn == "arn:aws:ecs:us-east-1:123456789012:cluster/broker"


def test_an_event_without_a_task_arn_is_rejected() -> None:
    event = load_event("broker", "rerun_on_eni_timeout", "eni_timeout")
    del event["detail"]["taskArn"]
    with pytest.raises(ValidationError):
        parse(event=event, model=EcsTaskStateChangeEvent)


# --- the dispatch_task samples: valid Lambda SQS events, bodies valid for the template defaults --

DEFAULT_POLICY = BrokerPolicy("arn:aws:ecs:us-east-1:123456789012:cluster/broker", "broker-", frozenset())


@pytest.mark.parametrize("case", event_cases("broker", "dispatch_task"))
def test_every_sqs_sample_has_the_lambda_shape(case: str) -> None:
    records = load_event("broker", "dispatch_task", case)["Records"]

    assert 1 <= len(records) <= 10
    assert len({record["messageId"] for record in records}) == len(records)
    for record in records:
        assert record["eventSource"] == "aws:sqs"
        assert record["eventSourceARN"] == "arn:aws:sqs:us-east-1:123456789012:broker-requests"
        assert record["md5OfBody"] == hashlib.md5(record["body"].encode(), usedforsecurity=False).hexdigest()
        assert int(record["attributes"]["ApproximateReceiveCount"]) >= 1


@pytest.mark.parametrize(
    "case",
    [
        "valid_request",
        "capacity_provider",
        "rerun_delivery",
        "retry_limit_exceeded",
        "missing_subnets",
        "unknown_container",
    ],
)
def test_request_samples_pass_the_parser_with_the_template_defaults(case: str) -> None:
    body = load_event("broker", "dispatch_task", case)["Records"][0]["body"]
    assert parse_request(body, DEFAULT_POLICY).family.startswith("broker-")


def test_the_batch_sample_has_seven_valid_and_three_invalid_requests() -> None:
    valid = 0
    for record in load_event("broker", "dispatch_task", "batch_with_invalid")["Records"]:
        try:
            parse_request(record["body"], DEFAULT_POLICY)
            valid += 1
        except InvalidArgumentsError:
            continue
    assert valid == 7


def test_the_rerun_sample_carries_the_rerun_attribute() -> None:
    [record] = load_event("broker", "dispatch_task", "rerun_delivery")["Records"]
    assert record["messageAttributes"]["blueprints-rerun"]["stringValue"] == "1"
    assert record["messageAttributes"]["blueprints-rerun"]["dataType"] == "Number"


# --- property: whatever EventBridge hands over, the parser answers with a model or a ValidationError --

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)
DETAIL_KEYS = st.sampled_from(
    ["taskArn", "clusterArn", "lastStatus", "startedBy", "stoppedReason", "stopCode"]
)


@settings(max_examples=200, deadline=None)
@given(overrides=st.dictionaries(DETAIL_KEYS, JSON, max_size=6), drop=st.lists(DETAIL_KEYS, max_size=3))
def test_any_detail_parses_or_is_rejected_with_a_validation_error(
    overrides: dict[str, object], drop: list[str]
) -> None:
    event = load_event("broker", "rerun_on_eni_timeout", "eni_timeout")
    event["detail"].update(overrides)
    for key in drop:
        event["detail"].pop(key, None)

    try:
        stopped = parse(event=event, model=EcsTaskStateChangeEvent).task_stopped()
    except ValidationError:
        return
    assert isinstance(stopped.task_arn, str)
    assert isinstance(stopped.started_by, str)
    assert stopped.event_id == event["id"]
