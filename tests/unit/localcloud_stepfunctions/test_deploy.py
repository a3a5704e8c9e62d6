"""Deploying state machines: CloudFormation's ``DefinitionSubstitutions`` and every definition source, into
the backend the interpreter runs (the fixture application's deploy is covered in ``test_flow``)."""

from __future__ import annotations

import json
import logging
from typing import Any

import boto3
import pytest
from moto import mock_aws

from localcloud.clock import VirtualClock
from localcloud.deploy import DeployedResource, DeployError
from localcloud.stepfunctions import StepFunctions, apply_state_machine, substitute
from tests.unit.localcloud_stepfunctions.conftest import REGION, ROLE, START, client

ARN = f"arn:aws:states:{REGION}:123456789012:stateMachine:stack-Flow-ABC"
PASS = {"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": "${Greeting}", "End": True}}}


def clients(service: str) -> Any:
    return boto3.client(service, region_name=REGION)  # type: ignore[call-overload]


def resource(**properties: Any) -> DeployedResource:
    return DeployedResource(
        "", "stack", "Flow", "AWS::StepFunctions::StateMachine", ARN, {"RoleArn": ROLE, **properties}, True
    )


def test_substitutions_replace_named_placeholders_only() -> None:
    definition = '{"a": "${Table}", "b": ${Limit}, "c": ${Enabled}, "d": "${Unknown}", "e": "$.x"}'

    substituted = substitute(definition, {"Table": "t-1", "Limit": 5, "Enabled": True})

    assert json.loads(substituted) == {"a": "t-1", "b": 5, "c": True, "d": "${Unknown}", "e": "$.x"}


@pytest.mark.parametrize(
    "source",
    [
        {"DefinitionString": json.dumps(PASS)},
        {"Definition": PASS},
        {"DefinitionS3Location": {"Bucket": "definitions", "Key": "flow.json"}},
    ],
    ids=["DefinitionString", "Definition", "DefinitionS3Location"],
)
def test_each_definition_source_is_created_substituted_under_the_reported_arn(
    sfn: StepFunctions, source: dict[str, Any]
) -> None:
    clients("s3").create_bucket(Bucket="definitions")
    clients("s3").put_object(Bucket="definitions", Key="flow.json", Body=json.dumps(PASS).encode())

    apply_state_machine(clients, resource(**source, DefinitionSubstitutions={"Greeting": "hello"}))

    described = client().describe_state_machine(stateMachineArn=ARN)
    assert json.loads(described["definition"])["States"]["P"]["Result"] == "hello"
    assert (described["name"], described["roleArn"], described["type"]) == (
        "stack-Flow-ABC",
        ROLE,
        "STANDARD",
    )


def test_express_machines_keep_their_type_tags_and_logging(sfn: StepFunctions) -> None:
    logging = {
        "Level": "ALL",
        "IncludeExecutionData": True,
        "Destinations": [
            {"CloudWatchLogsLogGroup": {"LogGroupArn": "arn:aws:logs:us-east-1:123456789012:log-group:x"}}
        ],
    }

    apply_state_machine(
        clients,
        resource(
            Definition=PASS,
            StateMachineType="EXPRESS",
            Tags=[{"Key": "team", "Value": "flows"}],
            LoggingConfiguration=logging,
        ),
    )

    described = client().describe_state_machine(stateMachineArn=ARN)
    assert described["type"] == "EXPRESS"
    assert described["loggingConfiguration"]["level"] == "ALL"
    assert client().list_tags_for_resource(resourceArn=ARN)["tags"] == [{"key": "team", "value": "flows"}]


def test_an_invalid_definition_fails_the_deploy_naming_the_resource(sfn: StepFunctions) -> None:
    with pytest.raises(DeployError, match=r"state machine Flow: .*ASLParserException"):
        apply_state_machine(clients, resource(DefinitionString="{not json"))


def test_a_resource_without_definition_fails_the_deploy(sfn: StepFunctions) -> None:
    with pytest.raises(DeployError, match="state machine Flow: no DefinitionString"):
        apply_state_machine(clients, resource())


def test_without_execution_the_cloudformation_machine_gets_the_substituted_definition() -> None:
    with mock_aws():  # execution off: the API serves the backend moto's CloudFormation writes to
        machine = client().create_state_machine(
            name="stack-Flow-ABC", definition=json.dumps(PASS), roleArn=ROLE
        )

        apply_state_machine(clients, resource(Definition=PASS, DefinitionSubstitutions={"Greeting": "hi"}))

        described = client().describe_state_machine(stateMachineArn=machine["stateMachineArn"])
        assert json.loads(described["definition"])["States"]["P"]["Result"] == "hi"


def test_closing_stops_a_running_execution_quietly_and_the_next_cloud_logs_again(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Given an execution parked in a one-hour Wait when its local cloud closes
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        with StepFunctions(VirtualClock(start=START)).install() as installed:
            wait = {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 3600, "End": True}}}
            arn = client().create_state_machine(name="slow", definition=json.dumps(wait), roleArn=ROLE)[
                "stateMachineArn"
            ]
            execution = client().start_execution(stateMachineArn=arn)["executionArn"]
            assert installed.settle() is True
        # When the block ends (the cloud closed), Then the execution is stopped
        described = client().describe_execution(executionArn=execution)
        assert described["status"] == "ABORTED"
        # and the interpreter's logs of the interruption are silenced, until a new cloud opens
        interpreter = logging.getLogger("moto.stepfunctions.parser.asl")
        assert not interpreter.isEnabledFor(logging.ERROR)
        with StepFunctions(VirtualClock(start=START)).install():
            assert interpreter.isEnabledFor(logging.ERROR)
