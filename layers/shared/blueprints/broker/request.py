"""The run-request message contract and its validation (docs/blueprints/broker.md, "Message schema").

``parse_request`` turns an SQS body into a ``RunRequest`` or raises ``InvalidArgumentsError`` listing
every field error. Once the task definition is known, ``with_network_defaults`` fills configured awsvpc
defaults and ``check_against_task_definition`` adds the checks that need it (container names, awsvpc
networking). ``run_task_arguments`` builds the RunTask call.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Annotated, Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError, model_validator

from blueprints.broker.errors import FieldError, InvalidArgumentsError

MAX_OVERRIDES_CHARS = 8192
MAX_TAGS = 50
REQUEST_ID_TAG = "request_id"

RequestId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,64}$")]
SubnetId = Annotated[str, StringConstraints(pattern=r"^subnet-[0-9a-zA-Z]{1,32}$")]
SecurityGroupId = Annotated[str, StringConstraints(pattern=r"^sg-[0-9a-zA-Z]{1,32}$")]
TaskDefinitionRef = Annotated[
    str,
    StringConstraints(
        pattern=(
            r"^(arn:aws[a-z-]*:ecs:[a-z0-9-]+:\d{12}:task-definition/)?"
            r"[A-Za-z0-9_-]{1,255}(:[1-9][0-9]{0,8})?$"
        )
    ),
]
Name = Annotated[str, StringConstraints(min_length=1, max_length=255)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class CapacityProviderItem(_Strict):
    capacityProvider: Name
    weight: int | None = Field(default=None, ge=0, le=1000)
    base: int | None = Field(default=None, ge=0, le=100_000)


class AwsVpcConfiguration(_Strict):
    subnets: list[SubnetId] | None = Field(default=None, min_length=1, max_length=16)
    securityGroups: list[SecurityGroupId] | None = Field(default=None, min_length=1, max_length=5)
    assignPublicIp: Literal["ENABLED", "DISABLED"] | None = None


class NetworkConfiguration(_Strict):
    awsvpcConfiguration: AwsVpcConfiguration


class KeyValue(_Strict):
    name: Annotated[str, StringConstraints(min_length=1, max_length=255)]
    value: str


class ContainerOverride(_Strict):
    name: Name
    command: list[str] | None = Field(default=None, max_length=1000)
    environment: list[KeyValue] | None = Field(default=None, max_length=1000)


class Overrides(_Strict):
    containerOverrides: list[ContainerOverride] = Field(default_factory=list, max_length=100)
    cpu: Annotated[str, StringConstraints(pattern=r"^[0-9]+( ?vCPU)?$")] | None = None
    memory: Annotated[str, StringConstraints(pattern=r"^[0-9]+( ?GB)?$")] | None = None

    @model_validator(mode="after")
    def _unique_names(self) -> Self:
        names = [override.name for override in self.containerOverrides]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ValueError(f"container names repeated: {', '.join(duplicates)}")
        return self


class Tag(_Strict):
    key: Annotated[str, StringConstraints(min_length=1, max_length=128)]
    value: Annotated[str, StringConstraints(max_length=256)]

    @model_validator(mode="after")
    def _not_reserved(self) -> Self:
        if self.key.lower().startswith("aws:"):
            raise ValueError("tag keys starting with 'aws:' are reserved")
        if self.key == REQUEST_ID_TAG:
            raise ValueError(f"the broker sets the '{REQUEST_ID_TAG}' tag itself")
        return self


class Notify(_Strict):
    topic_arn: (
        Annotated[
            str, StringConstraints(pattern=r"^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_.-]{1,256}$")
        ]
        | None
    ) = None
    subject: Annotated[str, StringConstraints(min_length=1, max_length=100, pattern=r"^[ -~]+$")] | None = (
        None
    )


class RunRequest(_Strict):
    request_id: RequestId
    cluster: Annotated[str, StringConstraints(min_length=1, max_length=2048)]
    taskDefinition: TaskDefinitionRef
    launchType: Literal["FARGATE", "EC2", "EXTERNAL"] | None = None
    capacityProviderStrategy: list[CapacityProviderItem] | None = Field(
        default=None, min_length=1, max_length=20
    )
    platformVersion: Annotated[str, StringConstraints(min_length=1, max_length=32)] | None = None
    networkConfiguration: NetworkConfiguration | None = None
    overrides: Overrides | None = None
    count: int = Field(default=1, ge=1, le=10)
    tags: list[Tag] = Field(default_factory=list, max_length=MAX_TAGS - 1)
    notify: Notify | None = None

    @model_validator(mode="after")
    def _launch_target(self) -> Self:
        if (self.launchType is None) == (self.capacityProviderStrategy is None):
            raise ValueError("exactly one of launchType and capacityProviderStrategy is required")
        if self.platformVersion is not None and not self.is_fargate:
            raise ValueError("platformVersion applies to Fargate only")
        return self

    @property
    def is_fargate(self) -> bool:
        if self.launchType is not None:
            return self.launchType == "FARGATE"
        providers = self.capacityProviderStrategy or []
        return any(item.capacityProvider in {"FARGATE", "FARGATE_SPOT"} for item in providers)

    @property
    def family(self) -> str:
        return self.taskDefinition.rsplit("/", 1)[-1].split(":", 1)[0]

    @property
    def is_pinned(self) -> bool:
        """True when the task definition names a revision (safe to cache what describes it)."""
        return ":" in self.taskDefinition.rsplit("/", 1)[-1]

    @property
    def container_names(self) -> list[str]:
        return [override.name for override in (self.overrides.containerOverrides if self.overrides else [])]


@dataclass(frozen=True)
class BrokerPolicy:
    """What the deployment allows and the defaults it fills in (from the function's settings)."""

    cluster_arn: str
    task_definition_prefix: str
    notify_topic_allowlist: frozenset[str]
    default_subnets: tuple[str, ...] = ()
    default_security_groups: tuple[str, ...] = ()
    default_assign_public_ip: str = ""

    @property
    def cluster_name(self) -> str:
        return self.cluster_arn.rsplit("/", 1)[-1]


@dataclass(frozen=True)
class TaskDefinitionInfo:
    arn: str
    network_mode: str
    container_names: frozenset[str]


def parse_request(body: str, policy: BrokerPolicy) -> RunRequest:
    """Parse and validate one message body; raise ``InvalidArgumentsError`` with every field error."""
    try:
        raw = json.loads(body)
    except (ValueError, TypeError, RecursionError) as exc:  # ValueError covers JSONDecodeError
        raise InvalidArgumentsError([FieldError("body", f"not valid JSON: {exc}")]) from exc
    if not isinstance(raw, dict):
        raise InvalidArgumentsError([FieldError("body", "must be a JSON object")])
    try:
        request = RunRequest.model_validate(raw)
    except ValidationError as exc:
        raise InvalidArgumentsError(_field_errors(exc)) from exc
    errors = _policy_errors(request, policy)
    if errors:
        raise InvalidArgumentsError(errors)
    return request


def request_id_of(body: str) -> str | None:
    """The request id of a body that failed validation, if it has a well-formed one."""
    try:
        raw = json.loads(body)
    except (ValueError, TypeError, RecursionError):
        return None
    value = raw.get("request_id") if isinstance(raw, dict) else None
    if isinstance(value, str) and re.fullmatch(r"[A-Za-z0-9_-]{1,64}", value):
        return value
    return None


def with_network_defaults(request: RunRequest, policy: BrokerPolicy) -> RunRequest:
    """Fill missing awsvpc fields from the configured defaults, field by field, never the whole object.

    Call it only for awsvpc tasks (Fargate, or a task definition in awsvpc mode): a bridge-mode task
    must get no ``networkConfiguration`` at all.
    """
    defaults: dict[str, Any] = {
        "subnets": list(policy.default_subnets),
        "securityGroups": list(policy.default_security_groups),
        "assignPublicIp": policy.default_assign_public_ip,
    }
    if not any(defaults.values()):
        return request
    network = request.networkConfiguration
    vpc = network.awsvpcConfiguration.model_dump(exclude_none=True) if network else {}
    for key, value in defaults.items():
        if value and not vpc.get(key):
            vpc[key] = value
    try:
        merged = NetworkConfiguration.model_validate({"awsvpcConfiguration": vpc})
    except ValidationError as exc:
        raise InvalidArgumentsError(
            [FieldError(f"networkConfiguration.{error.field}", error.message) for error in _field_errors(exc)]
        ) from exc
    return request.model_copy(update={"networkConfiguration": merged})


def check_against_task_definition(request: RunRequest, task_definition: TaskDefinitionInfo) -> None:
    """Checks that need the task definition: container names exist, awsvpc has its network settings."""
    errors = [
        FieldError(
            f"overrides.containerOverrides[{index}].name",
            f"container '{name}' is not in task definition {task_definition.arn}",
        )
        for index, name in enumerate(request.container_names)
        if name not in task_definition.container_names
    ]
    if request.is_fargate or task_definition.network_mode == "awsvpc":
        vpc = request.networkConfiguration.awsvpcConfiguration if request.networkConfiguration else None
        if vpc is None or not vpc.subnets:
            errors.append(
                FieldError("networkConfiguration.awsvpcConfiguration.subnets", "required for awsvpc tasks")
            )
        if vpc is None or not vpc.securityGroups:
            errors.append(
                FieldError(
                    "networkConfiguration.awsvpcConfiguration.securityGroups", "required for awsvpc tasks"
                )
            )
    if errors:
        raise InvalidArgumentsError(errors)


def run_task_arguments(request: RunRequest, *, client_token: str, propagate_tags: bool) -> dict[str, Any]:
    """The keyword arguments of ``ecs.run_task`` for a validated request."""
    arguments: dict[str, Any] = {
        "cluster": request.cluster,
        "taskDefinition": request.taskDefinition,
        "count": request.count,
        "startedBy": request.request_id,
        "clientToken": client_token,
        "tags": [{"key": REQUEST_ID_TAG, "value": request.request_id}]
        + [tag.model_dump() for tag in request.tags],
    }
    if request.launchType is not None:
        arguments["launchType"] = request.launchType
    if request.capacityProviderStrategy is not None:
        arguments["capacityProviderStrategy"] = [
            item.model_dump(exclude_none=True) for item in request.capacityProviderStrategy
        ]
    if request.platformVersion is not None:
        arguments["platformVersion"] = request.platformVersion
    if request.networkConfiguration is not None:
        arguments["networkConfiguration"] = request.networkConfiguration.model_dump(exclude_none=True)
    if request.overrides is not None:
        arguments["overrides"] = request.overrides.model_dump(exclude_none=True)
    if propagate_tags:
        arguments["propagateTags"] = "TASK_DEFINITION"
    return arguments


def redacted_overrides(request: RunRequest, deny: re.Pattern[str]) -> dict[str, Any]:
    """The overrides with the values of secret-looking environment variables replaced, for logs."""
    if request.overrides is None:
        return {}
    dumped = request.overrides.model_dump(exclude_none=True)
    for container in dumped.get("containerOverrides", []):
        for variable in container.get("environment", []):
            if deny.search(variable["name"]):
                variable["value"] = "***"
    return dumped


def _policy_errors(request: RunRequest, policy: BrokerPolicy) -> list[FieldError]:
    errors: list[FieldError] = []
    if request.cluster not in {policy.cluster_arn, policy.cluster_name}:
        errors.append(FieldError("cluster", f"must be the broker's cluster {policy.cluster_name}"))
    if not request.family.startswith(policy.task_definition_prefix):
        errors.append(
            FieldError(
                "taskDefinition",
                f"family must start with '{policy.task_definition_prefix}' (the families the broker may run)",
            )
        )
    if request.overrides is not None:
        size = len(json.dumps(request.overrides.model_dump(exclude_none=True)))
        if size > MAX_OVERRIDES_CHARS:
            errors.append(
                FieldError(
                    "overrides",
                    f"serialised size {size} exceeds {MAX_OVERRIDES_CHARS} characters; "
                    "pass large inputs by S3 URI",
                )
            )
    topic = request.notify.topic_arn if request.notify else None
    if topic is not None and topic not in policy.notify_topic_allowlist:
        errors.append(FieldError("notify.topic_arn", "topic is not in the broker's allow-list"))
    return errors


def _field_errors(exc: ValidationError) -> list[FieldError]:
    errors = []
    for error in exc.errors(include_url=False):
        location = ".".join(
            f"[{part}]" if isinstance(part, int) else str(part) for part in error["loc"]
        ).replace(".[", "[")
        errors.append(FieldError(location or "body", error["msg"]))
    return errors
