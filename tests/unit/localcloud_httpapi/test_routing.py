"""Route selection as HTTP APIs do it: a table of cases, and properties over generated paths."""

from __future__ import annotations

import urllib.parse

import pytest
from hypothesis import given
from hypothesis import strategies as st

from localcloud.httpapi import Route, match

ROUTES = tuple(
    Route(key, "NONE", f"arn:aws:lambda:us-east-1:123456789012:function:{index}")
    for index, key in enumerate(
        [
            "GET /pets/dog/1",
            "GET /pets/dog/{id}",
            "ANY /pets/dog/{id}",
            "ANY /pets/{proxy+}",
            "ANY /{proxy+}",
            "POST /orders",
            "GET /",
            "$default",
        ]
    )
)


@pytest.mark.parametrize(
    ("method", "path", "route_key", "parameters"),
    [
        ("GET", "/pets/dog/1", "GET /pets/dog/1", {}),  # the exact route beats {id}
        ("GET", "/pets/dog/2", "GET /pets/dog/{id}", {"id": "2"}),  # its method beats ANY
        ("DELETE", "/pets/dog/2", "ANY /pets/dog/{id}", {"id": "2"}),
        ("GET", "/pets/cat/1", "ANY /pets/{proxy+}", {"proxy": "cat/1"}),  # the longer greedy prefix
        ("GET", "/pets", "ANY /{proxy+}", {"proxy": "pets"}),  # a greedy variable needs a child
        ("GET", "/pets/dog/a%2Fb", "GET /pets/dog/{id}", {"id": "a/b"}),  # decoded after the split
        ("GET", "/pets/dog/a%20b", "GET /pets/dog/{id}", {"id": "a b"}),
        ("POST", "/orders", "POST /orders", {}),
        ("GET", "/", "GET /", {}),
        ("POST", "/", "$default", {}),  # nothing else matches
    ],
)
def test_the_most_specific_route_wins(
    method: str, path: str, route_key: str, parameters: dict[str, str]
) -> None:
    found = match(ROUTES, method, path)

    assert found is not None
    assert (found[0].key, found[1]) == (route_key, parameters)


def test_without_a_default_route_an_unmatched_request_matches_nothing() -> None:
    routes = tuple(route for route in ROUTES if route.key in ("GET /pets/dog/1", "POST /orders"))

    assert match(routes, "GET", "/orders") is None
    assert match(routes, "GET", "/pets/dog/1/more") is None
    assert match(routes, "GET", "/pets/dog/") is None


segment = st.text(alphabet="abcxyz0123-_.~ %é", min_size=1, max_size=8)


@given(st.lists(segment, min_size=1, max_size=5), st.data())
def test_a_parameterised_route_binds_the_segments_it_replaces(
    segments: list[str], data: st.DataObject
) -> None:
    replaced = data.draw(st.sets(st.integers(0, len(segments) - 1)))
    template = "/" + "/".join(f"{{p{i}}}" if i in replaced else f"s{i}" for i in range(len(segments)))
    literal = [f"s{i}" for i in range(len(segments))]
    request = [
        urllib.parse.quote(value, safe="") if i in replaced else literal[i]
        for i, value in enumerate(segments)
    ]
    routes = (Route(f"GET {template}", "NONE", None), Route("ANY /{proxy+}", "NONE", None))

    found = match(routes, "GET", "/" + "/".join(request))

    assert found is not None
    route, parameters = found
    assert route.key == f"GET {template}"  # more specific than the greedy catch-all
    assert parameters == {f"p{i}": segments[i] for i in replaced}


@given(st.lists(segment, min_size=1, max_size=5))
def test_a_greedy_route_keeps_the_decoded_rest_of_the_path(segments: list[str]) -> None:
    path = "/files/" + "/".join(urllib.parse.quote(value, safe="") for value in segments)

    found = match((Route("ANY /files/{proxy+}", "NONE", None),), "PATCH", path)

    assert found is not None
    assert found[1] == {"proxy": "/".join(segments)}
