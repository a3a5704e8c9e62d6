"""The fact store: one DynamoDB table (``FactsTable``), every write conditional or idempotent.

Items (PK / SK):

- ``DEPLOY#<pipeline ARN>#<execution id>`` / ``META``: a deployment: what detection found in one compact
  JSON attribute (``fact``), its resolved changes in another (``changes``), and the attributes set later
  (GSI1: ``DEPLOYS#<service>`` / ``<deploy time>#<execution id>``). Few attributes keep history reads of
  thousands of deployments cheap;
- ``EXEC#<execution id>`` / ``META``: which pipeline and service an execution id belongs to;
- ``REFERENCE#<OpsItem id>`` / ``<execution id>``: a deployment naming an OpsItem (hotfix);
- ``AWAITING#<execution id or commit>`` / ``<OpsItem id>``: an incident naming a deployment not seen yet;
- ``PUSH#<repository>#<after>`` / ``META``: a GitHub push;
- ``INCIDENT#<OpsItem id>`` / ``META``: an incident (GSI2: ``INCIDENTS#<service>`` / ``<created>``);
- ``PENDING`` / ``<pipeline ARN>#<execution id>``: a deployment whose change resolution is queued and not
  saved yet (``since``: when it was last queued); the sweep re-queues the stale ones;
- ``UNATTRIBUTED`` / ``<OpsItem id>``: a qualifying incident no rule gives a service yet (listed by
  ``unattributed()``; dropped when it gets one);
- ``SERVICES`` / ``<service>``: the services with a deployment;
- ``DIRTY`` / ``<service>``: a fact of the service changed since its snapshots were computed;
- ``SNAPSHOT#<service>#<day|week|month>`` / ``<period start>``: computed metrics.

The low-level client keeps cold starts short; times are stored in the fixed-width UTC form.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from blueprints.core.aws import client as aws_client
from blueprints.dora.changes import Resolution
from blueprints.dora.errors import IncidentWriteConflictError
from blueprints.dora.model import (
    Change,
    ChangesStatus,
    Deployment,
    Incident,
    Push,
    PushCommit,
)
from blueprints.dora.timeutil import from_stored, stored

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

META = "META"
PENDING = "PENDING"
UNATTRIBUTED = "UNATTRIBUTED"
GSI1 = "GSI1"
# What the metrics need of a deployment (history loads skip event ids, GSI keys, messages, reasons)
DEPLOYMENT_FIELDS = "fact, changes, changes_status, changes_base, #first, ops_item_refs, revert"
DEPLOYMENT_NAMES = {"#first": "first"}
GSI2 = "GSI2"
INCIDENT_WRITE_ATTEMPTS = 8  # conditional incident writes lost to concurrent ones before giving up
MAX_CHANGES = 2000  # keeps a deployment item far below DynamoDB's 400 KB


def deployment_key(pipeline_arn: str, execution_id: str) -> dict[str, Any]:
    return {"PK": {"S": f"DEPLOY#{pipeline_arn}#{execution_id}"}, "SK": {"S": META}}


def _s(value: str | None) -> dict[str, Any]:
    return {"NULL": True} if value is None else {"S": value}


def _t(value: datetime | None) -> dict[str, Any]:
    return {"NULL": True} if value is None else {"S": stored(value)}


def _str(item: Mapping[str, Any], name: str) -> str | None:
    value = item.get(name, {})
    return str(value["S"]) if "S" in value else None


def _time(item: Mapping[str, Any], name: str) -> datetime | None:
    value = _str(item, name)
    return from_stored(value) if value else None


def _bool(item: Mapping[str, Any], name: str) -> bool:
    return bool(item.get(name, {}).get("BOOL", False))


def _conditional_failure(exc: ClientError) -> bool:
    return exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException"


def _epoch(moment: datetime | None) -> float | None:
    return None if moment is None else moment.timestamp()


def _from_epoch(value: float | None) -> datetime | None:
    return None if value is None else datetime.fromtimestamp(value, UTC)


def changes_text(changes: tuple[Change, ...]) -> str:
    """A deployment's changes as one compact JSON string: [sha, author, committer, pr, pr first] rows."""
    rows = [
        [c.sha, _epoch(c.author_time), _epoch(c.committer_time), c.pr_number, _epoch(c.pr_first_commit_time)]
        for c in changes
    ]
    return json.dumps(rows, separators=(",", ":"))


