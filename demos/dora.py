"""DORA metrics end to end on the local cloud: ``localcloud demo dora`` and the DORA flow tests.

The deployment is the single-account one (the root template's defaults: rules on the default bus). What
a team brings is simulated with the local cloud's own fakes, as it reaches AWS: commits and pull requests
in the GitHub fake, pushes posted to the webhook route signed with the stack's secret, pipeline executions
recorded in CodePipeline whose state-change events go on the default bus with their own times (a month of
activity replays in seconds), OpsItems created and updated in OpsCenter (their events too). Metrics are
read as a user reads them: SigV4-signed calls to the HTTP API. ``run`` replays a realistic month for three
services and prints the metrics table.
"""

import hashlib
import hmac
import json
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import urlencode

from localcloud.cloud import LocalCloud
from localcloud.fakes.codepipeline import StageRun, ensure_pipeline, run_execution
from localcloud.fakes.github import GitHubFake, github
from localcloud.fakes.opscenter import ops_center

ROOT_STACK = "blueprints"
ACCOUNT = "123456789012"
REGION = "us-east-1"
PROD_STAGES = ("Source", "Build", "DeployStaging", "DeployPROD")
SETTLE_SECONDS = 1800.0
TEMPLATE = Path(__file__).resolve().parents[1] / "template.yaml"


def prepare(cloud: LocalCloud) -> dict[str, str]:
    """Deploy DORA metrics alone (single-account): every other blueprint's toggle off."""
    text = (cloud.template if cloud.template.is_file() else TEMPLATE).read_text()
    toggles = {
        line.strip()[:-1] for line in text.splitlines() if line.startswith("  Enable") and line.endswith(":")
    }
    return {toggle: "true" if toggle == "EnableDora" else "false" for toggle in sorted(toggles)}


def sha_of(label: str) -> str:
    """A stable, well-formed commit id for a label (``"svc-a/c3"``)."""
    return hashlib.sha1(label.encode(), usedforsecurity=False).hexdigest()


@dataclass
class Repo:
    """A repository in the GitHub fake with a linear main branch (the head is the last commit)."""

    name: str
    head: str | None = None
    pushed: str | None = None  # main's head as GitHub last told the webhook
    commits: list[str] = field(default_factory=list)


