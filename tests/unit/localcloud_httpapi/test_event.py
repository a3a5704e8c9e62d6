"""Payload format 2.0: the event HTTP APIs send a function, and how they map its result to a response."""

from __future__ import annotations

import base64
import datetime as dt
import urllib.parse
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from localcloud.httpapi_router import IncomingRequest, MalformedResponseError, build_event, map_response

NOW = dt.datetime(2024, 3, 12, 19, 3, 58, 390000, tzinfo=dt.UTC)


def _event(request: IncomingRequest, **options: Any) -> dict[str, Any]:
    return build_event(
        "abc123",
        "$default",
        {},
        "POST /items/{id}",
        {"id": "7"},
        request,
        request_id="rid=",
        now=NOW,
        **options,
    )


def test_the_event_has_the_shape_and_values_of_format_2_0() -> None:
    request = IncomingRequest(
        "POST",
        "/items/7",
        "a=1&a=2&b=x%20y",
        [
            ("Host", "127.0.0.1:3000"),
            ("User-Agent", "curl/8"),
            ("Content-Type", "application/json"),
            ("Cookie", "c1=v1; c2=v2"),
            ("X-Multi", "one"),
            ("x-multi", "two"),
        ],
        b'{"k": 1}',
    )

    event = _event(request, iam={"accessKey": "testing"})

    assert event == {
        "version": "2.0",
        "routeKey": "POST /items/{id}",
        "rawPath": "/items/7",
        "rawQueryString": "a=1&a=2&b=x%20y",
        "cookies": ["c1=v1", "c2=v2"],
        "headers": {
            "host": "127.0.0.1:3000",
            "user-agent": "curl/8",
            "content-type": "application/json",
            "x-multi": "one,two",
            "x-forwarded-for": "127.0.0.1",
            "x-forwarded-port": "3000",
            "x-forwarded-proto": "http",
            "x-amzn-trace-id": event["headers"]["x-amzn-trace-id"],
        },
        "queryStringParameters": {"a": "1,2", "b": "x y"},
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "abc123",
            "authorizer": {"iam": {"accessKey": "testing"}},
            "domainName": "abc123.execute-api.us-east-1.amazonaws.com",
            "domainPrefix": "abc123",
            "http": {
                "method": "POST",
                "path": "/items/7",
                "protocol": "HTTP/1.1",
                "sourceIp": "127.0.0.1",
                "userAgent": "curl/8",
            },
            "requestId": "rid=",
            "routeKey": "POST /items/{id}",
            "stage": "$default",
            "time": "12/Mar/2024:19:03:58 +0000",
            "timeEpoch": 1710270238390,
        },
        "pathParameters": {"id": "7"},
        "body": '{"k": 1}',
        "isBase64Encoded": False,
    }
    assert event["headers"]["x-amzn-trace-id"].startswith(
        "Root=1-65f0a71e-"
    )  # 1-{epoch seconds in hex}-{24 hex}


def test_absent_parts_are_left_out_as_api_gateway_does() -> None:
    event = build_event("abc", "$default", {}, "$default", {}, IncomingRequest("GET", "/", "", [], b""))

    assert {"cookies", "queryStringParameters", "pathParameters", "stageVariables", "body"}.isdisjoint(event)
    assert "authorizer" not in event["requestContext"]
    assert event["isBase64Encoded"] is False


@pytest.mark.parametrize(
    ("content_type", "body", "encoded"),
    [
        ("application/json; charset=utf-8", b'{"a": 1}', False),
        ("text/csv", "é,1".encode(), False),
        ("application/vnd.api+json", b"{}", False),
        ("application/x-www-form-urlencoded", b"a=1", True),  # HTTP APIs base64-encode forms
        ("application/octet-stream", b"\x00\xff", True),
        ("text/plain", b"\xff\xfe", True),  # not UTF-8: sent as binary
        ("", b"raw", True),
    ],
)
def test_text_bodies_pass_as_text_and_others_base64_encoded(
    content_type: str, body: bytes, encoded: bool
) -> None:
    headers = [("content-type", content_type)] if content_type else []

    event = _event(IncomingRequest("POST", "/items/7", "", headers, body))

    assert event["isBase64Encoded"] is encoded
    assert (base64.b64decode(event["body"]) if encoded else event["body"].encode()) == body


pairs = st.lists(
    st.tuples(st.text("abcé &=+", min_size=1, max_size=4), st.text("xyz é&=+,", max_size=4)), max_size=6
)


@given(pairs)
def test_query_strings_are_decoded_and_repeated_names_comma_joined(query: list[tuple[str, str]]) -> None:
    raw = urllib.parse.urlencode(query)
    expected: dict[str, list[str]] = {}
    for name, value in query:
        expected.setdefault(name, []).append(value)

    event = _event(IncomingRequest("GET", "/items/7", raw, [], b""))

    assert event["rawQueryString"] == raw
    assert event.get("queryStringParameters", {}) == {
        name: ",".join(values) for name, values in expected.items()
    }


@given(
    st.lists(
        st.tuples(st.sampled_from(["X-A", "x-a", "X-B", "Accept"]), st.text("vw1 ", max_size=3)), max_size=5
    )
)
def test_header_names_are_lower_cased_and_repeats_comma_joined(headers: list[tuple[str, str]]) -> None:
    event = _event(IncomingRequest("GET", "/items/7", "", headers, b""))

    for name in {name.lower() for name, _ in headers}:
        assert event["headers"][name] == ",".join(value for key, value in headers if key.lower() == name)


@pytest.mark.parametrize(
    ("result", "status", "headers", "body"),
    [
        ({"hello": "world"}, 200, [("content-type", "application/json")], b'{"hello": "world"}'),
        ("Hello from Lambda!", 200, [("content-type", "application/json")], b"Hello from Lambda!"),
        ([1, 2], 200, [("content-type", "application/json")], b"[1, 2]"),
        ({"statusCode": 204}, 204, [("content-type", "text/plain; charset=utf-8")], b""),
        (
            {
                "statusCode": "201",
                "headers": {"Location": "/x", "X-On": True},
                "cookies": ["a=1"],
                "body": "ok",
            },
            201,
            [
                ("location", "/x"),
                ("x-on", "true"),
                ("set-cookie", "a=1"),
                ("content-type", "text/plain; charset=utf-8"),
            ],
            b"ok",
        ),
        (
            {
                "statusCode": 200,
                "headers": {"content-type": "image/png"},
                "body": "AP8=",
                "isBase64Encoded": True,
            },
            200,
            [("content-type", "image/png")],
            b"\x00\xff",
        ),
    ],
)
def test_function_results_map_to_responses(
    result: Any, status: int, headers: list[tuple[str, str]], body: bytes
) -> None:
    assert map_response(result) == (status, headers, body)


@pytest.mark.parametrize(
    "result",
    [
        {"statusCode": "teapot"},
        {"statusCode": 99},
        {"statusCode": 200, "body": "not base64!", "isBase64Encoded": True},
        {"statusCode": 200, "headers": ["not", "a", "map"]},
    ],
)
def test_malformed_responses_are_refused(result: Any) -> None:
    with pytest.raises(MalformedResponseError):
        map_response(result)
