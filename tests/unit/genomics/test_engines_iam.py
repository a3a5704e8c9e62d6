"""Template contract of the engines: what the head of a launch runs (engines.py) is allowed by the roles
and definitions of templates/genomics.yaml. The head submits the engine's jobs to this blueprint's Batch
queue with a dedicated job role, starts Tibanna runs, and writes only where the builders point."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from blueprints.genomics.engines import JOB_ROLE_VARIABLE, WORK_PREFIX
from tests.support.paths import TEMPLATES
from tests.support.template import load_template

TEMPLATE = load_template(TEMPLATES / "genomics.yaml")
RESOURCES: dict[str, Any] = TEMPLATE["Resources"]


def statements(role: str) -> Iterator[dict[str, Any]]:
    """Every statement of a role's inline policies, each ``Fn::If`` branch taken when deployed."""
    for policy in RESOURCES[role]["Properties"]["Policies"]:
        for statement in policy["PolicyDocument"]["Statement"]:
            if "Fn::If" in statement:
                statement = statement["Fn::If"][1]
            yield statement


def allowed(role: str) -> dict[str, list[Any]]:
    """Action -> the resources an Allow statement of ``role`` grants it on."""
    grants: dict[str, list[Any]] = {}
    for statement in statements(role):
        if statement["Effect"] != "Allow":
            continue
        actions = statement["Action"]
        resources = statement["Resource"]
        for action in [actions] if isinstance(actions, str) else actions:
            grants.setdefault(action, []).extend(resources if isinstance(resources, list) else [resources])
    return grants


def environment(definition: str) -> dict[str, Any]:
    properties = RESOURCES[definition]["Properties"]
    container = properties.get("ContainerProperties") or properties["ContainerDefinitions"][0]
    return {item["Name"]: item["Value"] for item in container.get("Environment", [])}


JOB_ROLE = {"Fn::GetAtt": ["WorkflowJobRole", "Arn"]}


def test_the_head_role_can_run_the_aws_batch_executor_and_nextflow_awsbatch() -> None:
    # Given the head's role as deployed with a Batch queue
    grants = allowed("WorkflowTaskRole")

    # Then it holds every Batch action the engines call
    for action in (
        "batch:SubmitJob",
        "batch:DescribeJobs",
        "batch:ListJobs",
        "batch:TerminateJob",
        "batch:RegisterJobDefinition",
        "batch:DeregisterJobDefinition",
        "batch:TagResource",
        "batch:DescribeJobQueues",
        "batch:DescribeComputeEnvironments",
    ):
        assert action in grants, action
    # and the writes are scoped to the queue and the engines' job-definition name prefixes
    queue = {"Fn::If": ["CreateBatch", {"Ref": "BatchJobQueue"}, {"Ref": "BatchJobQueueArn"}]}
    assert queue in grants["batch:SubmitJob"]
    registered = [resource["Fn::Sub"] for resource in grants["batch:RegisterJobDefinition"]]
    assert [resource.rsplit("/", 1)[1] for resource in registered] == ["snakejob-def-*", "nf-*"]


def test_the_head_passes_only_the_job_and_execution_roles_to_ecs_tasks() -> None:
    passing = [
        statement
        for statement in statements("WorkflowTaskRole")
        if statement["Action"] == "iam:PassRole" and statement["Effect"] == "Allow"
    ]

    assert len(passing) == 1
    assert passing[0]["Resource"] == [JOB_ROLE, {"Fn::GetAtt": ["TaskExecutionRole", "Arn"]}]
    assert "ecs-tasks.amazonaws.com" in passing[0]["Condition"]["StringEquals"]["iam:PassedToService"]


def test_the_head_role_starts_and_follows_tibanna_runs_of_the_configured_unicorn() -> None:
    grants = allowed("WorkflowTaskRole")

    assert grants["states:StartExecution"] == [
        {
            "Fn::Sub": "arn:${AWS::Partition}:states:${AWS::Region}:${AWS::AccountId}:stateMachine:"
            "${TibannaStepFunction}"
        }
    ]
    assert grants["states:DescribeExecution"] == [
        {
            "Fn::Sub": "arn:${AWS::Partition}:states:${AWS::Region}:${AWS::AccountId}:execution:"
            "${TibannaStepFunction}:*"
        }
    ]
    conditions = {
        statement["Sid"]: policy_condition
        for statement, policy_condition in _conditions("WorkflowTaskRole")
        if statement["Sid"].endswith("TibannaRuns")
    }
    assert conditions == {"StartTibannaRuns": "HasTibanna", "FollowTibannaRuns": "HasTibanna"}


def _conditions(role: str) -> Iterator[tuple[dict[str, Any], str]]:
    for policy in RESOURCES[role]["Properties"]["Policies"]:
        for statement in policy["PolicyDocument"]["Statement"]:
            if "Fn::If" in statement:
                yield statement["Fn::If"][1], statement["Fn::If"][0]


