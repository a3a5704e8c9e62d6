"""Deploying HTTP APIs: moto's CloudFormation creates them, references resolve, outputs give local URLs."""

from __future__ import annotations

import pytest
from moto import mock_aws

from localcloud.cloud import LocalCloud
from localcloud.httpapi import ApiModel, deployed_apis, function_arn, localize_urls
from localcloud.translate import ACCOUNT, REGION


def _routes(cloud: LocalCloud, api_id: str) -> dict[str, dict[str, str]]:
    client = cloud.client("apigatewayv2")
    integrations = {item["IntegrationId"]: item for item in client.get_integrations(ApiId=api_id)["Items"]}
    return {
        route["RouteKey"]: {
            "auth": route["AuthorizationType"],
            "uri": integrations[route["Target"].removeprefix("integrations/")]["IntegrationUri"],
        }
        for route in client.get_routes(ApiId=api_id)["Items"]
    }


def test_the_sam_api_is_created_in_moto_with_one_route_per_event_and_its_authorization(
    api_cloud: LocalCloud,
) -> None:
    assert api_cloud.deployment is not None
    outputs = api_cloud.deployment.outputs()
    api_id = outputs["ApiId"]

    routes = _routes(api_cloud, api_id)

    assert {key: route["auth"] for key, route in routes.items()} == {
        "GET /items/{itemId}": "AWS_IAM",
        "PUT /items/{itemId}/notes/{noteId}": "AWS_IAM",
        "GET /items/latest": "AWS_IAM",
        "ANY /files/{proxy+}": "AWS_IAM",
        "POST /hooks/{source}": "NONE",
        "GET /fail": "AWS_IAM",
    }
    hook = api_cloud.deployment.function("HookFunction")
    assert function_arn(routes["POST /hooks/{source}"]["uri"]) == hook.arn
    stages = api_cloud.client("apigatewayv2").get_stages(ApiId=api_id)["Items"]
    assert [stage["StageName"] for stage in stages] == ["$default"]


def test_references_to_the_api_resolve_and_nothing_is_reported_as_skipped(api_cloud: LocalCloud) -> None:
    deployment = api_cloud.deployment
    assert deployment is not None
    api_id = deployment.outputs()["ApiId"]

    permission = deployment.resource("HookFunctionHookPermission").properties
    api = deployment.resource("Api")

    assert permission["SourceArn"] == f"arn:aws:execute-api:us-east-1:123456789012:{api_id}/*/POST/hooks/*"
    assert (api.physical_id, api.created) == (api_id, True)
    assert not [resource.type for resource in deployment.unsupported if "ApiGatewayV2" in resource.type]


def test_url_outputs_point_at_the_local_router_for_default_and_named_stages(api_cloud: LocalCloud) -> None:
    stack = api_cloud.client("cloudformation").describe_stacks(StackName="httpapi")["Stacks"][0]
    outputs = {output["OutputKey"]: output["OutputValue"] for output in stack["Outputs"]}
    plain_id = api_cloud.deployment.resource("PlainApi").physical_id if api_cloud.deployment else None

    assert outputs["ApiUrl"] == f"http://127.0.0.1:3000/{outputs['ApiId']}/"
    assert outputs["ApiEndpoint"] == f"http://127.0.0.1:3000/{outputs['ApiId']}"  # !GetAtt Api.ApiEndpoint
    assert outputs["PlainUrl"] == f"http://127.0.0.1:3000/{plain_id}/v1/"
    assert api_cloud.api_url("Api") == outputs["ApiUrl"]
    assert api_cloud.api_url("PlainApi") == outputs["PlainUrl"]  # its only stage is a named one


def test_plain_cloudformation_routes_integrations_and_stage_variables_are_recorded(
    api_cloud: LocalCloud,
) -> None:
    assert api_cloud.deployment is not None
    plain_id = str(api_cloud.deployment.resource("PlainApi").physical_id)

    plain = deployed_apis()[plain_id]

    assert plain.stages == {"v1": {"color": "blue"}}
    assert [(route.key, route.authorization) for route in plain.routes] == [("$default", "NONE")]
    assert plain.routes[0].function_arn == api_cloud.deployment.function("ItemFunction").arn


def test_api_url_names_the_apis_when_it_cannot_find_one(api_cloud: LocalCloud) -> None:
    with pytest.raises(KeyError, match=r"HTTP APIs: Api, PlainApi"):
        api_cloud.api_url("Nope")


@pytest.mark.parametrize(
    ("uri", "arn"),
    [
        (
            "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/"
            "arn:aws:lambda:us-east-1:123456789012:function:f/invocations",
            "arn:aws:lambda:us-east-1:123456789012:function:f",
        ),
        (
            "arn:aws:lambda:us-east-1:123456789012:function:f:live",
            "arn:aws:lambda:us-east-1:123456789012:function:f:live",
        ),
        ("https://example.com/backend", None),
        (None, None),
    ],
)
def test_function_arn_reads_lambda_integration_uris(uri: str | None, arn: str | None) -> None:
    assert function_arn(uri) == arn


def test_only_execute_api_urls_of_known_apis_are_localized() -> None:
    text = "https://abc.execute-api.eu-west-1.amazonaws.com/v1/ and https://zzz.execute-api.us-east-1.amazonaws.com/"

    localized = localize_urls(text, "http://127.0.0.1:3000", {"abc": object()})

    assert localized == "http://127.0.0.1:3000/abc/v1/ and https://zzz.execute-api.us-east-1.amazonaws.com/"


ARN = "arn:aws:lambda:us-east-1:123456789012:function:f"


def _create(properties: dict[str, object]) -> str:
    created = ApiModel.create_from_cloudformation_json("Test", {"Properties": properties}, ACCOUNT, REGION)
    return created.physical_resource_id


def test_openapi_security_maps_to_route_authorization_with_the_document_default() -> None:
    operation = {
        "x-amazon-apigateway-integration": {"type": "aws_proxy", "uri": ARN, "payloadFormatVersion": "2.0"}
    }
    body = {
        "info": {"title": "secured", "version": "1.0"},
        "security": [{"Jwt": []}],  # the document's default
        "components": {
            "securitySchemes": {
                "Jwt": {"type": "oauth2", "x-amazon-apigateway-authorizer": {"type": "jwt"}},
                "Sig": {"type": "apiKey", "x-amazon-apigateway-authtype": "awsSigv4"},
            }
        },
        "paths": {
            "/a": {"get": operation},
            "/b": {"get": {**operation, "security": []}},  # explicitly open
            "/c": {"post": {**operation, "security": [{"Sig": []}]}, "parameters": []},
            "$default": {"x-amazon-apigateway-any-method": operation},
        },
    }

    with mock_aws():
        api_id = _create({"Body": body})
        api = deployed_apis()[api_id]

    assert api.name == "secured"
    assert {route.key: route.authorization for route in api.routes} == {
        "GET /a": "JWT",
        "GET /b": "NONE",
        "POST /c": "AWS_IAM",
        "$default": "JWT",
    }


def test_a_quick_create_api_has_a_default_route_and_stage() -> None:
    with mock_aws():
        api_id = _create({"Name": "quick", "ProtocolType": "HTTP", "Target": ARN})
        api = deployed_apis()[api_id]

    assert [(route.key, route.function_arn) for route in api.routes] == [("$default", ARN)]
    assert api.stages == {"$default": {}}
