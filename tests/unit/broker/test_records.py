"""The requests table adapter against moto DynamoDB (table created from the template definition)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from blueprints.broker.records import RequestStore
from blueprints.broker.state import DuplicateRequestError, LastError, RerunNotApplicableError, Status
from tests.support.botocore_hooks import Reply, Script
from tests.support.cfn import REGION
from tests.support.moto_stack import deploy
from tests.unit.broker.conftest import BROKER_TEMPLATE

NOW = datetime(2024, 11, 25, 16, 0, tzinfo=UTC)
LATER = NOW + timedelta(minutes=5)
BODY = '{"request_id": "cp-1"}'
TASK = "arn:aws:ecs:us-east-1:123456789012:task/broker/0f1e2d3c4b5a69788796a5b4c3d2e1f0"
OTHER_TASK = "arn:aws:ecs:us-east-1:123456789012:task/broker/ffffffffffffffffffffffffffffffff"
THROTTLED = LastError("RetryableApi", "ThrottlingException", "Rate exceeded")


@pytest.fixture
def table() -> Iterator[str]:
    with mock_aws():
        stack = deploy(
            BROKER_TEMPLATE,
            {
                "SharedLayerArn": "arn:aws:lambda:us-east-1:123456789012:layer:shared:1",
                "KmsKeyArn": "arn:aws:kms:us-east-1:123456789012:key/0d5a7b4e-1111-2222-3333-444455556666",
                "AlertsTopicArn": "arn:aws:sns:us-east-1:123456789012:alerts",
            },
            only={"RequestsTable"},
        )
        yield stack.ref("RequestsTable")


@pytest.fixture
def store(table: str) -> RequestStore:
    return RequestStore(table, ttl_days=30, client=boto3.client("dynamodb", region_name=REGION))


def raw_item(store: RequestStore, request_id: str) -> dict[str, Any]:
    item: dict[str, Any] = store.client.get_item(
        TableName=store.table_name, Key={"request_id": {"S": request_id}}, ConsistentRead=True
    )["Item"]
    return item


def submitted(store: RequestStore, request_id: str = "cp-1", task: str = TASK) -> None:
    store.begin_attempt(request_id, BODY, 1, 0, NOW)
    assert store.mark_submitted(request_id, [task], NOW) is True


def test_the_table_key_comes_from_the_template(store: RequestStore) -> None:
    description = store.client.describe_table(TableName=store.table_name)["Table"]
    assert description["KeySchema"] == [{"AttributeName": "request_id", "KeyType": "HASH"}]
    ttl = store.client.describe_time_to_live(TableName=store.table_name)["TimeToLiveDescription"]
    assert ttl["AttributeName"] == "expires_at"


def test_unknown_request_has_no_record(store: RequestStore) -> None:
    assert store.get("nobody") is None


def test_first_attempt_stores_the_original_body(store: RequestStore) -> None:
    # When a request is seen for the first time
    store.begin_attempt("cp-1", BODY, 1, 0, NOW)

    # Then the verbatim body, status, counters, timestamps and TTL are stored
    item = raw_item(store, "cp-1")
    assert item["body"] == {"S": BODY}
    assert item["status"] == {"S": "RECEIVED"}
    assert (item["attempts"], item["reruns"]) == ({"N": "1"}, {"N": "0"})
    assert item["created_at"] == item["updated_at"] == {"S": NOW.isoformat()}
    assert item["expires_at"] == {"N": str(int((NOW + timedelta(days=30)).timestamp()))}


def test_a_later_attempt_counts_without_touching_created_at(store: RequestStore) -> None:
    store.begin_attempt("cp-1", BODY, 1, 0, NOW)

    store.begin_attempt("cp-1", BODY, 2, 0, LATER)

    item = raw_item(store, "cp-1")
    assert item["attempts"] == {"N": "2"}
    assert item["created_at"] == {"S": NOW.isoformat()}
    assert item["updated_at"] == {"S": LATER.isoformat()}


def test_mark_submitted_records_the_task_arns(store: RequestStore) -> None:
    store.begin_attempt("cp-1", BODY, 1, 0, NOW)

    assert store.mark_submitted("cp-1", [TASK, OTHER_TASK], LATER) is True

    record = store.get("cp-1")
    assert record is not None
    assert record.status == Status.SUBMITTED
    assert record.task_arns == frozenset({TASK, OTHER_TASK})


def test_a_duplicate_of_a_submitted_request_is_detected(store: RequestStore) -> None:
    submitted(store)

    with pytest.raises(DuplicateRequestError, match="cp-1"):
        store.begin_attempt("cp-1", BODY, 2, 0, LATER)

    record = store.get("cp-1")
    assert record is not None
    assert (record.status, record.attempts) == (Status.SUBMITTED, 1)


def test_failed_cannot_overwrite_submitted(store: RequestStore) -> None:
    submitted(store)

    assert store.mark_failed("cp-1", THROTTLED, LATER) is False

    record = store.get("cp-1")
    assert record is not None
    assert record.status == Status.SUBMITTED
    assert record.last_error is None


def test_submitted_is_not_reached_twice(store: RequestStore) -> None:
    submitted(store)
    assert store.mark_submitted("cp-1", [OTHER_TASK], LATER) is False
    record = store.get("cp-1")
    assert record is not None
    assert record.task_arns == frozenset({TASK})


def test_mark_failed_on_a_received_request(store: RequestStore) -> None:
    store.begin_attempt("cp-1", BODY, 3, 0, NOW)

    assert store.mark_failed("cp-1", THROTTLED, LATER) is True

    record = store.get("cp-1")
    assert record is not None
    assert (record.status, record.last_error, record.body) == (Status.FAILED, THROTTLED, BODY)


def test_mark_failed_records_the_delivery_that_failed(store: RequestStore) -> None:
    # Given a request tried five times
    store.begin_attempt("cp-1", BODY, 5, 0, NOW)

    # When the sixth delivery exceeds the retry limit
    store.mark_failed("cp-1", THROTTLED, LATER, attempt=6)

    # Then the record says six, as the notice and the dead letter do
    record = store.get("cp-1")
    assert record is not None
    assert (record.status, record.attempts) == (Status.FAILED, 6)


def test_mark_failed_for_a_key_with_no_prior_item_creates_it(store: RequestStore) -> None:
    assert store.mark_failed("invalid:msg-1", THROTTLED, NOW) is True

    item = raw_item(store, "invalid:msg-1")
    assert item["status"] == {"S": "FAILED"}
    assert item["created_at"] == {"S": NOW.isoformat()}
    assert item["last_error"] == {
        "M": {
            "class": {"S": "RetryableApi"},
            "code": {"S": "ThrottlingException"},
            "message": {"S": "Rate exceeded"},
        }
    }


def test_failed_again_is_allowed_and_keeps_the_first_created_at(store: RequestStore) -> None:
    store.mark_failed("cp-1", THROTTLED, NOW)
    assert store.mark_failed("cp-1", LastError("Invalid", "InvalidArguments", "bad"), LATER) is True
    item = raw_item(store, "cp-1")
    assert item["created_at"] == {"S": NOW.isoformat()}
    assert item["last_error"]["M"]["code"] == {"S": "InvalidArguments"}


def test_a_failed_request_can_be_received_again(store: RequestStore) -> None:
    store.begin_attempt("cp-1", BODY, 1, 0, NOW)
    store.mark_failed("cp-1", THROTTLED, NOW)

    store.begin_attempt("cp-1", BODY, 1, 0, LATER)

    record = store.get("cp-1")
    assert record is not None
    assert record.status == Status.RECEIVED


def test_a_failed_request_is_never_submitted_without_a_new_attempt(store: RequestStore) -> None:
    store.mark_failed("cp-1", THROTTLED, NOW)
    assert store.mark_submitted("cp-1", [TASK], LATER) is False


def test_mark_step_for_a_key_with_no_prior_item(store: RequestStore) -> None:
    store.mark_step("invalid:msg-9", "dead_lettered", "msg-9")

    record = store.get("invalid:msg-9")
    assert record is not None
    assert (record.status, record.dead_lettered_message_id, record.notified_message_id) == (None, "msg-9", "")


def test_mark_step_remembers_both_steps(store: RequestStore) -> None:
    store.begin_attempt("cp-1", BODY, 6, 0, NOW)
    store.mark_step("cp-1", "dead_lettered", "msg-1")
    store.mark_step("cp-1", "notified", "msg-1")

    record = store.get("cp-1")
    assert record is not None
    assert (record.dead_lettered_message_id, record.notified_message_id, record.status) == (
        "msg-1",
        "msg-1",
        Status.RECEIVED,
    )


def test_mark_step_rejects_unknown_steps(store: RequestStore) -> None:
    with pytest.raises(ValueError, match="unknown step deleted"):
        store.mark_step("cp-1", "deleted", "msg-1")


def test_record_error_keeps_the_last_root_cause(store: RequestStore) -> None:
    store.begin_attempt("cp-1", BODY, 1, 0, NOW)
    store.record_error("cp-1", THROTTLED, NOW)
    capacity = LastError("RetryableCapacity", "ConcurrentTaskLimit", "You've reached the limit")
    store.record_error("cp-1", capacity, LATER)

    record = store.get("cp-1")
    assert record is not None
    assert record.last_error == capacity


def test_a_long_error_message_is_truncated(store: RequestStore) -> None:
    store.record_error("cp-1", LastError("Unknown", "X", "m" * 5000), NOW)
    record = store.get("cp-1")
    assert record is not None
    assert record.last_error is not None
    assert len(record.last_error.message) == 2048


# --- ENI re-runs -------------------------------------------------------------------------------


def test_start_rerun_stops_the_run_and_counts_it(store: RequestStore) -> None:
    submitted(store)

    run = store.start_rerun(
        "cp-1", "event-1", TASK, "Timeout waiting for network interface provisioning", LATER
    )

    record = store.get("cp-1")
    assert run == 1
    assert record is not None
    assert (record.status, record.reruns, record.rerun_event_ids) == (
        Status.STOPPED,
        1,
        frozenset({"event-1"}),
    )
    assert raw_item(store, "cp-1")["last_stop"]["M"]["task_arn"] == {"S": TASK}


def test_start_rerun_once_per_event_id(store: RequestStore) -> None:
    submitted(store)
    first = store.start_rerun("cp-1", "event-1", TASK, "Timeout", LATER)

    repeat = store.start_rerun("cp-1", "event-1", TASK, "Timeout", LATER)

    record = store.get("cp-1")
    assert first == repeat == 1
    assert record is not None
    assert record.reruns == 1


def test_a_second_event_for_the_same_run_is_not_applicable(store: RequestStore) -> None:
    submitted(store)
    store.start_rerun("cp-1", "event-1", TASK, "Timeout", LATER)

    with pytest.raises(RerunNotApplicableError):
        store.start_rerun("cp-1", "event-2", TASK, "Timeout", LATER)


def test_a_task_outside_the_run_is_not_applicable(store: RequestStore) -> None:
    submitted(store)

    with pytest.raises(RerunNotApplicableError, match=OTHER_TASK):
        store.start_rerun("cp-1", "event-1", OTHER_TASK, "Timeout", LATER)

    record = store.get("cp-1")
    assert record is not None
    assert (record.status, record.reruns) == (Status.SUBMITTED, 0)


def test_a_rerun_of_an_unknown_request_is_not_applicable(store: RequestStore) -> None:
    with pytest.raises(RerunNotApplicableError):
        store.start_rerun("nobody", "event-1", TASK, "Timeout", LATER)


def test_reruns_accumulate_over_runs(store: RequestStore) -> None:
    submitted(store)
    store.start_rerun("cp-1", "event-1", TASK, "Timeout", LATER)
    store.begin_attempt("cp-1", BODY, 1, 1, LATER)  # the re-enqueued message arrives
    store.mark_submitted("cp-1", [OTHER_TASK], LATER)

    assert store.start_rerun("cp-1", "event-2", OTHER_TASK, "Timeout", LATER) == 2


def test_mark_stopped_only_for_a_task_of_the_run(store: RequestStore) -> None:
    submitted(store)

    assert store.mark_stopped("cp-1", OTHER_TASK, "Timeout", LATER) is False
    assert store.mark_stopped("cp-1", TASK, "Timeout", LATER) is True

    record = store.get("cp-1")
    assert record is not None
    assert record.status == Status.STOPPED


def test_a_stopped_request_accepts_a_new_attempt(store: RequestStore) -> None:
    submitted(store)
    store.mark_stopped("cp-1", TASK, "Timeout", LATER)

    store.begin_attempt("cp-1", BODY, 1, 1, LATER)

    record = store.get("cp-1")
    assert record is not None
    assert record.status == Status.RECEIVED


# --- errors other than a failed condition propagate --------------------------------------------


@pytest.fixture
def missing_table(table: str) -> RequestStore:
    return RequestStore("no-such-table", ttl_days=30, client=boto3.client("dynamodb", region_name=REGION))


@pytest.mark.parametrize(
    "call",
    [
        lambda s: s.begin_attempt("cp-1", BODY, 1, 0, NOW),
        lambda s: s.mark_submitted("cp-1", [TASK], NOW),
        lambda s: s.mark_failed("cp-1", THROTTLED, NOW),
        lambda s: s.start_rerun("cp-1", "e", TASK, "r", NOW),
    ],
    ids=["begin_attempt", "mark_submitted", "mark_failed", "start_rerun"],
)
def test_other_dynamodb_errors_propagate(missing_table: RequestStore, call: Any) -> None:
    with pytest.raises(ClientError) as caught:
        call(missing_table)
    assert caught.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_begin_attempt_reraises_errors_of_the_update(store: RequestStore) -> None:
    # Given a stored request and DynamoDB throttling the next update
    store.begin_attempt("cp-1", BODY, 1, 0, NOW)
    Script(store.client, "UpdateItem", [Reply.error("ProvisionedThroughputExceededException", "slow down")])

    # When / Then the error is not mistaken for a duplicate
    with pytest.raises(ClientError) as caught:
        store.begin_attempt("cp-1", BODY, 2, 0, LATER)
    assert caught.value.response["Error"]["Code"] == "ProvisionedThroughputExceededException"


def test_the_default_client_comes_from_the_factory(table: str) -> None:
    from blueprints.core.aws import client

    assert RequestStore(table, 30).client is client("dynamodb")
