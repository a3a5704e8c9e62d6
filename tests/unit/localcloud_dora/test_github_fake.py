"""The local cloud's GitHub fake: what GitHub's REST API answers, served to urllib without a socket."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from localcloud import LocalCloudError
from localcloud.fakes.github import GitHubFake, extend, github

REPO = "example-org/svc-a"
T = datetime(2024, 3, 11, 9, tzinfo=UTC)


def sha(n: int) -> str:
    return f"{0xFACE000 + n:040x}"


@pytest.fixture
def fake() -> Iterator[GitHubFake]:
    with extend() as installed:
        # a linear history 0..4, and a side branch 5 off 2
        for n in range(5):
            installed.add_commit(
                REPO,
                sha(n),
                parents=[sha(n - 1)] if n else [],
                author_date=T + timedelta(hours=n),
                message=f"c{n}",
            )
        installed.add_commit(
            REPO,
            sha(5),
            parents=[sha(2)],
            author_date=T + timedelta(hours=5),
            committer_date=T + timedelta(hours=6),
        )
        yield installed


def get(url: str, **headers: str) -> tuple[int, dict[str, str], Any]:
    request = urllib.request.Request(url, headers=headers)  # noqa: S310 - https only, served by the fake
    try:
        with urllib.request.urlopen(request) as response:  # noqa: S310 - served by the fake
            return response.status, dict(response.headers), json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), json.loads(exc.read())


def compare(base: int, head: int, query: str = "") -> tuple[int, Any]:
    status, _, body = get(f"https://api.github.com/repos/{REPO}/compare/{sha(base)}...{sha(head)}{query}")
    return status, body


def test_compare_lists_the_commits_ahead_oldest_first(fake: GitHubFake) -> None:
    status, body = compare(1, 4)
    assert status == 200
    assert (body["status"], body["ahead_by"], body["behind_by"], body["total_commits"]) == ("ahead", 3, 0, 3)
    assert [c["sha"] for c in body["commits"]] == [sha(2), sha(3), sha(4)]
    assert body["commits"][0]["commit"]["author"]["date"] == "2024-03-11T11:00:00+00:00"


@pytest.mark.parametrize(
    ("base", "head", "status"), [(4, 1, "behind"), (3, 3, "identical"), (4, 5, "diverged")]
)
def test_compare_status(fake: GitHubFake, base: int, head: int, status: str) -> None:
    assert compare(base, head)[1]["status"] == status


def test_compare_pages_with_per_page_and_page(fake: GitHubFake) -> None:
    pages = [compare(0, 4, f"?per_page=2&page={page}")[1]["commits"] for page in (1, 2, 3)]
    assert [[c["sha"] for c in page] for page in pages] == [[sha(1), sha(2)], [sha(3), sha(4)], []]
    assert compare(0, 4, "?per_page=x")[0] == 422


def test_unknown_repositories_commits_and_paths_are_not_found(fake: GitHubFake) -> None:
    assert get(f"https://api.github.com/repos/other/repo/commits/{sha(1)}")[0] == 404
    assert compare(1, 9)[0] == 404
    assert get(f"https://api.github.com/repos/{REPO}/pulls/9/commits")[0] == 404
    assert get(f"https://api.github.com/repos/{REPO}/commits/{sha(9)}/pulls")[0] == 404
    assert get("https://api.github.com/rate_limit")[0] == 404


def test_pull_requests_of_a_commit_and_their_commits(fake: GitHubFake) -> None:
    fake.add_pull(REPO, 12, [sha(3), sha(4)], merge_commit=sha(4), merged_at=T + timedelta(days=1))
    status, _, pulls = get(f"https://api.github.com/repos/{REPO}/commits/{sha(3)}/pulls")
    assert (status, pulls) == (
        200,
        [{"number": 12, "state": "closed", "merged_at": "2024-03-12T09:00:00Z", "merge_commit_sha": sha(4)}],
    )
    status, _, commits = get(f"https://api.github.com/repos/{REPO}/pulls/12/commits?per_page=1&page=2")
    assert (status, [c["sha"] for c in commits]) == (200, [sha(4)])
    assert get(f"https://api.github.com/repos/{REPO}/pulls/12/commits?page=x")[0] == 422


def test_a_rate_limit_answers_403_until_spent_and_requests_are_recorded(fake: GitHubFake) -> None:
    fake.limit_next(1, reset_in=120)
    status, headers, body = get(
        f"https://api.github.com/repos/{REPO}/commits/{sha(1)}", Authorization="Bearer x"
    )
    assert (status, headers["x-ratelimit-remaining"], body["message"]) == (
        403,
        "0",
        "API rate limit exceeded",
    )
    assert get(f"https://api.github.com/repos/{REPO}/commits/{sha(1)}")[0] == 200
    assert [(call.path, call.authorization) for call in fake.calls] == [
        (f"/repos/{REPO}/commits/{sha(1)}", "Bearer x"),
        (f"/repos/{REPO}/commits/{sha(1)}", None),
    ]


def test_push_payloads_are_built_from_the_history(fake: GitHubFake) -> None:
    payload = fake.push_payload(REPO, sha(1), sha(3))
    assert (payload["before"], payload["after"], payload["ref"]) == (sha(1), sha(3), "refs/heads/main")
    assert [(c["id"], c["timestamp"]) for c in payload["commits"]] == [
        (sha(2), "2024-03-11T11:00:00+00:00"),
        (sha(3), "2024-03-11T12:00:00+00:00"),
    ]
    assert payload["head_commit"]["id"] == sha(3)


def test_other_urls_methods_and_base_urls(fake: GitHubFake) -> None:
    assert fake.handles("https://api.github.com") is True
    assert fake.handles("https://api.github.com.evil.example/x") is False
    fake.serve_at("https://github.example.com/api/v3/")
    assert get(f"https://github.example.com/api/v3/repos/{REPO}/commits/{sha(0)}")[0] == 200
    post = urllib.request.Request(
        f"https://api.github.com/repos/{REPO}/commits/{sha(0)}", data=b"{}", method="POST"
    )
    with pytest.raises(urllib.error.HTTPError) as raised:
        urllib.request.urlopen(post)  # noqa: S310 - served by the fake
    assert raised.value.code == 404


def test_seeding_is_validated_and_the_fake_exists_only_while_installed() -> None:
    with extend() as installed:
        assert github() is installed
        with pytest.raises(LocalCloudError, match="unknown parents"):
            installed.add_commit(REPO, sha(1), parents=[sha(0)], author_date=T)
        with pytest.raises(LocalCloudError, match="offset"):
            installed.add_commit(REPO, sha(0), author_date=datetime(2024, 3, 11))
        installed.add_commit(REPO, sha(0), author_date=T.astimezone(timezone(timedelta(hours=2))))
    with pytest.raises(LocalCloudError, match="not installed"):
        github()
