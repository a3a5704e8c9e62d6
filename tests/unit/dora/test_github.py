"""The GitHub adapter: pagination, rate limits, errors, and its urllib transport (against the fake)."""

from __future__ import annotations

import json
import urllib.error
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from blueprints.dora.errors import RateLimitedError, SourceNotFoundError, SourceUnavailableError
from blueprints.dora.github import PER_PAGE, GitHubClient, HttpRequest, HttpResponse, urllib_transport
from localcloud.fakes.github import GitHubFake, extend
from tests.unit.dora.builders import REPO, sha

T = datetime(2024, 3, 11, 9, tzinfo=UTC)


def commit_json(n: int) -> dict[str, Any]:
    stamp = (T + timedelta(minutes=n)).isoformat()
    return {
        "sha": sha(n),
        "commit": {"author": {"date": stamp}, "committer": {"date": stamp}, "message": f"c{n}"},
    }


class Transport:
    def __init__(self, *responses: HttpResponse) -> None:
        self.responses = list(responses)
        self.requests: list[HttpRequest] = []

    def __call__(self, request: HttpRequest) -> HttpResponse:
        self.requests.append(request)
        return self.responses.pop(0)


def ok(body: Any) -> HttpResponse:
    return HttpResponse(200, {}, json.dumps(body).encode())


def client(transport: Callable[[HttpRequest], HttpResponse], token: str = "t0ken") -> GitHubClient:  # noqa: S107
    return GitHubClient("https://api.github.com/", lambda: token, transport, clock=lambda: 1_000_000.0)


def test_compare_reads_every_page_with_the_token() -> None:
    first = [commit_json(n) for n in range(PER_PAGE)]
    transport = Transport(
        ok({"status": "ahead", "total_commits": 101, "commits": first}),
        ok({"status": "ahead", "total_commits": 101, "commits": [commit_json(100)]}),
    )
    found = client(transport).compare(REPO, sha(900), sha(100))
    assert (found.status, len(found.commits), found.commits[-1].sha) == ("ahead", 101, sha(100))
    assert [request.url for request in transport.requests] == [
        f"https://api.github.com/repos/{REPO}/compare/{sha(900)}...{sha(100)}?per_page=100&page=1",
        f"https://api.github.com/repos/{REPO}/compare/{sha(900)}...{sha(100)}?per_page=100&page=2",
    ]
    assert transport.requests[0].headers["authorization"] == "Bearer t0ken"


def test_no_token_sends_no_authorization() -> None:
    transport = Transport(ok(commit_json(1)))
    assert client(transport, token="").commit(REPO, sha(1)).author_time == T + timedelta(minutes=1)
    assert "authorization" not in transport.requests[0].headers


@pytest.mark.parametrize(
    ("response", "wait"),
    [
        (HttpResponse(403, {"x-ratelimit-remaining": "0", "x-ratelimit-reset": "1000600"}, b"{}"), 600),
        (HttpResponse(429, {"retry-after": "30"}, b"{}"), 30),
        (HttpResponse(403, {"x-ratelimit-remaining": "0"}, b"{}"), 60),
    ],
)
def test_rate_limits_say_how_long_to_wait(response: HttpResponse, wait: int) -> None:
    with pytest.raises(RateLimitedError) as raised:
        client(Transport(response)).commit(REPO, sha(1))
    assert raised.value.retry_after_seconds == wait


@pytest.mark.parametrize(
    ("response", "error"),
    [
        (HttpResponse(404, {}, b"{}"), SourceNotFoundError),
        (HttpResponse(422, {}, b"{}"), SourceNotFoundError),
        (HttpResponse(401, {}, b"{}"), SourceNotFoundError),
        (HttpResponse(403, {}, b"{}"), SourceUnavailableError),
        (HttpResponse(502, {}, b"{}"), SourceUnavailableError),
        (HttpResponse(200, {}, b"<html>"), SourceUnavailableError),
    ],
)
def test_errors_are_typed(response: HttpResponse, error: type[Exception]) -> None:
    with pytest.raises(error):
        client(Transport(response)).commit(REPO, sha(1))


@pytest.mark.parametrize(
    ("repo", "revision"), [("org/app/x", sha(1)), ("org/app", "HEAD~1"), ("../etc", sha(1))]
)
def test_repository_names_and_commits_are_validated_before_any_request(repo: str, revision: str) -> None:
    transport = Transport()
    with pytest.raises(SourceNotFoundError):
        client(transport).commit(repo, revision)
    assert transport.requests == []


def test_the_base_url_must_be_http() -> None:
    with pytest.raises(ValueError, match="http"):
        GitHubClient("ftp://example.com", lambda: "")


def test_pull_request_mode_reads_the_merged_pull_and_its_first_commit() -> None:
    transport = Transport(
        ok([{"number": 3, "merged_at": None}, {"number": 7, "merged_at": "2024-03-12T10:00:00Z"}]),
        ok([commit_json(n) for n in range(PER_PAGE)]),
        ok([commit_json(-60)]),
    )
    found = client(transport).pull_request_of(REPO, sha(3))
    assert found is not None
    assert (found.number, found.first_commit_time) == (7, T - timedelta(hours=1))
    assert client(Transport(ok([]))).pull_request_of(REPO, sha(3)) is None


@pytest.fixture
def fake() -> Iterator[GitHubFake]:
    with extend() as github:
        yield github


def test_the_urllib_transport_reaches_the_fake_and_reports_http_errors(fake: GitHubFake) -> None:
    fake.add_commit(REPO, sha(1), author_date=T, message="one")
    found = GitHubClient("https://api.github.com", lambda: "", urllib_transport).commit(REPO, sha(1))
    assert (found.sha, found.author_time, found.message) == (sha(1), T, "one")
    missing = urllib_transport(
        HttpRequest("GET", f"https://api.github.com/repos/{REPO}/commits/{sha(2)}", {})
    )
    assert (missing.status, json.loads(missing.body)) == (404, {"message": "Not Found"})


def test_an_unreachable_github_is_unavailable(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*_: Any, **__: Any) -> Any:
        raise urllib.error.URLError("connection refused")

    monkeypatch.setattr("urllib.request.urlopen", refuse)
    with pytest.raises(SourceUnavailableError, match="unreachable"):
        urllib_transport(HttpRequest("GET", "https://api.github.com/rate_limit", {}))
