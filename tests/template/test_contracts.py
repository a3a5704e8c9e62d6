"""Template <-> code contracts: what the templates wire and what the code expects agree.

Every function's handler imports and its settings are all set by the template; only the settings
module reads the environment; every function has sample events, its own log group with retention and
the Lambda conventions of DESIGN.md; every nested application is wired to a template that exists,
behind its Enable<Blueprint> toggle; batch event sources report item failures and have somewhere to put
what fails; names follow functions/<blueprint>/<verb_noun> -> <VerbNoun>Function.
"""

from __future__ import annotations

import ast
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

# The X-Ray SDK opens its UDP emitter socket when Powertools' Tracer is first imported. That happens here,
# at collection (as in tests/unit/conftest.py), because pytest-socket refuses sockets inside a test; any
# other socket a handler opens on import then fails the import test below, as it should.
import blueprints.core.observability  # noqa: F401
from blueprints.core.settings import LazySettings
from tests.support.events import event_cases, load_event
from tests.support.handlers import load_handler
from tests.support.paths import FUNCTIONS, LAYER, ROOT, ROOT_TEMPLATE, TEMPLATES
from tests.support.template import FunctionDef, functions, load_template

ALL_FUNCTIONS = functions()
FUNCTION_IDS = [function.logical_id for function in ALL_FUNCTIONS]
TEMPLATES_WITH_FUNCTIONS = sorted({function.template for function in ALL_FUNCTIONS})
SETTINGS_MODULE = LAYER / "blueprints" / "core" / "settings.py"
CODE_FILES = sorted([*(LAYER / "blueprints").rglob("*.py"), *FUNCTIONS.rglob("*.py")])
ENVIRONMENT_ATTRIBUTES = {"environ", "environb", "getenv", "getenvb"}
QUEUE_EVENT_TYPES = {"SQS"}
STREAM_EVENT_TYPES = {"DynamoDB", "Kinesis"}

by_function = pytest.mark.parametrize("function", ALL_FUNCTIONS, ids=FUNCTION_IDS)


