"""The router served on a loopback port next to the emulator (what `localcloud up` runs), with a stdlib
client: the URL comes from the stack output, unsigned requests are refused, signed ones answered."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import boto3
import pytest

from localcloud.cloud import LocalCloud
from localcloud.httpapi_router import HttpApiRouter, RouterError, RouterServer, sign
from tests.unit.localcloud_httpapi.conftest import FIXTURE_API


def _send(method: str, url: str, headers: dict[str, str], body: bytes = b"") -> tuple[int, bytes]:
    request = urllib.request.Request(url, data=body or None, headers=headers, method=method)  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - loopback only
            return int(response.status), bytes(response.read())
    except urllib.error.HTTPError as error:
        return error.code, error.read()


@pytest.mark.enable_socket
def test_standard_http_clients_call_the_apis_at_the_url_of_the_stack_output() -> None:
    with LocalCloud(FIXTURE_API, serve=True, port=0, api_port=0, event_sources=False) as cloud:
        cloud.deploy()
        session = boto3.session.Session(
            aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1"
        )
        stack = session.client("cloudformation", endpoint_url=cloud.endpoint_url).describe_stacks()["Stacks"][
            0
        ]
        base = next(o["OutputValue"] for o in stack["Outputs"] if o["OutputKey"] == "ApiUrl")
        url = base + "items/42?verbose=1"

        unsigned = _send("GET", url, {})
        signed = _send("GET", url, sign("GET", url))
        hook = _send("POST", base + "hooks/ci", {"content-type": "text/plain"}, b"payload")
        port = cloud.http_apis.base_url.rsplit(":", 1)[1]

    assert base.startswith(f"http://127.0.0.1:{port}/")  # the free port it was given, not 3000
    assert unsigned == (403, b'{"message":"Forbidden"}')
    status, body = signed
    event = json.loads(body)
    assert (status, event["pathParameters"], event["queryStringParameters"]) == (
        200,
        {"itemId": "42"},
        {"verbose": "1"},
    )
    assert event["headers"]["user-agent"].startswith("Python-urllib")
    assert hook == (200, b'{"source": "ci", "body": "payload"}')


@pytest.mark.enable_socket
def test_a_taken_port_is_reported() -> None:
    router = HttpApiRouter(lambda arn, payload: (b"null", None), apis=dict)
    first = RouterServer(router, port=0)
    first.start()
    try:
        with pytest.raises(RouterError, match="cannot serve HTTP APIs"):
            RouterServer(router, port=first.port).start()
    finally:
        first.stop()
