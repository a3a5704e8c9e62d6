"""DORA metrics configured otherwise: pull-request lead time, a Los Angeles report day, an allow-list of
repositories (spec §13 cases 3 and 12 in PR mode, case 5's other time zone, case 16). Its own local cloud,
deployed with those root parameters."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from demos.dora import DoraWorld, prepare, sha_of
from localcloud.cloud import LocalCloud
from tests.support.paths import ROOT_TEMPLATE

HOUR = 3600.0
REPOSITORIES = ("example-org/svc-pr", "example-org/svc-pr-squash", "example-org/svc-la", "example-org/app1")


@pytest.fixture(scope="module")
def world() -> Iterator[DoraWorld]:
    with LocalCloud(ROOT_TEMPLATE, event_sources=True) as cloud:
        cloud.parameter_overrides.update(prepare(cloud))
        cloud.parameter_overrides.update(
            {
                "DoraLeadTimeMode": "pr",
                "DoraReportTimeZone": "America/Los_Angeles",
                "DoraRepositories": ",".join(REPOSITORIES),
            }
        )
        cloud.deploy()
        yield DoraWorld.create(cloud)


def at(day: date, clock: str) -> datetime:
    hours, minutes = (int(part) for part in clock.split(":"))
    return datetime(day.year, day.month, day.day, hours, minutes, tzinfo=UTC)


def service_with_base(world: DoraWorld, service: str, repo: str, day: date) -> str:
    world.pipeline(service)
    base = world.commit(repo, "base", at(day, "06:00") - timedelta(days=2))
    world.push(repo)
    world.deploy(service, f"{service}-base", base, at(day, "06:00") - timedelta(days=1), repo=repo)
    return base


def utc_day(world: DoraWorld, service: str, day: date) -> dict[str, Any]:
    """Metrics of a UTC day: this stack reports Los Angeles days, so ask for the LA days it spans."""
    return world.metrics(service, day - timedelta(days=1), day)


def test_3_pr_mode_measures_a_pull_request_from_its_first_commit(world: DoraWorld) -> None:
    # Given a PR with commits at 09:00, 11:00 and 13:00, merged at 13:30 with a merge commit, deployed 14:00
    day = date(2024, 5, 3)
    repo = "example-org/svc-pr"
    base = service_with_base(world, "svc-pr", repo, day)
    commits = []
    parent = base
    for label, clock in (("c1", "09:00"), ("c2", "11:00"), ("c3", "13:00")):
        commits.append(sha_of(f"{repo}/{label}"))
        world.github.add_commit(repo, commits[-1], parents=[parent], author_date=at(day, clock))
        parent = commits[-1]
    merge = sha_of(f"{repo}/merge")
    world.github.add_commit(
        repo,
        merge,
        parents=[base, commits[-1]],
        author_date=at(day, "13:30"),
        message="Merge pull request #5",
    )
    world.github.add_pull(repo, 5, commits, merge_commit=merge, merged_at=at(day, "13:30"))
    world.repos[repo].head = merge
    world.push(repo)
    world.deploy("svc-pr", "svc-pr-1", merge, at(day, "14:00"), repo=repo)
    world.settle()

    # Then there is one sample, 5 h (first commit -> deploy)
    lead = utc_day(world, "svc-pr", day)["lead_time"]
    assert (lead["samples"], lead["median_seconds"]) == (1, 5 * HOUR)


def test_12_pr_mode_measures_a_squashed_pull_request_from_its_first_commit(world: DoraWorld) -> None:
    monday = date(2024, 5, 13)
    tuesday = monday + timedelta(days=1)
    repo = "example-org/svc-pr-squash"
    base = service_with_base(world, "svc-pr-squash", repo, monday)
    c1, c2 = sha_of(f"{repo}/c1"), sha_of(f"{repo}/c2")
    world.github.add_commit(repo, c1, parents=[base], author_date=at(monday, "09:00"))
    world.github.add_commit(repo, c2, parents=[c1], author_date=at(monday, "15:00"))
    squashed = world.commit(repo, "squash", at(tuesday, "10:00"), "Add wish lists (#12)")
    world.github.add_pull(repo, 12, [c1, c2], merge_commit=squashed, merged_at=at(tuesday, "10:00"))
    world.push(repo)
    world.deploy("svc-pr-squash", "svc-pr-squash-1", squashed, at(tuesday, "11:00"), repo=repo)
    world.settle()
    assert utc_day(world, "svc-pr-squash", tuesday)["lead_time"]["median_seconds"] == 26 * HOUR


def test_5_the_los_angeles_report_counts_the_deploy_on_march_31(world: DoraWorld) -> None:
    repo = "example-org/svc-la"
    world.pipeline("svc-la")
    head = world.commit(repo, "c1", datetime.fromisoformat("2024-03-31T22:00:00-07:00"))
    world.push(repo)
    world.deploy("svc-la", "svc-la-1", head, datetime.fromisoformat("2024-03-31T23:30:00-07:00"), repo=repo)
    world.settle()
    counts = [
        world.metrics("svc-la", day, day)["deployment_frequency"]["deployments"]
        for day in (date(2024, 3, 31), date(2024, 4, 1))
    ]
    assert counts == [1, 0]


def test_16_only_exactly_the_configured_repositories_deploy(world: DoraWorld) -> None:
    # Given the configured example-org/app1, and pipelines deploying example-org/app and example-org/app10
    day = date(2024, 5, 21)
    for service, repo in (
        ("svc-app", "example-org/app"),
        ("svc-app10", "example-org/app10"),
        ("svc-app1", "example-org/app1"),
    ):
        world.pipeline(service)
        head = world.commit(repo, "c1", at(day, "08:00"))
        world.push(repo)
        world.deploy(service, f"{service}-1", head, at(day, "10:00"), repo=repo)
    world.settle()

    # Then only app1's deployment counts; the look-alikes are not the configured repository
    status, body = world._get("/dora/services")
    assert (status, sorted(set(body["services"]) & {"svc-app", "svc-app10", "svc-app1"})) == (
        200,
        ["svc-app1"],
    )
