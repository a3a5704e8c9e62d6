"""Deploy the application into moto, the way ``sam deploy`` deploys it into an account.

1. The templates are translated (``localcloud.translate``); every local artefact is zipped into the
   ``local-artifacts`` bucket and every nested template is uploaded, its parent's ``TemplateURL`` pointing
   at it.
2. moto's CloudFormation creates the root stack; moto creates the nested stacks from their
   ``TemplateURL``. ``DescribeStacks`` then shows the stacks and their Outputs as on AWS.
3. moto's CloudFormation skips resource types it has no model for (queue and topic policies, alarms,
   event invoke configs, HTTP APIs, pipes, schedules...). After the stack exists, post-deploy appliers
   registered by resource type apply what matters through the service APIs, with the properties
   resolved by moto's own intrinsic-function resolver against the stack. Types with no applier are
   reported, never hidden: ``Deployment.unsupported``.

Everything is driven by the templates; nothing here knows a blueprint. Later work (HTTP routes, pipes,
state machines with their substitutions) registers appliers with ``register_applier``.
"""

from __future__ import annotations

import contextlib
import copy
import io
import json
import logging
import time
import warnings
import zipfile
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from localcloud import LocalCloudError
from localcloud.translate import (
    ACCOUNT,
    ARTIFACT_BUCKET,
    REGION,
    Application,
    TranslatedTemplate,
)

STACK_NAME = "blueprints"
CAPABILITIES = ["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND"]
SKIPPED_FOLDERS = {"__pycache__", ".pytest_cache", ".mypy_cache"}

Clients = Callable[[str], Any]
"""A boto3 client factory by service name (in-process moto, or the served endpoint)."""


class DeployError(LocalCloudError):
    """The application could not be deployed (with the reason CloudFormation or moto gave)."""


@dataclass(frozen=True)
class DeployedResource:
    """One resource of a deployed stack, with its properties resolved against that stack."""

    stack_path: str  # "" for the root stack, "Broker" for a nested one, "Broker/Sub" deeper
    stack_name: str
    logical_id: str
    type: str
    physical_id: str | None
    properties: dict[str, Any]
    created: bool  # False where moto's CloudFormation has no model for the type and skipped it
    error: str | None = None  # why the properties could not be resolved (they are then left as written)

    @property
    def path(self) -> str:
        return f"{self.stack_path}/{self.logical_id}" if self.stack_path else self.logical_id


@dataclass(frozen=True)
class DeployedFunction:
    path: str
    logical_id: str
    name: str
    arn: str
    handler: str
    code: Path | None


@dataclass(frozen=True)
class DeployedStack:
    path: str
    name: str
    status: str
    outputs: dict[str, str]


@dataclass
class Deployment:
    """What one deploy created: stacks, functions, every resource, and what moto could not create."""

    stack_name: str
    stacks: list[DeployedStack] = field(default_factory=list)
    functions: dict[str, DeployedFunction] = field(default_factory=dict)
    resources: list[DeployedResource] = field(default_factory=list)
    applied: list[DeployedResource] = field(default_factory=list)
    unsupported: list[DeployedResource] = field(default_factory=list)
    seconds: float = 0.0

    def of_type(self, resource_type: str) -> list[DeployedResource]:
        """Every deployed resource of one CloudFormation type, in every stack (generic discovery)."""
        return [resource for resource in self.resources if resource.type == resource_type]

    def resource(self, path: str) -> DeployedResource:
        """A resource by ``LogicalId`` (root stack) or ``Nested/LogicalId``."""
        found = next((resource for resource in self.resources if resource.path == path), None)
        if found is None:
            raise KeyError(f"no resource {path}")
        return found

    def function(self, name: str) -> DeployedFunction:
        """A function by ``Nested/LogicalId``, by a logical id unique across stacks, or by its name/ARN."""
        if name in self.functions:
            return self.functions[name]
        matches = [
            function
            for function in self.functions.values()
            if name in (function.logical_id, function.name, function.arn)
        ]
        if len(matches) == 1:
            return matches[0]
        if matches:
            choices = ", ".join(sorted(function.path for function in matches))
            raise KeyError(f"{name} is ambiguous: {choices}")
        known = ", ".join(sorted(self.functions)) or "none"
        raise KeyError(f"no function {name} (functions: {known})")

    def outputs(self, stack_path: str = "") -> dict[str, str]:
        return next(stack.outputs for stack in self.stacks if stack.path == stack_path)


Applier = Callable[[Clients, DeployedResource], None]
_APPLIERS: dict[str, Applier] = {}


