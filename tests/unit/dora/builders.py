"""Small builders of domain values for the DORA tests (times are UTC on 2024-03-11 unless given)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from blueprints.dora.model import Change, ChangesStatus, Deployment, Incident

DAY = datetime(2024, 3, 11, tzinfo=UTC)
HOUR = 3600.0
REPO = "example-org/svc-a"
SERVICE = "svc-a"


def at(clock: str, day: datetime = DAY) -> datetime:
    """``"14:00"`` on ``day`` (or ``"+1 02:00"`` for the next day)."""
    offset = 0
    if clock.startswith("+"):
        days, clock = clock[1:].split(" ")
        offset = int(days)
    hours, minutes = (int(part) for part in clock.split(":"))
    return day + timedelta(days=offset, hours=hours, minutes=minutes)


def sha(n: int) -> str:
    """A well-formed commit id (never the all-zero id GitHub uses for "no commit")."""
    return f"{0xC0FFEE000 + n:040x}"


def oi(n: int) -> str:
    return f"oi-{n:012x}"


def change(
    commit: str, author_time: datetime, committer_time: datetime | None = None, **extra: object
) -> Change:
    return Change(commit, author_time, committer_time, **extra)  # type: ignore[arg-type]


def deployment(
    execution_id: str,
    time: datetime,
    commit: str | None = None,
    *,
    changes: Iterable[Change] | None = (),
    service: str = SERVICE,
    **extra: object,
) -> Deployment:
    resolved = None if changes is None else tuple(changes)
    return Deployment(
        pipeline_arn=f"arn:aws:codepipeline:us-east-1:123456789012:{service}",
        execution_id=execution_id,
        service=service,
        deploy_time=time,
        sha=commit,
        repo=REPO,
        branch="main",
        changes=resolved,
        changes_status=ChangesStatus.PENDING if resolved is None else ChangesStatus.RESOLVED,
        **extra,  # type: ignore[arg-type]
    )


def incident(
    ops_item_id: str, created: datetime, *, service: str | None = SERVICE, **extra: object
) -> Incident:
    return Incident(ops_item_id=ops_item_id, created=created, service=service, **extra)  # type: ignore[arg-type]