@dataclass
class DoraWorld:
    """The deployed blueprint, the fakes standing in for GitHub, CodePipeline and OpsCenter, and readers."""

    cloud: LocalCloud
    outputs: dict[str, str]
    webhook_secret: bytes
    dirty_schedule: str
    repos: dict[str, Repo] = field(default_factory=dict)

    @classmethod
    def create(cls, cloud: LocalCloud) -> "DoraWorld":
        cfn = cloud.client("cloudformation")

        def outputs(stack: str) -> dict[str, str]:
            [described] = cfn.describe_stacks(StackName=stack)["Stacks"]
            return {o["OutputKey"]: o["OutputValue"] for o in described.get("Outputs", [])}

        nested = outputs(outputs(ROOT_STACK)["DoraStackName"])
        secret = cloud.client("secretsmanager").get_secret_value(SecretId=nested["WebhookSecretArn"])[
            "SecretString"
        ]
        schedules = cloud.client("scheduler").list_schedules()["Schedules"]
        dirty = next(
            s["Name"]
            for s in schedules
            if s["Target"]["Arn"] == nested["RecomputeStateMachineArn"]
            and "dirty" in cloud.client("scheduler").get_schedule(Name=s["Name"])["Target"].get("Input", "")
        )
        return cls(cloud, nested, secret.encode(), dirty)

    @property
    def github(self) -> GitHubFake:
        return github()

    # -- GitHub ------------------------------------------------------------------------------------

    def repo(self, name: str) -> Repo:
        return self.repos.setdefault(name, Repo(name))

    def commit(
        self, repo: str, label: str, at: datetime, message: str = "", committed: datetime | None = None
    ) -> str:
        """A commit on main (its parent is main's head), in the GitHub fake."""
        known = self.repo(repo)
        sha = sha_of(f"{repo}/{label}")
        self.github.add_commit(
            repo,
            sha,
            parents=[known.head] if known.head else [],
            author_date=at,
            committer_date=committed,
            message=message or label,
        )
        known.head = sha
        known.commits.append(sha)
        return sha

    def push(self, repo: str, *, signed: bool = True, secret: bytes | None = None) -> int:
        """Post the push of main's new commits to the webhook route (as GitHub does); the HTTP status."""
        known = self.repo(repo)
        head = known.head or ""
        before = known.pushed or known.commits[0]
        body = json.dumps(self.github.push_payload(repo, before, head))
        headers = {
            "content-type": "application/json",
            "x-github-event": "push",
            "x-github-delivery": sha_of(body),
        }
        if signed:
            digest = hmac.new(secret or self.webhook_secret, body.encode(), hashlib.sha256).hexdigest()
            headers["x-hub-signature-256"] = f"sha256={digest}"
        status = self.cloud.http("POST", self.outputs["WebhookUrl"], headers=headers, body=body).status
        if status == 202:
            known.pushed = head
        return status

    # -- CodePipeline ----------------------------------------------------------------------------------

    def pipeline(self, name: str, stages: Sequence[str] = PROD_STAGES) -> None:
        ensure_pipeline(ACCOUNT, REGION, name, stages=tuple(stages))

    def deploy(
        self,
        pipeline: str,
        execution_id: str,
        commit: str,
        at: datetime,
        *,
        repo: str,
        status: str = "Succeeded",
        branch: str = "main",
        trigger_type: str = "WebhookV2",
        rollback_of: str | None = None,
        stages: Sequence[StageRun] | None = None,
        attempt: int = 1,
        message: str | None = None,
    ) -> None:
        """Record an execution and put its events on the default bus; its last stage ends at ``at``."""
        names = [stage["name"] for stage in _definition(pipeline)]
        step = timedelta(minutes=5)
        runs = stages or [
            StageRun(
                name,
                state="SUCCEEDED" if status == "Succeeded" or index < len(names) - 1 else "FAILED",
                start_time=at - step * (len(names) - index),
                end_time=at - step * (len(names) - index - 1),
            )
            for index, name in enumerate(names)
        ]
        summary = json.dumps({"ProviderType": "GitHub", "CommitMessage": message}) if message else None
        run_execution(
            ACCOUNT,
            REGION,
            pipeline,
            attempt=attempt,
            execution_id=execution_id,
            status=status,
            revision_id=commit,
            revision_url=f"https://github.com/{repo}/commit/{commit}",
            revision_summary=summary,
            trigger_type="ManualRollback" if rollback_of else trigger_type,
            trigger_detail=f"arn:aws:codeconnections:{REGION}:{ACCOUNT}:connection/5f0b2c1e",
            branch=branch,
            repository=repo,
            start_time=at - step * len(names),
            last_update_time=at,
            rollback_metadata={"rollbackTargetPipelineExecutionId": rollback_of} if rollback_of else None,
            stages=runs,
        )

    # -- OpsCenter -------------------------------------------------------------------------------------

    def incident(
        self,
        created: datetime,
        *,
        service: str | None = None,
        deployment: str | None = None,
        source: str = "app-alarms",
        category: str = "Availability",
        severity: str = "2",
        **fields: Any,
    ) -> str:
        data = {}
        if service:
            data["/dora/service"] = {"Value": service, "Type": "SearchableString"}
        if deployment:
            data["/dora/deployment"] = {"Value": deployment, "Type": "SearchableString"}
        item = ops_center(ACCOUNT, REGION).create(
            {
                "Title": fields.pop("Title", "Error rate above SLO"),
                "Description": "Raised by the on-call engineer",
                "Source": source,
                "Category": category,
                "Severity": severity,
                "OperationalData": data,
                **fields,
            },
            at=created,
        )
        return str(item["OpsItemId"])

    def resolve(self, ops_item_id: str, at: datetime, **fields: Any) -> None:
        ops_center(ACCOUNT, REGION).update({"OpsItemId": ops_item_id, "Status": "Resolved", **fields}, at=at)

    # -- driving ---------------------------------------------------------------------------------------

    def settle(self, horizon: float = SETTLE_SECONDS) -> None:
        """Deliver events, queue messages and schedules until nothing is left within ``horizon``."""
        self.cloud.run_until_idle(horizon)

    def recompute(self) -> None:
        """Run the recompute of the services with new facts now (the schedule's job) and let it finish."""
        self.cloud.sources.fire_schedule(self.dirty_schedule)
        self.cloud.run_until_idle(60)

    # -- reading ----------------------------------------------------------------------------------------

    def _get(self, path: str, **query: str) -> Any:
        response = self.cloud.http("GET", f"{self.outputs['ApiUrl']}{path}?{urlencode(query)}", signed=True)
        return response.status, response.json()

    def metrics(self, service: str, first: date, last: date, benchmark: str | None = None) -> dict[str, Any]:
        query = {"service": service, "from": first.isoformat(), "to": last.isoformat()}
        if benchmark:
            query["benchmark"] = benchmark
        status, body = self._get("/dora/metrics", **query)
        if status != 200:
            raise RuntimeError(f"GET /dora/metrics answered {status}: {body}")
        return dict(body)

    def drilldown(self, service: str, first: date, last: date) -> dict[str, Any]:
        return dict(
            self._get(
                "/dora/deployments", service=service, **{"from": first.isoformat(), "to": last.isoformat()}
            )[1]
        )

    def snapshots(self, service: str, window: str, first: date, last: date) -> dict[str, dict[str, Any]]:
        status, body = self._get(
            "/dora/snapshots",
            service=service,
            window=window,
            **{"from": first.isoformat(), "to": last.isoformat()},
        )
        return (
            {snapshot["period"]: snapshot["metrics"] for snapshot in body["snapshots"]}
            if status == 200
            else {}
        )

    def emf(self, metric: str, service: str) -> list[dict[str, Any]]:
        """EMF documents of ``metric`` about ``service`` that the functions printed."""
        found = []
        for call in self.cloud.calls():
            for line in call.logs:
                if not line.startswith("{") or '"_aws"' not in line:
                    continue
                document = json.loads(line)
                names = [
                    m["Name"] for block in document["_aws"]["CloudWatchMetrics"] for m in block["Metrics"]
                ]
                if metric in names and document.get("Service") == service:
                    found.append(document)
        return found