def register_applier(resource_type: str) -> Callable[[Applier], Applier]:
    """Apply ``resource_type`` resources after the stack exists (whether moto created them or not)."""

    def register(applier: Applier) -> Applier:
        _APPLIERS[resource_type] = applier
        return applier

    return register


def zip_folder(folder: Path) -> bytes:
    """The folder as a deployment package (caches left out), as ``sam build`` would zip it."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.rglob("*")):
            relative = path.relative_to(folder)
            if path.is_file() and not SKIPPED_FOLDERS.intersection(relative.parts) and path.suffix != ".pyc":
                archive.write(path, relative.as_posix())
    return buffer.getvalue()


def _upload_artifacts(s3: Any, artifacts: Mapping[str, Path]) -> None:
    with contextlib.suppress(s3.exceptions.BucketAlreadyOwnedByYou):
        s3.create_bucket(Bucket=ARTIFACT_BUCKET)
    for key, path in sorted(artifacts.items()):
        body = zip_folder(path) if path.is_dir() else path.read_bytes()
        s3.put_object(Bucket=ARTIFACT_BUCKET, Key=key, Body=body)


def _staged(s3: Any, translated: TranslatedTemplate, path: str) -> dict[str, Any]:
    """The template with each nested stack's TemplateURL pointing at its uploaded (staged) translation."""
    template = copy.deepcopy(translated.template)
    for logical_id, child in translated.nested.items():
        child_path = f"{path}/{logical_id}" if path else logical_id
        key = f"stacks/{child_path}.json"
        s3.put_object(Bucket=ARTIFACT_BUCKET, Key=key, Body=json.dumps(_staged(s3, child, child_path)))
        template["Resources"][logical_id]["Properties"]["TemplateURL"] = (
            f"https://{ARTIFACT_BUCKET}.s3.amazonaws.com/{key}"
        )
    return template


def _stack_exists(cloudformation: Any, name: str) -> bool:
    try:
        stacks = cloudformation.describe_stacks(StackName=name)["Stacks"]
    except cloudformation.exceptions.ClientError:
        return False
    return any(stack["StackStatus"] != "DELETE_COMPLETE" for stack in stacks)


def deploy(
    application: Application,
    clients: Clients,
    *,
    stack_name: str = STACK_NAME,
    parameter_overrides: Mapping[str, str] | None = None,
) -> Deployment:
    """Create the application's stacks in moto and apply what moto's CloudFormation skips."""
    started = time.perf_counter()
    s3, cloudformation = clients("s3"), clients("cloudformation")
    if _stack_exists(cloudformation, stack_name):
        raise DeployError(f"stack {stack_name} exists already (restart the local cloud for a fresh deploy)")
    _upload_artifacts(s3, application.artifacts)
    root_key = f"stacks/{stack_name}.json"
    s3.put_object(Bucket=ARTIFACT_BUCKET, Key=root_key, Body=json.dumps(_staged(s3, application.root, "")))
    try:
        with _quiet_moto():
            cloudformation.create_stack(
                StackName=stack_name,
                TemplateURL=f"https://{ARTIFACT_BUCKET}.s3.amazonaws.com/{root_key}",
                Parameters=[
                    {"ParameterKey": key, "ParameterValue": str(value)}
                    for key, value in (parameter_overrides or {}).items()
                ],
                Capabilities=CAPABILITIES,
            )
    except cloudformation.exceptions.ClientError as exc:
        raise DeployError(f"create_stack {stack_name}: {exc}") from exc
    with _quiet_moto():  # resolving a Ref to a skipped resource (a schedule group) warns again
        deployment = _collect(application, stack_name)
    for resource in deployment.resources:
        applier = _APPLIERS.get(resource.type)
        if applier is not None and resource.error is None:
            applier(clients, resource)
            deployment.applied.append(resource)
        elif not resource.created:
            deployment.unsupported.append(resource)
    deployment.seconds = time.perf_counter() - started
    return deployment


@contextlib.contextmanager
def _quiet_moto() -> Iterator[None]:
    """moto warns once per skipped resource; ``Deployment.unsupported`` reports them instead."""
    moto_logger = logging.getLogger("moto")
    level = moto_logger.level
    moto_logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings(
                "ignore", message=".*not supported by moto's CloudFormation", category=UserWarning
            )
            yield
    finally:
        moto_logger.setLevel(level)


def _moto_stack(name: str) -> Any:
    from moto.cloudformation.models import cloudformation_backends

    return cloudformation_backends[ACCOUNT][REGION].get_stack(name)


def _physical_id(resource: Any) -> str | None:
    if resource is None:
        return None
    physical = getattr(resource, "physical_resource_id", None)
    return str(physical) if physical is not None else None


