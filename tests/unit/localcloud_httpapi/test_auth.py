"""IAM authorization of HTTP API routes: SigV4 for execute-api, checked as API Gateway checks it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from moto import mock_aws

from localcloud.httpapi_router import AuthFailure, Verifier, sign

URL = "http://127.0.0.1:3000/abc123/items/7?b=2&a=1"
PATH, QUERY = "/abc123/items/7", "b=2&a=1"


@pytest.fixture
def aws() -> Iterator[None]:
    with mock_aws():
        yield


def _verify(headers: dict[str, str], *, method: str = "PUT", body: bytes = b"{}", **options: Any) -> Any:
    received = {"host": "127.0.0.1:3000", **headers}
    return Verifier(**options).verify(method, PATH, QUERY, received.items(), body)


def _failure(result: Any) -> tuple[str, str]:
    assert isinstance(result, AuthFailure)
    return result.error_type, result.message


@pytest.mark.usefixtures("aws")
def test_a_request_signed_with_the_dummy_credentials_gives_the_callers_identity() -> None:
    headers = sign("PUT", URL, {"content-type": "application/json"}, b"{}")

    identity = _verify(headers)

    assert identity == {
        "accessKey": "testing",
        "accountId": "123456789012",
        "callerId": "AKIAIOSFODNN7EXAMPLE",
        "cognitoIdentity": None,
        "principalOrgId": None,
        "userArn": "arn:aws:sts::123456789012:user/moto",
        "userId": "AKIAIOSFODNN7EXAMPLE",
    }


@pytest.mark.usefixtures("aws")
def test_access_keys_of_iam_users_and_sts_sessions_are_known_and_name_their_principal() -> None:
    import boto3

    iam = boto3.client("iam", region_name="us-east-1")
    user = iam.create_user(UserName="ci")["User"]
    key = iam.create_access_key(UserName="ci")["AccessKey"]
    role = iam.create_role(RoleName="caller", AssumeRolePolicyDocument="{}")["Role"]
    session = boto3.client("sts", region_name="us-east-1").assume_role(
        RoleArn=role["Arn"], RoleSessionName="tests"
    )

    as_user = _verify(
        sign("PUT", URL, {}, b"{}", access_key=key["AccessKeyId"], secret_key=key["SecretAccessKey"])
    )
    credentials = session["Credentials"]
    as_role = _verify(
        sign(
            "PUT",
            URL,
            {},
            b"{}",
            access_key=credentials["AccessKeyId"],
            secret_key=credentials["SecretAccessKey"],
            token=credentials["SessionToken"],
        )
    )

    assert (as_user["userArn"], as_user["userId"]) == (user["Arn"], user["UserId"])
    assert as_role["userArn"] == session["AssumedRoleUser"]["Arn"]


@pytest.mark.usefixtures("aws")
@pytest.mark.parametrize(
    ("change", "error_type", "message"),
    [
        ({"drop": "authorization"}, "ForbiddenException", "Forbidden"),
        ({"authorization": "Bearer abc"}, "IncompleteSignatureException", "requires 'Credential' parameter"),
        ({"drop": "x-amz-date"}, "IncompleteSignatureException", "either a 'X-Amz-Date' or a 'Date' header"),
        ({"secret_key": "wrong"}, "InvalidSignatureException", "does not match the signature you provided"),
        (
            {"access_key": "AKIAUNKNOWN"},
            "UnrecognizedClientException",
            "security token included in the request",
        ),
        ({"region": "eu-west-1"}, "InvalidSignatureException", "scoped to a valid region"),
        ({"body": b"{tampered}"}, "InvalidSignatureException", "does not match"),
        ({"method": "DELETE"}, "InvalidSignatureException", "does not match"),
        ({"host": "other:3000"}, "InvalidSignatureException", "does not match"),
    ],
)
def test_bad_or_missing_signatures_are_refused_with_api_gateways_messages(
    change: dict[str, Any], error_type: str, message: str
) -> None:
    signing = {key: change[key] for key in ("secret_key", "access_key", "region") if key in change}
    headers = {name.lower(): value for name, value in sign("PUT", URL, {}, b"{}", **signing).items()}
    headers.pop(change.get("drop", "-"), None)
    headers.update({key: change[key] for key in ("authorization", "host") if key in change})

    result = _verify(headers, method=change.get("method", "PUT"), body=change.get("body", b"{}"))

    found_type, found_message = _failure(result)
    assert found_type == error_type
    assert message in found_message


def test_a_signature_for_another_service_is_refused() -> None:
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    request = AWSRequest(method="PUT", url=URL, data=b"{}")
    SigV4Auth(Credentials("testing", "testing"), "lambda", "us-east-1").add_auth(request)

    assert _failure(_verify(dict(request.headers.items()))) == (
        "InvalidSignatureException",
        "Credential should be scoped to correct service: 'execute-api'.",
    )


@pytest.mark.usefixtures("aws")
@pytest.mark.parametrize(("shift", "words"), [(6, "Signature expired"), (-6, "Signature not yet current")])
def test_signatures_more_than_five_minutes_off_are_refused(shift: int, words: str) -> None:
    headers = sign("PUT", URL, {}, b"{}")
    later = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=shift)

    error_type, message = _failure(_verify(headers, now=lambda: later))

    assert error_type == "InvalidSignatureException"
    assert message.startswith(words)
    assert _verify(headers, now=lambda: later - dt.timedelta(minutes=shift)).get("accessKey") == "testing"