def _relative(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def _get_att_target(value: Any) -> str | None:
    """The logical id of ``!GetAtt X.Arn`` (either spelling), else None."""
    if not isinstance(value, dict) or set(value) != {"Fn::GetAtt"}:
        return None
    argument = value["Fn::GetAtt"]
    logical_id = argument.split(".", 1)[0] if isinstance(argument, str) else argument[0]
    return str(logical_id)


# Handlers and settings


@by_function
def test_handler_module_is_importable_and_exposes_the_handler(function: FunctionDef) -> None:
    module_name, _, attribute = function.properties.get(
        "Handler", function.globals.get("Handler", "")
    ).rpartition(".")

    module = load_handler(function.blueprint, function.name)

    assert module_name == "app"
    assert callable(getattr(module, attribute, None)), (
        f"{_relative(Path(str(module.__file__)))}: no {attribute}"
    )


@by_function
def test_every_variable_the_settings_read_is_set_by_the_template(function: FunctionDef) -> None:
    settings = getattr(load_handler(function.blueprint, function.name), "SETTINGS", None)

    assert isinstance(settings, LazySettings), "the handler module must expose SETTINGS = LazySettings(Model)"
    assert set(settings.model.env_names()) - function.env_names == set()


def direct_environment_access(source: str) -> list[int]:
    """Lines that touch os.environ / os.getenv (any alias, or imported from os by name)."""
    tree = ast.parse(source)
    os_names = {
        alias.asname or alias.name.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
        if alias.name == "os" or (alias.name.startswith("os.") and alias.asname is None)
    }
    lines = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == "os":
            lines += [node.lineno for alias in node.names if alias.name in ENVIRONMENT_ATTRIBUTES]
        elif (
            isinstance(node, ast.Attribute)
            and node.attr in ENVIRONMENT_ATTRIBUTES
            and isinstance(node.value, ast.Name)
            and node.value.id in os_names
        ):
            lines.append(node.lineno)
    return sorted(lines)


def test_only_the_settings_module_reads_the_environment() -> None:
    offenders = [
        f"{_relative(path)}:{line}"
        for path in CODE_FILES
        if path != SETTINGS_MODULE
        for line in direct_environment_access(path.read_text())
    ]

    assert offenders == [], "read configuration through a Settings model (blueprints.core.settings)"


def test_the_environment_scan_sees_every_spelling() -> None:
    # Given code that reads the environment in each way Python allows
    source = (
        "import os\nimport os as system\nimport os.path\nfrom os import getenv, path\n"
        "a = os.environ['A']\nb = system.getenv('B')\nc = 'C' in os.environ\nd = getenv('D')\n"
        "e = os.path.join('x', 'y')\n"
    )

    # Then every read is found, and nothing else
    assert direct_environment_access(source) == [4, 5, 6, 7]
    assert direct_environment_access(SETTINGS_MODULE.read_text()) != []


# Sample events and logs


@by_function
def test_every_function_has_sample_events(function: FunctionDef) -> None:
    cases = event_cases(function.blueprint, function.name)

    assert cases != [], f"add events/{function.blueprint}/{function.name}/<case>.json"
    assert all(isinstance(load_event(function.blueprint, function.name, case), dict) for case in cases)


@by_function
def test_every_function_logs_to_a_log_group_with_retention(function: FunctionDef) -> None:
    log_group = function.properties.get("LoggingConfig", {}).get("LogGroup")

    assert isinstance(log_group, dict), "LoggingConfig.LogGroup: !Ref <LogGroup>"
    assert set(log_group) == {"Ref"}, "LoggingConfig.LogGroup: !Ref <LogGroup>"
    target = load_template(function.template)["Resources"].get(log_group["Ref"], {})
    assert target.get("Type") == "AWS::Logs::LogGroup"
    assert "RetentionInDays" in target.get("Properties", {})


@pytest.mark.parametrize("template", TEMPLATES_WITH_FUNCTIONS, ids=lambda path: path.stem)
def test_each_function_has_its_own_log_group(template: Path) -> None:
    groups = Counter(
        str(function.properties.get("LoggingConfig", {}).get("LogGroup"))
        for function in ALL_FUNCTIONS
        if function.template == template
    )

    assert [group for group, count in groups.items() if count > 1] == []


# Lambda conventions


@pytest.mark.parametrize("template", TEMPLATES_WITH_FUNCTIONS, ids=lambda path: path.stem)
def test_function_globals_follow_the_lambda_conventions(template: Path) -> None:
    globals_ = load_template(template).get("Globals", {}).get("Function", {})
    variables = globals_.get("Environment", {}).get("Variables", {})

    assert globals_.get("Runtime") == "python3.13"
    assert globals_.get("Architectures") == ["arm64"]
    assert globals_.get("Tracing") == "Active"
    assert globals_.get("LoggingConfig", {}).get("LogFormat") == "JSON"
    assert variables.get("POWERTOOLS_SERVICE_NAME") == template.stem
    assert variables.get("POWERTOOLS_METRICS_NAMESPACE") == "Blueprints"


@by_function
def test_functions_keep_the_conventions_of_the_globals(function: FunctionDef) -> None:
    overridden = {"Runtime", "Architectures", "Tracing"} & set(function.properties)
    log_format = function.properties.get("LoggingConfig", {}).get("LogFormat", "JSON")
    variables = function.properties.get("Environment", {}).get("Variables", {})

    assert overridden == set()
    assert log_format == "JSON"
    assert {"POWERTOOLS_SERVICE_NAME", "POWERTOOLS_METRICS_NAMESPACE"} & set(variables) == set()


# Nested applications

ROOT_RESOURCES = load_template(ROOT_TEMPLATE).get("Resources", {})
APPLICATIONS = sorted(
    logical_id
    for logical_id, resource in ROOT_RESOURCES.items()
    if resource.get("Type") == "AWS::Serverless::Application"
)


def _condition_refs(expression: Any, conditions: dict[str, Any]) -> set[str]:
    """Every name a condition refers to with Ref, following the conditions it names."""
    if isinstance(expression, list):
        return set().union(*(_condition_refs(item, conditions) for item in expression))
    if not isinstance(expression, dict):
        return set()
    if set(expression) == {"Ref"}:
        return {str(expression["Ref"])}
    if set(expression) == {"Condition"}:
        return _condition_refs(conditions.get(expression["Condition"]), conditions)
    return set().union(*(_condition_refs(item, conditions) for item in expression.values()))


@pytest.mark.parametrize("logical_id", APPLICATIONS)
def test_nested_application_is_wired_to_its_template_and_toggle(logical_id: str) -> None:
    root = load_template(ROOT_TEMPLATE)
    resource = root["Resources"][logical_id]
    location = resource.get("Properties", {}).get("Location")

    # The location is a template of templates/
    assert isinstance(location, str), "Location must be a local path"
    assert re.fullmatch(r"templates/[a-z0-9_-]+\.yaml", location), location
    nested = ROOT / location
    assert nested.is_file(), f"{location} does not exist"

    # It is switched on by its own Enable<Blueprint> parameter ("true"/"false") through its Condition; a
    # blueprint built on another one (benchmarking on genomics) also requires that one's toggle
    conditions = root.get("Conditions", {})
    assert resource.get("Condition") in conditions, "a nested application needs Condition: <Blueprint>Enabled"
    toggles = {
        name
        for name in _condition_refs(conditions[resource["Condition"]], conditions)
        if re.fullmatch(r"Enable[A-Z]\w*", name)
    }
    assert f"Enable{logical_id}" in toggles, f"condition {resource['Condition']} must test Enable{logical_id}"
    parameters = root.get("Parameters", {})
    assert all(parameters.get(name, {}).get("AllowedValues") == ["true", "false"] for name in toggles)
    dependencies = {other for other in APPLICATIONS if other != logical_id and f"Enable{other}" in toggles}
    assert len(toggles) == 1 + len(dependencies), f"{sorted(toggles)}: toggles of other blueprints only"

    # It passes only parameters the nested template declares, and every one without a Default
    declared = load_template(nested).get("Parameters", {})
    passed = set(resource.get("Properties", {}).get("Parameters", {}))
    assert passed - set(declared) == set()
    assert {name for name, declaration in declared.items() if "Default" not in declaration} - passed == set()


def test_every_nested_template_is_deployed_by_the_root() -> None:
    locations = {ROOT_RESOURCES[logical_id]["Properties"]["Location"] for logical_id in APPLICATIONS}

    assert locations == {_relative(path) for path in TEMPLATES.glob("*.yaml")}


# Batch event sources


@by_function
def test_batch_event_sources_report_item_failures_and_keep_what_fails(function: FunctionDef) -> None:
    resources = load_template(function.template)["Resources"]
    problems = []
    for name, event in function.properties.get("Events", {}).items():
        kind, properties = event.get("Type"), event.get("Properties", {})
        if kind not in QUEUE_EVENT_TYPES | STREAM_EVENT_TYPES:
            continue
        if properties.get("FunctionResponseTypes") != ["ReportBatchItemFailures"]:
            problems.append(f"{name}: FunctionResponseTypes must be [ReportBatchItemFailures]")
        if kind in QUEUE_EVENT_TYPES:
            queue_id = _get_att_target(properties.get("Queue"))
            queue = resources.get(queue_id, {}) if queue_id else {}
            if queue.get("Type") != "AWS::SQS::Queue":
                problems.append(f"{name}: Queue must be !GetAtt <Queue>.Arn of a queue in this template")
            elif "deadLetterTargetArn" not in queue.get("Properties", {}).get("RedrivePolicy", {}):
                problems.append(f"{name}: queue {queue_id} needs a RedrivePolicy with a dead-letter queue")
        else:
            if properties.get("BisectBatchOnFunctionError") is not True:
                problems.append(f"{name}: set BisectBatchOnFunctionError: true")
            if "MaximumRetryAttempts" not in properties:
                problems.append(f"{name}: set MaximumRetryAttempts")
            if "Destination" not in properties.get("DestinationConfig", {}).get("OnFailure", {}):
                problems.append(f"{name}: set DestinationConfig.OnFailure.Destination")

    assert problems == []


# Names


@by_function
def test_function_folder_maps_to_its_logical_id(function: FunctionDef) -> None:
    expected = "".join(part.capitalize() for part in function.name.split("_")) + "Function"

    assert function.logical_id == expected
    assert function.blueprint == function.template.stem


def test_every_function_folder_is_deployed_by_a_template() -> None:
    folders = {(path.parent.parent.name, path.parent.name) for path in FUNCTIONS.glob("*/*/app.py")}

    assert folders == {(function.blueprint, function.name) for function in ALL_FUNCTIONS}
