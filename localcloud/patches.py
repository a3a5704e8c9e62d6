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
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any
from unittest import mock

import moto.cloudformation.parsing as cfn_parsing
from moto.awslambda.models import LambdaFunction, LayerVersion
from moto.cloudformation.models import Stack

_clean_json = cfn_parsing.clean_json
_create_layer_version = LayerVersion.create_from_cloudformation_json.__func__  # type: ignore[attr-defined]
_create_function = LambdaFunction.create_from_cloudformation_json.__func__  # type: ignore[attr-defined]

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
        yield
