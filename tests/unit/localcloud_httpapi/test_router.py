"""The router on its own (fake APIs, a fake Invoke): what it does besides the happy path."""

from __future__ import annotations

import json

import pytest

from localcloud.httpapi import HttpApi, Route
from localcloud.httpapi_router import HttpApiRouter, HttpResponse, in_process

ARN = "arn:aws:lambda:us-east-1:123456789012:function:f"


def _router(*routes: Route, fail: bool = False, apis: int = 1) -> HttpApiRouter:
    def invoke(arn: str, payload: bytes) -> tuple[bytes, str | None]:
        if fail:
            raise ConnectionError("the emulator went away")
        return json.dumps({"arn": arn, "rawPath": json.loads(payload)["rawPath"]}).encode(), None

    found = {f"api{n}": HttpApi(f"api{n}", "test", {"$default": {}}, routes) for n in range(apis)}
    return HttpApiRouter(invoke, apis=lambda: found)


def _get(router: HttpApiRouter, path: str) -> HttpResponse:
    return in_process(router, "GET", f"http://127.0.0.1:3000{path}", {}, b"")


def test_with_a_single_api_its_paths_also_answer_without_the_api_id() -> None:
    router = _router(Route("GET /items", "NONE", ARN))

    with_id, without_id = _get(router, "/api0/items"), _get(router, "/items")

    assert with_id.json() == without_id.json() == {"arn": ARN, "rawPath": "/items"}


def test_with_several_apis_the_api_id_is_required() -> None:
    router = _router(Route("GET /items", "NONE", ARN), apis=2)

    assert _get(router, "/api1/items").status == 200
    assert _get(router, "/items").status == 404


@pytest.mark.parametrize("kind", ["JWT", "CUSTOM"])
def test_authorizers_the_local_cloud_cannot_check_refuse_every_request(kind: str) -> None:
    response = _get(_router(Route("GET /items", kind, ARN)), "/items")

    assert (response.status, response.json()) == (401, {"message": "Unauthorized"})


@pytest.mark.parametrize(
    "route",
    [
        Route("GET /items", "NONE", None, integration_type="HTTP_PROXY"),
        Route("GET /items", "NONE", ARN, payload_format="1.0"),
    ],
)
def test_integrations_other_than_lambda_proxy_2_0_answer_500(route: Route) -> None:
    assert _get(_router(route), "/items").status == 500


def test_a_failed_invocation_answers_500() -> None:
    response = _get(_router(Route("GET /items", "NONE", ARN), fail=True), "/items")

    assert (response.status, response.json()) == (500, {"message": "Internal Server Error"})