def _definition(pipeline: str) -> list[dict[str, Any]]:
    from moto.codepipeline.models import codepipeline_backends

    stages: list[dict[str, Any]] = (
        codepipeline_backends[ACCOUNT][REGION].pipelines[pipeline].pipeline["stages"]
    )
    return stages


# -- a realistic month -----------------------------------------------------------------------------------

MONTH = (date(2024, 3, 1), date(2024, 3, 31))


@dataclass(frozen=True)
class Team:
    service: str
    repo: str
    deploy_days: tuple[int, ...]  # days of March with a production deployment
    per_day: int  # deployments on each of those days
    commits_per_deploy: tuple[int, int]
    commit_age_hours: tuple[float, float]  # how long before the deployment each commit was made


TEAMS = (
    Team(
        "checkout",
        "shop/checkout",
        tuple(d for d in range(1, 32) if date(2024, 3, d).weekday() < 5),
        2,
        (1, 3),
        (0.5, 6),
    ),
    Team("orders", "shop/orders", (4, 7, 12, 15, 20, 26, 28), 1, (2, 6), (20, 90)),
    Team("reports", "shop/reports", (8, 29), 1, (5, 12), (150, 500)),
)


def month_of_activity(world: DoraWorld, seed: int = 7) -> dict[str, int]:
    """Replay March 2024 for three teams: commits, pushes, deployments, a rollback, a hotfix, incidents."""
    rng = random.Random(seed)  # noqa: S311 - reproducible demo data, not security
    counts = {"commits": 0, "deployments": 0, "incidents": 0}
    for team in TEAMS:
        world.pipeline(team.service)
        start = datetime(2024, 2, 28, 12, tzinfo=UTC)
        base = world.commit(team.repo, "base", start - timedelta(days=2), "Release before March")
        world.push(team.repo)
        world.deploy(team.service, f"{team.service}-0", base, start, repo=team.repo)
        number = 0
        for day in team.deploy_days:
            for slot in range(team.per_day):
                number += 1
                deployed = datetime(2024, 3, day, 10 + 5 * slot, rng.randrange(60), tzinfo=UTC)
                ages = sorted(
                    (
                        rng.uniform(*team.commit_age_hours)
                        for _ in range(rng.randint(*team.commits_per_deploy))
                    ),
                    reverse=True,
                )
                head = ""
                for index, age in enumerate(ages):
                    head = world.commit(team.repo, f"{number}.{index}", deployed - timedelta(hours=age))
                    counts["commits"] += 1
                if rng.random() < 0.8:  # most pushes reach the webhook; the compare API fills the gaps
                    world.push(team.repo)
                world.deploy(team.service, f"{team.service}-{number}", head, deployed, repo=team.repo)
                counts["deployments"] += 1
    # checkout: an incident linked explicitly to the deployment of March 12, mitigated within 45 minutes
    linked = world.incident(
        datetime(2024, 3, 12, 16, tzinfo=UTC), deployment="checkout-15", Title="Checkout 5xx"
    )
    world.resolve(linked, datetime(2024, 3, 12, 16, 45, tzinfo=UTC))
    # checkout: a bad change deployed, rolled back to the revision before it 40 minutes later
    previous = world.repos["shop/checkout"].head or ""
    bad = world.commit(
        "shop/checkout", "bad", datetime(2024, 3, 29, 16, 30, tzinfo=UTC), "Cache carts for 24 h"
    )
    world.push("shop/checkout")
    world.deploy("checkout", "checkout-bad", bad, datetime(2024, 3, 29, 17, tzinfo=UTC), repo="shop/checkout")
    world.deploy(
        "checkout",
        "checkout-rollback",
        previous,
        datetime(2024, 3, 29, 17, 40, tzinfo=UTC),
        repo="shop/checkout",
        rollback_of="checkout-bad",
    )
    # orders: an incident from alarms (no link: the latest deployment before it is blamed), fixed by a hotfix
    heuristic = world.incident(
        datetime(2024, 3, 20, 14, tzinfo=UTC),
        service="orders",
        ActualStartTime=datetime(2024, 3, 20, 13, 30, tzinfo=UTC),
    )
    fix = world.commit(
        "shop/orders", "hotfix", datetime(2024, 3, 21, 8, tzinfo=UTC), f"Fix order totals ({heuristic})"
    )
    world.push("shop/orders")
    world.deploy(
        "orders",
        "orders-hotfix",
        fix,
        datetime(2024, 3, 21, 9, 30, tzinfo=UTC),
        repo="shop/orders",
        branch=f"hotfix/{heuristic}",
    )
    # orders: an AWS Health OpsItem (not caused by a change) that must change nothing
    world.incident(
        datetime(2024, 3, 22, 3, tzinfo=UTC),
        service="orders",
        source="aws.health",
        Title="EC2 scheduled event",
    )
    counts["deployments"] += 3
    counts["incidents"] += 3
    return counts


