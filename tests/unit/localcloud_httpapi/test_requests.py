"""Requests to the deployed fixture APIs through the router, in-process (``LocalCloud.http``, no socket)."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from localcloud.cloud import LocalCloud
from localcloud.httpapi_router import HttpResponse, sign


def _event(response: HttpResponse) -> dict[str, Any]:
    assert response.status == 200, response.body
    event: dict[str, Any] = response.json()
    return event


def test_an_unsigned_request_to_an_iam_route_is_refused_before_the_function_runs(
    api_cloud: LocalCloud,
) -> None:
    before = len(api_cloud.calls("ItemFunction"))

    response = api_cloud.http("GET", api_cloud.api_url("Api") + "items/7")

    assert (response.status, response.json()) == (403, {"message": "Forbidden"})
    assert response.headers["x-amzn-errortype"] == "ForbiddenException"
    assert len(api_cloud.calls("ItemFunction")) == before


def test_a_signed_request_reaches_the_function_with_the_format_2_0_event_and_its_response_back(
    api_cloud: LocalCloud,
) -> None:
    url = api_cloud.api_url("Api") + "items/a%20b?tag=x&tag=y&q=caf%C3%A9"

    response = api_cloud.http(
        "GET", url, headers={"cookie": "session=1", "user-agent": "tests/1"}, signed=True
    )

    event = _event(response)
    api_id = api_cloud.deployment.outputs()["ApiId"] if api_cloud.deployment else ""
    assert event["routeKey"] == "GET /items/{itemId}"
    assert (event["rawPath"], event["rawQueryString"]) == ("/items/a%20b", "tag=x&tag=y&q=caf%C3%A9")
    assert event["pathParameters"] == {"itemId": "a b"}
    assert event["queryStringParameters"] == {"tag": "x,y", "q": "café"}
    assert event["cookies"] == ["session=1"]
    context = event["requestContext"]
    assert (context["apiId"], context["stage"], context["http"]["userAgent"]) == (
        api_id,
        "$default",
        "tests/1",
    )
    assert context["authorizer"]["iam"]["userArn"] == "arn:aws:sts::123456789012:user/moto"
    assert response.headers["apigw-requestid"] == context["requestId"]
    assert response.headers["x-function"] == api_cloud.deployment.function("ItemFunction").name  # type: ignore[union-attr]
    assert response.cookies == ["seen=yes; Path=/"]


def test_a_binary_body_arrives_base64_encoded_with_both_path_parameters(api_cloud: LocalCloud) -> None:
    url = api_cloud.api_url("Api") + "items/1/notes/2"
    body = bytes(range(256))

    event = _event(
        api_cloud.http(
            "PUT", url, headers={"content-type": "application/octet-stream"}, body=body, signed=True
        )
    )

    assert event["pathParameters"] == {"itemId": "1", "noteId": "2"}
    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == body


def test_a_json_body_arrives_as_text(api_cloud: LocalCloud) -> None:
    url = api_cloud.api_url("Api") + "items/1/notes/2"

    event = _event(api_cloud.http("PUT", url, json_body={"note": "é"}, signed=True))

    assert (json.loads(event["body"]), event["isBase64Encoded"]) == ({"note": "é"}, False)


@pytest.mark.parametrize(
    ("method", "path", "route_key", "parameters"),
    [
        ("GET", "items/latest", "GET /items/latest", None),  # the literal route beats GET /items/{itemId}
        ("DELETE", "files/a/b/c.txt", "ANY /files/{proxy+}", {"proxy": "a/b/c.txt"}),
    ],
)
def test_routes_are_selected_as_api_gateway_selects_them(
    api_cloud: LocalCloud, method: str, path: str, route_key: str, parameters: dict[str, str] | None
) -> None:
    event = _event(api_cloud.http(method, api_cloud.api_url("Api") + path, signed=True))

    assert (event["routeKey"], event.get("pathParameters")) == (route_key, parameters)


def test_a_route_with_no_authorization_takes_unsigned_requests_and_infers_the_response(
    api_cloud: LocalCloud,
) -> None:
    response = api_cloud.http("POST", api_cloud.api_url("Api") + "hooks/github", json_body={"ref": "main"})

    assert (response.status, response.headers["content-type"]) == (200, "application/json")
    assert response.json() == {"source": "github", "body": '{"ref": "main"}'}


def test_a_function_error_is_a_500(api_cloud: LocalCloud) -> None:
    response = api_cloud.http("GET", api_cloud.api_url("Api") + "fail", signed=True)

    assert (response.status, response.json()) == (500, {"message": "Internal Server Error"})
    assert api_cloud.calls("FailFunction")[-1].errored


@pytest.mark.parametrize(
    ("result", "status", "body"),
    [
        ('"plain words"', 200, b"plain words"),
        ('{"statusCode": 418, "body": "teapot"}', 418, b"teapot"),
        ('{"statusCode": "oops"}', 500, b'{"message":"Internal Server Error"}'),
    ],
)
def test_function_results_become_the_response(
    api_cloud: LocalCloud, result: str, status: int, body: bytes
) -> None:
    url = api_cloud.api_url("Api") + "items/1?respond=" + result.replace(" ", "%20").replace('"', "%22")

    response = api_cloud.http("GET", url, signed=True)

    assert (response.status, response.body) == (status, body)


def test_unknown_paths_and_apis_are_not_found(api_cloud: LocalCloud) -> None:
    base = api_cloud.api_url("Api")

    for url in (base + "nothing/here", base.replace(base.split("/")[3], "unknownapi")):
        response = api_cloud.http("GET", url, signed=True)
        assert (response.status, response.json()) == (404, {"message": "Not Found"})


def test_a_named_stage_is_in_the_url_the_raw_path_and_the_event_with_its_variables(
    api_cloud: LocalCloud,
) -> None:
    url = api_cloud.api_url("PlainApi")

    event = _event(api_cloud.http("PATCH", url + "any/thing"))
    without_stage = api_cloud.http("PATCH", url.replace("/v1/", "/") + "any/thing")

    assert (event["routeKey"], event["rawPath"]) == ("$default", "/v1/any/thing")
    assert (event["requestContext"]["stage"], event["stageVariables"]) == ("v1", {"color": "blue"})
    assert "authorizer" not in event["requestContext"]
    assert without_stage.status == 404  # no $default stage to fall back on


def test_iam_users_sign_with_their_own_keys(api_cloud: LocalCloud) -> None:
    iam = api_cloud.client("iam")
    user = iam.create_user(UserName="api-caller")["User"]
    key = iam.create_access_key(UserName="api-caller")["AccessKey"]
    url = api_cloud.api_url("Api") + "items/9"

    headers = sign("GET", url, access_key=key["AccessKeyId"], secret_key=key["SecretAccessKey"])
    event = _event(api_cloud.http("GET", url, headers=headers))

    assert event["requestContext"]["authorizer"]["iam"]["userArn"] == user["Arn"]
