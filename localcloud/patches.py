"""Small fixes of moto 5.2.5's CloudFormation, so SAM-translated templates deploy as they do on AWS.

Each fix is a gap met with the project's real templates (see ``specs/local-cloud.md`` §8); each wraps the
moto function it fixes and defers to it, so upstream behaviour is otherwise unchanged:

- ``Fn::Select`` with a computed index (``!Select [!Ref RetryLimit, ...]``): moto calls ``int()`` on the
  unresolved ``Ref`` dict. The index is resolved first.
- ``Fn::GetAtt Nested.Outputs.Name`` on a nested stack: moto's ``Stack`` has no ``get_cfn_attribute``, so
  the root stack's Outputs vanish. The nested stack's output value is returned.
- ``AWS::Lambda::LayerVersion``: ``Ref`` must give the layer version ARN (moto has no physical id, so the
  ``Ref`` returns the Python object) and ``LayerName`` must name the layer.
- ``AWS::Lambda::Function``: moto's CloudFormation model keeps only a few properties. Layers,
  architectures, tracing, the KMS key, ``LoggingConfig`` and ``DeadLetterConfig`` are kept (the last two
  as attributes the local Lambda runtime reads), and environment values become strings as in Lambda.
- S3 bucket policies: moto evaluates them without request context, so the usual TLS-only statement
  (``Deny`` when ``aws:SecureTransport`` is ``false``) denies every request. AWS SDK clients reach S3 over
  TLS, so bucket policies are evaluated with ``aws:SecureTransport`` = ``true``.
- CloudWatch Logs filter patterns: moto matches only one bare or quoted term and lets anything else match
  every event. Term patterns are evaluated as CloudWatch does: every plain term must occur, ``?term`` terms
  match when any of them occurs, ``-term`` excludes (JSON and space-delimited patterns stay moto's).
- S3 ``GetBucketNotificationConfiguration`` leaves out ``EventBridgeConfiguration`` (moto stores it and
  delivers by it): it is returned, so a merge before ``PutBucketNotificationConfiguration`` keeps it.
- ``AWS::Batch::ComputeEnvironment`` without ``ServiceRole``: AWS then uses the Batch service-linked role;
  moto requires the property (``KeyError``). The service-linked role is created in moto's IAM and used.
- ``AWS::ECS::TaskDefinition``: moto's CloudFormation model keeps only the family, containers, volumes
  and memory, so a Fargate task definition loses its ``Cpu``, ``RuntimePlatform``, ``EphemeralStorage``,
  network mode, compatibilities and roles (``DescribeTaskDefinition`` and the task simulator's events then
  show no task CPU). They are kept, as ``RegisterTaskDefinition`` takes them.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any
from unittest import mock

import moto.cloudformation.parsing as cfn_parsing
from moto.awslambda.models import LambdaFunction, LayerVersion
from moto.batch.models import ComputeEnvironment
from moto.cloudformation.models import Stack
from moto.ecs.models import TaskDefinition, ecs_backends
from moto.logs.utils import EventMessageFilter
from moto.s3.models import FakeBucket
from moto.s3.responses import S3Response

_clean_json = cfn_parsing.clean_json
_create_layer_version = LayerVersion.create_from_cloudformation_json.__func__  # type: ignore[attr-defined]
_create_function = LambdaFunction.create_from_cloudformation_json.__func__  # type: ignore[attr-defined]
_create_compute_environment = ComputeEnvironment.create_from_cloudformation_json.__func__  # type: ignore[attr-defined]
_TASK_DEFINITION_KEPT = {  # CloudFormation property -> RegisterTaskDefinition argument moto's model drops
    "Cpu": "cpu",
    "NetworkMode": "network_mode",
    "RequiresCompatibilities": "requires_compatibilities",
    "RuntimePlatform": "runtime_platform",
    "EphemeralStorage": "ephemeral_storage",
    "TaskRoleArn": "task_role_arn",
    "ExecutionRoleArn": "execution_role_arn",
}
BATCH_SERVICE_LINKED_ROLE = "AWSServiceRoleForBatch"

LOGGING_CONFIG = "localcloud_logging_config"
DEAD_LETTER_CONFIG = "localcloud_dead_letter_config"


def clean_json(resource_json: Any, resources_map: Any) -> Any:
    select = resource_json.get("Fn::Select") if isinstance(resource_json, dict) else None
    if isinstance(select, list) and len(select) == 2 and isinstance(select[0], dict):
        resource_json = {"Fn::Select": [cfn_parsing.clean_json(select[0], resources_map), select[1]]}
    return _clean_json(resource_json, resources_map)


def stack_get_cfn_attribute(self: Stack, attribute_name: str) -> Any:
    from moto.cloudformation.exceptions import UnformattedGetAttTemplateException

    prefix = "Outputs."
    if attribute_name.startswith(prefix):
        output = self.output_map.get(attribute_name[len(prefix) :])
        if output is not None:
            return output.value
    raise UnformattedGetAttTemplateException()


def _layer_physical_resource_id(self: LayerVersion) -> str:
    return str(self.arn)


def create_layer_version(
    cls: type[LayerVersion],
    /,
    resource_name: str,
    cloudformation_json: dict[str, Any],
    account_id: str,
    region_name: str,
    **kwargs: Any,
) -> LayerVersion:
    name = cloudformation_json.get("Properties", {}).get("LayerName") or resource_name
    return _create_layer_version(cls, name, cloudformation_json, account_id, region_name, **kwargs)  # type: ignore[no-any-return]


def _environment_value(value: Any) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def create_function(
    cls: type[LambdaFunction],
    /,
    resource_name: str,
    cloudformation_json: dict[str, Any],
    account_id: str,
    region_name: str,
    **kwargs: Any,
) -> LambdaFunction:
    function = _create_function(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs)
    properties = cloudformation_json.get("Properties", {})
    if properties.get("Layers"):
        function.layers = function._get_layers_data([str(arn) for arn in properties["Layers"]])
    if properties.get("Architectures"):
        function.architectures = list(properties["Architectures"])
    if properties.get("TracingConfig"):
        function.tracing_config = properties["TracingConfig"]
    if properties.get("KmsKeyArn"):
        function.kms_key_arn = properties["KmsKeyArn"]
    function.environment_vars = {
        str(name): _environment_value(value) for name, value in function.environment_vars.items()
    }
    setattr(function, LOGGING_CONFIG, dict(properties.get("LoggingConfig") or {}))
    setattr(function, DEAD_LETTER_CONFIG, dict(properties.get("DeadLetterConfig") or {}))
    return function  # type: ignore[no-any-return]


_get_bucket_notification = S3Response.get_bucket_notification


def get_bucket_notification(self: S3Response) -> Any:
    from moto.core.responses import ActionResult

    configuration = self.backend.get_bucket_notification_configuration(self.bucket_name)
    if configuration is None or configuration.event_bridge is None:
        return _get_bucket_notification(self)

    def entry(item: Any, arn_key: str) -> dict[str, Any]:
        found: dict[str, Any] = {"Id": item.id, arn_key: item.arn, "Events": item.events}
        if item.filters:
            found["Filter"] = {"Key": {"FilterRules": item.filters["S3Key"]["FilterRule"]}}
        return found

    result = {
        "TopicConfigurations": [entry(item, "TopicArn") for item in configuration.topic],
        "QueueConfigurations": [entry(item, "QueueArn") for item in configuration.queue],
        "LambdaFunctionConfigurations": [
            entry(item, "LambdaFunctionArn") for item in configuration.cloud_function
        ],
        "EventBridgeConfiguration": {},
    }
    self.data["Action"] = "GetBucketNotificationConfiguration"
    return self.serialized(ActionResult(result))


_event_filter_init = EventMessageFilter.__init__
_event_filter_matches = EventMessageFilter.matches
_PATTERN = "localcloud_pattern"


def event_filter_init(self: EventMessageFilter, pattern: str) -> None:
    _event_filter_init(self, pattern)
    setattr(self, _PATTERN, pattern or "")


def event_filter_matches(self: EventMessageFilter, message: str) -> bool:
    import shlex

    pattern = str(getattr(self, _PATTERN, "")).strip()
    if not pattern or pattern.startswith(("{", "[")):
        return bool(_event_filter_matches(self, message))
    try:
        terms = shlex.split(pattern)
    except ValueError:
        return bool(_event_filter_matches(self, message))
    anyof = [term[1:] for term in terms if term.startswith("?") and len(term) > 1]
    excluded = [term[1:] for term in terms if term.startswith("-") and len(term) > 1]
    required = [term for term in terms if not term.startswith(("?", "-"))]
    return (
        all(term in message for term in required)
        and not any(term in message for term in excluded)
        and (not anyof or any(term in message for term in anyof))
    )


REQUEST_CONTEXT = {"aws:SecureTransport": "true"}  # SDK clients reach AWS endpoints over TLS


def _statement_applies(statement: dict[str, Any]) -> bool:
    """False when a ``Bool`` condition on a key of the request context does not hold (moto evaluates
    only ``StringEquals`` and treats every other operator as true)."""
    conditions = statement.get("Condition") or {}
    for key, expected in (conditions.get("Bool") or {}).items():
        values = expected if isinstance(expected, list) else [expected]
        if key in REQUEST_CONTEXT and REQUEST_CONTEXT[key] not in [str(value).lower() for value in values]:
            return False
    return True


def bucket_permission(self: FakeBucket, action: str, resource: str) -> Any:
    import json

    from moto.iam.access_control import IAMPolicy, PermissionResult

    if self.policy is None:
        return PermissionResult.NEUTRAL
    document = json.loads(self.policy.decode())
    statements = document.get("Statement", [])
    statements = [
        item
        for item in (statements if isinstance(statements, list) else [statements])
        if _statement_applies(item)
    ]
    if not statements:
        return PermissionResult.NEUTRAL
    return IAMPolicy(json.dumps({**document, "Statement": statements})).is_action_permitted(action, resource)


def batch_service_linked_role(account_id: str) -> str:
    """The ARN of the Batch service-linked role in moto's IAM, created on first use."""
    from moto.iam.models import iam_backends

    iam = iam_backends[account_id]["global"]
    for role in iam.roles.values():
        if role.name == BATCH_SERVICE_LINKED_ROLE:
            return str(role.arn)
    return str(iam.create_service_linked_role("batch.amazonaws.com", "", "").arn)


