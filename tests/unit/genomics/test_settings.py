"""The genomics settings models against the environment the template really gives each function."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from moto import mock_aws

from blueprints.core.errors import ConfigurationError
from blueprints.genomics.settings import (
    DetectSettings,
    LaunchSettings,
    RegisterSettings,
    RestoreApiSettings,
    TrackSettings,
)
from tests.support.handlers import load_handler
from tests.support.template import functions
from tests.unit.genomics.conftest import FUNCTIONS, MOTO_CONFIG, build_stack

GENOMICS_FUNCTIONS = [function for function in functions() if function.blueprint == "genomics"]
REFS = (
    "ResultsBucket",
    "RestoreTable",
    "SnakemakeV7TaskDefinition",
    "ContainerJobDefinition",
    "BatchJobQueue",
)


@dataclass(frozen=True)
class Deployed:
    """What a deployment of the template resolves to: each function's environment, some physical ids."""

    env: dict[str, dict[str, str]]  # logical id -> environment
    refs: dict[str, str]
    cluster_arn: str
    subnet_id: str
    security_group_id: str

    def of(self, function: str) -> dict[str, str]:
        return dict(self.env[FUNCTIONS[function]])


def deployed(with_network: bool) -> Deployed:
    """Deploy the stack in moto once, read what the functions are given, and leave moto again."""
    with pytest.MonkeyPatch.context() as monkeypatch, mock_aws(config=MOTO_CONFIG):
        monkeypatch.setenv("MOTO_EC2_LOAD_DEFAULT_AMIS", "false")
        genomics = build_stack(monkeypatch, with_network=with_network)
        stack = genomics.stack
        return Deployed(
            env={
                function.logical_id: stack.function_env(function.logical_id)
                for function in GENOMICS_FUNCTIONS
            },
            refs={name: stack.resolver.refs[name] for name in REFS if name in stack.resolver.refs},
            cluster_arn=genomics.cluster_arn,
            subnet_id=genomics.network.subnet_id,
            security_group_id=genomics.network.security_group_id,
        )


@pytest.fixture(scope="module")
def stacks() -> tuple[Deployed, Deployed]:
    """(with a network and Batch, without): the settings tests only read environments."""
    return deployed(with_network=True), deployed(with_network=False)


@pytest.fixture
def full(stacks: tuple[Deployed, Deployed]) -> Deployed:
    return stacks[0]


@pytest.fixture
def core(stacks: tuple[Deployed, Deployed]) -> Deployed:
    return stacks[1]


@pytest.mark.parametrize("function", GENOMICS_FUNCTIONS, ids=lambda function: function.name)
def test_every_genomics_function_reads_its_settings_from_its_template_environment(
    full: Deployed, function: object
) -> None:
    # Given a genomics function of the template and the settings model its handler reads
    name = function.name  # type: ignore[attr-defined]
    model = load_handler("genomics", name).SETTINGS.model
    env = full.env[function.logical_id]  # type: ignore[attr-defined]

    # Then every variable the model reads is set, and the values validate
    assert set(model.env_names()) <= set(env)
    assert isinstance(model.from_env(env), model)


def test_the_register_settings(core: Deployed) -> None:
    settings = RegisterSettings.from_env(core.of("register_launch"))

    assert settings.launch_table_name == "genomics-launches"
    assert settings.results_bucket_name == core.refs["ResultsBucket"]
    assert settings.alerts_topic_arn.endswith(":blueprints-alerts")
    assert settings.default_versions() == {"snakemake": "8.30.0", "nextflow": "24.10.4"}
    assert isinstance(settings.restore_enabled, bool)


def test_the_api_settings_name_the_restore_table(core: Deployed) -> None:
    settings = RestoreApiSettings.from_env(core.of("handle_launch_api"))

    assert settings.restore_table_name == core.refs["RestoreTable"]


