"""Create a template's data resources in moto, from their template definitions.

Key schemas, attribute definitions, queue attributes, redrive policies and TTL settings come from the
template itself (one source of truth): a test never re-declares a table by hand. Only the resource
types unit tests need are created (DynamoDB tables, SQS queues, SNS topics, S3 buckets, log groups, IAM
roles and instance profiles, ECS clusters and task definitions, Batch compute environments, queues and job
definitions, Secrets Manager secrets); functions, alarms and policies are the local cloud's business. Call
inside an active ``moto.mock_aws()``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3

from tests.support.cfn import ACCOUNT_ID, REGION, Resolver, Unresolved
from tests.support.template import load_template

Creator = Callable[["MotoStack", str, dict[str, Any]], None]


@dataclass
class MotoStack:
    """The resources of one template in moto, with their physical ids (what ``Ref`` returns)."""

    template_path: Path
    resolver: Resolver
    names: Mapping[str, str] = field(default_factory=dict)
    created: list[str] = field(default_factory=list)

    def physical_name(self, logical_id: str) -> str:
        return self.names.get(logical_id, f"{self.resolver.stack_name}-{logical_id}")

    def ref(self, logical_id: str) -> str:
        return self.resolver.refs[logical_id]

    def attribute(self, logical_id: str, attribute: str) -> str:
        return self.resolver.attributes[(logical_id, attribute)]

    def function_env(self, logical_id: str) -> dict[str, str]:
        """The function's environment as deployed: ``Globals`` merged with its own variables, resolved."""
        template = load_template(self.template_path)
        variables = dict(
            template.get("Globals", {}).get("Function", {}).get("Environment", {}).get("Variables", {})
        )
        own = template["Resources"][logical_id]["Properties"].get("Environment", {}).get("Variables", {})
        variables.update(own)
        return {str(name): str(self.resolver.resolve(value)) for name, value in variables.items()}

    def resource_properties(self, logical_id: str) -> dict[str, Any]:
        resource = load_template(self.template_path)["Resources"][logical_id]
        resolved: dict[str, Any] = self.resolver.resolve(resource.get("Properties", {}))
        return resolved


def deploy(
    template_path: Path,
    parameters: Mapping[str, str],
    *,
    names: Mapping[str, str] | None = None,
    stack_name: str = "blueprints-test",
    only: Collection[str] | None = None,
) -> MotoStack:
    """Create every supported resource of the template (honouring ``Condition``) in moto.

    ``only`` limits the creation to some logical ids (their references must then be parameters).
    """
    template = load_template(template_path)
    stack = MotoStack(template_path, Resolver(template, parameters, stack_name=stack_name), names or {})
    pending = [
        logical_id
        for logical_id, resource in template["Resources"].items()
        if resource["Type"] in _CREATORS
        and (only is None or logical_id in only)
        and ("Condition" not in resource or stack.resolver.condition(str(resource["Condition"])))
    ]
    while pending:
        progressed = False
        for logical_id in list(pending):
            resource = template["Resources"][logical_id]
            try:
                properties = stack.resolver.resolve(_used_properties(resource))
            except Unresolved:
                continue
            _CREATORS[resource["Type"]](stack, str(logical_id), properties)
            stack.created.append(str(logical_id))
            pending.remove(logical_id)
            progressed = True
        if not progressed:
            raise Unresolved(f"cannot resolve the properties of {pending}")
    return stack


# What a creator reads of a resource type, when it is not every property: a role's inline policies may name
# resources that are never created here (a state machine), and the role needs none of them.
_USED_PROPERTIES: dict[str, tuple[str, ...]] = {"AWS::IAM::Role": ("RoleName", "AssumeRolePolicyDocument")}


def _used_properties(resource: Mapping[str, Any]) -> dict[str, Any]:
    properties: dict[str, Any] = dict(resource.get("Properties", {}))
    used = _USED_PROPERTIES.get(str(resource["Type"]))
    return properties if used is None else {name: properties[name] for name in used if name in properties}


def _table(stack: MotoStack, logical_id: str, properties: dict[str, Any]) -> None:
    name = properties.get("TableName") or stack.physical_name(logical_id)
    dynamodb = boto3.client("dynamodb", region_name=REGION)
    arguments: dict[str, Any] = {
        "TableName": name,
        "AttributeDefinitions": properties["AttributeDefinitions"],
        "KeySchema": properties["KeySchema"],
        "BillingMode": properties.get("BillingMode", "PROVISIONED"),
    }
    if "GlobalSecondaryIndexes" in properties:
        arguments["GlobalSecondaryIndexes"] = properties["GlobalSecondaryIndexes"]
    if "ProvisionedThroughput" in properties:
        arguments["ProvisionedThroughput"] = properties["ProvisionedThroughput"]
    sse = properties.get("SSESpecification")
    if sse:
        arguments["SSESpecification"] = {
            "Enabled": bool(sse.get("SSEEnabled")),
            **({"SSEType": sse["SSEType"]} if "SSEType" in sse else {}),
            **({"KMSMasterKeyId": sse["KMSMasterKeyId"]} if "KMSMasterKeyId" in sse else {}),
        }
    description = dynamodb.create_table(**arguments)["TableDescription"]
    ttl = properties.get("TimeToLiveSpecification")
    if ttl:
        dynamodb.update_time_to_live(
            TableName=name,
            TimeToLiveSpecification={"AttributeName": ttl["AttributeName"], "Enabled": bool(ttl["Enabled"])},
        )
    stack.resolver.refs[logical_id] = name
    stack.resolver.attributes[(logical_id, "Arn")] = description["TableArn"]