def changes_from_text(text: str) -> tuple[Change, ...]:
    return tuple(
        Change(str(sha), _from_epoch(author), _from_epoch(committer), pr, _from_epoch(first))
        for sha, author, committer, pr, first in json.loads(text)
    )


def fact_text(deployment: Deployment) -> str:
    """The immutable part of a deployment (what detection found) as one compact JSON string."""
    return json.dumps(
        {
            "pipeline_arn": deployment.pipeline_arn,
            "execution_id": deployment.execution_id,
            "service": deployment.service,
            "deploy_time": stored(deployment.deploy_time),
            "sha": deployment.sha,
            "repo": deployment.repo,
            "branch": deployment.branch,
            "trigger_type": deployment.trigger_type,
            "rollback": deployment.rollback,
            "account": deployment.account,
            "region": deployment.region,
        },
        separators=(",", ":"),
    )


def deployment_from_item(item: Mapping[str, Any]) -> Deployment:
    """A deployment from its item: the ``fact`` JSON plus what resolution and linking set later."""
    fact = json.loads(item["fact"]["S"])
    changes = _str(item, "changes")
    return Deployment(
        pipeline_arn=fact["pipeline_arn"],
        execution_id=fact["execution_id"],
        service=fact["service"],
        deploy_time=from_stored(fact["deploy_time"]),
        sha=fact["sha"],
        repo=fact["repo"],
        branch=fact["branch"],
        trigger_type=fact["trigger_type"],
        rollback=bool(fact["rollback"]),
        references=frozenset(item.get("ops_item_refs", {}).get("SS", [])),
        revert=_bool(item, "revert"),
        head_message=_str(item, "head_message") or "",
        account=fact["account"],
        region=fact["region"],
        changes=None if changes is None else changes_from_text(changes),
        changes_status=ChangesStatus(item.get("changes_status", {}).get("S", ChangesStatus.PENDING)),
        changes_base=_str(item, "changes_base"),
        first=_bool(item, "first"),
    )


def incident_from_item(item: Mapping[str, Any]) -> Incident:
    return Incident(
        ops_item_id=item["ops_item_id"]["S"],
        created=from_stored(item["created"]["S"]),
        service=_str(item, "service"),
        title=_str(item, "title") or "",
        source=_str(item, "source") or "",
        category=_str(item, "category") or "",
        severity=_str(item, "severity") or "",
        status=_str(item, "status") or "",
        actual_start=_time(item, "actual_start"),
        actual_end=_time(item, "actual_end"),
        resolved_time=_time(item, "resolved_time"),
        deployment_ref=_str(item, "deployment_ref"),
        qualifying=_bool(item, "qualifying"),
        last_modified=_time(item, "last_modified"),
    )


def merge_incident(current: Incident | None, read: Incident) -> Incident:
    """What to store when ``read`` (a GetOpsItem read) meets the ``current`` item.

    The newer read wins (``last_modified``; a read without it never replaces one with it), so a stale
    update never moves an incident back; the earliest resolving time and a known service are kept.
    """
    if current is None:
        return read
    base = read
    if current.last_modified is not None and (
        read.last_modified is None or current.last_modified > read.last_modified
    ):
        base = current
    times = [t for t in (read.resolved_time, current.resolved_time) if t]
    return replace(base, resolved_time=min(times) if times else None, service=read.service or current.service)


def incident_item(incident: Incident, key: dict[str, Any]) -> dict[str, Any]:
    item: dict[str, Any] = {
        **key,
        "kind": {"S": "incident"},
        "ops_item_id": {"S": incident.ops_item_id},
        "created": {"S": stored(incident.created)},
        "service": _s(incident.service),
        "title": {"S": incident.title[:512]},
        "source": {"S": incident.source},
        "category": {"S": incident.category},
        "severity": {"S": incident.severity},
        "status": {"S": incident.status},
        "actual_start": _t(incident.actual_start),
        "actual_end": _t(incident.actual_end),
        "resolved_time": _t(incident.resolved_time),
        "deployment_ref": _s(incident.deployment_ref),
        "qualifying": {"BOOL": incident.qualifying},
        "last_modified": _t(incident.last_modified),
    }
    if incident.service:
        item["GSI2PK"] = {"S": f"INCIDENTS#{incident.service}"}
        item["GSI2SK"] = {"S": f"{stored(incident.created)}#{incident.ops_item_id}"}
    return item