def test_the_launch_settings_carry_the_definitions_and_network(full: Deployed) -> None:
    settings = LaunchSettings.from_env(full.of("launch_workflow"))

    definitions = settings.definitions()
    assert set(definitions) == {"fargate", "batch"}
    assert definitions["fargate"]["snakemake7"] == full.refs["SnakemakeV7TaskDefinition"]
    assert definitions["batch"]["container"] == full.refs["ContainerJobDefinition"]
    assert (settings.subnet_ids, settings.security_group_ids) == (
        full.subnet_id,
        full.security_group_id,
    )
    assert (settings.cluster_arn, settings.batch_job_queue_arn) == (
        full.cluster_arn,
        full.refs["BatchJobQueue"],
    )
    assert (settings.assign_public_ip, settings.fargate_capacity_provider) == ("DISABLED", "FARGATE")
    assert (settings.head_container_name, settings.head_log_stream_prefix) == ("head", "launch")


def test_without_batch_the_job_definitions_are_empty(core: Deployed) -> None:
    settings = LaunchSettings.from_env(core.of("launch_workflow"))

    assert settings.definitions()["batch"] == {}
    assert settings.batch_job_queue_arn == ""


def test_the_tracker_and_detector_settings(core: Deployed) -> None:
    track = TrackSettings.from_env(core.of("track_ecs_task"))
    detect = DetectSettings.from_env(core.of("detect_stuck_launches"))

    assert track.launch_table_name == "genomics-launches"
    assert (detect.runnable_alert_minutes, detect.hard_timeout_minutes) == (20, 720)
    assert detect.cluster_arn == core.cluster_arn


@pytest.mark.parametrize(
    ("function", "model", "name"),
    [
        ("launch_workflow", LaunchSettings, "TASK_DEFINITIONS"),
        ("launch_workflow", LaunchSettings, "LAUNCH_TABLE_NAME"),
        ("register_launch", RegisterSettings, "RESTORE_ENABLED"),
        ("detect_stuck_launches", DetectSettings, "HARD_TIMEOUT_MINUTES"),
        ("handle_launch_api", RestoreApiSettings, "RESTORE_TABLE_NAME"),
    ],
)
def test_a_missing_variable_is_named(
    core: Deployed, function: str, model: type[LaunchSettings], name: str
) -> None:
    env = core.of(function)
    del env[name]

    with pytest.raises(ConfigurationError) as raised:
        model.from_env(env)

    assert str(raised.value) == f"missing environment variables: {name}"


@pytest.mark.parametrize(
    ("name", "value", "reason"),
    [
        ("TASK_DEFINITIONS", "snakemake7=td", "TASK_DEFINITIONS: Value error, not JSON"),
        (
            "JOB_DEFINITIONS",
            '["genomics-dev-container"]',
            "JOB_DEFINITIONS: Value error, must be a JSON object",
        ),
        ("TASK_DEFINITIONS", '{"container": 3}', "TASK_DEFINITIONS: Value error, must be a JSON object"),
        ("ASSIGN_PUBLIC_IP", "YES", "ASSIGN_PUBLIC_IP: "),
        ("FARGATE_CAPACITY_PROVIDER", "EC2", "FARGATE_CAPACITY_PROVIDER: "),
        ("LISTING_BUDGET_SECONDS", "0", "LISTING_BUDGET_SECONDS: "),
        ("RESTORE_TIER", "Fast", "RESTORE_TIER: "),
        ("RESTORE_DAYS", "31", "RESTORE_DAYS: "),
        ("TIBANNA_PLUGIN_ENABLED", "maybe", "TIBANNA_PLUGIN_ENABLED: "),
        ("CLUSTER_ARN", "", "CLUSTER_ARN: "),
    ],
)
def test_invalid_launch_values_are_named(core: Deployed, name: str, value: str, reason: str) -> None:
    env = {**core.of("launch_workflow"), name: value}

    with pytest.raises(ConfigurationError) as raised:
        LaunchSettings.from_env(env)

    assert str(raised.value).startswith("invalid environment variables: ")
    assert reason in str(raised.value)


@pytest.mark.parametrize(
    ("name", "value"), [("RUNNABLE_ALERT_MINUTES", "0"), ("HARD_TIMEOUT_MINUTES", "soon")]
)
def test_invalid_detector_values_are_named(core: Deployed, name: str, value: str) -> None:
    env = {**core.of("detect_stuck_launches"), name: value}

    with pytest.raises(ConfigurationError, match=name):
        DetectSettings.from_env(env)
