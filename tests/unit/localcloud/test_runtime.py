"""localcloud.runtime: handlers run in-process as the Lambda Python runtime runs them (fixture app)."""

from __future__ import annotations

import io
import json
import os
import sys
import zipfile
from typing import Any
from urllib.parse import unquote_plus

from localcloud.cloud import LocalCloud

ECHO_SOURCE = "def handler(event, context):\n    return {'zipped': event, 'name': context.function_name}\n"


def _messages(cloud: LocalCloud, queue: str) -> list[dict[str, Any]]:
    sqs = cloud.client("sqs")
    url = cloud.deployment.outputs()[queue]  # type: ignore[union-attr]
    found: list[dict[str, Any]] = sqs.receive_message(
        QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"]
    ).get("Messages", [])
    return found


def test_a_handler_gets_its_environment_layer_and_context_and_the_process_is_left_as_it_was(
    app_cloud: LocalCloud,
) -> None:
    environment, path = dict(os.environ), list(sys.path)

    result = app_cloud.invoke("EchoFunction", {"n": 1})

    payload = result.payload
    echo = app_cloud.deployment.function("EchoFunction")  # type: ignore[union-attr]
    assert result.function_error is None
    assert payload["event"] == {"n": 1}
    assert payload["greeting"] == "hello"
    assert payload["function_name"] == payload["env_function_name"] == echo.name
    assert 0 < payload["remaining_ms"] <= 3000
    assert payload["log_group"] == f"/aws/lambda/{echo.name}"
    assert payload["endpoint"] is None  # in-process: botocore reaches moto without an endpoint
    assert dict(os.environ) == environment
    assert sys.path == path
    assert "fixture_layer" in sys.modules  # imported from the layer folder while the function ran


def test_what_a_handler_prints_goes_to_cloudwatch_logs_between_start_and_report_lines(
    app_cloud: LocalCloud,
) -> None:
    result = app_cloud.invoke("EchoFunction", {"n": 2})

    request_id = result.calls[0].request_id
    assert result.logs[0] == f"START RequestId: {request_id} Version: $LATEST"
    assert result.logs[1:3] == ["echo says hello", "to stderr"]
    assert result.logs[-1].startswith(f"REPORT RequestId: {request_id}\tDuration: ")
    echo = app_cloud.deployment.function("EchoFunction")  # type: ignore[union-attr]
    events = app_cloud.client("logs").filter_log_events(logGroupName=f"/aws/lambda/{echo.name}")["events"]
    assert [event["message"] for event in events][-5:] == result.logs


def test_an_exception_becomes_the_runtimes_error_payload_and_is_logged(app_cloud: LocalCloud) -> None:
    result = app_cloud.invoke("FailFunction", {"b": 1, "a": 2})

    assert result.function_error is not None
    assert result.payload["errorType"] == "ValueError"
    assert result.payload["errorMessage"] == "cannot handle ['a', 'b']"
    assert result.payload["stackTrace"][-1].startswith('  File "')
    assert "fail.py" in result.payload["stackTrace"][-1]
    error = json.loads(result.logs[1])  # LoggingConfig LogFormat JSON: one JSON record per line
    assert (error["level"], error["errorType"]) == ("ERROR", "ValueError")
    assert json.loads(result.logs[0])["type"] == "platform.start"


def test_an_asynchronous_invocation_is_retried_then_sent_to_the_destination_and_the_dead_letter_queue(
    app_cloud: LocalCloud,
) -> None:
    result = app_cloud.invoke("FailFunction", {"order": 7}, asynchronous=True)

    assert [(call.invocation_type, call.attempt) for call in result.calls] == [("Event", 1), ("Event", 2)]
    (dead_letter,) = _messages(app_cloud, "DeadLettersUrl")
    assert json.loads(dead_letter["Body"]) == {"order": 7}
    assert dead_letter["MessageAttributes"]["ErrorMessage"]["StringValue"] == "cannot handle ['order']"
    assert dead_letter["MessageAttributes"]["RequestID"]["StringValue"] == result.calls[-1].request_id
    (failure,) = _messages(app_cloud, "FailuresUrl")
    record = json.loads(failure["Body"])
    assert record["requestContext"]["condition"] == "RetriesExhausted"
    assert record["requestContext"]["approximateInvokeCount"] == 2
    assert record["requestPayload"] == {"order": 7}
    assert record["responsePayload"]["errorType"] == "ValueError"


