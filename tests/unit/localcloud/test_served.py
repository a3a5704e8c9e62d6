"""localcloud served over HTTP (what `localcloud up` runs): standard clients against a loopback port."""

from __future__ import annotations

import json

import boto3
import pytest

from localcloud.cli import main
from localcloud.cloud import LocalCloud
from tests.unit.localcloud.conftest import FIXTURE_APP


@pytest.mark.enable_socket
def test_standard_clients_see_the_stacks_and_invoke_functions_that_call_back_through_the_endpoint(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with LocalCloud(FIXTURE_APP, serve=True, port=0, event_sources=False) as cloud:
        deployment = cloud.deploy()
        endpoint = str(cloud.endpoint_url)
        session = boto3.session.Session(
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            region_name="us-east-1",
        )
        stacks = session.client("cloudformation", endpoint_url=endpoint).describe_stacks()["Stacks"]
        # The caller's own boto3 call goes back through the endpoint, into another server thread.
        response = session.client("lambda", endpoint_url=endpoint).invoke(
            FunctionName=deployment.function("CallerFunction").name, Payload=json.dumps({"via": "http"})
        )
        status = main(["status", "--endpoint", endpoint])

    assert [(stack["StackName"], stack["StackStatus"]) for stack in stacks] == [
        ("blueprints", "CREATE_COMPLETE")
    ]
    inner = json.loads(response["Payload"].read())["inner"]
    assert inner["event"] == {"via": "http"}
    assert inner["endpoint"] == endpoint
    assert status == 0
    printed = capsys.readouterr().out
    assert "blueprints  CREATE_COMPLETE" in printed
    assert deployment.function("EchoFunction").name in printed
