"""HTTP APIs (API Gateway v2) on the local cloud: what a deploy creates, and the routes the router serves.

moto's CloudFormation has no model for ``AWS::ApiGatewayV2::*``: it skips them, so every ``Ref`` to an API
becomes ``None`` (the Lambda permissions' ``SourceArn``) or stays unresolved (``https://${HttpApi}...``
outputs). A post-deploy applier comes too late to fix references made during ``create_stack``, so this
module gives moto's CloudFormation models for ``Api``, ``Stage``, ``Integration`` and ``Route`` while the
local cloud runs (``cloudformation_models``). They create the records in moto's own ``apigatewayv2``
backend (``aws apigatewayv2 get-apis/get-routes`` show them) and answer ``Ref``/``GetAtt`` as CloudFormation
does. The models are duck-typed rather than ``CloudFormationModel`` subclasses: moto registers every
subclass for good, and these must not outlive the local cloud.

An API defined by an OpenAPI ``Body`` (what SAM generates for ``AWS::Serverless::HttpApi``) gets one
integration and one route per path and method; a route's authorization comes from the operation's
``security`` (else the document's): an ``awsSigv4`` scheme is ``AWS_IAM``, SAM's ``NONE`` is ``NONE``.

URL scheme: one port serves every API, and the API id is the first path segment::

    https://{apiId}.execute-api.{region}.amazonaws.com/{stage-or-nothing}/items/1     (AWS)
    http://127.0.0.1:3000/{apiId}/{stage-or-nothing}/items/1                         (local)

so paths below the id are exactly the deployed ones. Stack outputs that name an API's execute-api URL are
rewritten to the local URL when moto resolves them, in nested stacks and their parents alike.
"""

from __future__ import annotations

import contextlib
import logging
import re
import urllib.parse
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any
from unittest import mock

from localcloud.cfn_models import CreatedResource, DuckModel
from localcloud.translate import ACCOUNT, REGION

log = logging.getLogger(__name__)

AUTH_IAM = "AWS_IAM"
AUTH_NONE = "NONE"
DEFAULT_ROUTE = "$default"
DEFAULT_STAGE = "$default"
ANY_METHOD = "ANY"
_OPENAPI_ANY = "x-amazon-apigateway-any-method"
_METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace", _OPENAPI_ANY}
_EXECUTE_API_URL = re.compile(r"https://(?P<id>[a-z0-9]+)\.execute-api\.[a-z0-9-]+\.amazonaws\.com")
_LAMBDA_IN_URI = re.compile(r"(arn:[^:]+:lambda:[^/]+?)(?:/invocations)?$")


# -- the route table the router reads ------------------------------------------------------------------


@dataclass(frozen=True)
class Route:
    """One route of an HTTP API, with what the router needs to serve it."""

    key: str  # "GET /items/{itemId}", "ANY /files/{proxy+}" or "$default"
    authorization: str  # AWS_IAM, NONE, JWT or CUSTOM
    function_arn: str | None  # the Lambda function of its AWS_PROXY integration
    payload_format: str = "2.0"
    integration_type: str = "AWS_PROXY"

    @property
    def method(self) -> str:
        return ANY_METHOD if self.key == DEFAULT_ROUTE else self.key.split(" ", 1)[0]

    @property
    def path(self) -> str:
        return "" if self.key == DEFAULT_ROUTE else self.key.split(" ", 1)[1]


@dataclass(frozen=True)
class HttpApi:
    """A deployed HTTP API: its stages (name → stage variables) and routes."""

    api_id: str
    name: str
    stages: dict[str, dict[str, str]] = field(default_factory=dict)
    routes: tuple[Route, ...] = ()


def function_arn(integration_uri: str | None) -> str | None:
    """The Lambda ARN of an integration URI (``arn:aws:apigateway:...:lambda:path/.../functions/<arn>/
    invocations``, or the function ARN itself as ``AWS::ApiGatewayV2::Integration`` may give it)."""
    if not integration_uri:
        return None
    tail = integration_uri.split("/functions/", 1)[-1]
    found = _LAMBDA_IN_URI.match(tail)
    return found.group(1) if found else None