def _walk(
    stack: Any, translated: TranslatedTemplate, path: str
) -> Iterator[tuple[str, Any, TranslatedTemplate]]:
    yield path, stack, translated
    resource_map = stack.resource_map
    for logical_id, child in translated.nested.items():
        nested = resource_map._parsed_resources.get(logical_id)
        if nested is not None:
            yield from _walk(nested, child, f"{path}/{logical_id}" if path else logical_id)


def _resolved(properties: dict[str, Any], resource_map: Any) -> tuple[dict[str, Any], str | None]:
    """The properties with moto's resolver; as written when they reference what moto could not create."""
    from moto.cloudformation.exceptions import ValidationError
    from moto.cloudformation.parsing import clean_json

    try:
        return clean_json(copy.deepcopy(properties), resource_map), None
    except ValidationError as exc:
        return copy.deepcopy(properties), str(exc)


def _collect(application: Application, stack_name: str) -> Deployment:
    from moto.cloudformation.parsing import get_model_map

    deployment = Deployment(stack_name)
    supported = get_model_map()
    for path, stack, translated in _walk(_moto_stack(stack_name), application.root, ""):
        if stack.status != "CREATE_COMPLETE":
            raise DeployError(f"stack {stack.name} is {stack.status}")
        outputs = {str(output["OutputKey"]): str(output["OutputValue"]) for output in stack.outputs or []}
        deployment.stacks.append(DeployedStack(path, stack.name, stack.status, outputs))
        resource_map = stack.resource_map
        for logical_id, resource_json in stack.template_dict.get("Resources", {}).items():
            condition = resource_json.get("Condition")
            if condition and not resource_map.lazy_condition_map[condition]:
                continue
            kind = str(resource_json["Type"])
            created = resource_map._parsed_resources.get(logical_id) if kind in supported else None
            properties, error = _resolved(resource_json.get("Properties", {}), resource_map)
            resource = DeployedResource(
                path,
                stack.name,
                logical_id,
                kind,
                _physical_id(created),
                properties,
                created is not None,
                error,
            )
            deployment.resources.append(resource)
            if kind == "AWS::Lambda::Function" and created is not None:
                code = translated.template["Resources"][logical_id]["Properties"].get("Code", {})
                deployment.functions[resource.path] = DeployedFunction(
                    resource.path,
                    logical_id,
                    created.function_name,
                    created.function_arn,
                    str(created.handler),
                    application.artifacts.get(str(code.get("S3Key", ""))),
                )
    return deployment


def _arn_name(arn: str) -> str:
    return arn.rsplit(":", 1)[-1]


@register_applier("AWS::SQS::QueuePolicy")
def _queue_policy(clients: Clients, resource: DeployedResource) -> None:
    sqs = clients("sqs")
    policy = json.dumps(resource.properties["PolicyDocument"])
    for url in resource.properties.get("Queues", []):
        sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": policy})


@register_applier("AWS::SNS::TopicPolicy")
def _topic_policy(clients: Clients, resource: DeployedResource) -> None:
    sns = clients("sns")
    policy = json.dumps(resource.properties["PolicyDocument"])
    for arn in resource.properties.get("Topics", []):
        sns.set_topic_attributes(TopicArn=arn, AttributeName="Policy", AttributeValue=policy)


@register_applier("AWS::S3::BucketPolicy")
def _bucket_policy(clients: Clients, resource: DeployedResource) -> None:
    clients("s3").put_bucket_policy(
        Bucket=resource.properties["Bucket"], Policy=json.dumps(resource.properties["PolicyDocument"])
    )


@register_applier("AWS::Lambda::EventInvokeConfig")
def _event_invoke_config(clients: Clients, resource: DeployedResource) -> None:
    properties = resource.properties
    arguments = {
        key: properties[key]
        for key in ("MaximumRetryAttempts", "MaximumEventAgeInSeconds", "DestinationConfig")
        if key in properties
    }
    clients("lambda").put_function_event_invoke_config(FunctionName=properties["FunctionName"], **arguments)


@register_applier("AWS::CloudWatch::Alarm")
def _alarm(clients: Clients, resource: DeployedResource) -> None:
    arguments = dict(resource.properties)
    name = arguments.pop("AlarmName", None) or f"{resource.stack_name}-{resource.logical_id}"
    clients("cloudwatch").put_metric_alarm(AlarmName=name, **arguments)