@pytest.mark.parametrize("role", ["WorkflowTaskRole", "WorkflowJobRole"])
def test_workflow_roles_write_only_the_results_bucket(role: str) -> None:
    grants = allowed(role)

    assert grants["s3:PutObject"] == [
        {"Fn::GetAtt": ["ResultsBucket", "Arn"]},
        {"Fn::Sub": "${ResultsBucket.Arn}/*"},
    ]
    assert grants["s3:DeleteObject"] == grants["s3:PutObject"]


def test_the_job_role_is_for_ecs_tasks_and_holds_no_control_plane_action() -> None:
    role = RESOURCES["WorkflowJobRole"]["Properties"]
    grants = allowed("WorkflowJobRole")

    assert role["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {
        "Service": "ecs-tasks.amazonaws.com"
    }
    assert sorted({action.split(":")[0] for action in grants}) == ["kms", "s3"]


@pytest.mark.parametrize("definition", ["SnakemakeV8TaskDefinition", "SnakemakeV8JobDefinition"])
def test_the_snakemake_8_head_names_the_job_role_for_the_batch_plugin(definition: str) -> None:
    variables = environment(definition)

    assert variables["SNAKEMAKE_AWS_BATCH_JOB_ROLE"] == JOB_ROLE
    assert variables["SNAKEMAKE_AWS_BATCH_EXECUTION_ROLE"] == {"Fn::GetAtt": ["TaskExecutionRole", "Arn"]}
    assert variables[JOB_ROLE_VARIABLE] == JOB_ROLE


@pytest.mark.parametrize("definition", ["NextflowTaskDefinition", "NextflowJobDefinition"])
def test_the_nextflow_head_names_the_job_role_its_config_reads(definition: str) -> None:
    assert environment(definition)[JOB_ROLE_VARIABLE] == JOB_ROLE


def test_nextflow_work_directories_expire_in_the_results_bucket() -> None:
    rules = RESOURCES["ResultsBucket"]["Properties"]["LifecycleConfiguration"]["Rules"]

    assert [(rule["Prefix"], rule["ExpirationInDays"]) for rule in rules] == [(f"{WORK_PREFIX}/", 30)]


# Batch job definitions on Fargate (BatchComputeType FARGATE or FARGATE_SPOT)

JOB_DEFINITIONS = [
    "SnakemakeV7JobDefinition",
    "SnakemakeV8JobDefinition",
    "NextflowJobDefinition",
    "ContainerJobDefinition",
]
# Fargate's vCPU -> memory (MiB) combinations that a job definition may ask for
FARGATE_MEMORY = {
    "0.25": range(512, 2049, 512),
    "0.5": range(1024, 4097, 1024),
    "1": range(2048, 8193, 1024),
    "2": range(4096, 16385, 1024),
    "4": range(8192, 30721, 1024),
}


def when_fargate(value: Any) -> Any:
    """The branch of ``!If [BatchOnFargate, fargate, ec2]`` a Fargate deployment takes."""
    assert value["Fn::If"][0] == "BatchOnFargate"
    return value["Fn::If"][1]


def when_ec2(value: Any) -> Any:
    assert value["Fn::If"][0] == "BatchOnFargate"
    return value["Fn::If"][2]


@pytest.mark.parametrize("definition", JOB_DEFINITIONS)
def test_job_definitions_take_the_platform_of_the_queue(definition: str) -> None:
    properties = RESOURCES[definition]["Properties"]
    container = properties["ContainerProperties"]

    # On Fargate: the FARGATE platform, an execution role, the network settings and a platform version
    assert when_fargate(properties["PlatformCapabilities"]) == ["FARGATE"]
    assert when_fargate(container["ExecutionRoleArn"]) == {"Fn::GetAtt": ["TaskExecutionRole", "Arn"]}
    assert when_fargate(container["NetworkConfiguration"]) == {"AssignPublicIp": {"Ref": "AssignPublicIp"}}
    assert when_fargate(container["FargatePlatformConfiguration"]) == {"PlatformVersion": "LATEST"}
    # and none of it on EC2
    assert when_ec2(properties["PlatformCapabilities"]) == ["EC2"]
    for name in ("ExecutionRoleArn", "NetworkConfiguration", "FargatePlatformConfiguration"):
        assert when_ec2(container[name]) == {"Ref": "AWS::NoValue"}


@pytest.mark.parametrize("definition", JOB_DEFINITIONS)
def test_job_definitions_ask_for_a_fargate_combination_of_vcpu_and_memory(definition: str) -> None:
    container = RESOURCES[definition]["Properties"]["ContainerProperties"]
    requirements = {item["Type"]: item["Value"] for item in container["ResourceRequirements"]}

    assert set(requirements) == {"VCPU", "MEMORY"}  # the resourceRequirements form, not Vcpus/Memory
    assert "Vcpus" not in container
    assert "Memory" not in container
    assert int(requirements["MEMORY"]) in FARGATE_MEMORY[requirements["VCPU"]]


def test_the_fargate_condition_follows_the_compute_type() -> None:
    assert TEMPLATE["Conditions"]["BatchOnFargate"] == {
        "Fn::Or": [
            {"Fn::Equals": [{"Ref": "BatchComputeType"}, "FARGATE"]},
            {"Fn::Equals": [{"Ref": "BatchComputeType"}, "FARGATE_SPOT"]},
        ]
    }
