"""GitHub REST adapter: compare (paginated), one commit, and a commit's pull request (PR mode).

Requests go through a small transport (urllib by default, injectable in tests) to the configured API
base URL, with the token from Secrets Manager when one is set. Rate limiting (403/429 with
``x-ratelimit-remaining: 0`` or ``retry-after``) is ``RateLimitedError`` carrying the wait: the caller
retries through SQS visibility, never by sleeping. Repository names and commit ids are validated
before they go into a URL.
"""

from __future__ import annotations

import json
import re
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from blueprints.dora.changes import CommitInfo, Comparison, PullRequestInfo
from blueprints.dora.errors import RateLimitedError, SourceNotFoundError, SourceUnavailableError
from blueprints.dora.events import valid_repository
from blueprints.dora.timeutil import parse_instant

REVISION = re.compile(r"^[0-9a-f]{7,64}$")
PER_PAGE = 100
MAX_PAGES = 100  # 10,000 commits between two deployments is far beyond any real change set
USER_AGENT = "blueprints-dora"


@dataclass(frozen=True)
class HttpRequest:
    method: str
    url: str
    headers: Mapping[str, str]


@dataclass(frozen=True)
class HttpResponse:
    status: int
    headers: Mapping[str, str]
    body: bytes


Transport = Callable[[HttpRequest], HttpResponse]


def urllib_transport(request: HttpRequest, timeout: float = 10.0) -> HttpResponse:
    """One HTTPS request with the standard library (no extra dependency in the layer)."""
    prepared = urllib.request.Request(request.url, headers=dict(request.headers), method=request.method)  # noqa: S310
    try:
        with urllib.request.urlopen(prepared, timeout=timeout) as response:  # noqa: S310 - https base URL
            return HttpResponse(
                response.status, {k.lower(): v for k, v in response.headers.items()}, response.read()
            )
    except urllib.error.HTTPError as exc:
        headers = {k.lower(): v for k, v in (exc.headers or {}).items()}
        return HttpResponse(exc.code, headers, exc.read() or b"")
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        raise SourceUnavailableError(f"GitHub unreachable: {type(exc).__name__}") from exc


def _commit(entry: Mapping[str, Any]) -> CommitInfo:
    commit = entry.get("commit", {})
    author = commit.get("author") or {}
    committer = commit.get("committer") or {}
    return CommitInfo(
        sha=str(entry["sha"]),
        author_time=parse_instant(author["date"]) if author.get("date") else None,
        committer_time=parse_instant(committer["date"]) if committer.get("date") else None,
        message=str(commit.get("message", "")),
    )


class GitHubClient:
    def __init__(
        self,
        base_url: str,
        token: Callable[[], str],
        transport: Transport = urllib_transport,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not base_url.startswith(("https://", "http://")):
            raise ValueError(f"GitHub API base URL must be http(s): {base_url!r}")
        self.base_url = base_url.rstrip("/")
        self._token = token
        self._transport = transport
        self._clock = clock

    def _get(self, path: str, query: Mapping[str, str | int] | None = None) -> Any:
        url = f"{self.base_url}{path}"
        if query:
            url += "?" + urllib.parse.urlencode(query)
        headers = {
            "accept": "application/vnd.github+json",
            "x-github-api-version": "2022-11-28",
            "user-agent": USER_AGENT,
        }
        token = self._token()
        if token:
            headers["authorization"] = f"Bearer {token}"
        response = self._transport(HttpRequest("GET", url, headers))
        if response.status in (403, 429) and self._rate_limited(response):
            raise RateLimitedError(
                f"GitHub rate limit on {path}", retry_after_seconds=self._retry_after(response.headers)
            )
        if response.status in (404, 422):
            raise SourceNotFoundError(f"GitHub {response.status} on {path}")
        if response.status >= 500 or response.status in (403, 429):
            raise SourceUnavailableError(f"GitHub {response.status} on {path}")
        if response.status != 200:
            raise SourceNotFoundError(f"GitHub {response.status} on {path}")
        try:
            return json.loads(response.body)
        except ValueError as exc:
            raise SourceUnavailableError(f"GitHub sent a body that is not JSON on {path}") from exc

    @staticmethod
    def _rate_limited(response: HttpResponse) -> bool:
        return response.headers.get("x-ratelimit-remaining") == "0" or "retry-after" in response.headers

    def _retry_after(self, headers: Mapping[str, str]) -> int:
        if headers.get("retry-after", "").isdigit():
            return max(1, int(headers["retry-after"]))
        reset = headers.get("x-ratelimit-reset", "")
        if reset.isdigit():
            return max(1, int(reset) - int(self._clock()))
        return 60

    @staticmethod
    def _path(repo: str, *revisions: str) -> str:
        if not valid_repository(repo):
            raise SourceNotFoundError(f"not an owner/name repository: {repo!r}")
        for revision in revisions:
            if not REVISION.match(revision):
                raise SourceNotFoundError(f"not a commit id: {revision!r}")
        owner, name = repo.split("/")
        return f"/repos/{urllib.parse.quote(owner)}/{urllib.parse.quote(name)}"

    def compare(self, repo: str, base: str, head: str) -> Comparison:
        """``base...head``: status and every commit ahead, oldest first, over as many pages as needed."""
        path = f"{self._path(repo, base, head)}/compare/{base}...{head}"
        commits: list[CommitInfo] = []
        status = "identical"
        for page in range(1, MAX_PAGES + 1):
            body = self._get(path, {"per_page": PER_PAGE, "page": page})
            status = str(body.get("status", status))
            batch = [_commit(entry) for entry in body.get("commits", [])]
            commits.extend(batch)
            total = int(body.get("total_commits", len(commits)))
            if len(batch) < PER_PAGE or len(commits) >= total:
                break
        return Comparison(status, tuple(commits))

    def commit(self, repo: str, sha: str) -> CommitInfo:
        return _commit(self._get(f"{self._path(repo, sha)}/commits/{sha}"))

    def pull_request_of(self, repo: str, sha: str) -> PullRequestInfo | None:
        """The merged pull request that brought ``sha``, with the time of its first commit."""
        base = self._path(repo, sha)
        pulls = self._get(f"{base}/commits/{sha}/pulls")
        merged = [pull for pull in pulls if pull.get("merged_at")] or list(pulls)
        if not merged:
            return None
        number = int(merged[0]["number"])
        times: list[datetime] = []
        for page in range(1, MAX_PAGES + 1):
            batch = self._get(f"{base}/pulls/{number}/commits", {"per_page": PER_PAGE, "page": page})
            times.extend(t for t in (_commit(entry).author_time for entry in batch) if t is not None)
            if len(batch) < PER_PAGE:
                break
        return PullRequestInfo(number, min(times) if times else None)
