"""The fixture application's pipes on an in-process local cloud: deployed from the template into moto's
pipes backend, then run from a DynamoDB stream and an SQS queue to Step Functions and Lambda."""

from __future__ import annotations

import json
from typing import Any

from localcloud.cloud import LocalCloud
from localcloud.stepfunctions import wait_for_executions
from tests.unit.localcloud_pipes.conftest import drain, outputs


def put(cloud: LocalCloud, *keys: str, **attributes: str) -> None:
    for key in keys:
        item = {"pk": {"S": key}} | {name: {"S": value} for name, value in attributes.items()}
        cloud.client("dynamodb").put_item(TableName=outputs(cloud)["OrdersTable"], Item=item)


def inputs(cloud: LocalCloud, machine: str) -> dict[str, Any]:
    """Each execution's input by name, with its status."""
    sfn = cloud.client("stepfunctions")
    found = {}
    for execution in sfn.list_executions(stateMachineArn=outputs(cloud)[machine])["executions"]:
        described = sfn.describe_execution(executionArn=execution["executionArn"])
        found[execution["name"]] = (json.loads(described["input"]), described["status"])
    return found


def events(cloud: LocalCloud, function: str, since: int = 0) -> list[Any]:
    return [call.event for call in cloud.calls(function)[since:]]


def test_pipes_deploy_into_moto_with_their_references_resolved(app_cloud: LocalCloud) -> None:
    assert app_cloud.deployment is not None
    pipes = {pipe["Name"]: pipe for pipe in app_cloud.client("pipes").list_pipes()["Pipes"]}
    new_orders = app_cloud.client("pipes").describe_pipe(Name="new-orders")

    assert set(pipes) == {"new-orders", "requests", "pipes-ChangedOrdersPipe", "pipes-RemovedOrdersPipe"}
    assert new_orders["Target"] == outputs(app_cloud)["FulfilArn"]
    assert new_orders["Source"].startswith("arn:aws:dynamodb:us-east-1:123456789012:table/")
    assert new_orders["SourceParameters"]["DynamoDBStreamParameters"]["BatchSize"] == 2
    assert pipes["requests"]["Enrichment"] == app_cloud.deployment.function("EnrichFunction").arn
    kinds = {resource.type for resource in app_cloud.deployment.unsupported}
    assert not {kind for kind in kinds if kind.startswith(("AWS::Pipes", "AWS::Scheduler"))}


def test_matching_records_start_one_execution_per_batch_with_the_templated_json_array(
    app_cloud: LocalCloud,
) -> None:
    before = inputs(app_cloud, "FulfilArn")

    put(app_cloud, "o-1", "o-2", "o-3")
    app_cloud.run_until_idle()

    started = [value for name, value in inputs(app_cloud, "FulfilArn").items() if name not in before]
    assert sorted(started, key=lambda item: str(item[0])) == [
        (
            [
                {"orderId": "o-1", "order": {"pk": {"S": "o-1"}}, "pipe": "new-orders"},
                {"orderId": "o-2", "order": {"pk": {"S": "o-2"}}, "pipe": "new-orders"},
            ],
            "SUCCEEDED",
        ),
        ([{"orderId": "o-3", "order": {"pk": {"S": "o-3"}}, "pipe": "new-orders"}], "SUCCEEDED"),
    ]


def test_records_that_do_not_match_start_nothing(app_cloud: LocalCloud) -> None:
    put(app_cloud, "o-4")
    app_cloud.run_until_idle()
    before = inputs(app_cloud, "FulfilArn")
    drain(app_cloud, "PipeDeadLettersUrl")

    put(app_cloud, "o-4", status="changed")  # MODIFY: the new-orders pipe filters it out
    app_cloud.run_until_idle()

    assert inputs(app_cloud, "FulfilArn") == before


