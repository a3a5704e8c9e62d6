"""The pipe, the state machine and the code agree: the pipe filter matches exactly the records that need a
costing (tested against stream-record fixtures with the EventBridge pattern matcher the local cloud uses),
its input template gives the state machine what it reads, the ASL writes every amount as a string with
conditions that make a second costing impossible, and it reads only what the pricing function returns."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest

from blueprints.benchmarking.costing import Pricer, state_output
from blueprints.benchmarking.models import Collection
from blueprints.benchmarking.ports import PriceStats
from blueprints.benchmarking.service import MISSING_METRIC
from localcloud.sources.filters import RecordFilter
from localcloud.sources.pipes import render_template
from localcloud.sources.target_input import json_path
from tests.support.events import load_event
from tests.support.paths import ROOT
from tests.support.template import load_template
from tests.unit.benchmarking.conftest import BENCHMARKING_TEMPLATE
from tests.unit.benchmarking.fakes import SnapshotBook

ASL = json.loads((ROOT / "statemachines" / "benchmarking" / "cost_launch.asl.json").read_text())
RESOURCES = load_template(BENCHMARKING_TEMPLATE)["Resources"]
PIPE = RESOURCES["CostingPipe"]["Properties"]


def pipe_filter(cost_failed_runs: bool) -> RecordFilter:
    branches = PIPE["SourceParameters"]["FilterCriteria"]["Filters"]["Fn::If"]
    assert branches[0] == "CostsFailedRuns"
    return RecordFilter({"Filters": branches[1] if cost_failed_runs else branches[2]})


def record(case: str) -> dict[str, Any]:
    found: dict[str, Any] = load_event("benchmarking", "cost_launch", case)["Records"][0]
    return found


@pytest.mark.parametrize(
    ("case", "with_failed", "without_failed"),
    [
        ("stream_complete", True, True),
        ("stream_failed", True, False),
        ("stream_rejected_insert", True, False),  # a request refused at registration: costed at zero usage
        ("stream_running", False, False),
        ("stream_claimed", False, False),  # the workflow's own claim does not start another execution
        ("stream_pending", False, False),
        ("stream_costed", False, False),  # writing the cost does not retrigger the pipe
    ],
)
def test_the_pipe_filter_selects_finished_launches_without_a_cost_or_costing(
    case: str, with_failed: bool, without_failed: bool
) -> None:
    assert pipe_filter(cost_failed_runs=True).matches(record(case)) is with_failed
    assert pipe_filter(cost_failed_runs=False).matches(record(case)) is without_failed


def test_a_cost_stored_as_a_number_would_loop_so_the_workflow_writes_it_as_a_string() -> None:
    # Given the filter tests totalCost.S: a number-typed totalCost would still match (an endless loop)
    assert pipe_filter(cost_failed_runs=True).matches(record("stream_cost_as_number")) is True

    # Then the ASL writes totalCost (and every amount) with S, and the pricing function returns strings
    values = write_cost()["Parameters"]["ExpressionAttributeValues"]
    for name in (":total", ":instance", ":volume", ":filesystem", ":fargate"):
        assert set(values[name]) == {"S.$"}
    output = state_output(empty(), Pricer(SnapshotBook()).price(empty()), PriceStats(), "s3://b/k")
    assert isinstance(output["total_cost"], str)


def test_the_input_template_keeps_what_the_state_machine_reads_and_strips_the_stream_metadata() -> None:
    template = PIPE["TargetParameters"]["InputTemplate"]
    source = record("stream_complete")

    rendered = json.loads(render_template(template, lambda path: json_path(source, path)))

    assert rendered == {
        "launch_id": "wf-2024-0042",
        "attempt": "1",
        "status": "COMPLETE",
        "event_id": "a87ff679a2f3e71d9181a67b7542122c",
    }
    map_state = ASL["States"]["CostEachLaunch"]
    assert {
        value.split(".")[-1]
        for key, value in map_state["ItemSelector"].items()
        if key.endswith(".$") and value.startswith("$$.Map.Item.Value.")
    } == set(rendered)


def test_the_pipe_starts_the_standard_state_machine_fire_and_forget_with_a_dead_letter_queue() -> None:
    source = PIPE["SourceParameters"]["DynamoDBStreamParameters"]

    assert PIPE["TargetParameters"]["StepFunctionStateMachineParameters"] == {
        "InvocationType": "FIRE_AND_FORGET"
    }
    assert RESOURCES["CostLaunchStateMachine"]["Properties"]["Type"] == "STANDARD"
    assert (source["StartingPosition"], source["OnPartialBatchItemFailure"]) == ("LATEST", "AUTOMATIC_BISECT")
    assert 1 <= source["BatchSize"] <= 10
    assert source["DeadLetterConfig"] == {"Arn": {"Fn::GetAtt": ["CostingDLQ", "Arn"]}}
    assert ASL["States"]["CostEachLaunch"]["ItemsPath"] == "$"  # the pipe delivers a JSON array


def states(definition: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for name, state in definition["States"].items():
        yield name, state
        if "ItemProcessor" in state:
            yield from states(state["ItemProcessor"])


def item_states() -> dict[str, dict[str, Any]]:
    return dict(states(ASL["States"]["CostEachLaunch"]["ItemProcessor"]))


def write_cost() -> dict[str, Any]:
    return item_states()["WriteCost"]


def test_only_the_asl_update_item_writes_the_cost_and_only_once() -> None:
    writers = {
        name: state
        for name, state in states(ASL)
        if "totalCost =" in str(state.get("Parameters", {}).get("UpdateExpression", ""))
    }

    assert list(writers) == ["WriteCost"]
    assert writers["WriteCost"]["Resource"] == "arn:aws:states:::dynamodb:updateItem"
    assert "attribute_not_exists(totalCost)" in writers["WriteCost"]["Parameters"]["ConditionExpression"]
    assert "costOwner = :me" in writers["WriteCost"]["Parameters"]["ConditionExpression"]
    claim = item_states()["ClaimCosting"]["Parameters"]["ConditionExpression"]
    assert claim.startswith("attribute_not_exists(totalCost) AND attribute_not_exists(costStatus)")
    assert item_states()["ClaimCosting"]["Catch"][0] == {
        "ErrorEquals": ["DynamoDB.ConditionalCheckFailedException"],
        "ResultPath": None,
        "Next": "AlreadyCosted",
    }


def test_every_later_write_belongs_to_the_execution_that_claimed_the_launch() -> None:
    for name in ("WriteCost", "MarkPending", "GiveUp", "MarkFailed", "MarkUnsupported"):
        condition = item_states()[name]["Parameters"]["ConditionExpression"]
        assert condition == "costOwner = :me AND attribute_not_exists(totalCost)", name


def test_every_task_has_a_timeout() -> None:
    tasks = {name: state for name, state in states(ASL) if state["Type"] == "Task"}

    assert sorted(tasks) == sorted(
        [
            "ClaimCosting",
            "CollectResources",
            "PriceResources",
            "WriteCost",
            "MarkPending",
            "GiveUp",
            "MarkFailed",
            "MarkUnsupported",
        ]
    )
    assert all(state.get("TimeoutSeconds", 0) > 0 for state in tasks.values())


def test_a_launch_whose_compute_is_invisible_is_marked_unsupported_at_once_without_any_amount() -> None:
    # Given the pricing function's answer for a launch that used compute nobody can see
    item = item_states()

    # Then the first choice after pricing sends it to MarkUnsupported, before the pending loop
    assert item["AllPriced"]["Choices"][0] == {
        "Variable": "$.pricing.priced.unsupported",
        "BooleanEquals": True,
        "Next": "MarkUnsupported",
    }
    marked = item["MarkUnsupported"]["Parameters"]
    assert marked["UpdateExpression"] == (
        "SET costStatus = :unsupported, costMissing = :missing, costError = :error"
    )
    assert marked["ExpressionAttributeValues"][":unsupported"] == {"S": "UNSUPPORTED"}
    assert (item["MarkUnsupported"]["Next"], item["NotCostable"]["Parameters"]["outcome"]) == (
        "NotCostable",
        "UNSUPPORTED",
    )


def empty() -> Collection:
    return Collection(
        launch_id="wf-1", attempt=1, status="COMPLETE", region="us-east-1", timings={"wallSeconds": "1.000"}
    )


def test_the_asl_reads_only_fields_the_pricing_function_returns() -> None:
    read = set(re.findall(r"\$\.pricing\.priced\.(\w+)", json.dumps(ASL)))
    complete = state_output(empty(), Pricer(SnapshotBook()).price(empty()), PriceStats(), "s3://b/k")

    assert read - set(complete) == set()
    assert read >= {
        "complete",
        "total_cost",
        "cost_breakdown",
        "missing_attribute",
        "recollect",
        "unsupported",
    }


def test_the_pending_alarm_watches_the_metric_the_pricing_function_emits() -> None:
    alarm = RESOURCES["CostStillPendingAlarm"]["Properties"]

    assert (alarm["Namespace"], alarm["MetricName"]) == ("Blueprints", MISSING_METRIC)
    assert alarm["Dimensions"] == [{"Name": "service", "Value": "benchmarking"}]
    assert alarm["EvaluationPeriods"] == {"Ref": "PendingAlarmHours"}


def test_the_pending_loop_is_bounded_and_waits_between_attempts() -> None:
    item = item_states()

    assert item["TryAgain"]["Choices"][0]["NumericLessThanPath"] == "$.settings.maxAttempts"
    assert item["WaitForPrices"]["SecondsPath"] == "$.settings.retrySeconds"
    assert ASL["States"]["CostEachLaunch"]["ItemSelector"]["settings"] == {
        "maxAttempts.$": "States.StringToJson('${MaxPriceAttempts}')",
        "retrySeconds.$": "States.StringToJson('${PriceRetrySeconds}')",
    }
    assert Decimal(load_template(BENCHMARKING_TEMPLATE)["Parameters"]["MaxPriceAttempts"]["MaxValue"]) <= 200


HISTORY_LIMIT = 25_000
PIPE_BATCH_SIZE = 10


def worst_events(state: dict[str, Any]) -> int:
    """History events of one pass through a state when every retry is used: entered and exited, and
    for a task scheduled, started and failed (or succeeded) per try."""
    if state["Type"] != "Task":
        return 2
    tries = 1 + sum(int(retrier["MaxAttempts"]) for retrier in state.get("Retry", []))
    return 2 + 3 * tries


def test_the_worst_pending_loop_of_a_full_batch_stays_well_under_the_history_limit() -> None:
    # Given the most pricing attempts the template allows and the ASL's retries
    item = item_states()
    attempts = int(load_template(BENCHMARKING_TEMPLATE)["Parameters"]["MaxPriceAttempts"]["MaxValue"])
    loop = ["MarkPending", "TryAgain", "WaitForPrices", "CollectAgain", "CollectResources", "PriceResources"]
    loop_events = sum(worst_events(item[name]) for name in [*loop, "AllPriced"])
    once = ["ClaimCosting", "CollectResources", "PriceResources", "AllPriced", "GiveUp", "NotCosted"]
    per_launch = 2 + sum(worst_events(item[name]) for name in once) + (attempts - 1) * loop_events
    execution = 10  # started, the Map state's own events, the final choice, succeeded

    # When a batch of 10 launches all stay pending to the last attempt, every task using all its retries
    worst = execution + PIPE_BATCH_SIZE * per_launch

    # Then the execution stays under three quarters of the 25,000 history events
    assert PIPE["SourceParameters"]["DynamoDBStreamParameters"]["BatchSize"] <= PIPE_BATCH_SIZE
    assert (loop_events, attempts) == (74, 24)
    assert worst < HISTORY_LIMIT * 3 // 4


def test_mark_failed_reads_no_path_an_error_may_lack() -> None:
    # Given the error a Catch stores in $.error may have no Cause (a missing path is an uncatchable
    # States.Runtime error that would leave the launch IN_PROGRESS for good)
    parameters = item_states()["MarkFailed"]["Parameters"]
    attributes = [*parameters["Key"].values(), *parameters["ExpressionAttributeValues"].values()]

    paths = [value for attribute in attributes for key, value in attribute.items() if key.endswith(".$")]

    # Then it reads the error only as a whole, and otherwise what the Map's ItemSelector always sets
    assert sorted(paths) == ["$.launch_id", "$.owner", "States.JsonToString($.error)"]


def test_a_pending_launch_reports_to_the_alarm_in_every_hour_it_evaluates() -> None:
    # Given the alarm sums CostPricesMissing per hour and needs PendingAlarmHours breaching hours in a row
    parameters = load_template(BENCHMARKING_TEMPLATE)["Parameters"]
    alarm = RESOURCES["CostStillPendingAlarm"]["Properties"]

    # Then a pending launch prices again (and emits the metric) at least once an hour
    assert alarm["Period"] == 3600
    assert int(parameters["PriceRetrySeconds"]["MaxValue"]) <= alarm["Period"]
