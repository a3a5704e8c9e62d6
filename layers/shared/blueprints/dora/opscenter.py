"""OpsCenter adapter: the authoritative OpsItem (GetOpsItem) and the OpsItems created since a time.

Events only say that an OpsItem changed; its times, category, severity and OperationalData are read
here at processing time, so the order events arrive in does not matter.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from blueprints.dora.accounts import AccountClients
from blueprints.dora.errors import SourceNotFoundError, SourceUnavailableError

DEPLOYMENT_KEY = "/dora/deployment"
SERVICE_KEY = "/dora/service"
RESOURCES_KEY = "/aws/resources"


@dataclass(frozen=True)
class OpsItem:
    ops_item_id: str
    created: datetime
    title: str = ""
    source: str = ""
    category: str = ""
    severity: str = ""
    status: str = ""
    actual_start: datetime | None = None
    actual_end: datetime | None = None
    last_modified: datetime | None = None
    operational_data: dict[str, str] = field(default_factory=dict)
    related_resources: tuple[str, ...] = ()  # ARNs from /aws/resources


def _when(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    return None


def _resources(data: dict[str, str]) -> tuple[str, ...]:
    raw = data.get(RESOURCES_KEY)
    if not raw:
        return ()
    try:
        entries = json.loads(raw)
    except ValueError:
        return ()
    if not isinstance(entries, list):
        return ()
    return tuple(str(entry["arn"]) for entry in entries if isinstance(entry, dict) and "arn" in entry)


def _typed(exc: ClientError | BotoCoreError, what: str) -> Exception:
    if isinstance(exc, ClientError):
        code = exc.response.get("Error", {}).get("Code", "")
        if code in ("OpsItemNotFoundException", "OpsItemAccessDeniedException", "AccessDeniedException"):
            return SourceNotFoundError(f"{what}: {code}")
        return SourceUnavailableError(f"{what}: {code}")
    return SourceUnavailableError(f"{what}: {type(exc).__name__}")


class OpsCenterReader:
    def __init__(self, clients: AccountClients) -> None:
        self.clients = clients

    def get(self, account: str, region: str, ops_item_id: str) -> OpsItem:
        try:
            item = self.clients.client("ssm", account, region).get_ops_item(OpsItemId=ops_item_id)["OpsItem"]
        except (ClientError, BotoCoreError) as exc:
            raise _typed(exc, f"GetOpsItem {ops_item_id}") from exc
        data = {
            str(key): str(value.get("Value", "")) for key, value in item.get("OperationalData", {}).items()
        }
        created = _when(item.get("CreatedTime")) or datetime.now(UTC)
        return OpsItem(
            ops_item_id=str(item["OpsItemId"]),
            created=created,
            title=str(item.get("Title", "")),
            source=str(item.get("Source", "")),
            category=str(item.get("Category", "")),
            severity=str(item.get("Severity", "")),
            status=str(item.get("Status", "")),
            actual_start=_when(item.get("ActualStartTime")),
            actual_end=_when(item.get("ActualEndTime")),
            last_modified=_when(item.get("LastModifiedTime")),
            operational_data=data,
            related_resources=_resources(data),
        )

    def created_since(self, account: str, region: str, since: datetime) -> Iterator[str]:
        """Ids of the OpsItems created at or after ``since`` (DescribeOpsItems, paginated)."""
        client = self.clients.client("ssm", account, region)
        request: dict[str, Any] = {
            "OpsItemFilters": [
                {
                    "Key": "CreatedTime",
                    "Values": [since.astimezone(UTC).isoformat()],
                    "Operator": "GreaterThan",
                }
            ],
            "MaxResults": 50,
        }
        while True:
            try:
                page = client.describe_ops_items(**request)
            except (ClientError, BotoCoreError) as exc:
                raise _typed(exc, "DescribeOpsItems") from exc
            for summary in page.get("OpsItemSummaries", []):
                yield str(summary["OpsItemId"])
            if not page.get("NextToken"):
                return
            request["NextToken"] = page["NextToken"]
