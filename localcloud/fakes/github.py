"""A GitHub REST API fake: repositories, commits and pull requests seeded by tests and demos.

Why: the DORA blueprint asks GitHub which commits a deployment brought (compare), and in PR mode which
pull request brought a commit. GitHub is not an AWS service, so this is not a moto fake: while the local
cloud runs (``extend()``, entered by ``install_fakes``), HTTPS requests that the standard library's
``urllib`` sends to the fake's base URLs (``https://api.github.com`` unless changed with ``serve_at``)
are answered here, in process, and every other URL goes out as usual. Code under test does not know:
it calls ``urllib.request.urlopen`` as it would against GitHub.

Semantics kept from GitHub's REST API (v2022-11-28):

- ``GET /repos/{owner}/{repo}/compare/{base}...{head}``: ``status`` (``identical``, ``ahead``,
  ``behind``, ``diverged``), ``ahead_by``, ``behind_by``, ``total_commits`` and the commits reachable from
  ``head`` but not from ``base``, oldest first; at most 250 without pagination, else ``per_page`` (≤ 100)
  and ``page``. Unknown repositories or commits are 404.
- ``GET /repos/{owner}/{repo}/commits/{sha}``; ``GET .../commits/{sha}/pulls`` (the pull requests that
  contain the commit); ``GET .../pulls/{number}/commits`` (paginated).
- Commit objects carry ``sha``, ``commit.author.date``, ``commit.committer.date`` (ISO 8601, with the
  offset given when seeded), ``commit.message`` and ``parents``.
- ``limit_next(n, reset_in)`` answers the next ``n`` requests 403 with ``x-ratelimit-remaining: 0`` and
  ``x-ratelimit-reset``, as GitHub does when the rate limit is exhausted.

State: ``github()`` is the fake of the running local cloud (fresh for each one); seed it with
``add_commit``/``add_pull``, and build push webhook payloads from the history with ``push_payload``.
"""

from __future__ import annotations

import http.client
import io
import json
import re
import threading
import time
import urllib.parse
import urllib.request
import urllib.response
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from unittest import mock

from localcloud import LocalCloudError

__all__ = ["DEFAULT_BASE_URL", "Call", "GitHubFake", "extend", "github"]

DEFAULT_BASE_URL = "https://api.github.com"
UNPAGINATED_COMPARE = 250
MAX_PER_PAGE = 100
_COMPARE = re.compile(r"^/repos/(?P<repo>[^/]+/[^/]+)/compare/(?P<base>[^.]+)\.\.\.(?P<head>[^/]+)$")
_COMMIT = re.compile(r"^/repos/(?P<repo>[^/]+/[^/]+)/commits/(?P<sha>[^/]+)$")
_COMMIT_PULLS = re.compile(r"^/repos/(?P<repo>[^/]+/[^/]+)/commits/(?P<sha>[^/]+)/pulls$")
_PULL_COMMITS = re.compile(r"^/repos/(?P<repo>[^/]+/[^/]+)/pulls/(?P<number>\d+)/commits$")


@dataclass(frozen=True)
class FakeCommit:
    sha: str
    parents: tuple[str, ...]
    author_date: datetime
    committer_date: datetime
    message: str

    def to_json(self, repo: str) -> dict[str, Any]:
        return {
            "sha": self.sha,
            "commit": {
                "author": {
                    "name": "Dana Ops",
                    "email": "dana@example.com",
                    "date": self.author_date.isoformat(),
                },
                "committer": {
                    "name": "GitHub",
                    "email": "noreply@github.com",
                    "date": self.committer_date.isoformat(),
                },
                "message": self.message,
            },
            "url": f"{DEFAULT_BASE_URL}/repos/{repo}/commits/{self.sha}",
            "html_url": f"https://github.com/{repo}/commit/{self.sha}",
            "parents": [{"sha": parent} for parent in self.parents],
        }


@dataclass
class FakePull:
    number: int
    commits: list[str]
    merge_commit: str | None
    merged_at: datetime | None


@dataclass
class Repository:
    name: str
    commits: dict[str, FakeCommit] = field(default_factory=dict)  # insertion order = history order
    pulls: dict[int, FakePull] = field(default_factory=dict)

    def ancestors(self, sha: str) -> set[str]:
        seen: set[str] = set()
        pending = [sha]
        while pending:
            current = pending.pop()
            if current in seen or current not in self.commits:
                continue
            seen.add(current)
            pending.extend(self.commits[current].parents)
        return seen

    def ordered(self, shas: set[str]) -> list[FakeCommit]:
        return [commit for sha, commit in self.commits.items() if sha in shas]


@dataclass(frozen=True)
class Call:
    method: str
    path: str
    query: dict[str, str]
    authorization: str | None