def _seconds(value: float | None) -> str:
    if value is None:
        return "-"
    hours = value / 3600
    return f"{hours / 24:.1f} d" if hours >= 48 else f"{hours:.1f} h"


def _rate(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.0f}%"


def _failures(cfr: dict[str, Any]) -> str:
    return f"{cfr['failed']}/{cfr['deployments']} {_rate(cfr['rate'])}"


def table(rows: Iterable[dict[str, Any]]) -> list[str]:
    header = (
        "service",
        "deploys",
        "days",
        "/week",
        "lead p50",
        "lead p90",
        "CFR",
        "FDRT p50",
        "rework",
        "tiers DF/LT/CFR/FDRT",
        "overall",
    )
    lines = [header]
    for m in rows:
        tiers = "/".join(
            (m[key]["tier"] or "-")[:4]
            for key in ("deployment_frequency", "lead_time", "change_failure_rate", "recovery_time")
        )
        lines.append(
            (
                m["service"],
                str(m["deployment_frequency"]["deployments"]),
                str(m["deployment_frequency"]["deploy_days"]),
                f"{m['deployment_frequency']['per_week']:.1f}",
                _seconds(m["lead_time"]["median_seconds"]),
                _seconds(m["lead_time"]["p90_seconds"]),
                _failures(m["change_failure_rate"]),
                _seconds(m["recovery_time"]["median_seconds"]),
                _rate(m["rework_rate"]["rate"]),
                tiers,
                m["overall_tier"] or "-",
            )
        )
    widths = [max(len(row[i]) for row in lines) for i in range(len(header))]
    return ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)) for row in lines]


def run(cloud: LocalCloud, out: TextIO) -> bool:
    world = DoraWorld.create(cloud)
    out.write(
        "DORA metrics: replaying March 2024 for three services (commits, pushes, pipelines, OpsItems)\n"
    )
    counts = month_of_activity(world)
    world.settle()
    world.recompute()
    summary = (
        f"{counts['commits']} commits, {counts['deployments']} executions, {counts['incidents']} OpsItems"
    )
    out.write(f"  {summary}\n\n")
    first, last = MONTH
    rows = [world.metrics(team.service, first, last, benchmark="2023") for team in TEAMS]
    for line in table(rows):
        out.write(f"  {line}\n")
    by_service = {row["service"]: row for row in rows}
    checkout, orders = by_service["checkout"], by_service["orders"]
    march = world.snapshots("checkout", "month", first, first)
    checks = [
        (
            "every execution that reached production counted once",
            sum(r["deployment_frequency"]["deployments"] for r in rows) == counts["deployments"],
        ),
        (
            "checkout: the linked incident and the rollback fail two deployments",
            checkout["change_failure_rate"]["failed"] == 2,
        ),
        (
            "orders: the hotfix is rework, the AWS Health item changes nothing",
            orders["rework_rate"]["rework"] == 1 and orders["change_failure_rate"]["failed"] == 1,
        ),
        (
            "the month's snapshot equals the API's answer",
            march.get(first.isoformat(), {}).get("change_failure_rate") == checkout["change_failure_rate"],
        ),
    ]
    out.write("\n")
    for label, ok in checks:
        out.write(f"  [{'ok' if ok else 'FAILED'}] {label}\n")
    return all(ok for _, ok in checks)
