"""OpsCenter (SSM OpsItems) on moto's SSM through a plain boto3 client, with events on the default bus."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from localcloud.clock import VirtualClock
from localcloud.cloud import LocalCloud
from localcloud.fakes import install_fakes
from localcloud.fakes.opscenter import ops_center

ACCOUNT = "123456789012"
REGION = "us-east-1"


def _client(service: str, endpoint_url: str | None = None, region: str = REGION) -> Any:
    session = boto3.session.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name=region
    )
    return session.client(service, endpoint_url=endpoint_url)  # type: ignore[call-overload]


@pytest.fixture
def ssm() -> Iterator[Any]:
    with mock_aws(), install_fakes():
        yield _client("ssm")


def _queue_for(source: str, endpoint_url: str | None = None) -> tuple[Any, str]:
    """An SQS queue receiving every event of ``source`` on the default bus."""
    sqs, events = _client("sqs", endpoint_url), _client("events", endpoint_url)
    url = sqs.create_queue(QueueName="events")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(Name="all", EventPattern=json.dumps({"source": [source]}))
    events.put_targets(Rule="all", Targets=[{"Id": "queue", "Arn": arn}])
    return sqs, url


def _received(sqs: Any, url: str) -> list[dict[str, Any]]:
    messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    return [json.loads(message["Body"]) for message in messages]


def _create(ssm: Any, **overrides: Any) -> str:
    params: dict[str, Any] = {"Title": "Checkout errors", "Source": "svc-a", "Description": "5xx above 5%"}
    params.update(overrides)
    return str(ssm.create_ops_item(**params)["OpsItemId"])


def _ids(response: dict[str, Any]) -> list[str]:
    return [summary["OpsItemId"] for summary in response["OpsItemSummaries"]]


def test_create_then_get_returns_the_stored_ops_item(ssm: Any) -> None:
    # Given an OpsItem created with every field DORA reads
    started = datetime(2024, 3, 11, 9, 0, tzinfo=UTC)
    response = ssm.create_ops_item(
        Title="Checkout errors",
        Source="svc-a",
        Description="5xx above 5%",
        Priority=2,
        Category="Availability",
        Severity="2",
        OperationalData={"deployment": {"Type": "SearchableString", "Value": "exec-1"}},
        ActualStartTime=started,
    )

    # When it is read back
    item = ssm.get_ops_item(OpsItemId=response["OpsItemId"])["OpsItem"]

    # Then it is open, at version 1, with AWS's id and ARN shapes and the given fields
    assert re.fullmatch(r"oi-[0-9a-f]{12}", response["OpsItemId"]) is not None
    assert response["OpsItemArn"] == f"arn:aws:ssm:{REGION}:{ACCOUNT}:opsitem/{response['OpsItemId']}"
    assert item["OpsItemArn"] == response["OpsItemArn"]
    assert (item["Status"], item["Version"], item["OpsItemType"]) == ("Open", "1", "/aws/issue")
    assert (item["Title"], item["Source"], item["Priority"]) == ("Checkout errors", "svc-a", 2)
    assert (item["Category"], item["Severity"]) == ("Availability", "2")
    assert item["OperationalData"]["deployment"]["Value"] == "exec-1"
    assert item["ActualStartTime"] == started
    assert item["CreatedTime"] == item["LastModifiedTime"]
    assert item["CreatedBy"] == f"arn:aws:sts::{ACCOUNT}:user/moto"
    assert "ActualEndTime" not in item


def test_update_changes_fields_bumps_the_version_and_the_modified_time(ssm: Any) -> None:
    # Given an open OpsItem with operational data
    ops_item_id = _create(ssm, OperationalData={"a": {"Value": "1"}, "b": {"Value": "2"}})
    created = ssm.get_ops_item(OpsItemId=ops_item_id)["OpsItem"]
    ended = datetime(2024, 3, 11, 10, 30, tzinfo=UTC)

    # When it is resolved with an end time, one key changed and another deleted
    ssm.update_ops_item(
        OpsItemId=ops_item_id,
        Status="Resolved",
        ActualEndTime=ended,
        OperationalData={"a": {"Value": "changed"}},
        OperationalDataToDelete=["b"],
    )
    ssm.update_ops_item(OpsItemId=ops_item_id, Severity="1")
    item = ssm.get_ops_item(OpsItemId=ops_item_id)["OpsItem"]

    # Then the changes are stored and every update counted
    assert (item["Status"], item["Severity"], item["Version"]) == ("Resolved", "1", "3")
    assert item["ActualEndTime"] == ended
    assert item["OperationalData"] == {"a": {"Value": "changed"}}
    assert item["LastModifiedTime"] >= created["LastModifiedTime"]
    assert item["CreatedTime"] == created["CreatedTime"]


@pytest.mark.parametrize(
    ("overrides", "parameter"),
    [
        ({"Priority": 6}, "Priority"),
        ({"OpsItemType": "/custom/thing"}, "OpsItemType"),
        ({"OperationalData": {"aws:owner": {"Value": "x"}}}, "OperationalData"),
        ({"OperationalData": {"/ssm/x": {"Value": "x"}}}, "OperationalData"),
        ({"Title": " "}, "Title"),
        ({"Source": "s" * 129}, "Source"),
    ],
)
def test_create_rejects_invalid_parameters_naming_them(
    ssm: Any, overrides: dict[str, Any], parameter: str
) -> None:
    # When an OpsItem is created with an invalid parameter
    with pytest.raises(ssm.exceptions.OpsItemInvalidParameterException) as raised:
        _create(ssm, **overrides)

    # Then AWS's error names the parameter and nothing is stored
    assert raised.value.response["ParameterNames"] == [parameter]
    assert ssm.describe_ops_items()["OpsItemSummaries"] == []


def test_update_rejects_an_unknown_status(ssm: Any) -> None:
    # Given an OpsItem
    ops_item_id = _create(ssm)

    # When its status is set to a value the API does not have
    with pytest.raises(ssm.exceptions.OpsItemInvalidParameterException) as raised:
        ssm.update_ops_item(OpsItemId=ops_item_id, Status="Done")

    # Then it is refused and the item is unchanged
    assert raised.value.response["ParameterNames"] == ["Status"]
    assert ssm.get_ops_item(OpsItemId=ops_item_id)["OpsItem"]["Version"] == "1"


def test_unknown_ids_and_mismatched_arns_are_not_found(ssm: Any) -> None:
    # Given one OpsItem
    ops_item_id = _create(ssm)
    other_arn = f"arn:aws:ssm:{REGION}:{ACCOUNT}:opsitem/oi-000000000000"

    # When unknown ids (or an ARN naming another item) are read or updated, Then they are not found
    with pytest.raises(ssm.exceptions.OpsItemNotFoundException):
        ssm.get_ops_item(OpsItemId="oi-000000000000")
    with pytest.raises(ssm.exceptions.OpsItemNotFoundException):
        ssm.update_ops_item(OpsItemId="oi-000000000000", Status="Resolved")
    with pytest.raises(ssm.exceptions.OpsItemNotFoundException):
        ssm.get_ops_item(OpsItemId=ops_item_id, OpsItemArn=other_arn)


def test_dedup_string_refuses_a_duplicate_until_the_first_is_resolved(ssm: Any) -> None:
    # Given an open OpsItem with a dedup string
    dedup = {"/aws/dedup": {"Type": "SearchableString", "Value": json.dumps({"dedupString": "svc-a-5xx"})}}
    first = _create(ssm, OperationalData=dedup)

    # When another one with the same dedup string is created
    with pytest.raises(ssm.exceptions.OpsItemAlreadyExistsException) as raised:
        _create(ssm, OperationalData=dedup)
    # and again after the first is resolved
    ssm.update_ops_item(OpsItemId=first, Status="Resolved")
    second = _create(ssm, OperationalData=dedup)

    # Then the duplicate names the existing item, and a resolved one no longer blocks
    assert raised.value.response["OpsItemId"] == first
    assert second != first


def test_a_malformed_dedup_value_is_an_invalid_parameter(ssm: Any) -> None:
    with pytest.raises(ssm.exceptions.OpsItemInvalidParameterException):
        _create(ssm, OperationalData={"/aws/dedup": {"Value": "not json"}})


@pytest.mark.parametrize(
    ("flt", "expected"),
    [
        ({"Key": "Status", "Operator": "Equal", "Values": ["Resolved"]}, ["resolved"]),
        ({"Key": "Status", "Operator": "Equal", "Values": ["Open", "InProgress"]}, ["security", "checkout"]),
        ({"Key": "Source", "Operator": "Equal", "Values": ["svc-b"]}, ["security"]),
        ({"Key": "Source", "Operator": "Contains", "Values": ["SVC-A"]}, ["resolved", "checkout"]),
        ({"Key": "Title", "Operator": "Contains", "Values": ["error"]}, ["resolved", "checkout"]),
        ({"Key": "Title", "Operator": "Equal", "Values": ["Checkout errors"]}, ["checkout"]),
        ({"Key": "Category", "Operator": "Equal", "Values": ["Security"]}, ["security"]),
        ({"Key": "Severity", "Operator": "Equal", "Values": ["1"]}, ["resolved", "security"]),
        ({"Key": "Priority", "Operator": "Equal", "Values": ["3"]}, ["checkout"]),
        (
            {"Key": "OpsItemType", "Operator": "Equal", "Values": ["/aws/issue"]},
            ["resolved", "security", "checkout"],
        ),
        ({"Key": "OperationalDataKey", "Operator": "Equal", "Values": ["deployment"]}, ["checkout"]),
        ({"Key": "OperationalDataValue", "Operator": "Contains", "Values": ["exec"]}, ["checkout"]),
        (
            {
                "Key": "OperationalData",
                "Operator": "Equal",
                "Values": ['{"key": "deployment", "value": "exec-9"}'],
            },
            ["checkout"],
        ),
        ({"Key": "ResourceId", "Operator": "Contains", "Values": ["table/orders"]}, ["resolved"]),
        (
            {"Key": "ActualStartTime", "Operator": "GreaterThan", "Values": ["2024-03-01T00:00:00Z"]},
            ["checkout"],
        ),
    ],
)
def test_describe_filters(ssm: Any, flt: dict[str, Any], expected: list[str]) -> None:
    # Given three OpsItems of two services (created in the order checkout, security, resolved)
    names = {
        _create(
            ssm,
            Priority=3,
            Category="Availability",
            Severity="2",
            OperationalData={"deployment": {"Type": "SearchableString", "Value": "exec-9"}},
            ActualStartTime=datetime(2024, 3, 11, tzinfo=UTC),
        ): "checkout",
        _create(ssm, Title="Leaked key", Source="svc-b", Category="Security", Severity="1"): "security",
        _create(
            ssm,
            Title="Old errors",
            Source="svc-a-worker",
            Severity="1",
            OperationalData={
                "/aws/resources": {
                    "Value": json.dumps([{"arn": "arn:aws:dynamodb:us-east-1:1:table/orders"}])
                }
            },
        ): "resolved",
    }
    resolved = next(ops_item_id for ops_item_id, name in names.items() if name == "resolved")
    ssm.update_ops_item(OpsItemId=resolved, Status="Resolved")
    ssm.update_ops_item(OpsItemId=next(iter(names)), Status="InProgress")

    # When they are described with one filter
    response = ssm.describe_ops_items(OpsItemFilters=[flt])

    # Then the matching ones come back, newest first
    assert [names[ops_item_id] for ops_item_id in _ids(response)] == expected


def test_describe_ands_filters_and_compares_times(ssm: Any) -> None:
    # Given OpsItems created an hour apart (seeded at given times)
    center = ops_center(ACCOUNT, REGION)
    base = datetime(2024, 3, 11, 9, 0, tzinfo=UTC)
    item = {"Title": "t", "Description": "d"}
    early = center.create({**item, "Source": "svc-a"}, at=base)["OpsItemId"]
    late = center.create({**item, "Source": "svc-a"}, at=base + timedelta(hours=2))["OpsItemId"]
    center.create({**item, "Source": "svc-b"}, at=base + timedelta(hours=2))

    # When they are filtered by source and creation time (ISO and epoch values)
    after = ssm.describe_ops_items(
        OpsItemFilters=[
            {"Key": "Source", "Operator": "Equal", "Values": ["svc-a"]},
            {"Key": "CreatedTime", "Operator": "GreaterThan", "Values": ["2024-03-11T10:00:00Z"]},
        ]
    )
    before = ssm.describe_ops_items(
        OpsItemFilters=[
            {"Key": "Source", "Operator": "Equal", "Values": ["svc-a"]},
            {
                "Key": "LastModifiedTime",
                "Operator": "LessThan",
                "Values": [str((base + timedelta(hours=1)).timestamp())],
            },
        ]
    )

    # Then every filter applies
    assert _ids(after) == [late]
    assert _ids(before) == [early]
    assert after["OpsItemSummaries"][0]["CreatedTime"] == base + timedelta(hours=2)


@pytest.mark.parametrize(
    "flt",
    [
        {"Key": "Status", "Operator": "Contains", "Values": ["Open"]},
        {"Key": "CreatedTime", "Operator": "Equal", "Values": ["2024-03-11T10:00:00Z"]},
        {"Key": "CreatedTime", "Operator": "GreaterThan", "Values": ["yesterday"]},
        {"Key": "OperationalData", "Operator": "Equal", "Values": ["deployment"]},
        {"Key": "InsightByType", "Operator": "Equal", "Values": ["x"]},
    ],
)
def test_describe_rejects_unsupported_filters(ssm: Any, flt: dict[str, Any]) -> None:
    # Given an OpsItem (so filters are evaluated)
    _create(ssm)

    # When a filter uses an operator its key does not support, or a malformed value
    with pytest.raises(ClientError) as raised:
        ssm.describe_ops_items(OpsItemFilters=[flt])

    # Then the request is a validation error
    assert raised.value.response["Error"]["Code"] == "ValidationException"


def test_describe_paginates_with_tokens_bound_to_the_request(ssm: Any) -> None:
    # Given five OpsItems
    created = [_create(ssm, Title=f"item {n}") for n in range(5)]

    # When they are listed two at a time
    pages, token = [], None
    while True:
        response = ssm.describe_ops_items(MaxResults=2, **({"NextToken": token} if token else {}))
        pages.append(_ids(response))
        token = response.get("NextToken")
        if token is None:
            break
    first = ssm.describe_ops_items(MaxResults=2)["NextToken"]

    # Then every item comes once, newest first, and a token is refused for another request
    assert [len(page) for page in pages] == [2, 2, 1]
    assert sorted(ops_item_id for page in pages for ops_item_id in page) == sorted(created)
    with pytest.raises(ClientError) as invalid:
        ssm.describe_ops_items(
            MaxResults=2,
            NextToken=first,
            OpsItemFilters=[{"Key": "Status", "Operator": "Equal", "Values": ["Open"]}],
        )
    with pytest.raises(ClientError) as too_many:
        ssm.describe_ops_items(MaxResults=51)
    assert invalid.value.response["Error"]["Code"] == "InvalidNextToken"
    assert too_many.value.response["Error"]["Code"] == "ValidationException"


def test_create_and_update_put_aws_events_on_the_default_bus(ssm: Any) -> None:
    # Given a rule sending every aws.ssm event to a queue
    sqs, url = _queue_for("aws.ssm")

    # When an OpsItem is created and then resolved
    ops_item_id = _create(ssm)
    ssm.update_ops_item(OpsItemId=ops_item_id, Status="Resolved")
    item = ssm.get_ops_item(OpsItemId=ops_item_id)["OpsItem"]

    # Then both events arrive in AWS's shape
    created, updated = _received(sqs, url)
    arn = f"arn:aws:ssm:{REGION}:{ACCOUNT}:opsitem/{ops_item_id}"
    assert (created["source"], created["detail-type"]) == ("aws.ssm", "OpsItem Create")
    assert (updated["source"], updated["detail-type"]) == ("aws.ssm", "OpsItem Update")
    assert created["resources"] == updated["resources"] == [arn]
    assert created["region"] == REGION
    created_time = datetime.strptime(created["detail"].pop("created-time"), "%Y-%m-%dT%H:%M:%S.%fZ")
    assert abs(created_time.replace(tzinfo=UTC) - item["CreatedTime"]) < timedelta(milliseconds=1)
    assert created["detail"] == {
        "created-by": f"arn:aws:sts::{ACCOUNT}:user/moto",
        "source": "svc-a",
        "status": "Open",
        "ops-item-id": ops_item_id,
        "title": "Checkout errors",
        "ops-item-type": "/aws/issue",
        "description": "5xx above 5%",
    }
    assert updated["detail"]["status"] == "Resolved"
    assert updated["detail"]["modified-by"] == f"arn:aws:sts::{ACCOUNT}:user/moto"
    assert set(updated["detail"]) == set(created["detail"]) | {"created-time", "modified-by", "modified-time"}


def test_times_follow_the_virtual_clock() -> None:
    # Given the local cloud's virtual clock, set to a past instant
    start = datetime(2024, 3, 11, 9, 0, tzinfo=UTC)
    clock = VirtualClock(start=start.timestamp())
    with mock_aws(), install_fakes(), clock.install():
        ssm = _client("ssm")
        sqs, url = _queue_for("aws.ssm")

        # When an OpsItem is created, and resolved 90 virtual minutes later
        ops_item_id = _create(ssm)
        clock.advance(90 * 60)
        ssm.update_ops_item(OpsItemId=ops_item_id, Status="Resolved")
        item = ssm.get_ops_item(OpsItemId=ops_item_id)["OpsItem"]
        created, updated = _received(sqs, url)

    # Then its times and its events' times are the clock's
    assert item["CreatedTime"] == start
    assert item["LastModifiedTime"] == start + timedelta(minutes=90)
    assert created["detail"]["created-time"] == "2024-03-11T09:00:00.000000Z"
    assert (created["time"], updated["time"]) == ("2024-03-11T09:00:00Z", "2024-03-11T10:30:00Z")
    assert updated["detail"]["modified-time"] == "2024-03-11T10:30:00.000000Z"


def test_the_operations_exist_only_while_the_fakes_are_installed() -> None:
    with mock_aws():
        ssm = _client("ssm")
        with install_fakes():
            ops_item_id = _create(ssm)
        # moto answers for itself again once uninstalled
        with pytest.raises(NotImplementedError):
            ssm.get_ops_item(OpsItemId=ops_item_id)


def test_state_is_per_region_and_reset_with_moto() -> None:
    with install_fakes():
        with mock_aws():
            ops_item_id = _create(_client("ssm"))
            other = _client("ssm", region="eu-west-1")
            with pytest.raises(other.exceptions.OpsItemNotFoundException):
                other.get_ops_item(OpsItemId=ops_item_id)
        with mock_aws():
            assert _client("ssm").describe_ops_items()["OpsItemSummaries"] == []


@pytest.mark.enable_socket
def test_served_ops_items_and_their_events() -> None:
    # Given the local cloud served on its endpoint, and a rule sending aws.ssm events to a queue
    with LocalCloud("template.yaml", serve=True, port=0, event_sources=False) as cloud:
        ssm = _client("ssm", cloud.endpoint_url)
        sqs, url = _queue_for("aws.ssm", cloud.endpoint_url)

        # When an external client creates, updates and lists OpsItems
        ops_item_id = _create(ssm)
        ssm.update_ops_item(OpsItemId=ops_item_id, Status="InProgress")
        listed = ssm.describe_ops_items(
            OpsItemFilters=[{"Key": "Status", "Operator": "Equal", "Values": ["InProgress"]}]
        )
        with pytest.raises(ssm.exceptions.OpsItemNotFoundException):
            ssm.get_ops_item(OpsItemId="oi-000000000000")
        events = _received(sqs, url)

    # Then it sees what an in-process client sees
    assert _ids(listed) == [ops_item_id]
    assert [event["detail-type"] for event in events] == ["OpsItem Create", "OpsItem Update"]