@dataclass(frozen=True)
class UnattributedIncident:
    """A qualifying incident stored without service: it counts nowhere until a rule gives it one."""

    ops_item_id: str
    created: datetime
    title: str
    status: str
    source: str
    deployment_ref: str | None
    noted_at: datetime


@dataclass(frozen=True)
class Snapshot:
    service: str
    kind: str
    period: str
    checksum: str
    metrics: dict[str, Any]
    computed_at: str


class FactStore:
    """DynamoDB adapter of ``FactsTable`` (see the module docstring for the item layout)."""

    def __init__(self, table_name: str, client: DynamoDBClient | None = None) -> None:
        self.table_name = table_name
        self._client = client

    @property
    def client(self) -> DynamoDBClient:
        if self._client is None:
            self._client = aws_client("dynamodb")
        return self._client

    # -- deployments --------------------------------------------------------------------------------

    def put_deployment(self, deployment: Deployment, event_id: str, now: datetime) -> bool:
        """Store a deployment once per (pipeline ARN, execution id); True only for the first write.

        A repeated delivery (same or another event id) only adds its event id: nothing else changes.
        """
        key = deployment_key(deployment.pipeline_arn, deployment.execution_id)
        item: dict[str, Any] = {
            **key,
            "GSI1PK": {"S": f"DEPLOYS#{deployment.service}"},
            "GSI1SK": {"S": f"{stored(deployment.deploy_time)}#{deployment.execution_id}"},
            "fact": {"S": fact_text(deployment)},
            "revert": {"BOOL": deployment.revert},
            "head_message": {"S": deployment.head_message},
            "changes_status": {"S": ChangesStatus.PENDING.value},
            "event_ids": {"SS": [event_id]},
            "created_at": {"S": stored(now)},
        }
        if deployment.references:
            item["ops_item_refs"] = {"SS": sorted(deployment.references)}
        return self._put_once(item, key, "event_ids", event_id)

    def _put_once(self, item: dict[str, Any], key: dict[str, Any], seen: str, delivery: str) -> bool:
        """Store a fact once (True); a repeated delivery only adds its id to the ``seen`` set (False)."""
        try:
            self.client.put_item(
                TableName=self.table_name, Item=item, ConditionExpression="attribute_not_exists(PK)"
            )
        except ClientError as exc:
            if not _conditional_failure(exc):
                raise
            self.client.update_item(
                TableName=self.table_name,
                Key=key,
                UpdateExpression="ADD #seen :delivery",
                ExpressionAttributeNames={"#seen": seen},
                ExpressionAttributeValues={":delivery": {"SS": [delivery]}},
            )
            return False
        return True

    def get_deployment(self, pipeline_arn: str, execution_id: str) -> Deployment | None:
        item = self.client.get_item(
            TableName=self.table_name, Key=deployment_key(pipeline_arn, execution_id), ConsistentRead=True
        ).get("Item")
        return deployment_from_item(item) if item else None

    def _neighbour(self, deployment: Deployment, *, before: bool) -> Deployment | None:
        sort_key = f"{stored(deployment.deploy_time)}#{deployment.execution_id}"
        response = self.client.query(
            TableName=self.table_name,
            IndexName=GSI1,
            KeyConditionExpression=f"GSI1PK = :pk AND GSI1SK {'<' if before else '>'} :sk",
            ExpressionAttributeValues={":pk": {"S": f"DEPLOYS#{deployment.service}"}, ":sk": {"S": sort_key}},
            ScanIndexForward=not before,
            Limit=1,
        )
        items = response.get("Items", [])
        return deployment_from_item(items[0]) if items else None

    def previous_deployment(self, deployment: Deployment) -> Deployment | None:
        return self._neighbour(deployment, before=True)

    def next_deployment(self, deployment: Deployment) -> Deployment | None:
        return self._neighbour(deployment, before=False)

    def deployments(self, service: str, since: datetime | None = None) -> list[Deployment]:
        """Every deployment of ``service`` (since ``since``), in deploy-time order."""
        condition = "GSI1PK = :pk"
        values: dict[str, Any] = {":pk": {"S": f"DEPLOYS#{service}"}}
        if since is not None:
            condition += " AND GSI1SK >= :since"
            values[":since"] = {"S": stored(since)}
        return [
            deployment_from_item(item)
            for item in self.query_items(
                IndexName=GSI1,
                KeyConditionExpression=condition,
                ExpressionAttributeValues=values,
                ProjectionExpression=DEPLOYMENT_FIELDS,
                ExpressionAttributeNames=DEPLOYMENT_NAMES,
            )
        ]

    def save_resolution(self, deployment: Deployment, resolution: Resolution) -> bool:
        """Store the changes of a deployment; True when they were pending (the first resolution)."""
        values: dict[str, Any] = {
            ":changes": {"S": changes_text(resolution.changes[:MAX_CHANGES])},
            ":status": {"S": resolution.status.value},
            ":source": {"S": resolution.source.value},
            ":base": _s(resolution.base),
            ":first": {"BOOL": resolution.first},
            ":reason": {"S": resolution.reason},
            ":pending": {"S": ChangesStatus.PENDING.value},
        }
        expression = (
            "SET changes = :changes, changes_status = :status, change_source = :source, "
            "changes_base = :base, #first = :first, changes_reason = :reason"
        )
        names = {"#first": "first"}
        if resolution.head_message and not deployment.head_message:
            expression += ", head_message = :message"
            values[":message"] = {"S": resolution.head_message[:1024]}
        response = self.client.update_item(
            TableName=self.table_name,
            Key=deployment_key(deployment.pipeline_arn, deployment.execution_id),
            UpdateExpression=expression,
            ConditionExpression="attribute_exists(PK)",
            ExpressionAttributeNames=names,
            ExpressionAttributeValues={k: v for k, v in values.items() if k != ":pending"},
            ReturnValues="ALL_OLD",
        )
        self.clear_pending(deployment)
        old = response.get("Attributes", {}).get("changes_status", {}).get("S")
        return old in (None, ChangesStatus.PENDING.value)

    def set_head_facts(self, deployment: Deployment, references: frozenset[str], revert: bool) -> None:
        """Record OpsItem references and the revert flag learnt from the head commit's message."""
        expression = "SET revert = :revert"
        values: dict[str, Any] = {":revert": {"BOOL": revert}}
        if references:
            expression += " ADD ops_item_refs :refs"
            values[":refs"] = {"SS": sorted(references)}
        self.client.update_item(
            TableName=self.table_name,
            Key=deployment_key(deployment.pipeline_arn, deployment.execution_id),
            UpdateExpression=expression,
            ExpressionAttributeValues=values,
        )

    def flag_once(self, deployment: Deployment, flag: str) -> bool:
        """Set a one-time flag on a deployment (``failed_emitted``, ``recovery_emitted``); True once."""
        try:
            self.client.update_item(
                TableName=self.table_name,
                Key=deployment_key(deployment.pipeline_arn, deployment.execution_id),
                UpdateExpression="SET #flag = :true",
                ConditionExpression="attribute_exists(PK) AND attribute_not_exists(#flag)",
                ExpressionAttributeNames={"#flag": flag},
                ExpressionAttributeValues={":true": {"BOOL": True}},
            )
        except ClientError as exc:
            if _conditional_failure(exc):
                return False
            raise
        return True

    # -- change resolutions waiting -----------------------------------------------------------------

    def mark_pending(self, deployment: Deployment, now: datetime) -> None:
        """Note that the change resolution of ``deployment`` is queued (again) at ``now``."""
        self.client.put_item(
            TableName=self.table_name,
            Item={
                "PK": {"S": PENDING},
                "SK": {"S": f"{deployment.pipeline_arn}#{deployment.execution_id}"},
                "pipeline_arn": {"S": deployment.pipeline_arn},
                "execution_id": {"S": deployment.execution_id},
                "since": {"S": stored(now)},
            },
        )

    def pending(self, queued_before: datetime) -> list[tuple[str, str]]:
        """(pipeline ARN, execution id) of the resolutions queued before ``queued_before`` and not saved."""
        items = self.query_items(
            KeyConditionExpression="PK = :pk",
            FilterExpression="since < :before",
            ExpressionAttributeValues={":pk": {"S": PENDING}, ":before": {"S": stored(queued_before)}},
        )
        return [(item["pipeline_arn"]["S"], item["execution_id"]["S"]) for item in items]

    def clear_pending(self, deployment: Deployment) -> None:
        self.client.delete_item(
            TableName=self.table_name,
            Key={"PK": {"S": PENDING}, "SK": {"S": f"{deployment.pipeline_arn}#{deployment.execution_id}"}},
        )

    # -- pointers -----------------------------------------------------------------------------------

    def point_execution(self, deployment: Deployment) -> None:
        self.client.put_item(
            TableName=self.table_name,
            Item={
                "PK": {"S": f"EXEC#{deployment.execution_id}"},
                "SK": {"S": META},
                "pipeline_arn": {"S": deployment.pipeline_arn},
                "service": {"S": deployment.service},
            },
        )

    def service_of_execution(self, execution_id: str) -> str | None:
        item = self.client.get_item(
            TableName=self.table_name, Key={"PK": {"S": f"EXEC#{execution_id}"}, "SK": {"S": META}}
        ).get("Item")
        return _str(item, "service") if item else None

    def add_reference(self, ops_item_id: str, deployment: Deployment) -> None:
        self.client.put_item(
            TableName=self.table_name,
            Item={
                "PK": {"S": f"REFERENCE#{ops_item_id}"},
                "SK": {"S": deployment.execution_id},
                "service": {"S": deployment.service},
            },
        )

    def services_referencing(self, ops_item_id: str) -> list[str]:
        items = self.query_items(
            KeyConditionExpression="PK = :pk",
            ExpressionAttributeValues={":pk": {"S": f"REFERENCE#{ops_item_id}"}},
        )
        return sorted({item["service"]["S"] for item in items})

    def await_deployment(self, ref: str, ops_item_id: str) -> None:
        self.client.put_item(
            TableName=self.table_name, Item={"PK": {"S": f"AWAITING#{ref}"}, "SK": {"S": ops_item_id}}
        )

    def awaiting(self, ref: str) -> list[str]:
        items = self.query_items(
            KeyConditionExpression="PK = :pk", ExpressionAttributeValues={":pk": {"S": f"AWAITING#{ref}"}}
        )
        return [item["SK"]["S"] for item in items]

    # -- services and dirty markers ------------------------------------------------------------------

    def register_service(self, deployment: Deployment) -> None:
        self.client.update_item(
            TableName=self.table_name,
            Key={"PK": {"S": "SERVICES"}, "SK": {"S": deployment.service}},
            UpdateExpression="SET pipeline_arn = if_not_exists(pipeline_arn, :arn)",
            ExpressionAttributeValues={":arn": {"S": deployment.pipeline_arn}},
        )

    def services(self) -> list[str]:
        items = self.query_items(
            KeyConditionExpression="PK = :pk", ExpressionAttributeValues={":pk": {"S": "SERVICES"}}
        )
        return [item["SK"]["S"] for item in items]

    def has_service(self, service: str) -> bool:
        key = {"PK": {"S": "SERVICES"}, "SK": {"S": service}}
        return "Item" in self.client.get_item(TableName=self.table_name, Key=key)

    def mark_dirty(self, service: str, token: str, now: datetime) -> None:
        """A fact of ``service`` changed: its snapshots must be recomputed (the newest token wins)."""
        self.client.put_item(
            TableName=self.table_name,
            Item={
                "PK": {"S": "DIRTY"},
                "SK": {"S": service},
                "token": {"S": token},
                "marked_at": {"S": stored(now)},
            },
        )

    def dirty(self) -> list[tuple[str, str]]:
        items = self.query_items(
            KeyConditionExpression="PK = :pk", ExpressionAttributeValues={":pk": {"S": "DIRTY"}}
        )
        return [(item["SK"]["S"], item["token"]["S"]) for item in items]

    def clear_dirty(self, service: str, token: str) -> bool:
        """Drop the marker if no newer fact re-marked it meanwhile (then it stays for the next run)."""
        try:
            self.client.delete_item(
                TableName=self.table_name,
                Key={"PK": {"S": "DIRTY"}, "SK": {"S": service}},
                ConditionExpression="#token = :token",
                ExpressionAttributeNames={"#token": "token"},
                ExpressionAttributeValues={":token": {"S": token}},
            )
        except ClientError as exc:
            if _conditional_failure(exc):
                return False
            raise
        return True

    # -- pushes ---------------------------------------------------------------------------------------

    def put_push(self, push: Push, delivery_id: str, now: datetime) -> bool:
        key = {"PK": {"S": f"PUSH#{push.repo}#{push.after}"}, "SK": {"S": META}}
        item: dict[str, Any] = {
            **key,
            "repo": {"S": push.repo},
            "ref": {"S": push.ref},
            "before": {"S": push.before},
            "after": {"S": push.after},
            "forced": {"BOOL": push.forced},
            "truncated": {"BOOL": push.truncated},
            "commits": {
                "L": [
                    {"M": {"s": {"S": c.sha}, "t": {"S": stored(c.timestamp)}, "m": {"S": c.message[:512]}}}
                    for c in push.commits
                ]
            },
            "delivery_ids": {"SS": [delivery_id]},
            "received_at": {"S": stored(now)},
        }
        return self._put_once(item, key, "delivery_ids", delivery_id)

    def push_after(self, repo: str, sha: str) -> Push | None:
        item = self.client.get_item(
            TableName=self.table_name, Key={"PK": {"S": f"PUSH#{repo}#{sha}"}, "SK": {"S": META}}
        ).get("Item")
        if not item:
            return None
        return Push(
            repo=item["repo"]["S"],
            ref=item["ref"]["S"],
            before=item["before"]["S"],
            after=item["after"]["S"],
            commits=tuple(
                PushCommit(c["M"]["s"]["S"], from_stored(c["M"]["t"]["S"]), c["M"].get("m", {}).get("S", ""))
                for c in item.get("commits", {}).get("L", [])
            ),
            forced=_bool(item, "forced"),
            truncated=_bool(item, "truncated"),
        )

    # -- incidents ------------------------------------------------------------------------------------

    def put_incident(self, incident: Incident, event_id: str) -> Incident:
        """Store an incident read from OpsCenter; returns what is stored.

        A read of the OpsItem never replaces a newer one (``last_modified``), the service once known is
        kept, and ``resolved_time`` keeps the earliest resolving update seen. Every write is conditional
        on the ``version`` it merged with (``set_incident_service`` moves it too): two events processed
        at once merge, they never overwrite each other.
        """
        key = {"PK": {"S": f"INCIDENT#{incident.ops_item_id}"}, "SK": {"S": META}}
        for _ in range(INCIDENT_WRITE_ATTEMPTS):
            stored_item = self.client.get_item(TableName=self.table_name, Key=key, ConsistentRead=True).get(
                "Item"
            )
            current = incident_from_item(stored_item) if stored_item else None
            merged = merge_incident(current, incident)
            item = incident_item(merged, key)
            event_ids = set(stored_item.get("event_ids", {}).get("SS", [])) if stored_item else set()
            item["event_ids"] = {"SS": sorted(event_ids | {event_id})}
            version = stored_item.get("version", {}).get("N") if stored_item else None
            item["version"] = {"N": str(int(version or 0) + 1)}
            condition: dict[str, Any]
            if stored_item is None:
                condition = {"ConditionExpression": "attribute_not_exists(PK)"}
            elif version is None:
                condition = {
                    "ConditionExpression": "attribute_not_exists(#version)",
                    "ExpressionAttributeNames": {"#version": "version"},
                }
            else:
                condition = {
                    "ConditionExpression": "#version = :version",
                    "ExpressionAttributeNames": {"#version": "version"},
                    "ExpressionAttributeValues": {":version": {"N": version}},
                }
            try:
                self.client.put_item(TableName=self.table_name, Item=item, **condition)
            except ClientError as exc:
                if not _conditional_failure(exc):
                    raise
                continue  # another writer came first: merge with what it stored
            return merged
        raise IncidentWriteConflictError(f"incident {incident.ops_item_id} kept changing while written")

    def get_incident(self, ops_item_id: str) -> Incident | None:
        item = self.client.get_item(
            TableName=self.table_name,
            Key={"PK": {"S": f"INCIDENT#{ops_item_id}"}, "SK": {"S": META}},
            ConsistentRead=True,
        ).get("Item")
        return incident_from_item(item) if item else None

    def set_incident_service(self, ops_item_id: str, service: str) -> bool:
        """Give a stored incident its service (learnt from a deployment it names or that names it)."""
        incident = self.get_incident(ops_item_id)
        if incident is None or incident.service == service:
            return False
        try:
            self.client.update_item(
                TableName=self.table_name,
                Key={"PK": {"S": f"INCIDENT#{ops_item_id}"}, "SK": {"S": META}},
                UpdateExpression="SET service = :service, GSI2PK = :pk, GSI2SK = :sk ADD #version :one",
                ConditionExpression="attribute_exists(PK)",
                ExpressionAttributeNames={"#version": "version"},
                ExpressionAttributeValues={
                    ":service": {"S": service},
                    ":pk": {"S": f"INCIDENTS#{service}"},
                    ":sk": {"S": f"{stored(incident.created)}#{ops_item_id}"},
                    ":one": {"N": "1"},
                },
            )
        except ClientError as exc:
            if _conditional_failure(exc):
                return False
            raise
        self.clear_unattributed(ops_item_id)
        return True

    def note_unattributed(self, incident: Incident, now: datetime) -> bool:
        """List a qualifying incident without service under ``UNATTRIBUTED``; True the first time."""
        key = {"PK": {"S": UNATTRIBUTED}, "SK": {"S": incident.ops_item_id}}
        item = {
            **key,
            "created": {"S": stored(incident.created)},
            "title": {"S": incident.title[:512]},
            "status": {"S": incident.status},
            "source": {"S": incident.source},
            "deployment_ref": _s(incident.deployment_ref),
            "noted_at": {"S": stored(now)},
        }
        try:
            self.client.put_item(
                TableName=self.table_name, Item=item, ConditionExpression="attribute_not_exists(PK)"
            )
        except ClientError as exc:
            if not _conditional_failure(exc):
                raise
            return False
        return True

    def unattributed(self) -> list[UnattributedIncident]:
        """The qualifying incidents that no rule gives a service yet (oldest OpsItem id first)."""
        return [
            UnattributedIncident(
                ops_item_id=item["SK"]["S"],
                created=from_stored(item["created"]["S"]),
                title=_str(item, "title") or "",
                status=_str(item, "status") or "",
                source=_str(item, "source") or "",
                deployment_ref=_str(item, "deployment_ref"),
                noted_at=from_stored(item["noted_at"]["S"]),
            )
            for item in self.query_items(
                KeyConditionExpression="PK = :pk", ExpressionAttributeValues={":pk": {"S": UNATTRIBUTED}}
            )
        ]

    def clear_unattributed(self, ops_item_id: str) -> None:
        self.client.delete_item(
            TableName=self.table_name, Key={"PK": {"S": UNATTRIBUTED}, "SK": {"S": ops_item_id}}
        )

    def incidents(self, service: str) -> list[Incident]:
        return [
            incident_from_item(item)
            for item in self.query_items(
                IndexName=GSI2,
                KeyConditionExpression="GSI2PK = :pk",
                ExpressionAttributeValues={":pk": {"S": f"INCIDENTS#{service}"}},
            )
        ]

    # -- snapshots ------------------------------------------------------------------------------------

    def snapshot_checksums(self, service: str, kind: str) -> dict[str, str]:
        items = self.query_items(
            KeyConditionExpression="PK = :pk",
            ExpressionAttributeValues={":pk": {"S": f"SNAPSHOT#{service}#{kind}"}},
            ProjectionExpression="SK, checksum",
        )
        return {item["SK"]["S"]: item["checksum"]["S"] for item in items}

    def put_snapshot(self, snapshot: Snapshot) -> None:
        self.client.put_item(
            TableName=self.table_name,
            Item={
                "PK": {"S": f"SNAPSHOT#{snapshot.service}#{snapshot.kind}"},
                "SK": {"S": snapshot.period},
                "checksum": {"S": snapshot.checksum},
                "metrics": {"S": json.dumps(snapshot.metrics, sort_keys=True)},
                "computed_at": {"S": snapshot.computed_at},
            },
        )

    def snapshots(self, service: str, kind: str, first: str, last: str) -> list[Snapshot]:
        items = self.query_items(
            KeyConditionExpression="PK = :pk AND SK BETWEEN :first AND :last",
            ExpressionAttributeValues={
                ":pk": {"S": f"SNAPSHOT#{service}#{kind}"},
                ":first": {"S": first},
                ":last": {"S": last},
            },
        )
        return [
            Snapshot(
                service=service,
                kind=kind,
                period=item["SK"]["S"],
                checksum=item["checksum"]["S"],
                metrics=json.loads(item["metrics"]["S"]),
                computed_at=item["computed_at"]["S"],
            )
            for item in items
        ]

    # -- paging ----------------------------------------------------------------------------------------

    def query_items(self, **arguments: Any) -> Iterator[dict[str, Any]]:
        """Every item of a Query on the table (``arguments`` without ``TableName``), page after page."""
        request: dict[str, Any] = {"TableName": self.table_name, **arguments}
        while True:
            page = self.client.query(**request)
            yield from page.get("Items", [])
            start = page.get("LastEvaluatedKey")
            if not start:
                return
            request["ExclusiveStartKey"] = start
