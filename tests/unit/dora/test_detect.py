"""Which executions are production deployments (test cases 2, 7, 14, 16 and the rollback/hotfix rules)."""

from __future__ import annotations

import re

import pytest

from blueprints.dora.detect import (
    ExecutionDetails,
    Ignored,
    PipelineDefinition,
    Policies,
    ServicePolicy,
    TriggerFacts,
    detect,
    is_revert,
    references,
    repo_from_url,
    screen,
)
from blueprints.dora.model import Deployment
from tests.unit.dora.builders import at, oi, sha

ARN = "arn:aws:codepipeline:us-east-1:123456789012:svc-a"
WITH_PROD = PipelineDefinition(
    "svc-a", ("Source", "Build", "DeployStaging", "DeployPROD"), "example-org/svc-a", "main"
)
WITHOUT_PROD = PipelineDefinition("svc-a", ("Source", "Build", "Deploy"), "example-org/svc-a", "main")
POLICY = ServicePolicy()


def execution(**fields: object) -> ExecutionDetails:
    values: dict[str, object] = {
        "execution_id": "E1",
        "status": "Succeeded",
        "sha": sha(3),
        "repo": "example-org/svc-a",
    }
    values.update(fields)
    return ExecutionDetails(**values)  # type: ignore[arg-type]


def run(
    definition: PipelineDefinition = WITH_PROD,
    details: ExecutionDetails | None = None,
    trigger: TriggerFacts | None = None,
    policy: ServicePolicy = POLICY,
) -> Deployment | Ignored:
    return detect(
        pipeline_arn=ARN,
        account="123456789012",
        region="us-east-1",
        deploy_time=at("14:00"),
        definition=definition,
        execution=details or execution(),
        trigger=trigger or TriggerFacts(),
        policy=policy,
    )


def test_only_the_production_stage_success_marks_a_pipeline_with_that_stage() -> None:
    # Given a pipeline with a DeployPROD stage
    # Then its DeployPROD SUCCEEDED event can mark a deployment, and nothing else can
    assert (
        screen(is_stage=True, state="SUCCEEDED", stage="DeployPROD", policy=POLICY, definition=WITH_PROD)
        is None
    )
    for is_stage, state, stage in [
        (True, "FAILED", "DeployPROD"),  # a failed attempt never reached production (cases 2 and 7)
        (True, "SUCCEEDED", "DeployStaging"),
        (False, "SUCCEEDED", None),  # the pipeline's own success waits for the stage event
        (False, "SUPERSEDED", None),
        (False, "RESUMED", None),
    ]:
        verdict = screen(is_stage=is_stage, state=state, stage=stage, policy=POLICY, definition=WITH_PROD)
        assert isinstance(verdict, Ignored)


def test_a_pipeline_without_the_production_stage_deploys_on_its_own_success() -> None:
    assert (
        screen(is_stage=False, state="SUCCEEDED", stage=None, policy=POLICY, definition=WITHOUT_PROD) is None
    )
    stage = screen(is_stage=True, state="SUCCEEDED", stage="Deploy", policy=POLICY, definition=WITHOUT_PROD)
    assert isinstance(stage, Ignored)


def test_a_release_branch_success_is_a_deployment_with_the_event_time_and_commit() -> None:
    deployment = run(details=execution(branch="main", commit_message="Add a rate limiter"))

    assert isinstance(deployment, Deployment)
    assert (deployment.service, deployment.execution_id, deployment.deploy_time) == (
        "svc-a",
        "E1",
        at("14:00"),
    )
    assert (deployment.sha, deployment.repo, deployment.branch, deployment.rollback) == (
        sha(3),
        "example-org/svc-a",
        "main",
        False,
    )


def test_the_trigger_block_wins_over_the_execution_details() -> None:
    trigger = TriggerFacts(trigger_type="WebhookV2", branch="main", repo="example-org/svc-a", commit=sha(9))
    deployment = run(details=execution(branch="release", sha=sha(3)), trigger=trigger)
    assert isinstance(deployment, Deployment)
    assert (deployment.sha, deployment.trigger_type) == (sha(9), "WebhookV2")


def test_feature_branches_contribute_nothing() -> None:
    # Given a feature-branch execution (test case 14)
    verdict = run(details=execution(branch="feature/cart"))
    assert verdict == Ignored("branch feature/cart is neither the release branch nor a hotfix branch")