def create_compute_environment(
    cls: type[ComputeEnvironment],
    /,
    resource_name: str,
    cloudformation_json: dict[str, Any],
    account_id: str,
    region_name: str,
    **kwargs: Any,
) -> ComputeEnvironment:
    properties = cloudformation_json.get("Properties", {})
    if not properties.get("ServiceRole"):
        properties = {**properties, "ServiceRole": batch_service_linked_role(account_id)}
        cloudformation_json = {**cloudformation_json, "Properties": properties}
    environment: ComputeEnvironment = _create_compute_environment(
        cls, resource_name, cloudformation_json, account_id, region_name, **kwargs
    )
    return environment


def _camel_keys(value: Any) -> Any:
    if isinstance(value, dict):
        return {key[:1].lower() + key[1:]: _camel_keys(inner) for key, inner in value.items()}
    if isinstance(value, list):
        return [_camel_keys(inner) for inner in value]
    return value


def create_task_definition(
    cls: type[TaskDefinition],
    /,
    resource_name: str,
    cloudformation_json: dict[str, Any],
    account_id: str,
    region_name: str,
    **kwargs: Any,
) -> TaskDefinition:
    """Register the task definition with every property ``RegisterTaskDefinition`` takes that moto's
    model drops (see the module docstring)."""
    properties = cloudformation_json["Properties"]
    family = properties.get("Family") or resource_name
    kept = {
        argument: _camel_keys(properties[name]) if isinstance(properties[name], dict) else properties[name]
        for name, argument in _TASK_DEFINITION_KEPT.items()
        if properties.get(name) not in (None, "", [], {})
    }
    if "cpu" in kept:
        kept["cpu"] = str(kept["cpu"])
    definition: TaskDefinition = ecs_backends[account_id][region_name].register_task_definition(
        family=family,
        container_definitions=_camel_keys(properties.get("ContainerDefinitions", [])),
        volumes=_camel_keys(properties.get("Volumes", [])),
        memory=properties.get("Memory"),
        **kept,
    )
    return definition


