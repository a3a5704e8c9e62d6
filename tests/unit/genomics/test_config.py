"""The launch configuration schema: required parameters, field-by-field violations, environment rules,
JSON/YAML decoding, launch ids from keys, Snakefile bundles, and the published JSON Schema."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from blueprints.genomics import config
from blueprints.genomics.errors import InvalidLaunchConfigError, MissingRequiredParametersError
from tests.support.paths import ROOT
from tests.unit.genomics.builders import DATA_PATH, DELETE, LAUNCH_ID, SHEET_URI, document

SCHEMA_FILE = ROOT / "docs" / "blueprints" / "schemas" / "launch-config.schema.json"


# --- required parameters -----------------------------------------------------------------------------


def test_a_complete_document_validates_with_its_defaults() -> None:
    # Given the sample configuration with only the required fields and parameters
    # When it is validated
    launch = config.validate(document())

    # Then every optional field keeps its documented default
    assert (launch.launch_id, launch.workflow_type, launch.s3_data_path, launch.config_s3_uri) == (
        LAUNCH_ID,
        "snakemake",
        DATA_PATH,
        SHEET_URI,
    )
    assert launch.parameters == {"jobs": 20}
    assert (launch.engine_version, launch.compute_service, launch.output_s3_path) == (None, None, None)
    assert (launch.restore_check, launch.requested_by, launch.snakefile_s3_uri) == (None, None, None)
    assert launch.environment == {}


@pytest.mark.parametrize("field", ["launch_id", "config_s3_uri", "s3_data_path"])
@pytest.mark.parametrize("absent", [DELETE, None, ""])
def test_each_missing_required_parameter_is_named(field: str, absent: object) -> None:
    # Given a configuration without one required parameter (absent, null or empty)
    with pytest.raises(MissingRequiredParametersError) as raised:
        config.validate(document(**{field: absent}))

    # Then the error names exactly that parameter
    assert str(raised.value) == f"missing required parameters: {field}"


def test_every_missing_required_parameter_is_named_in_schema_order() -> None:
    # Given a configuration without any of the required parameters (and an invalid workflow type)
    with pytest.raises(MissingRequiredParametersError) as raised:
        config.validate({"workflow_type": "cromwell"})

    # Then the required parameters are reported first, all of them, in the documented order
    assert str(raised.value) == "missing required parameters: launch_id, config_s3_uri, s3_data_path"


# --- every other violation -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"workflow_type": "cromwell"}, "workflow_type"),
        ({"workflow_type": DELETE}, "workflow_type"),
        ({"launch_id": "has space"}, "launch_id"),
        ({"launch_id": "x" * 65}, "launch_id"),
        ({"launch_id": 42}, "launch_id"),
        ({"engine_version": "v8"}, "engine_version"),
        ({"engine_version": "8.30.0.1"}, "engine_version"),
        ({"s3_data_path": "https://genomics-data-example/cohort7/"}, "s3_data_path"),
        ({"s3_data_path": "s3://UPPER/cohort7/"}, "s3_data_path"),
        ({"config_s3_uri": "s3://genomics-data-example"}, "config_s3_uri"),
        ({"config_s3_uri": "s3://genomics-data-example/"}, "config_s3_uri"),
        ({"compute_service": "lambda"}, "compute_service"),
        ({"snakefile_s3_uri": "s3://b"}, "snakefile_s3_uri"),
        ({"output_s3_path": "results/out"}, "output_s3_path"),
        ({"restore_check": "maybe"}, "restore_check"),
        ({"requested_by": "x" * 257}, "requested_by"),
        ({"parameters": ["jobs", 20]}, "parameters"),
        ({"environment": {"THREADS": 8}}, "environment.THREADS"),
        ({"priority": "high"}, "priority"),
    ],
)
def test_each_other_violation_is_invalid_and_names_the_field(changes: dict[str, Any], field: str) -> None:
    # Given a configuration with one invalid field
    with pytest.raises(InvalidLaunchConfigError) as raised:
        config.validate(document(**changes))

    # Then the message starts with that field's name
    assert str(raised.value).startswith(f"{field}: ")


def test_several_violations_are_all_named_in_one_message() -> None:
    with pytest.raises(InvalidLaunchConfigError) as raised:
        config.validate(document(workflow_type="cromwell", compute_service="lambda", colour="red"))

    fields = [part.split(":", 1)[0] for part in str(raised.value).split("; ")]
    assert fields == ["workflow_type", "compute_service", "colour"]


def test_the_model_is_frozen_and_keeps_optional_fields() -> None:
    launch = config.validate(
        document(
            engine_version="7.32.4",
            compute_service="batch",
            snakefile_s3_uri="s3://genomics-data-example/wf/Snakefile",
            output_s3_path="s3://genomics-results-example/custom/",
            restore_check=True,
            requested_by="arn:aws:iam::123456789012:user/scientist",
        )
    )

    assert (launch.engine_version, launch.compute_service, launch.restore_check) == ("7.32.4", "batch", True)
    assert launch.snakefile_s3_uri == "s3://genomics-data-example/wf/Snakefile"
    with pytest.raises(ValueError, match="frozen"):
        launch.launch_id = "other"  # type: ignore[misc]


# --- environment rules -----------------------------------------------------------------------------


def test_extra_environment_variables_are_accepted() -> None:
    launch = config.validate(document(environment={"NXF_ANSI_LOG": "false", "_THREADS": "8"}))

    assert launch.environment == {"NXF_ANSI_LOG": "false", "_THREADS": "8"}


@pytest.mark.parametrize(
    ("environment", "reason"),
    [
        ({"1THREADS": "8"}, "'1THREADS' is not a valid variable name"),
        ({"MY-VAR": "8"}, "'MY-VAR' is not a valid variable name"),
        ({"THREADS\n": "8"}, "'THREADS\\n' is not a valid variable name"),
        ({"A" * 129: "8"}, "is not a valid variable name"),
        ({"AWS_REGION": "eu-west-1"}, "'AWS_REGION' uses a reserved prefix (AWS_, ECS_, BLUEPRINTS_)"),
        ({"ECS_ENABLE": "1"}, "'ECS_ENABLE' uses a reserved prefix"),
        ({"BLUEPRINTS_LAUNCH_ID": "other"}, "'BLUEPRINTS_LAUNCH_ID' uses a reserved prefix"),
        ({f"V{index}": "x" for index in range(51)}, "at most 50 variables"),
        ({"BIG": "x" * 4094}, "more than 4096 characters in all"),
    ],
)
def test_environment_rules(environment: dict[str, str], reason: str) -> None:
    # Given an environment that breaks one rule
    with pytest.raises(InvalidLaunchConfigError) as raised:
        config.validate(document(environment=environment))

    # Then the field is named with the broken rule
    assert str(raised.value).startswith("environment: ")
    assert reason in str(raised.value)


def test_the_environment_size_limit_counts_names_and_values() -> None:
    # Given exactly 4096 characters of names and values (3 + 4093)
    launch = config.validate(document(environment={"BIG": "x" * 4093}))

    # Then it is at the limit, not over it
    assert len(launch.environment["BIG"]) == 4093


# --- decoding --------------------------------------------------------------------------------------


def test_json_is_decoded() -> None:
    assert config.decode(json.dumps(document()).encode(), "launches/a.json") == document()


@pytest.mark.parametrize("name", ["launches/a.yaml", "launches/a.yml"])
def test_yaml_is_decoded(name: str) -> None:
    body = f"launch_id: {LAUNCH_ID}\nworkflow_type: snakemake\nparameters:\n  jobs: 20\n".encode()

    assert config.decode(body, name) == {
        "launch_id": LAUNCH_ID,
        "workflow_type": "snakemake",
        "parameters": {"jobs": 20},
    }


def test_invalid_json_says_where() -> None:
    body = b'{\n  "launch_id": "wf-1",\n  "workflow_type": snakemake\n}'

    with pytest.raises(InvalidLaunchConfigError) as raised:
        config.decode(body, "launches/wf-1.json")

    assert str(raised.value) == "launches/wf-1.json: not valid JSON (Expecting value at line 3 column 20)"


def test_invalid_yaml_says_where_on_one_line() -> None:
    body = b"launch_id: wf-1\nparameters:\n  jobs: [20\nworkflow_type: snakemake\n"

    with pytest.raises(InvalidLaunchConfigError) as raised:
        config.decode(body, "launches/wf-1.yaml")

    message = str(raised.value)
    assert message.startswith("launches/wf-1.yaml: not valid YAML (")
    assert "line 4" in message
    assert "\n" not in message


@pytest.mark.parametrize(
    ("body", "name", "reason"),
    [
        (b"[1, 2]", "launches/a.json", "launches/a.json: the document must be a mapping of fields"),
        (b"- a\n- b\n", "launches/a.yaml", "launches/a.yaml: the document must be a mapping of fields"),
        (b"", "launches/a.yaml", "launches/a.yaml: the document must be a mapping of fields"),
        (b'{"a": "\xff"}', "a.json", "a.json: not UTF-8 text (invalid start byte at byte 7)"),
        (b" " * (256 * 1024 + 1), "launches/a.json", "launches/a.json: larger than 262144 bytes"),
    ],
)
def test_documents_that_are_not_a_mapping_of_fields(body: bytes, name: str, reason: str) -> None:
    with pytest.raises(InvalidLaunchConfigError) as raised:
        config.decode(body, name)

    assert str(raised.value) == reason


# --- launch ids from keys and Snakefile bundles ------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("launches/wf-2024-0042.json", "wf-2024-0042"),
        ("launches/wf_1.yaml", "wf_1"),
        ("launches/team/wf-1.yml", "wf-1"),
        ("snakefiles/qc-cohort7/Snakefile", "qc-cohort7"),
        ("snakefiles/qc-cohort7/snakefile", "qc-cohort7"),
        ("snakefiles/qc-cohort7.smk", "qc-cohort7"),
        ("snakefiles/qc-cohort7.tar.gz", "qc-cohort7"),
        ("snakefiles/qc-cohort7.tgz", "qc-cohort7"),
        ("snakefiles/qc-cohort7.zip", "qc-cohort7"),
        ("launches/wf 1.json", None),
        ("launches/wf.v2.json", None),
        ("launches/wf-1.txt", None),
        ("launches/wf-1\n.json", None),
        (f"launches/{'x' * 65}.json", None),
        ("launches/.json", None),
        ("launches/wf-1.smk", None),
        # inside a bundle's folder, deeper, or not a bundle shape: no launch id
        ("snakefiles/qc-7/rules/common.smk", None),
        ("snakefiles/qc-7/common.smk", None),
        ("snakefiles/qc-7/workflow/Snakefile", None),
        ("snakefiles/qc-7/sub/qc.zip", None),
        ("snakefiles/Snakefile", None),
        ("snakefiles/qc-7.json", None),
        ("snakefiles//Snakefile", None),
        ("snakefiles/qc 7.zip", None),
        ("snakefiles/.zip", None),
    ],
)
def test_launch_id_from_key(key: str, expected: str | None) -> None:
    assert config.launch_id_from_key(key) == expected


@pytest.mark.parametrize(
    ("key", "bundle"),
    [
        ("snakefiles/qc/Snakefile", True),
        ("snakefiles/qc/snakefile", True),
        ("snakefiles/qc.smk", True),
        ("snakefiles/qc.tar.gz", True),
        ("snakefiles/qc.tgz", True),
        ("snakefiles/qc.zip", True),
        ("snakefiles/qc/samples.csv", False),
        ("snakefiles/qc/config.yaml", False),
        ("snakefiles/qc/Snakefile.bak", False),
        # a bundle is an archive directly under snakefiles/ or snakefiles/<id>/Snakefile, nothing deeper
        ("snakefiles/qc-7/rules/common.smk", False),
        ("snakefiles/qc-7/common.smk", False),
        ("snakefiles/qc-7/qc.tar.gz", False),
        ("snakefiles/qc-7/workflow/Snakefile", False),
        ("snakefiles/Snakefile", False),
        ("snakefiles//Snakefile", False),
        ("snakefiles/qc.ZIP", False),
        ("snakefiles/qc", False),
        ("launches/qc.zip", False),
        ("other/snakefiles/qc.zip", False),
        ("snakefiles", False),
        # a bundle shape with an unusable id is still a bundle (registration rejects it with the reason)
        ("snakefiles/qc 7.zip", True),
        ("snakefiles/qc 7/Snakefile", True),
    ],
)
def test_snakefile_bundle_detection(key: str, bundle: bool) -> None:
    assert config.is_snakefile_bundle(key) is bundle


def test_a_folder_bundle_has_its_folder_as_data_root() -> None:
    # Given a Snakefile uploaded into its own folder
    values = config.snakefile_defaults("qc-cohort7", "requests", "snakefiles/qc-cohort7/Snakefile")

    # Then the defaults name the folder as the data root and the Snakefile as sheet and Snakefile
    assert values == {
        "launch_id": "qc-cohort7",
        "workflow_type": "snakemake",
        "s3_data_path": "s3://requests/snakefiles/qc-cohort7/",
        "config_s3_uri": "s3://requests/snakefiles/qc-cohort7/Snakefile",
        "snakefile_s3_uri": "s3://requests/snakefiles/qc-cohort7/Snakefile",
    }
    # and they are a valid configuration
    assert config.validate(values).snakefile_s3_uri == values["snakefile_s3_uri"]


def test_an_archive_bundle_is_its_own_data_root() -> None:
    values = config.snakefile_defaults("qc-cohort7", "requests", "snakefiles/qc-cohort7.tar.gz")

    assert values["s3_data_path"] == values["config_s3_uri"] == "s3://requests/snakefiles/qc-cohort7.tar.gz"
    assert config.validate(values).launch_id == "qc-cohort7"


# --- the published schema --------------------------------------------------------------------------


def test_the_committed_json_schema_is_the_models() -> None:
    # Given the schema published in the docs
    committed = SCHEMA_FILE.read_text()

    # Then it is exactly what the model generates (regenerate it when the model changes)
    assert committed == json.dumps(config.json_schema(), indent=2, sort_keys=True) + "\n"


def test_the_schema_is_draft_2020_12_with_the_fields_and_required_ones() -> None:
    schema = config.json_schema()

    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["additionalProperties"] is False
    assert schema["required"] == sorted(["launch_id", "workflow_type", "s3_data_path", "config_s3_uri"])
    assert set(schema["properties"]) == set(config.LaunchConfig.model_fields)


# --- property: any document is valid or rejected with a typed error ---------------------------------

JSON_SCALARS = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30)
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=12,
)
FIELD_NAMES = st.sampled_from([*config.LaunchConfig.model_fields, "extra"])
NEAR_VALID = st.builds(
    lambda replaced, removed: {
        **{name: value for name, value in document().items() if name not in removed},
        **replaced,
    },
    st.dictionaries(FIELD_NAMES, JSON_VALUES | st.sampled_from([SHEET_URI, DATA_PATH, "batch"]), max_size=3),
    st.sets(FIELD_NAMES, max_size=2),
)


def validated(
    body: bytes, name: str
) -> config.LaunchConfig | MissingRequiredParametersError | InvalidLaunchConfigError:
    """The configuration in ``body``, or the typed error that rejected it (anything else propagates)."""
    try:
        return config.validate(config.decode(body, name))
    except (MissingRequiredParametersError, InvalidLaunchConfigError) as exc:
        return exc


def decoded(body: bytes, name: str) -> dict[str, Any] | InvalidLaunchConfigError:
    try:
        return config.decode(body, name)
    except InvalidLaunchConfigError as exc:
        return exc


@settings(max_examples=150, deadline=None)
@given(st.dictionaries(st.text(max_size=20), JSON_VALUES, max_size=8) | NEAR_VALID)
def test_any_document_validates_or_raises_a_typed_error(candidate: dict[str, Any]) -> None:
    # Given any JSON object (arbitrary, or the sample with fields replaced or removed)
    # When it is decoded and validated
    result = validated(json.dumps(candidate).encode(), "launches/candidate.json")

    # Then it is valid and round-trips through its own JSON, or rejected with a message
    if isinstance(result, config.LaunchConfig):
        assert config.validate(json.loads(result.model_dump_json(exclude_none=True))) == result
    else:
        assert str(result)


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=200), st.sampled_from(["a.json", "a.yaml", "a.yml"]))
def test_any_upload_body_decodes_to_a_mapping_or_is_invalid(body: bytes, name: str) -> None:
    result = decoded(body, f"launches/{name}")

    if isinstance(result, InvalidLaunchConfigError):
        assert str(result).startswith(f"launches/{name}: ")
    else:
        assert isinstance(result, dict)
