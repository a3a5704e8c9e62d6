"""Parser models of what the blueprint receives: CodePipeline and OpsItem events, GitHub push payloads.

Parsed at the edge (handlers); the domain only sees the values these return. A payload that does not
have the documented shape raises ``InvalidEventError`` naming the fields, never a bare ``KeyError``.
Timestamps must carry an offset and are normalised to UTC (``timeutil.parse_instant``).
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any, Literal

from aws_lambda_powertools.utilities.parser.models import EventBridgeModel
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, field_validator

from blueprints.dora.detect import TriggerFacts
from blueprints.dora.errors import InvalidEventError
from blueprints.dora.model import Push, PushCommit
from blueprints.dora.timeutil import parse_instant

PIPELINE_EXECUTION = "CodePipeline Pipeline Execution State Change"
STAGE_EXECUTION = "CodePipeline Stage Execution State Change"
OPSITEM_CREATE = "OpsItem Create"
OPSITEM_UPDATE = "OpsItem Update"
SHA_PATTERN = r"^[0-9a-f]{40}(?:[0-9a-f]{24})?$"  # SHA-1, or SHA-256 repositories
OPS_ITEM_ID = re.compile(r"^oi-[0-9a-f]{12}$")
REPOSITORY = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})/[A-Za-z0-9_.-]{1,100}$")
PUSH_COMMITS_CAP = 2048  # GitHub lists at most this many commits in one push payload


def valid_repository(name: str) -> bool:
    """An exact GitHub ``owner/name`` (no ``.``/``..`` names that would walk a URL path)."""
    return bool(REPOSITORY.match(name)) and name.split("/")[1] not in (".", "..")


def _instant(value: Any) -> datetime:
    if not isinstance(value, str | datetime):
        raise ValueError("a timestamp must be an ISO 8601 string with an offset")
    return parse_instant(value)


Instant = Annotated[datetime, BeforeValidator(_instant)]


def _parse[ModelT: BaseModel](model: type[ModelT], payload: Any, what: str) -> ModelT:
    try:
        return model.model_validate(payload)
    except ValidationError as exc:
        fields = "; ".join(
            f"{'.'.join(str(part) for part in error['loc']) or '<root>'}: {error['msg']}"
            for error in exc.errors(include_url=False)
        )
        raise InvalidEventError(f"invalid {what}: {fields}") from exc


class _Lenient(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True, frozen=True)


# -- CodePipeline ------------------------------------------------------------------------------------


class ExecutionTrigger(_Lenient):
    """``detail.execution-trigger``: absent from the documented SUCCEEDED example; rich for webhooks."""

    trigger_type: str | None = Field(None, alias="trigger-type")
    trigger_detail: str | None = Field(None, alias="trigger-detail")
    full_repository_name: str | None = Field(None, alias="full-repository-name")
    branch_name: str | None = Field(None, alias="branch-name")
    tag_name: str | None = Field(None, alias="tag-name")
    commit_id: str | None = Field(None, alias="commit-id")
    commit_message: str | None = Field(None, alias="commit-message")
    provider_type: str | None = Field(None, alias="provider-type")

    def facts(self) -> TriggerFacts:
        return TriggerFacts(
            self.trigger_type,
            self.branch_name,
            self.full_repository_name,
            self.commit_id,
            self.commit_message,
        )


class PipelineDetail(_Lenient):
    pipeline: str = Field(min_length=1, max_length=100)
    execution_id: str = Field(alias="execution-id", min_length=1, max_length=100)
    state: str = Field(min_length=1)
    stage: str | None = None
    version: float | None = None
    attempt: int | None = Field(None, alias="pipeline-execution-attempt")
    start_time: Instant | None = Field(None, alias="start-time")
    execution_trigger: ExecutionTrigger | None = Field(None, alias="execution-trigger")


class PipelineStateEvent(EventBridgeModel):
    model_config = ConfigDict(populate_by_name=True, frozen=True)

    source: Literal["aws.codepipeline"]
    detail_type: Literal[
        "CodePipeline Pipeline Execution State Change", "CodePipeline Stage Execution State Change"
    ] = Field(alias="detail-type")
    time: Instant
    detail: PipelineDetail

    @property
    def is_stage(self) -> bool:
        return self.detail_type == STAGE_EXECUTION

    @property
    def pipeline_arn(self) -> str:
        """The pipeline's ARN: from ``resources`` when given, else built from the envelope."""
        for resource in self.resources:
            parts = resource.split(":")
            if len(parts) >= 6 and parts[2] == "codepipeline" and parts[5] == self.detail.pipeline:
                return resource
        partition = "aws-cn" if self.region.startswith("cn-") else "aws"
        return f"arn:{partition}:codepipeline:{self.region}:{self.account}:{self.detail.pipeline}"


def parse_pipeline_event(payload: Any) -> PipelineStateEvent:
    return _parse(PipelineStateEvent, payload, "CodePipeline event")


# -- OpsCenter ---------------------------------------------------------------------------------------


class OpsItemDetail(_Lenient):
    ops_item_id: str | None = Field(None, alias="ops-item-id")
    status: str | None = None
    title: str | None = None
    source: str | None = None
    created_time: Instant | None = Field(None, alias="created-time")


class OpsItemEvent(EventBridgeModel):
    model_config = ConfigDict(populate_by_name=True, frozen=True)

    source: Literal["aws.ssm"]
    detail_type: Literal["OpsItem Create", "OpsItem Update"] = Field(alias="detail-type")
    time: Instant
    detail: OpsItemDetail

    @property
    def ops_item_id(self) -> str:
        """``detail.ops-item-id``, else the id at the end of an ``opsitem/`` ARN in ``resources``."""
        candidates = [self.detail.ops_item_id or ""]
        candidates += [resource.rsplit("/", 1)[-1] for resource in self.resources if ":opsitem/" in resource]
        for candidate in candidates:
            if OPS_ITEM_ID.match(candidate):
                return candidate
        raise InvalidEventError("OpsItem event without a valid ops-item-id (oi- and 12 hex digits)")


def parse_opsitem_event(payload: Any) -> OpsItemEvent:
    event = _parse(OpsItemEvent, payload, "OpsItem event")
    event.ops_item_id  # noqa: B018 - validates the id now, at the edge
    return event


# -- GitHub push -------------------------------------------------------------------------------------


class _PushCommit(_Lenient):
    id: str = Field(pattern=SHA_PATTERN)
    timestamp: Instant
    message: str = ""


class _Repository(_Lenient):
    full_name: str

    @field_validator("full_name")
    @classmethod
    def _owner_name(cls, value: str) -> str:
        if not valid_repository(value):
            raise ValueError("not an owner/name repository")
        return value


class PushPayload(_Lenient):
    ref: str = Field(min_length=1)
    before: str = Field(pattern=SHA_PATTERN)
    after: str = Field(pattern=SHA_PATTERN)
    repository: _Repository
    commits: list[_PushCommit] = Field(default_factory=list)
    forced: bool = False
    deleted: bool = False

    def push(self) -> Push:
        return Push(
            repo=self.repository.full_name,
            ref=self.ref,
            before=self.before,
            after=self.after,
            commits=tuple(PushCommit(c.id, c.timestamp, c.message) for c in self.commits),
            forced=self.forced,
            truncated=len(self.commits) >= PUSH_COMMITS_CAP,
        )


def parse_push(payload: Any) -> PushPayload:
    return _parse(PushPayload, payload, "GitHub push payload")