@contextlib.contextmanager
def cloudformation_patches() -> Iterator[None]:
    """Install the fixes for the duration of the block (process-wide: moto's server threads see them)."""
    with contextlib.ExitStack() as stack:
        stack.enter_context(mock.patch.object(cfn_parsing, "clean_json", clean_json))
        stack.enter_context(
            mock.patch.object(Stack, "get_cfn_attribute", stack_get_cfn_attribute, create=True)
        )
        stack.enter_context(
            mock.patch.object(
                LayerVersion, "physical_resource_id", property(_layer_physical_resource_id), create=True
            )
        )
        stack.enter_context(
            mock.patch.object(
                LayerVersion, "create_from_cloudformation_json", classmethod(create_layer_version)
            )
        )
        stack.enter_context(
            mock.patch.object(LambdaFunction, "create_from_cloudformation_json", classmethod(create_function))
        )
        stack.enter_context(mock.patch.object(FakeBucket, "get_permission", bucket_permission))
        stack.enter_context(mock.patch.object(S3Response, "get_bucket_notification", get_bucket_notification))
        stack.enter_context(mock.patch.object(EventMessageFilter, "__init__", event_filter_init))
        stack.enter_context(mock.patch.object(EventMessageFilter, "matches", event_filter_matches))
        stack.enter_context(
            mock.patch.object(
                ComputeEnvironment, "create_from_cloudformation_json", classmethod(create_compute_environment)
            )
        )
        stack.enter_context(
            mock.patch.object(
                TaskDefinition, "create_from_cloudformation_json", classmethod(create_task_definition)
            )
        )
        yield