def test_a_failing_target_is_retried_then_the_batch_goes_to_the_dead_letter_queue(
    app_cloud: LocalCloud,
) -> None:
    put(app_cloud, "o-5")
    app_cloud.run_until_idle()
    drain(app_cloud, "PipeDeadLettersUrl")
    calls = len(app_cloud.calls("RejectFunction"))

    put(app_cloud, "o-5", status="changed")
    app_cloud.run_until_idle()

    changed = events(app_cloud, "RejectFunction", calls)
    assert len(changed) == 3  # the attempt and MaximumRetryAttempts: 2
    assert {record["dynamodb"]["Keys"]["pk"]["S"] for batch in changed for record in batch} == {"o-5"}
    [message] = drain(app_cloud, "PipeDeadLettersUrl")
    record = json.loads(message["Body"])
    assert record["context"]["condition"] == "RetryAttemptsExhausted"
    assert record["context"]["partnerResourceArn"].endswith(":pipe/pipes-ChangedOrdersPipe")
    assert record["DDBStreamBatchInfo"]["batchSize"] == 1


def test_a_failed_synchronous_express_execution_fails_its_batch(app_cloud: LocalCloud) -> None:
    put(app_cloud, "bad", "good")
    app_cloud.run_until_idle()
    drain(app_cloud, "PipeDeadLettersUrl")
    table = outputs(app_cloud)["OrdersTable"]

    for key in ("bad", "good"):
        app_cloud.client("dynamodb").delete_item(TableName=table, Key={"pk": {"S": key}})
    app_cloud.run_until_idle()
    wait_for_executions(app_cloud)

    audits = sorted((value[0][0]["orderId"], value[1]) for value in inputs(app_cloud, "AuditArn").values())
    assert audits == [("bad", "FAILED"), ("good", "SUCCEEDED")]
    [message] = drain(app_cloud, "PipeDeadLettersUrl")
    assert json.loads(message["Body"])["context"]["partnerResourceArn"].endswith(
        ":pipe/pipes-RemovedOrdersPipe"
    )


def test_queue_messages_are_filtered_enriched_transformed_and_batched(app_cloud: LocalCloud) -> None:
    sqs, url = app_cloud.client("sqs"), outputs(app_cloud)["RequestsUrl"]
    enrich, record = len(app_cloud.calls("EnrichFunction")), len(app_cloud.calls("RecordFunction"))
    bodies = [{"kind": "request", "id": f"r-{number}"} for number in range(6)]
    bodies += [{"kind": "request", "id": "skip-me"}, {"kind": "noise", "id": "n-1"}]
    for body in bodies:
        sqs.send_message(QueueUrl=url, MessageBody=json.dumps(body))

    app_cloud.run_until_idle()

    enriched = events(app_cloud, "EnrichFunction", enrich)
    assert [len(batch) for batch in enriched] == [5, 2]  # BatchSize 5; the noise was filtered out
    assert enriched[0][0] == {"id": "r-0"}
    delivered = [item for batch in events(app_cloud, "RecordFunction", record) for item in batch]
    assert delivered == [{"id": f"r-{number}", "owner": f"team-r-{number}"} for number in range(6)]
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert (
        attributes["ApproximateNumberOfMessages"],
        attributes["ApproximateNumberOfMessagesNotVisible"],
    ) == (
        "0",
        "0",
    )


def test_a_failing_queue_batch_stays_in_the_queue_until_its_redrive_policy_moves_it(
    app_cloud: LocalCloud,
) -> None:
    sqs, url = app_cloud.client("sqs"), outputs(app_cloud)["RequestsUrl"]
    record = len(app_cloud.calls("RecordFunction"))

    sqs.send_message(QueueUrl=url, MessageBody=json.dumps({"kind": "request", "id": "fail"}))
    app_cloud.run_until_idle()

    assert len(events(app_cloud, "RecordFunction", record)) == 2  # maxReceiveCount: 2
    [message] = drain(app_cloud, "RequestsDeadLettersUrl")
    assert json.loads(message["Body"])["id"] == "fail"