class _Reply:
    def __init__(self, status: int, body: Any, headers: Mapping[str, str] | None = None) -> None:
        self.status = status
        self.body = json.dumps(body).encode()
        self.headers = {"content-type": "application/json; charset=utf-8", **(headers or {})}


class GitHubFake:
    def __init__(self, base_urls: Sequence[str] = (DEFAULT_BASE_URL,)) -> None:
        self.base_urls = [url.rstrip("/") for url in base_urls]
        self.repositories: dict[str, Repository] = {}
        self.calls: list[Call] = []
        self._limited = 0
        self._reset_in = 0
        self._lock = threading.Lock()

    # -- seeding ------------------------------------------------------------------------------------

    def serve_at(self, base_url: str) -> None:
        """Also answer requests to another base URL (a GitHub Enterprise Server API, say)."""
        self.base_urls.append(base_url.rstrip("/"))

    def repository(self, name: str) -> Repository:
        return self.repositories.setdefault(name, Repository(name))

    def add_commit(
        self,
        repo: str,
        sha: str,
        *,
        parents: Sequence[str] = (),
        author_date: datetime,
        committer_date: datetime | None = None,
        message: str = "",
    ) -> FakeCommit:
        """Add a commit (its parents must be known, unless it is a root)."""
        repository = self.repository(repo)
        unknown = [parent for parent in parents if parent not in repository.commits]
        if unknown:
            raise LocalCloudError(f"{repo}: unknown parents {unknown} of {sha}")
        if author_date.tzinfo is None or (committer_date and committer_date.tzinfo is None):
            raise LocalCloudError("commit dates need an offset")
        commit = FakeCommit(sha, tuple(parents), author_date, committer_date or author_date, message)
        repository.commits[sha] = commit
        return commit

    def add_pull(
        self,
        repo: str,
        number: int,
        commits: Sequence[str],
        *,
        merge_commit: str | None,
        merged_at: datetime | None,
    ) -> FakePull:
        pull = FakePull(number, list(commits), merge_commit, merged_at)
        self.repository(repo).pulls[number] = pull
        return pull

    def push_payload(
        self, repo: str, before: str, after: str, *, ref: str = "refs/heads/main"
    ) -> dict[str, Any]:
        """The ``push`` webhook payload GitHub sends for moving ``ref`` from ``before`` to ``after``."""
        repository = self.repositories[repo]
        new = repository.ordered(repository.ancestors(after) - repository.ancestors(before))
        owner, name = repo.split("/")
        commits = [
            {
                "id": commit.sha,
                "distinct": True,
                "message": commit.message,
                "timestamp": commit.author_date.isoformat(),
                "url": f"https://github.com/{repo}/commit/{commit.sha}",
                "author": {"name": "Dana Ops", "email": "dana@example.com"},
            }
            for commit in new
        ]
        return {
            "ref": ref,
            "before": before,
            "after": after,
            "created": False,
            "deleted": False,
            "forced": False,
            "compare": f"https://github.com/{repo}/compare/{before[:12]}...{after[:12]}",
            "repository": {
                "name": name,
                "full_name": repo,
                "owner": {"login": owner},
                "default_branch": "main",
            },
            "pusher": {"name": "dana", "email": "dana@example.com"},
            "commits": commits,
            "head_commit": commits[-1] if commits else None,
        }

    def limit_next(self, requests: int, reset_in: int = 60) -> None:
        """Answer the next ``requests`` requests as rate-limited, resetting ``reset_in`` seconds later."""
        self._limited = requests
        self._reset_in = reset_in

    # -- serving ---------------------------------------------------------------------------------------

    def handles(self, url: str) -> bool:
        return any(url == base or url.startswith((base + "/", base + "?")) for base in self.base_urls)

    def request(self, method: str, url: str, headers: Mapping[str, str]) -> _Reply:
        base = next(base for base in self.base_urls if url.startswith(base))
        parsed = urllib.parse.urlsplit(url[len(base) :] or "/")
        query = dict(urllib.parse.parse_qsl(parsed.query))
        lowered = {key.lower(): value for key, value in headers.items()}
        with self._lock:
            self.calls.append(Call(method, parsed.path, query, lowered.get("authorization")))
            if self._limited > 0:
                self._limited -= 1
                reset = int(time.time()) + self._reset_in
                return _Reply(
                    403,
                    {
                        "message": "API rate limit exceeded",
                        "documentation_url": "https://docs.github.com/rest",
                    },
                    {
                        "x-ratelimit-remaining": "0",
                        "x-ratelimit-reset": str(reset),
                        "x-ratelimit-limit": "5000",
                    },
                )
        if method != "GET":
            return _Reply(404, {"message": "Not Found"})
        return self._route(urllib.parse.unquote(parsed.path), query)

    def _route(self, path: str, query: Mapping[str, str]) -> _Reply:
        if matched := _COMPARE.match(path):
            return self._compare(matched["repo"], matched["base"], matched["head"], query)
        if matched := _COMMIT_PULLS.match(path):
            return self._commit_pulls(matched["repo"], matched["sha"])
        if matched := _COMMIT.match(path):
            repository = self.repositories.get(matched["repo"])
            commit = repository.commits.get(matched["sha"]) if repository else None
            if repository is None or commit is None:
                return _Reply(404, {"message": "Not Found"})
            return _Reply(200, commit.to_json(repository.name))
        if matched := _PULL_COMMITS.match(path):
            return self._pull_commits(matched["repo"], int(matched["number"]), query)
        return _Reply(404, {"message": "Not Found"})

    @staticmethod
    def _page(items: list[Any], query: Mapping[str, str], default: int) -> list[Any] | None:
        try:
            per_page = min(
                int(query.get("per_page", default)), MAX_PER_PAGE if "per_page" in query else default
            )
            page = int(query.get("page", 1))
        except ValueError:
            return None
        start = (max(page, 1) - 1) * per_page
        return items[start : start + per_page]

    def _compare(self, repo: str, base: str, head: str, query: Mapping[str, str]) -> _Reply:
        repository = self.repositories.get(repo)
        if repository is None or base not in repository.commits or head not in repository.commits:
            return _Reply(404, {"message": "Not Found"})
        head_side, base_side = repository.ancestors(head), repository.ancestors(base)
        ahead = repository.ordered(head_side - base_side)
        behind = base_side - head_side
        status = (
            "identical" if base == head else "ahead" if not behind else "behind" if not ahead else "diverged"
        )
        page = self._page([commit.to_json(repo) for commit in ahead], query, UNPAGINATED_COMPARE)
        if page is None:
            return _Reply(422, {"message": "Validation Failed"})
        return _Reply(
            200,
            {
                "status": status,
                "ahead_by": len(ahead),
                "behind_by": len(behind),
                "total_commits": len(ahead),
                "base_commit": repository.commits[base].to_json(repo),
                "commits": page,
                "files": [],
            },
        )

    def _commit_pulls(self, repo: str, sha: str) -> _Reply:
        repository = self.repositories.get(repo)
        if repository is None or sha not in repository.commits:
            return _Reply(404, {"message": "Not Found"})
        pulls = [
            {
                "number": pull.number,
                "state": "closed" if pull.merged_at else "open",
                "merged_at": pull.merged_at.astimezone(UTC).isoformat().replace("+00:00", "Z")
                if pull.merged_at
                else None,
                "merge_commit_sha": pull.merge_commit,
            }
            for pull in repository.pulls.values()
            if sha in pull.commits or sha == pull.merge_commit
        ]
        return _Reply(200, pulls)

    def _pull_commits(self, repo: str, number: int, query: Mapping[str, str]) -> _Reply:
        repository = self.repositories.get(repo)
        pull = repository.pulls.get(number) if repository else None
        if repository is None or pull is None:
            return _Reply(404, {"message": "Not Found"})
        commits = [repository.commits[sha].to_json(repo) for sha in pull.commits if sha in repository.commits]
        page = self._page(commits, query, 30)
        if page is None:
            return _Reply(422, {"message": "Validation Failed"})
        return _Reply(200, page)