_NOTIFICATION_KINDS = (
    ("LambdaConfigurations", "LambdaFunctionConfigurations", "Function", "LambdaFunctionArn"),
    ("QueueConfigurations", "QueueConfigurations", "Queue", "QueueArn"),
    ("TopicConfigurations", "TopicConfigurations", "Topic", "TopicArn"),
)


@register_applier("AWS::S3::Bucket")
def _bucket_notifications(clients: Clients, resource: DeployedResource) -> None:
    """moto's CloudFormation creates the bucket but not its ``NotificationConfiguration``."""
    notification = resource.properties.get("NotificationConfiguration")
    if not notification or resource.physical_id is None:
        return
    configuration: dict[str, Any] = {}
    for cfn_key, api_key, target_key, api_target_key in _NOTIFICATION_KINDS:
        for entry in notification.get(cfn_key, []):
            item: dict[str, Any] = {api_target_key: entry[target_key], "Events": [entry["Event"]]}
            rules = entry.get("Filter", {}).get("S3Key", {}).get("Rules")
            if rules:
                item["Filter"] = {"Key": {"FilterRules": rules}}
            configuration.setdefault(api_key, []).append(item)
    if "EventBridgeConfiguration" in notification:
        configuration["EventBridgeConfiguration"] = {}
    clients("s3").put_bucket_notification_configuration(
        Bucket=resource.physical_id, NotificationConfiguration=configuration
    )


# EventBridge Pipes and Scheduler: moto has their APIs, not their CloudFormation models. ``Ref`` to a
# skipped resource gives None, so a schedule's ``GroupName: !Ref Group`` is read back from the template.
_PIPE_KEYS = (
    "Description", "DesiredState", "Source", "SourceParameters", "Enrichment", "EnrichmentParameters",
    "Target", "TargetParameters", "RoleArn", "Tags", "LogConfiguration", "KmsKeyIdentifier",
)  # fmt: skip
_SCHEDULE_KEYS = (
    "Description", "ScheduleExpression", "ScheduleExpressionTimezone", "StartDate", "EndDate", "State",
    "FlexibleTimeWindow", "Target", "KmsKeyArn", "ActionAfterCompletion",
)  # fmt: skip


def _generated_name(stack_name: str, logical_id: str) -> str:
    return f"{stack_name}-{logical_id}"[:64]


def _named(resource: DeployedResource) -> str:
    return str(resource.properties.get("Name") or _generated_name(resource.stack_name, resource.logical_id))


@register_applier("AWS::Pipes::Pipe")
def _pipe(clients: Clients, resource: DeployedResource) -> None:
    properties = resource.properties
    arguments = {key: properties[key] for key in _PIPE_KEYS if properties.get(key) is not None}
    clients("pipes").create_pipe(Name=_named(resource), **arguments)


@register_applier("AWS::Scheduler::ScheduleGroup")
def _schedule_group(clients: Clients, resource: DeployedResource) -> None:
    _ensure_schedule_group(clients("scheduler"), _named(resource), resource.properties.get("Tags") or [])


def _ensure_schedule_group(scheduler: Any, name: str, tags: list[dict[str, str]]) -> None:
    """Create the group unless it exists (a schedule listed before its group created it already)."""
    if name != "default" and not any(
        group["Name"] == name for group in scheduler.list_schedule_groups(NamePrefix=name)["ScheduleGroups"]
    ):
        scheduler.create_schedule_group(Name=name, Tags=tags)


@register_applier("AWS::Scheduler::Schedule")
def _schedule(clients: Clients, resource: DeployedResource) -> None:
    properties = resource.properties
    group = properties.get("GroupName") or _skipped_ref_name(resource, "GroupName") or "default"
    scheduler = clients("scheduler")
    _ensure_schedule_group(scheduler, str(group), [])
    arguments = {key: properties[key] for key in _SCHEDULE_KEYS if properties.get(key) is not None}
    scheduler.create_schedule(Name=_named(resource), GroupName=str(group), **arguments)


def _skipped_ref_name(resource: DeployedResource, key: str) -> str | None:
    """The name behind ``{"Ref": Other}`` when moto skipped ``Other`` (its Name, or the generated one)."""
    stack = _moto_stack(resource.stack_name)
    written = stack.template_dict["Resources"][resource.logical_id].get("Properties", {}).get(key)
    other = written.get("Ref") if isinstance(written, dict) else None
    if not isinstance(other, str) or other not in stack.template_dict["Resources"]:
        return None
    name = stack.template_dict["Resources"][other].get("Properties", {}).get("Name")
    resolved, error = _resolved({"Name": name}, stack.resource_map)
    return str(resolved["Name"]) if name and error is None else _generated_name(resource.stack_name, other)
