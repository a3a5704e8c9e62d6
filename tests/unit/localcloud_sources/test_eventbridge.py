"""EventBridge targets: full events to Lambda/Step Functions/SQS/SNS, input shaping, DLQs, disabled rules."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest

from localcloud.sources import EventSources
from localcloud.sources.target_input import render_template
from tests.unit.localcloud_sources.fake_lambda import ACCOUNT_ID, FakeLambda
from tests.unit.localcloud_sources.resources import REGION, create_queue, drain

DETAIL = {"state": "done", "items": [{"id": "i-1"}], "quote": 'say "hi"'}


def events() -> Any:
    return boto3.client("events", region_name=REGION)


def rule(name: str, *targets: dict[str, Any], state: str = "ENABLED") -> str:
    arn: str = events().put_rule(Name=name, EventPattern=json.dumps({"source": ["test.app"]}), State=state)[
        "RuleArn"
    ]
    events().put_targets(Rule=name, Targets=list(targets))
    return arn


def put(detail: dict[str, Any] = DETAIL, **extra: Any) -> None:
    entry = {"Source": "test.app", "DetailType": "Job Done", "Detail": json.dumps(detail)} | extra
    assert events().put_events(Entries=[entry])["FailedEntryCount"] == 0


def test_a_lambda_target_receives_the_full_event_with_account_and_iso_time(
    sources: EventSources, fake_lambda: FakeLambda
) -> None:
    function = fake_lambda.create("listener", lambda event: None)
    rule("to-lambda", {"Id": "fn", "Arn": function})

    put(Time=datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC), Resources=["arn:aws:s3:::bucket"])

    [event] = fake_lambda.events("listener")
    assert event["account"] == ACCOUNT_ID
    assert event["time"] == "2024-05-06T07:08:09Z"  # the entry's Time is kept
    assert (event["source"], event["detail-type"], event["region"]) == ("test.app", "Job Done", REGION)
    assert event["resources"] == ["arn:aws:s3:::bucket"]
    assert event["detail"] == DETAIL
    assert event["version"] == "0"
    assert event["id"]
    assert "ingestion-time" not in event
    assert [delivery.target_arn for delivery in sources.eventbridge.deliveries] == [function]


def test_an_event_without_time_gets_the_virtual_time(sources: EventSources, fake_lambda: FakeLambda) -> None:
    function = fake_lambda.create("listener", lambda event: None)
    rule("to-lambda", {"Id": "fn", "Arn": function})

    put()

    assert fake_lambda.events("listener")[0]["time"] == "2023-11-14T22:13:20Z"


def test_input_input_path_and_input_transformer(sources: EventSources, fake_lambda: FakeLambda) -> None:
    fixed = fake_lambda.create("fixed", lambda event: None)
    path = fake_lambda.create("path", lambda event: None)
    shaped = fake_lambda.create("shaped", lambda event: None)
    rule_arn = rule(
        "shaping",
        {"Id": "fixed", "Arn": fixed, "Input": '{"constant": true}'},
        {"Id": "path", "Arn": path, "InputPath": "$.detail.items[0]"},
        {
            "Id": "shaped",
            "Arn": shaped,
            "InputTransformer": {
                "InputPathsMap": {
                    "state": "$.detail.state",
                    "items": "$.detail.items",
                    "quote": "$.detail.quote",
                },
                "InputTemplate": (
                    '{"status": "<state>", "items": <items>, "said": "<quote>", '
                    '"rule": "<aws.events.rule-arn>"}'
                ),
            },
        },
    )

    put()

    assert fake_lambda.events("fixed") == [{"constant": True}]
    assert fake_lambda.events("path") == [{"id": "i-1"}]
    assert fake_lambda.events("shaped") == [
        {"status": "done", "items": [{"id": "i-1"}], "said": 'say "hi"', "rule": rule_arn}
    ]


def test_a_plain_text_template_reaches_sqs_verbatim(sources: EventSources) -> None:
    queue = create_queue("texts")
    rule(
        "texting",
        {
            "Id": "q",
            "Arn": queue.arn,
            "InputTransformer": {"InputPathsMap": {"s": "$.detail.state"}, "InputTemplate": "job is <s>"},
        },
    )

    put()

    assert [message["Body"] for message in drain(queue)] == ["job is done"]


def test_sqs_and_sns_targets_get_the_full_event(sources: EventSources) -> None:
    queue = create_queue("events")
    subscriber = create_queue("topic-copy")
    sns = boto3.client("sns", region_name=REGION)
    topic = sns.create_topic(Name="events")["TopicArn"]
    sns.subscribe(
        TopicArn=topic, Protocol="sqs", Endpoint=subscriber.arn, Attributes={"RawMessageDelivery": "true"}
    )
    rule("fan-out", {"Id": "q", "Arn": queue.arn}, {"Id": "t", "Arn": topic})

    put()

    for target in (queue, subscriber):
        [message] = drain(target)
        body = json.loads(message["Body"])
        assert (body["account"], body["detail"]) == (ACCOUNT_ID, DETAIL)


def test_a_state_machine_target_starts_an_execution_with_the_event(sources: EventSources) -> None:
    sfn = boto3.client("stepfunctions", region_name=REGION)
    definition = json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}})
    machine = sfn.create_state_machine(
        name="flow", definition=definition, roleArn=f"arn:aws:iam::{ACCOUNT_ID}:role/sfn"
    )
    rule("to-sfn", {"Id": "sm", "Arn": machine["stateMachineArn"]})

    put()

    [execution] = sfn.list_executions(stateMachineArn=machine["stateMachineArn"])["executions"]
    started = json.loads(sfn.describe_execution(executionArn=execution["executionArn"])["input"])
    assert (started["account"], started["detail"]) == (ACCOUNT_ID, DETAIL)


def test_an_unreachable_target_sends_the_event_to_its_dead_letter_queue(
    sources: EventSources, fake_lambda: FakeLambda
) -> None:
    dlq = create_queue("rule-dlq")
    missing = f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:gone"
    rule_arn = rule("broken", {"Id": "gone", "Arn": missing, "DeadLetterConfig": {"Arn": dlq.arn}})

    put()

    [message] = drain(dlq)
    assert json.loads(message["Body"])["detail"] == DETAIL
    attributes = {name: value["StringValue"] for name, value in message["MessageAttributes"].items()}
    assert attributes["RULE_ARN"] == rule_arn
    assert attributes["TARGET_ARN"] == missing
    assert attributes["ERROR_CODE"] == "ResourceNotFoundException"
    assert "ERROR_MESSAGE" in attributes


def test_disabled_and_non_matching_rules_deliver_nothing(
    sources: EventSources, fake_lambda: FakeLambda
) -> None:
    function = fake_lambda.create("listener", lambda event: None)
    rule("disabled", {"Id": "fn", "Arn": function}, state="DISABLED")
    events().put_rule(Name="other", EventPattern=json.dumps({"source": ["elsewhere"]}))
    events().put_targets(Rule="other", Targets=[{"Id": "fn", "Arn": function}])

    put()

    assert fake_lambda.calls == []


def test_targets_moto_delivers_still_go_through_moto(sources: EventSources, fake_lambda: FakeLambda) -> None:
    logs = boto3.client("logs", region_name=REGION)
    logs.create_log_group(logGroupName="/events/audit")
    group_arn = logs.describe_log_groups()["logGroups"][0]["arn"].removesuffix(":*")
    function = fake_lambda.create("listener", lambda event: None)
    rule("mixed", {"Id": "log", "Arn": group_arn}, {"Id": "fn", "Arn": function})

    put()

    assert len(fake_lambda.events("listener")) == 1
    logged = logs.filter_log_events(logGroupName="/events/audit")["events"]
    assert json.loads(logged[0]["message"])["detail"] == DETAIL


@pytest.mark.parametrize(
    ("template", "values", "expected"),
    [
        ('{"a": "<v>"}', {"v": 'q"uote'}, '{"a": "q\\"uote"}'),
        ('{"a": <v>}', {"v": {"x": 1}}, '{"a": {"x": 1}}'),
        ("value <v>", {"v": 'q"uote'}, 'value q"uote'),
        ('{"a": <v>}', {"v": None}, '{"a": null}'),
    ],
)
def test_render_template(template: str, values: dict[str, Any], expected: str) -> None:
    assert render_template(template, values) == expected


def test_a_fifo_queue_target_gets_its_message_group(sources: EventSources) -> None:
    queue = create_queue("events.fifo", FifoQueue="true", ContentBasedDeduplication="true")
    rule("to-fifo", {"Id": "q", "Arn": queue.arn, "SqsParameters": {"MessageGroupId": "jobs"}})

    put()

    [message] = drain(queue)
    assert message["Attributes"]["MessageGroupId"] == "jobs"


def test_a_lambda_target_whose_input_is_not_json_dead_letters(
    sources: EventSources, fake_lambda: FakeLambda
) -> None:
    dlq = create_queue("text-dlq")
    function = fake_lambda.create("listener", lambda event: None)
    transformer = {"InputPathsMap": {"s": "$.detail.state"}, "InputTemplate": "state <s>"}
    rule(
        "text-to-lambda",
        {"Id": "fn", "Arn": function, "InputTransformer": transformer, "DeadLetterConfig": {"Arn": dlq.arn}},
    )

    put()

    assert fake_lambda.calls == []
    [message] = drain(dlq)
    assert message["MessageAttributes"]["ERROR_CODE"]["StringValue"] == "InvalidInput"
    assert [delivery.error for delivery in sources.eventbridge.deliveries] == ["InvalidInput"]