def _backend(account: str = ACCOUNT, region: str = REGION) -> Any:
    from moto.apigatewayv2.models import apigatewayv2_backends

    return apigatewayv2_backends[account][region]


def deployed_apis(account: str = ACCOUNT, region: str = REGION) -> dict[str, HttpApi]:
    """Every HTTP API in moto's backend, read when asked (so the router always serves what is deployed)."""
    apis: dict[str, HttpApi] = {}
    for api in list(_backend(account, region).apis.values()):
        if str(api.protocol_type).upper() != "HTTP":
            continue
        routes = []
        for route in list(api.routes.values()):
            integration = api.integrations.get(str(route.target or "").removeprefix("integrations/"))
            routes.append(
                Route(
                    key=str(route.route_key),
                    authorization=str(route.authorization_type or AUTH_NONE),
                    function_arn=function_arn(integration and integration.integration_uri),
                    payload_format=str((integration and integration.payload_format_version) or "2.0"),
                    integration_type=str((integration and integration.integration_type) or "").upper(),
                )
            )
        stages = {name: dict(stage.stage_variables or {}) for name, stage in api.stages.items()}
        apis[api.api_id] = HttpApi(api.api_id, str(api.name), stages, tuple(routes))
    return apis


# -- route matching -------------------------------------------------------------------------------------


def _kinds(path: str) -> tuple[int, ...]:
    """Per segment: 0 literal, 1 ``{param}``, 2 ``{greedy+}`` (lower is more specific)."""
    return tuple(
        2 if part.endswith("+}") else 1 if part.startswith("{") else 0 for part in path.strip("/").split("/")
    )


def _bind(template: str, segments: list[str]) -> dict[str, str] | None:
    """The path parameters when ``segments`` (decoded) match the route path ``template``, else ``None``."""
    parts = template.strip("/").split("/")
    parameters: dict[str, str] = {}
    for index, part in enumerate(parts):
        if part.startswith("{") and part.endswith("+}"):
            rest = segments[index:]
            if not rest or rest == [""]:
                return None
            parameters[part[1:-2]] = "/".join(rest)
            return parameters
        if index >= len(segments):
            return None
        if part.startswith("{") and part.endswith("}"):
            if not segments[index]:
                return None
            parameters[part[1:-1]] = segments[index]
        elif part != segments[index]:
            return None
    return parameters if len(parts) == len(segments) else None


def match(routes: tuple[Route, ...], method: str, path: str) -> tuple[Route, dict[str, str]] | None:
    """The route API Gateway picks for ``method path``, with its path parameters (decoded).

    ``path`` is below the stage, as sent (percent-encoded): it is split first, then each segment decoded,
    so an encoded ``/`` stays inside its parameter. As HTTP APIs do: the most specific path wins (literal
    segments beat ``{param}``, which beats a greedy ``{proxy+}``; a longer literal prefix beats a shorter
    one), then a route of the request's method beats ``ANY``; ``$default`` catches what nothing else does.
    """
    segments = [urllib.parse.unquote(part) for part in path.strip("/").split("/")]
    candidates: list[tuple[tuple[Any, ...], Route, dict[str, str]]] = []
    fallback = None
    for route in routes:
        if route.key == DEFAULT_ROUTE:
            fallback = route
        elif route.method in (ANY_METHOD, method.upper()):
            parameters = _bind(route.path, segments)
            if parameters is not None:
                kinds = _kinds(route.path)
                candidates.append(((2 in kinds, kinds, route.method == ANY_METHOD), route, parameters))
    if candidates:
        _, route, parameters = min(candidates, key=lambda candidate: candidate[0])
        return route, parameters
    return (fallback, {}) if fallback is not None else None


# -- URLs ---------------------------------------------------------------------------------------------


def local_url(base_url: str, api_id: str, stage: str = DEFAULT_STAGE) -> str:
    """The local URL of an API stage (see the module docstring), with a trailing slash as SAM's outputs."""
    suffix = "" if stage == DEFAULT_STAGE else f"{stage}/"
    return f"{base_url.rstrip('/')}/{api_id}/{suffix}"