def _queue(stack: MotoStack, logical_id: str, properties: dict[str, Any]) -> None:
    name = properties.get("QueueName") or stack.physical_name(logical_id)
    attributes: dict[Any, str] = {}  # CloudFormation property names are the SQS attribute names
    for key, value in properties.items():
        if key in {"QueueName", "Tags"}:
            continue
        if isinstance(value, dict | list):
            attributes[key] = json.dumps(value)
        elif isinstance(value, bool):
            attributes[key] = str(value).lower()
        else:
            attributes[key] = str(value)
    url = boto3.client("sqs", region_name=REGION).create_queue(QueueName=name, Attributes=attributes)[
        "QueueUrl"
    ]
    stack.resolver.refs[logical_id] = url
    stack.resolver.attributes[(logical_id, "Arn")] = f"arn:aws:sqs:{REGION}:{ACCOUNT_ID}:{name}"
    stack.resolver.attributes[(logical_id, "QueueName")] = name
    stack.resolver.attributes[(logical_id, "QueueUrl")] = url


def _topic(stack: MotoStack, logical_id: str, properties: dict[str, Any]) -> None:
    name = properties.get("TopicName") or stack.physical_name(logical_id)
    attributes: dict[str, str] = {
        key: str(properties[key])
        for key in ("DisplayName", "KmsMasterKeyId", "FifoTopic", "ContentBasedDeduplication")
        if key in properties
    }
    arn = boto3.client("sns", region_name=REGION).create_topic(Name=name, Attributes=attributes)["TopicArn"]
    stack.resolver.refs[logical_id] = arn
    stack.resolver.attributes[(logical_id, "TopicArn")] = arn
    stack.resolver.attributes[(logical_id, "TopicName")] = name


def _cluster(stack: MotoStack, logical_id: str, properties: dict[str, Any]) -> None:
    name = properties.get("ClusterName") or stack.physical_name(logical_id)
    cluster = boto3.client("ecs", region_name=REGION).create_cluster(
        clusterName=name,
        capacityProviders=properties.get("CapacityProviders", []),
        settings=[
            {"name": setting["Name"], "value": setting["Value"]}
            for setting in properties.get("ClusterSettings", [])
        ],
    )["cluster"]
    stack.resolver.refs[logical_id] = name
    stack.resolver.attributes[(logical_id, "Arn")] = cluster["clusterArn"]


def camel(value: Any) -> Any:
    """CloudFormation property names (PascalCase) as the API's (camelCase), recursively."""
    if isinstance(value, dict):
        return {key[:1].lower() + key[1:]: camel(inner) for key, inner in value.items()}
    if isinstance(value, list):
        return [camel(inner) for inner in value]
    return value


def typed(value: Any, shape: Any) -> Any:
    """``value`` with the scalar types of the API ``shape`` (template parameters arrive as strings)."""
    if shape is None:
        return value
    kind = shape.type_name
    if kind == "structure" and isinstance(value, dict):
        return {name: typed(inner, shape.members.get(name)) for name, inner in value.items()}
    if kind == "list" and isinstance(value, list):
        return [typed(inner, shape.member) for inner in value]
    if kind == "map" and isinstance(value, dict):
        return {name: typed(inner, shape.value) for name, inner in value.items()}
    if kind in ("integer", "long"):
        return int(value)
    if kind == "boolean" and isinstance(value, str):
        return value.lower() == "true"
    return value


def call(client: Any, operation: str, **arguments: Any) -> Any:
    """Call ``operation`` with camel-cased template properties typed as the API wants them."""
    model = client.meta.service_model.operation_model(operation)
    method = client.meta.method_to_api_mapping
    name = next(python for python, api in method.items() if api == operation)
    return getattr(client, name)(**typed(camel(arguments), model.input_shape))


def _bucket(stack: MotoStack, logical_id: str, properties: dict[str, Any]) -> None:
    name = properties.get("BucketName") or stack.physical_name(logical_id).lower()
    s3 = boto3.client("s3", region_name=REGION)
    s3.create_bucket(Bucket=name)
    versioning = properties.get("VersioningConfiguration", {}).get("Status")
    if versioning:
        s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": versioning})
    stack.resolver.refs[logical_id] = name
    stack.resolver.attributes[(logical_id, "Arn")] = f"arn:aws:s3:::{name}"


