"""ASL structure: every state machine's definition file, and the checker itself on fixtures."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.support.paths import ROOT, TEMPLATES
from tests.support.template import load_template, state_machines
from tools.asl_check import check_definition, lint_definition, placeholder_values

FIXTURES = Path(__file__).parent / "fixtures"
GOOD_ASL = FIXTURES / "asl" / "good.asl.json"
BAD_ASL = FIXTURES / "asl" / "bad.asl.json"
FIXTURE_TEMPLATE = FIXTURES / "policy" / "good.yaml"
FIXTURE_SUBSTITUTIONS = {"ProcessFunctionArn", "ResultsTableName", "AlertsTopicArn"}


def _load(path: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(path.read_text())
    return loaded


def state_machine_problems(template: Path, logical_id: str, properties: dict[str, Any]) -> list[str]:
    """Everything wrong with one state machine's ASL file and its wiring in the template."""
    where = f"{template.name} {logical_id}"
    uri = properties.get("DefinitionUri")
    if not isinstance(uri, str):
        return [f"{where}: DefinitionUri must be a local path to the ASL file"]
    path = (template.parent / uri).resolve()
    if not path.is_file():
        return [f"{where}: DefinitionUri {uri} does not exist"]
    problems = []
    if template.parent == TEMPLATES:
        expected = ROOT / "statemachines" / template.stem
        if path.parent != expected or not path.name.endswith(".asl.json"):
            problems.append(f"{where}: the ASL belongs in statemachines/{template.stem}/<name>.asl.json")
    definition = _load(path)
    substitutions = dict(properties.get("DefinitionSubstitutions", {}))
    problems += check_definition(definition, set(substitutions))
    problems += lint_definition(definition, placeholder_values(substitutions, load_template(template)))
    return [f"{where}: {problem}" for problem in problems]


def test_every_state_machine_definition_is_sound() -> None:
    # Given every SAM state machine of the application (none yet is fine: the loop then checks nothing)
    machines = state_machines()

    # When each definition file is checked against its template's wiring
    problems = [problem for machine in machines for problem in state_machine_problems(*machine)]

    # Then nothing is wrong
    assert problems == []


def test_a_state_machine_in_a_template_is_found_and_checked() -> None:
    # Given the fixture template, whose Workflow loads good.asl.json with three substitutions
    machines = state_machines([FIXTURE_TEMPLATE])

    # Then it is found with its wiring, and the check passes it
    assert [(logical_id, props["DefinitionUri"]) for _, logical_id, props in machines] == [
        ("Workflow", "../asl/good.asl.json")
    ]
    assert state_machine_problems(*machines[0]) == []


def test_a_good_definition_has_no_problems() -> None:
    assert check_definition(_load(GOOD_ASL), FIXTURE_SUBSTITUTIONS) == []


def test_a_bad_definition_has_each_problem_reported() -> None:
    problems = check_definition(_load(BAD_ASL), FIXTURE_SUBSTITUTIONS)

    assert sorted(problems) == sorted(
        [
            "${UndeclaredTopicArn} is not in DefinitionSubstitutions",
            "States.Finished: no path from StartAt reaches it",
            "States.CallLambda: Catch[0].Next target 'NoSuchHandler' is not a state",
            "States.CallLambda: Retry[0] States.ALL must be alone and in the last entry",
            "States.CallLambda: Retry[0] on a Lambda task must set JitterStrategy FULL",
            "States.CallLambda: Retry[0] retries States.ALL; retry transient errors by name, "
            "catch business errors",
            "States.CallLambda: Retry[1] on a Lambda task must set JitterStrategy FULL",
            "States.Route: Choices[0].Next target 'Nowhere' is not a state",
            "States.FanOut.Branches[0].StartAt: 'Missing' is not a state",
            "States.Dangling: needs exactly one of Next or End: true",
            "States.Finished: a Succeed state takes neither Next nor End",
        ]
    )


def test_a_direct_lambda_resource_in_a_map_is_checked_too() -> None:
    # Given a Map whose processor calls a function by its substituted ARN and retries every task failure
    definition = {
        "StartAt": "EachItem",
        "States": {
            "EachItem": {
                "Type": "Map",
                "ItemProcessor": {
                    "StartAt": "Work",
                    "States": {
                        "Work": {
                            "Type": "Task",
                            "Resource": "${WorkFunctionArn}",
                            "Retry": [{"ErrorEquals": ["States.TaskFailed"], "JitterStrategy": "FULL"}],
                            "End": True,
                        }
                    },
                },
                "End": True,
            }
        },
    }

    # Then the retry of the business error is reported where it is
    assert check_definition(definition, {"WorkFunctionArn"}) == [
        "States.EachItem.ItemProcessor.States.Work: Retry[0] retries States.TaskFailed; "
        "retry transient errors by name, catch business errors"
    ]


def test_cfn_lint_validates_the_definition_with_placeholders() -> None:
    # Given the fixture's substitutions resolved to plausible values
    values = placeholder_values(
        dict(
            load_template(FIXTURE_TEMPLATE)["Resources"]["Workflow"]["Properties"]["DefinitionSubstitutions"]
        ),
        load_template(FIXTURE_TEMPLATE),
    )

    # Then each value has the shape its resource would give, and cfn-lint accepts the good definition
    assert values == {
        "ProcessFunctionArn": "arn:aws:lambda:us-east-1:123456789012:function:ProcessFunction",
        "ResultsTableName": "Table",
        "AlertsTopicArn": "arn:aws:sns:us-east-1:123456789012:Topic",
    }
    assert lint_definition(_load(GOOD_ASL), values) == []


def test_cfn_lint_reports_what_it_knows_about_a_bad_definition() -> None:
    findings = lint_definition(_load(BAD_ASL), {"ProcessFunctionArn": "x", "UndeclaredTopicArn": "y"})

    assert "E3601 Only one of ['Next', 'End'] is a required property at " in findings[0]
    assert [finding.split(" at ")[-1].rsplit("/", 2)[-2:] for finding in findings] == [
        ["States", "Dangling"],
        ["Finished", "End"],
        ["0", "StartAt"],
    ]