def test_a_pipeline_without_production_stage_needs_a_known_release_branch() -> None:
    unknown = PipelineDefinition("svc-a", ("Source", "Deploy"))
    assert isinstance(run(definition=unknown), Ignored)
    assert isinstance(run(definition=unknown, details=execution(branch="main")), Deployment)


def test_hotfix_branches_are_deployments_that_name_their_opsitem() -> None:
    deployment = run(details=execution(branch=f"hotfix/{oi(1)}"))
    assert isinstance(deployment, Deployment)
    assert deployment.references == frozenset({oi(1)})


@pytest.mark.parametrize("trigger_type", ["ManualRollback", "AutomatedRollback"])
def test_rollbacks_are_deployments_whatever_their_branch(trigger_type: str) -> None:
    deployment = run(details=execution(trigger_type=trigger_type, branch=None), definition=WITHOUT_PROD)
    assert isinstance(deployment, Deployment)
    assert deployment.rollback is True


def test_rollbacks_can_be_left_out_and_execution_type_rollback_counts_as_one() -> None:
    policy = ServicePolicy(count_rollbacks=False)
    assert isinstance(run(details=execution(rollback=True), policy=policy), Ignored)
    rollback = run(details=execution(rollback=True))
    assert isinstance(rollback, Deployment)
    assert rollback.rollback is True


@pytest.mark.parametrize("repo", ["org/app", "org/app10", "app1", "org/App1"])
def test_repositories_match_exactly_on_owner_and_name(repo: str) -> None:
    # Given the configured repository org/app1 (test case 16)
    policy = ServicePolicy(repositories=frozenset({"org/app1"}))
    # Then look-alike repositories are not it
    assert isinstance(run(details=execution(repo=repo), policy=policy), Ignored)
    assert isinstance(run(details=execution(repo="org/app1"), policy=policy), Deployment)


def test_per_service_policies_and_tracked_pipelines() -> None:
    gitflow = ServicePolicy(prod_stage="Production", release_branch="release")
    policies = Policies(overrides={"svc-b": gitflow}, pipelines=frozenset({"svc-a", "svc-b"}))
    assert policies.for_service("svc-b") is gitflow
    assert policies.for_service("svc-a") == ServicePolicy()
    assert (policies.tracks("svc-a"), policies.tracks("sandbox")) == (True, False)
    assert Policies().tracks("anything") is True


def test_references_come_from_hotfix_branches_and_head_commit_messages() -> None:
    pattern = re.compile(r"^(hotfix|fix)/(oi-[0-9a-f]{12})")
    assert references(f"fix/{oi(2)}-timeouts", None, pattern) == frozenset({oi(2)})
    assert references("main", f"Fix checkout ({oi(3)}) and {oi(4)}", pattern) == frozenset({oi(3), oi(4)})
    assert references("main", "Bump noi-000000000001x", pattern) == frozenset()
    assert references("hotfix/oi-1", None, re.compile(r"^hotfix/(oi-[0-9a-f]{12})")) == frozenset()
    assert references(f"hotfix/{oi(5)}", None, re.compile(r"^hotfix/(oi-[0-9a-f]{12})")) == frozenset({oi(5)})


def test_reverts_are_recognised_from_git_and_github_messages() -> None:
    assert is_revert('Revert "Add a rate limiter"\n\nThis reverts commit 3b2c4d5e.') is True
    assert is_revert("Undo limiter\n\nThis reverts commit 3b2c4d5e6f70.") is True
    assert is_revert("Reverting the config is not a revert") is False
    assert is_revert(None) is False


def test_repositories_are_read_from_github_and_connection_urls() -> None:
    assert repo_from_url(f"https://github.com/example-org/svc-a/commit/{sha(1)}") == "example-org/svc-a"
    connection = (
        "https://us-east-1.console.aws.amazon.com/codesuite/settings/connections/redirect?connectionArn=x"
        f"&referenceType=COMMIT&FullRepositoryId=example-org/svc-a&Commit={sha(1)}"
    )
    assert repo_from_url(connection) == "example-org/svc-a"
    assert repo_from_url("https://example.com/x") is None
    assert repo_from_url(None) is None