def localize_urls(text: str, base_url: str, known: Mapping[str, object]) -> str:
    """``text`` with the execute-api URLs of ``known`` APIs pointing at the local router."""
    return _EXECUTE_API_URL.sub(
        lambda found: f"{base_url.rstrip('/')}/{found['id']}" if found["id"] in known else found.group(0),
        text,
    )


# -- CloudFormation models (moto has none for AWS::ApiGatewayV2::*) -------------------------------------


class _Model(DuckModel):
    """An ``AWS::ApiGatewayV2::*`` model: created in moto's ``apigatewayv2`` backend by ``create``."""

    @classmethod
    def create_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **_: Any,
    ) -> CreatedResource:
        properties = cloudformation_json.get("Properties") or {}
        return cls.create(_backend(account_id, region_name), resource_name, properties)

    @classmethod
    def create(cls, backend: Any, resource_name: str, properties: dict[str, Any]) -> CreatedResource:
        raise NotImplementedError


def _authorization(operation: Mapping[str, Any], document: Mapping[str, Any]) -> str:
    security = operation.get("security", document.get("security")) or []
    schemes = document.get("components", {}).get("securitySchemes", {})
    for requirement in security:
        for name in requirement:
            if name == AUTH_NONE:
                return AUTH_NONE
            scheme = schemes.get(name, {})
            if scheme.get("x-amazon-apigateway-authtype") == "awsSigv4" or name == AUTH_IAM:
                return AUTH_IAM
            kind = str(scheme.get("x-amazon-apigateway-authorizer", {}).get("type", "")).lower()
            return "JWT" if kind == "jwt" else "CUSTOM"
    return AUTH_NONE


def import_openapi(api: Any, document: Mapping[str, Any]) -> None:
    """One integration and one route per path and method of an OpenAPI body, with its authorization."""
    for path, operations in (document.get("paths") or {}).items():
        for method, operation in operations.items():
            if method.lower() not in _METHODS or not isinstance(operation, dict):
                continue
            integration_json = operation.get("x-amazon-apigateway-integration") or {}
            integration = api.create_integration(
                connection_type="INTERNET",
                description="imported from the OpenAPI body",
                integration_method=integration_json.get("httpMethod"),
                integration_type=str(integration_json.get("type", "aws_proxy")).upper(),
                integration_uri=integration_json.get("uri"),
                payload_format_version=integration_json.get("payloadFormatVersion", "2.0"),
            )
            verb = ANY_METHOD if method.lower() == _OPENAPI_ANY else method.upper()
            api.create_route(
                api_key_required=False,
                authorization_scopes=[],
                route_key=DEFAULT_ROUTE if path == DEFAULT_ROUTE else f"{verb} {path}",
                target=f"integrations/{integration.id}",
                authorization_type=_authorization(operation, document),
            )


class ApiModel(_Model):
    TYPE = "AWS::ApiGatewayV2::Api"
    ATTRIBUTES = frozenset({"ApiEndpoint", "ApiId"})

    @classmethod
    def create(cls, backend: Any, resource_name: str, properties: dict[str, Any]) -> CreatedResource:
        body = properties.get("Body") or {}
        if properties.get("BodyS3Location"):
            log.warning("%s: BodyS3Location is not read by the local cloud; no routes", resource_name)
        info = body.get("info") or {}
        api = backend.create_api(
            api_key_selection_expression=properties.get("ApiKeySelectionExpression"),
            cors_configuration=properties.get("CorsConfiguration") or body.get("x-amazon-apigateway-cors"),
            description=properties.get("Description") or info.get("description"),
            disable_schema_validation=properties.get("DisableSchemaValidation"),
            disable_execute_api_endpoint=properties.get("DisableExecuteApiEndpoint"),
            name=str(properties.get("Name") or info.get("title") or resource_name),
            protocol_type=str(properties.get("ProtocolType", "HTTP")),
            route_selection_expression=properties.get("RouteSelectionExpression"),
            tags=dict(properties.get("Tags") or {}),
            version=str(info.get("version", "")) or None,
        )
        import_openapi(api, body)
        if properties.get("Target"):  # "quick create": one route to one integration, a $default stage
            integration = api.create_integration(
                connection_type="INTERNET",
                description="quick create",
                integration_method="POST",
                integration_type="AWS_PROXY",
                integration_uri=properties["Target"],
                payload_format_version="2.0",
            )
            api.create_route(
                api_key_required=False,
                authorization_scopes=[],
                route_key=properties.get("RouteKey", DEFAULT_ROUTE),
                target=f"integrations/{integration.id}",
                authorization_type=AUTH_NONE,
            )
            api.create_stage({"stageName": DEFAULT_STAGE, "autoDeploy": True})
        return CreatedResource(api.api_id, {"ApiId": api.api_id, "ApiEndpoint": api.api_endpoint})


