"""tools/sam_translate.py: the offline SAM translation that checkov and the local cloud read."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.paths import ROOT_TEMPLATE, TEMPLATES
from tools.sam_translate import main, parameter_values, translate

FIXTURE_TEMPLATE = Path(__file__).parent / "fixtures" / "policy" / "good.yaml"


def test_the_root_template_nests_each_blueprint_as_a_stack() -> None:
    resources = translate(ROOT_TEMPLATE)["Resources"]

    assert resources["Broker"]["Type"] == "AWS::CloudFormation::Stack"
    assert resources["Broker"]["Condition"] == "BrokerEnabled"
    assert resources["Broker"]["Properties"]["TemplateURL"] == "templates/broker.yaml"


def test_function_code_keeps_its_folder_and_checkov_skips_travel_with_it() -> None:
    function = translate(TEMPLATES / "broker.yaml")["Resources"]["DispatchTaskFunction"]

    assert function["Type"] == "AWS::Lambda::Function"
    assert function["Properties"]["Code"] == {
        "S3Bucket": "local-artifacts",
        "S3Key": "functions/broker/dispatch_task",
    }
    skipped = {skip["id"] for skip in function["Metadata"]["checkov"]["skip"]}
    assert skipped == {"CKV_AWS_115", "CKV_AWS_116", "CKV_AWS_117"}


def test_a_state_machine_definition_file_is_inlined() -> None:
    machine = translate(FIXTURE_TEMPLATE)["Resources"]["Workflow"]

    assert machine["Type"] == "AWS::StepFunctions::StateMachine"
    assert "DefinitionS3Location" not in machine["Properties"]
    assert "${ProcessFunctionArn}" in "".join(machine["Properties"]["DefinitionString"]["Fn::Join"][1])
    assert set(machine["Properties"]["DefinitionSubstitutions"]) == {
        "ProcessFunctionArn",
        "ResultsTableName",
        "AlertsTopicArn",
    }


def test_parameters_without_a_default_get_placeholders() -> None:
    values = parameter_values(
        {
            "Parameters": {
                "Stage": {"Type": "String", "Default": "dev"},
                "SharedLayerArn": {"Type": "String"},
                "KmsKeyArn": {"Type": "String"},
                "AlertsTopicArn": {"Type": "String"},
                "Limit": {"Type": "Number", "MinValue": 2},
            }
        }
    )

    assert values["Stage"] == "dev"
    assert values["SharedLayerArn"].startswith("arn:aws:lambda:us-east-1:123456789012:layer:")
    assert values["KmsKeyArn"].startswith("arn:aws:kms:us-east-1:123456789012:key/")
    assert values["AlertsTopicArn"] == "arn:aws:sns:us-east-1:123456789012:placeholder"
    assert values["Limit"] == "2"


def test_the_command_writes_one_json_per_template_and_drops_stale_ones(tmp_path: Path) -> None:
    (tmp_path / "removed.json").write_text("{}")

    status = main(["--out", str(tmp_path), str(ROOT_TEMPLATE), str(TEMPLATES / "broker.yaml")])

    assert status == 0
    assert sorted(path.name for path in tmp_path.iterdir()) == ["broker.json", "template.json"]
    assert (
        json.loads((tmp_path / "broker.json").read_text())["Resources"]["RequestQueue"]["Type"]
        == "AWS::SQS::Queue"
    )


def test_the_command_fails_with_the_translators_reason(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a SAM function whose SQS event names no queue
    broken = tmp_path / "broken.yaml"
    broken.write_text(
        "Transform: AWS::Serverless-2016-10-31\nResources:\n  Fn:\n    Type: AWS::Serverless::Function\n"
        "    Properties: {Handler: app.handler, Runtime: python3.13, InlineCode: x,"
        " Events: {Jobs: {Type: SQS, Properties: {}}}}\n"
    )

    # When it is translated / Then the command fails and says why
    assert main(["--out", str(tmp_path / "out"), str(broken)]) == 1
    error = capsys.readouterr().err
    assert "broken.yaml: the SAM translator rejected the template" in error
    assert "Missing required property 'Queue'" in error
