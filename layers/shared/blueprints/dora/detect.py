"""Which pipeline executions are production deployments (spec §4, §9; the issue's definitions).

A deployment is one execution (pipeline ARN + execution id) whose production stage succeeded, or, for a
pipeline without that stage, whose pipeline execution succeeded on the release branch. The deploy time is
the time of that success. Rollback executions are deployments (unless configured otherwise). Everything
here is pure: the caller gathers the pipeline definition and the execution details (``ports``).
"""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from blueprints.dora.model import ROLLBACK_TRIGGERS, Deployment

SUCCEEDED = "SUCCEEDED"
OPS_ITEM_REFERENCE = re.compile(r"(?<![0-9A-Za-z-])oi-[0-9a-f]{12}(?![0-9A-Za-z])")
REVERT_MESSAGE = re.compile(r'^Revert "|This reverts commit [0-9a-f]{7,64}', re.MULTILINE)
DEFAULT_HOTFIX_BRANCH = r"^(hotfix|fix)/(oi-[0-9a-f]{12})"


@dataclass(frozen=True)
class ServicePolicy:
    """How one service deploys: its production stage, release branch, repositories, hotfix branches."""

    prod_stage: str = "DeployPROD"
    release_branch: str = "main"
    repositories: frozenset[str] = frozenset()  # exact owner/name; empty: any repository
    hotfix_branch: re.Pattern[str] = field(default_factory=lambda: re.compile(DEFAULT_HOTFIX_BRANCH))
    count_rollbacks: bool = True


@dataclass(frozen=True)
class Policies:
    """The default policy, per-service overrides and the pipelines tracked (empty: every pipeline)."""

    default: ServicePolicy = field(default_factory=ServicePolicy)
    overrides: Mapping[str, ServicePolicy] = field(default_factory=dict)
    pipelines: frozenset[str] = frozenset()

    def for_service(self, service: str) -> ServicePolicy:
        return self.overrides.get(service, self.default)

    def tracks(self, pipeline: str) -> bool:
        return not self.pipelines or pipeline in self.pipelines


@dataclass(frozen=True)
class PipelineDefinition:
    """What GetPipeline tells: the stages, and the source action's repository and branch."""

    name: str
    stages: tuple[str, ...]
    source_repo: str | None = None
    source_branch: str | None = None


@dataclass(frozen=True)
class ExecutionDetails:
    """What GetPipelineExecution and ListActionExecutions tell about one execution."""

    execution_id: str
    status: str  # the API's spelling: Succeeded, Failed, InProgress...
    sha: str | None = None
    repo: str | None = None
    branch: str | None = None
    commit_message: str | None = None
    trigger_type: str | None = None
    rollback: bool = False
    stage_succeeded_at: dict[str, datetime] = field(default_factory=dict)  # stage -> last action success
    last_update_time: datetime | None = None


@dataclass(frozen=True)
class TriggerFacts:
    """``detail.execution-trigger`` of a pipeline event (all optional)."""

    trigger_type: str | None = None
    branch: str | None = None
    repo: str | None = None
    commit: str | None = None
    message: str | None = None


@dataclass(frozen=True)
class Ignored:
    """Not a deployment, and why (logged, never stored)."""

    reason: str


def screen(
    *, is_stage: bool, state: str, stage: str | None, policy: ServicePolicy, definition: PipelineDefinition
) -> Ignored | None:
    """Whether an event can mark a deployment at all, before any execution lookup (None: it can)."""
    if state != SUCCEEDED:
        return Ignored(f"state {state} is not a deployment")
    has_prod_stage = policy.prod_stage in definition.stages
    if is_stage:
        if stage != policy.prod_stage:
            return Ignored(f"stage {stage} is not the production stage {policy.prod_stage}")
        return None
    if has_prod_stage:
        return Ignored(f"the {policy.prod_stage} stage event marks this pipeline's deployments")
    return None


def references(branch: str | None, message: str | None, hotfix_branch: re.Pattern[str]) -> frozenset[str]:
    """OpsItem ids a deployment names: a hotfix branch's capture group 2, or ids in the head commit."""
    found: set[str] = set()
    if branch:
        matched = hotfix_branch.search(branch)
        if matched is not None:
            groups = [group for group in matched.groups() if group and OPS_ITEM_REFERENCE.fullmatch(group)]
            if matched.re.groups >= 2 and matched.group(2):
                groups = [matched.group(2)]
            found.update(groups)
    if message:
        found.update(OPS_ITEM_REFERENCE.findall(message))
    return frozenset(found)


def is_revert(message: str | None) -> bool:
    """A revert commit as ``git revert`` and GitHub's revert button write it."""
    return bool(message) and REVERT_MESSAGE.search(message or "") is not None


def repo_from_url(url: str | None) -> str | None:
    """``owner/name`` from a GitHub commit URL or a CodeStar connections redirect URL."""
    if not url:
        return None
    parsed = urllib.parse.urlparse(url)
    query = urllib.parse.parse_qs(parsed.query)
    if "FullRepositoryId" in query:
        return query["FullRepositoryId"][0]
    parts = [part for part in parsed.path.split("/") if part]
    if parsed.netloc.endswith("github.com") and len(parts) >= 4 and parts[2] == "commit":
        return f"{parts[0]}/{parts[1]}"
    return None


def detect(
    *,
    pipeline_arn: str,
    account: str,
    region: str,
    deploy_time: datetime,
    definition: PipelineDefinition,
    execution: ExecutionDetails,
    trigger: TriggerFacts,
    policy: ServicePolicy,
) -> Deployment | Ignored:
    """The deployment an execution that reached production makes, or why it does not count."""
    trigger_type = trigger.trigger_type or execution.trigger_type
    rollback = trigger_type in ROLLBACK_TRIGGERS or execution.rollback
    if rollback and not policy.count_rollbacks:
        return Ignored("rollback executions are not counted (CountRollbacksAsDeployments)")
    branch = trigger.branch or execution.branch or definition.source_branch
    repo = trigger.repo or execution.repo or definition.source_repo
    sha = trigger.commit or execution.sha
    message = trigger.message or execution.commit_message or ""
    hotfix = branch is not None and policy.hotfix_branch.search(branch) is not None
    if not rollback:
        if branch is None and policy.prod_stage not in definition.stages:
            return Ignored("no production stage and no known branch: not on the release branch")
        if branch is not None and branch != policy.release_branch and not hotfix:
            return Ignored(f"branch {branch} is neither the release branch nor a hotfix branch")
    if policy.repositories and repo not in policy.repositories:
        return Ignored(f"repository {repo} is not one of the configured repositories")
    return Deployment(
        pipeline_arn=pipeline_arn,
        execution_id=execution.execution_id,
        service=definition.name,
        deploy_time=deploy_time,
        sha=sha,
        repo=repo,
        branch=branch,
        trigger_type=trigger_type,
        rollback=rollback,
        references=references(branch, message, policy.hotfix_branch),
        revert=is_revert(message),
        head_message=message[:1024],
        account=account,
        region=region,
    )