class _Handler(urllib.request.BaseHandler):
    """Answers ``urllib`` requests to the fake's base URLs; other URLs go to the next handler."""

    handler_order = 100  # before the standard HTTP(S) handlers

    def __init__(self, fake: GitHubFake) -> None:
        self.fake = fake

    def _open(self, request: urllib.request.Request) -> Any:
        url = request.full_url
        if not self.fake.handles(url):
            return None
        reply = self.fake.request(request.get_method(), url, dict(request.header_items()))
        message = http.client.HTTPMessage()
        for name, value in reply.headers.items():
            message[name] = value
        response = urllib.response.addinfourl(io.BytesIO(reply.body), message, url, reply.status)
        response.msg = http.client.responses.get(reply.status, "")  # type: ignore[attr-defined]
        return response

    def https_open(self, request: urllib.request.Request) -> Any:
        return self._open(request)

    def http_open(self, request: urllib.request.Request) -> Any:
        return self._open(request)


_current: GitHubFake | None = None
_current_lock = threading.Lock()


def github() -> GitHubFake:
    """The GitHub fake of the running local cloud."""
    if _current is None:
        raise LocalCloudError("the GitHub fake is not installed (start a LocalCloud, or use install_fakes())")
    return _current


@contextmanager
def extend() -> Iterator[GitHubFake]:
    """Answer ``urllib`` requests to GitHub's API from a fresh fake for the block."""
    global _current
    fake = GitHubFake()
    opener = urllib.request.build_opener(_Handler(fake))
    with _current_lock:
        previous, _current = _current, fake
    try:
        with mock.patch("urllib.request._opener", opener):
            yield fake
    finally:
        with _current_lock:
            _current = previous