def _log_group(stack: MotoStack, logical_id: str, properties: dict[str, Any]) -> None:
    name = properties.get("LogGroupName") or stack.physical_name(logical_id)
    boto3.client("logs", region_name=REGION).create_log_group(logGroupName=name)
    stack.resolver.refs[logical_id] = name
    stack.resolver.attributes[(logical_id, "Arn")] = f"arn:aws:logs:{REGION}:{ACCOUNT_ID}:log-group:{name}:*"


def _role(stack: MotoStack, logical_id: str, properties: dict[str, Any]) -> None:
    name = properties.get("RoleName") or stack.physical_name(logical_id)
    arn = boto3.client("iam", region_name=REGION).create_role(
        RoleName=name, AssumeRolePolicyDocument=json.dumps(properties["AssumeRolePolicyDocument"])
    )["Role"]["Arn"]
    stack.resolver.refs[logical_id] = name
    stack.resolver.attributes[(logical_id, "Arn")] = arn


def _instance_profile(stack: MotoStack, logical_id: str, properties: dict[str, Any]) -> None:
    name = stack.physical_name(logical_id)
    iam = boto3.client("iam", region_name=REGION)
    arn = iam.create_instance_profile(InstanceProfileName=name)["InstanceProfile"]["Arn"]
    for role in properties.get("Roles", []):
        iam.add_role_to_instance_profile(InstanceProfileName=name, RoleName=role)
    stack.resolver.refs[logical_id] = name
    stack.resolver.attributes[(logical_id, "Arn")] = arn


def _task_definition(stack: MotoStack, logical_id: str, properties: dict[str, Any]) -> None:
    if "Memory" in properties:  # moto sizes tasks from the containers: give each the task's memory
        properties = {
            **properties,
            "ContainerDefinitions": [
                {"Memory": properties["Memory"], **container}
                for container in properties["ContainerDefinitions"]
            ],
        }
    ecs = boto3.client("ecs", region_name=REGION)
    arn = call(ecs, "RegisterTaskDefinition", **properties)["taskDefinition"]["taskDefinitionArn"]
    stack.resolver.refs[logical_id] = arn


def _compute_environment(stack: MotoStack, logical_id: str, properties: dict[str, Any]) -> None:
    if "ServiceRole" not in properties:  # moto needs one; AWS uses the Batch service-linked role
        properties = {
            **properties,
            "ServiceRole": boto3.client("iam", region_name=REGION).create_role(
                RoleName=f"{stack.physical_name(logical_id)}-service", AssumeRolePolicyDocument="{}"
            )["Role"]["Arn"],
        }
    arn = call(
        boto3.client("batch", region_name=REGION),
        "CreateComputeEnvironment",
        ComputeEnvironmentName=stack.physical_name(logical_id),
        **properties,
    )["computeEnvironmentArn"]
    stack.resolver.refs[logical_id] = arn


def _job_queue(stack: MotoStack, logical_id: str, properties: dict[str, Any]) -> None:
    arn = call(
        boto3.client("batch", region_name=REGION),
        "CreateJobQueue",
        JobQueueName=stack.physical_name(logical_id),
        **properties,
    )["jobQueueArn"]
    stack.resolver.refs[logical_id] = arn


def _job_definition(stack: MotoStack, logical_id: str, properties: dict[str, Any]) -> None:
    arn = call(
        boto3.client("batch", region_name=REGION),
        "RegisterJobDefinition",
        JobDefinitionName=stack.physical_name(logical_id),
        **properties,
    )["jobDefinitionArn"]
    stack.resolver.refs[logical_id] = arn


def _secret(stack: MotoStack, logical_id: str, properties: dict[str, Any]) -> None:
    name = properties.get("Name") or stack.physical_name(logical_id)
    value = properties.get("SecretString") or f"{logical_id}-generated-value"  # GenerateSecretString stand-in
    arn = boto3.client("secretsmanager", region_name=REGION).create_secret(
        Name=name, SecretString=str(value)
    )["ARN"]
    stack.resolver.refs[logical_id] = arn
    stack.resolver.attributes[(logical_id, "Id")] = arn


_CREATORS: dict[str, Creator] = {
    "AWS::DynamoDB::Table": _table,
    "AWS::SQS::Queue": _queue,
    "AWS::SNS::Topic": _topic,
    "AWS::ECS::Cluster": _cluster,
    "AWS::S3::Bucket": _bucket,
    "AWS::Logs::LogGroup": _log_group,
    "AWS::IAM::Role": _role,
    "AWS::IAM::InstanceProfile": _instance_profile,
    "AWS::ECS::TaskDefinition": _task_definition,
    "AWS::Batch::ComputeEnvironment": _compute_environment,
    "AWS::Batch::JobQueue": _job_queue,
    "AWS::Batch::JobDefinition": _job_definition,
    "AWS::SecretsManager::Secret": _secret,
}