def test_a_handler_that_outlives_its_timeout_fails_as_timed_out(app_cloud: LocalCloud) -> None:
    result = app_cloud.invoke("SlowFunction", {})

    assert result.payload["errorType"] == "Sandbox.Timedout"
    assert "Task timed out after 1.00 seconds" in result.payload["errorMessage"]


def test_a_nested_invocation_runs_inline_in_the_same_chain(app_cloud: LocalCloud) -> None:
    result = app_cloud.invoke("CallerFunction", {"deep": True})

    assert result.payload["inner"]["event"] == {"deep": True}
    caller, echo = (app_cloud.deployment.function(n) for n in ("CallerFunction", "EchoFunction"))  # type: ignore[union-attr]
    assert [call.function_name for call in result.calls] == [caller.name, echo.name]


def test_functions_created_through_the_api_run_from_their_zip_or_fail_as_handler_not_found(
    app_cloud: LocalCloud,
) -> None:
    lambda_client = app_cloud.client("lambda")
    role = lambda_client.get_function(FunctionName=app_cloud.deployment.function("EchoFunction").name)  # type: ignore[union-attr]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("index.py", ECHO_SOURCE)
    common = {"Runtime": "python3.13", "Role": role["Configuration"]["Role"], "Handler": "index.handler"}
    lambda_client.create_function(FunctionName="zipped", Code={"ZipFile": buffer.getvalue()}, **common)
    app_cloud.client("s3").put_object(Bucket="local-artifacts", Key="elsewhere.zip", Body=b"not a zip")
    lambda_client.create_function(
        FunctionName="nowhere", Code={"S3Bucket": "local-artifacts", "S3Key": "elsewhere.zip"}, **common
    )

    zipped = lambda_client.invoke(FunctionName="zipped", Payload=b'{"x": 1}')
    missing = lambda_client.invoke(FunctionName="nowhere", Payload=b"{}")

    assert json.loads(zipped["Payload"].read()) == {"zipped": {"x": 1}, "name": "zipped"}
    assert json.loads(missing["Payload"].read())["errorType"] == "HandlerNotFound"
    assert missing["FunctionError"]


def test_a_bucket_notification_from_the_template_invokes_its_function(app_cloud: LocalCloud) -> None:
    bucket = app_cloud.deployment.outputs()["UploadsBucket"]  # type: ignore[union-attr]
    before = len(app_cloud.calls("EchoFunction"))

    app_cloud.client("s3").put_object(Bucket=bucket, Key="in/data.csv", Body=b"1")
    app_cloud.client("s3").put_object(Bucket=bucket, Key="out/ignored.csv", Body=b"1")

    (call,) = app_cloud.calls("EchoFunction")[before:]
    # moto's own event shape (it also encodes "/", unlike S3): the prefix filter of the template applied
    assert unquote_plus(call.event["Records"][0]["s3"]["object"]["key"]) == "in/data.csv"


def test_planned_faults_fail_chosen_calls_before_or_after_the_handler_ran(app_cloud: LocalCloud) -> None:
    app_cloud.inject_fault("EchoFunction", calls=(1,), message="first call fails")
    first, second = app_cloud.invoke("EchoFunction", {}), app_cloud.invoke("EchoFunction", {})
    app_cloud.inject_fault("EchoFunction", after=True, message="crashed after the work")
    third = app_cloud.invoke("EchoFunction", {})

    assert (first.payload["errorType"], first.payload["errorMessage"]) == (
        "InjectedFaultError",
        "first call fails",
    )
    assert "echo says hello" not in first.logs  # the handler never ran
    assert second.function_error is None
    assert third.payload["errorType"] == "InjectedFaultError"
    assert "echo says hello" in third.logs  # it ran, then the invocation failed