class StageModel(_Model):
    TYPE = "AWS::ApiGatewayV2::Stage"

    @classmethod
    def create(cls, backend: Any, resource_name: str, properties: dict[str, Any]) -> CreatedResource:
        stage = backend.get_api(properties["ApiId"]).create_stage(
            {
                "stageName": properties.get("StageName", DEFAULT_STAGE),
                "stageVariables": {k: str(v) for k, v in (properties.get("StageVariables") or {}).items()},
                "autoDeploy": properties.get("AutoDeploy"),
                "description": properties.get("Description"),
                "tags": dict(properties.get("Tags") or {}),
            }
        )
        return CreatedResource(stage.name, {})


class IntegrationModel(_Model):
    TYPE = "AWS::ApiGatewayV2::Integration"

    @classmethod
    def create(cls, backend: Any, resource_name: str, properties: dict[str, Any]) -> CreatedResource:
        integration = backend.get_api(properties["ApiId"]).create_integration(
            connection_type=properties.get("ConnectionType", "INTERNET"),
            description=properties.get("Description"),
            integration_method=properties.get("IntegrationMethod"),
            integration_type=str(properties.get("IntegrationType", "AWS_PROXY")).upper(),
            integration_uri=properties.get("IntegrationUri"),
            payload_format_version=properties.get("PayloadFormatVersion", "2.0"),
        )
        return CreatedResource(integration.id, {})


class RouteModel(_Model):
    TYPE = "AWS::ApiGatewayV2::Route"

    @classmethod
    def create(cls, backend: Any, resource_name: str, properties: dict[str, Any]) -> CreatedResource:
        route = backend.get_api(properties["ApiId"]).create_route(
            api_key_required=bool(properties.get("ApiKeyRequired", False)),
            authorization_scopes=list(properties.get("AuthorizationScopes") or []),
            route_key=properties["RouteKey"],
            target=properties.get("Target"),
            authorization_type=properties.get("AuthorizationType", AUTH_NONE),
            authorizer_id=properties.get("AuthorizerId"),
        )
        return CreatedResource(route.route_id, {})


MODELS: tuple[type[_Model], ...] = (ApiModel, StageModel, IntegrationModel, RouteModel)


@contextlib.contextmanager
def cloudformation_models(base_url: Callable[[], str]) -> Iterator[None]:
    """moto's CloudFormation creates HTTP APIs (and resolves references to them) for the block, and stack
    outputs naming an API's execute-api URL give its local URL under ``base_url()``."""
    import moto.cloudformation.parsing as cfn_parsing

    model_map = cfn_parsing.get_model_map
    parse_output = cfn_parsing.parse_output

    def get_model_map() -> dict[str, Any]:
        return {**model_map(), **{model.TYPE: model for model in MODELS}}

    def localized_output(output_logical_id: str, output_json: Any, resources_map: Any) -> Any:
        output = parse_output(output_logical_id, output_json, resources_map)
        if output is not None and isinstance(output.value, str):
            output.value = localize_urls(output.value, base_url(), _backend().apis)
        return output

    with (
        mock.patch.object(cfn_parsing, "get_model_map", get_model_map),
        mock.patch.object(cfn_parsing, "parse_output", localized_output),
    ):
        yield
