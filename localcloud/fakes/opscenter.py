"""OpsCenter on moto's SSM: CreateOpsItem, UpdateOpsItem, GetOpsItem and DescribeOpsItems.

Why: incident tracking reads OpsItems (and reacts to their EventBridge events), and moto's SSM has no
OpsItem operations. moto implements SSM, so this is not a fake: ``extend()`` patches the four operations
into moto's SSM response class while the local cloud runs (``install_fakes`` enters it), and keeps the
OpsItems on moto's SSM backend of each account and region, so ``mock_aws`` and ``/moto-api/reset``
reset them with everything else. Plain boto3 works in-process and served alike.

Semantics kept from AWS:

- ``Title``, ``Source`` and ``Description`` are required, with AWS's lengths; ``Priority`` is 1-5;
  ``OpsItemType`` is ``/aws/issue`` (default), ``/aws/changerequest``, ``/aws/insight`` or
  ``/aws/access-request``; ``Status`` is one of the API's values; ``OperationalData`` keys cannot
  start with ``aws``, ``amazon``, ``amzn`` or ``ssm`` (with or without ``/``) except AWS's own
  ``/aws/dedup``, ``/aws/resources`` and ``/aws/automations``. A violation is
  ``OpsItemInvalidParameterException`` naming the parameters.
- A new OpsItem is ``Open``, version ``1``, with id ``oi-`` + 12 hex digits and ARN
  ``arn:aws:ssm:<region>:<account>:opsitem/<id>``; each update bumps the version and
  ``LastModifiedTime``. Times follow the local cloud's clock (virtual when installed).
- ``/aws/dedup`` (``{"dedupString": "..."}``): creating an OpsItem whose dedup string matches an OpsItem
  that is not ``Resolved`` fails with ``OpsItemAlreadyExistsException`` carrying the existing id.
- An unknown id (or an ``OpsItemArn`` naming another item) is ``OpsItemNotFoundException``.
- DescribeOpsItems: filters are ANDed, the values of one filter ORed, with AWS's operators per key
  (``OPERATORS``; another operator is ``ValidationException``); time values are ISO 8601 or epoch
  seconds. Newest first (by ``CreatedTime``); ``MaxResults`` 1-50, ``NextToken`` only for the
  request that issued it (``InvalidNextToken``).
- Every create and update puts ``OpsItem Create`` / ``OpsItem Update`` (source ``aws.ssm``) on the
  default bus with the documented detail (see ``event_detail``).
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack, contextmanager
from datetime import datetime
from typing import Any
from unittest import mock

from moto.core.exceptions import ServiceException
from moto.core.responses import ActionResult
from moto.moto_api._internal import mock_random
from moto.ssm.models import SimpleSystemManagerBackend, ssm_backends
from moto.ssm.responses import SimpleSystemManagerResponse
from moto.utilities.utils import get_partition

from localcloud.fakes import InvalidNextTokenError, paginate
from localcloud.fakes.bus import now, put_event, to_datetime

__all__ = [
    "OPERATORS",
    "OpsCenter",
    "OpsItemAlreadyExistsError",
    "OpsItemInvalidParameterError",
    "OpsItemNotFoundError",
    "event_detail",
    "extend",
    "ops_center",
]

SOURCE = "aws.ssm"
CREATE_EVENT = "OpsItem Create"
UPDATE_EVENT = "OpsItem Update"
DEFAULT_TYPE = "/aws/issue"
TYPES = frozenset({DEFAULT_TYPE, "/aws/changerequest", "/aws/insight", "/aws/access-request"})
STATUSES = frozenset(
    {
        "Open",
        "InProgress",
        "Resolved",
        "Pending",
        "TimedOut",
        "Cancelling",
        "Cancelled",
        "Failed",
        "CompletedWithSuccess",
        "CompletedWithFailure",
        "Scheduled",
        "RunbookInProgress",
        "PendingChangeCalendarOverride",
        "ChangeCalendarOverrideApproved",
        "ChangeCalendarOverrideRejected",
        "PendingApproval",
        "Approved",
        "Revoked",
        "Rejected",
        "Closed",
    }
)
DEDUP_KEY = "/aws/dedup"
_SYSTEM_KEYS = frozenset({DEDUP_KEY, "/aws/resources", "/aws/automations"})
_RESERVED_PREFIX = re.compile(r"^/?(aws|amazon|amzn|ssm)", re.IGNORECASE)
MAX_RESULTS = 50
_LENGTHS = {"Title": 1024, "Source": 128, "Description": 2048, "Category": 64, "Severity": 64}
_TIMES = ("ActualStartTime", "ActualEndTime", "PlannedStartTime", "PlannedEndTime")
_SUMMARY_FIELDS = (
    "CreatedBy",
    "CreatedTime",
    "LastModifiedBy",
    "LastModifiedTime",
    "Priority",
    "Source",
    "Status",
    "OpsItemId",
    "Title",
    "OperationalData",
    "Category",
    "Severity",
    "OpsItemType",
    *_TIMES,
)
_EQ, _CONTAINS, _GT, _LT = "Equal", "Contains", "GreaterThan", "LessThan"
OPERATORS: Mapping[str, frozenset[str]] = {
    "OpsItemId": frozenset({_EQ}),
    "Status": frozenset({_EQ}),
    "Source": frozenset({_EQ, _CONTAINS}),
    "Title": frozenset({_EQ, _CONTAINS}),
    "Priority": frozenset({_EQ}),
    "CreatedBy": frozenset({_EQ}),
    "Category": frozenset({_EQ}),
    "Severity": frozenset({_EQ}),
    "OpsItemType": frozenset({_EQ}),
    "AccountId": frozenset({_EQ}),
    "CreatedTime": frozenset({_GT, _LT}),
    "LastModifiedTime": frozenset({_GT, _LT}),
    **{name: frozenset({_GT, _LT}) for name in _TIMES},
    "OperationalData": frozenset({_EQ}),
    "OperationalDataKey": frozenset({_EQ}),
    "OperationalDataValue": frozenset({_EQ, _CONTAINS}),
    "ResourceId": frozenset({_CONTAINS}),
}
"""The DescribeOpsItems filter keys served, with the operators AWS documents for each."""


class OpsItemNotFoundError(ServiceException):
    code = "OpsItemNotFoundException"


class OpsItemInvalidParameterError(ServiceException):
    code = "OpsItemInvalidParameterException"

    def __init__(self, names: list[str], message: str) -> None:
        super().__init__(message)
        self.ParameterNames = names  # the error shape's member, serialised by moto


class OpsItemAlreadyExistsError(ServiceException):
    code = "OpsItemAlreadyExistsException"

    def __init__(self, ops_item_id: str) -> None:
        super().__init__(f"The OpsItem already exists: {ops_item_id} has the same dedup string.")
        self.OpsItemId = ops_item_id


class _ValidationError(ServiceException):
    code = "ValidationException"


class _InvalidNextTokenError(ServiceException):
    code = "InvalidNextToken"
    message = "The specified token isn't valid."


def event_detail(item: Mapping[str, Any], *, update: bool) -> dict[str, Any]:
    """The ``detail`` of an OpsItem event, with the fields AWS's documented examples show."""

    def stamp(moment: datetime) -> str:
        return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")

    detail = {
        "created-by": item["CreatedBy"],
        "created-time": stamp(item["CreatedTime"]),
        "source": item["Source"],
        "status": item["Status"],
        "ops-item-id": item["OpsItemId"],
        "title": item["Title"],
        "ops-item-type": item["OpsItemType"],
        "description": item["Description"],
    }
    if update:
        detail["modified-by"] = item["LastModifiedBy"]
        detail["modified-time"] = stamp(item["LastModifiedTime"])
    return detail


def _dedup_string(operational_data: Mapping[str, Any]) -> str | None:
    entry = operational_data.get(DEDUP_KEY)
    if not entry:
        return None
    try:
        value = json.loads(str(entry.get("Value", "")))
    except ValueError as exc:
        raise OpsItemInvalidParameterError(
            ["OperationalData"], f"{DEDUP_KEY} must be a JSON object with a dedupString"
        ) from exc
    dedup = value.get("dedupString") if isinstance(value, dict) else None
    return str(dedup) if dedup else None


def _validate(params: Mapping[str, Any], *, required: bool) -> None:
    bad: list[str] = []
    for name, limit in _LENGTHS.items():
        value = params.get(name)
        if value is None:
            if required and name in ("Title", "Source", "Description"):
                bad.append(name)
            continue
        if not str(value).strip() or len(str(value)) > limit:
            bad.append(name)
    priority = params.get("Priority")
    if priority is not None and not 1 <= int(priority) <= 5:
        bad.append("Priority")
    status = params.get("Status")
    if status is not None and status not in STATUSES:
        bad.append("Status")
    item_type = params.get("OpsItemType")
    if item_type is not None and item_type not in TYPES:
        bad.append("OpsItemType")
    for key, entry in dict(params.get("OperationalData") or {}).items():
        if (_RESERVED_PREFIX.match(key) and key not in _SYSTEM_KEYS) or not 1 <= len(key) <= 128:
            bad.append("OperationalData")
            break
        if dict(entry).get("Type", "String") not in ("String", "SearchableString"):
            bad.append("OperationalData")
            break
    if bad:
        raise OpsItemInvalidParameterError(bad, f"Invalid value for parameters: {', '.join(bad)}")


def _resource_ids(item: Mapping[str, Any]) -> list[str]:
    entry = item["OperationalData"].get("/aws/resources")
    if not entry:
        return []
    try:
        resources = json.loads(str(entry.get("Value", "[]")))
    except ValueError:
        return []
    return [str(resource.get("arn", "")) for resource in resources if isinstance(resource, dict)]


def _text_field(item: Mapping[str, Any], key: str) -> list[str]:
    if key == "OperationalDataKey":
        return list(item["OperationalData"])
    if key == "OperationalDataValue":
        return [str(entry.get("Value", "")) for entry in item["OperationalData"].values()]
    if key == "ResourceId":
        return _resource_ids(item)
    value = item.get(key)
    return [] if value is None else [str(value)]


def _matches(item: Mapping[str, Any], key: str, operator: str, value: str) -> bool:
    if key == "OperationalData":
        try:
            wanted = json.loads(value)
            entry = item["OperationalData"].get(str(wanted["key"]))
        except (ValueError, KeyError, TypeError) as exc:
            raise _ValidationError('OperationalData filter values are {"key": ..., "value": ...}') from exc
        return entry is not None and str(entry.get("Value")) == str(wanted.get("value"))
    if operator in (_GT, _LT):
        moment = item.get(key)
        if moment is None:
            return False
        try:
            bound = to_datetime(value)
        except ValueError as exc:
            raise _ValidationError(f"{key} filter values must be timestamps, got {value!r}") from exc
        return bool(moment > bound if operator == _GT else moment < bound)
    actual = _text_field(item, key)
    if operator == _CONTAINS:
        return any(value.lower() in text.lower() for text in actual)
    if key == "Title":
        return any(text[:100] == value for text in actual)  # Equal matches the first 100 characters
    return value in actual


class OpsCenter:
    """The OpsItems of one account and region (kept on moto's SSM backend, reset with it)."""

    def __init__(self, account_id: str, region: str) -> None:
        self.account_id = account_id
        self.region = region
        self.items: dict[str, dict[str, Any]] = {}
        self._lock = threading.RLock()

    def arn(self, ops_item_id: str) -> str:
        return f"arn:{get_partition(self.region)}:ssm:{self.region}:{self.account_id}:opsitem/{ops_item_id}"

    def _caller(self) -> str:
        return f"arn:{get_partition(self.region)}:sts::{self.account_id}:user/moto"  # moto's caller identity

    def create(self, params: Mapping[str, Any], *, at: datetime | None = None) -> dict[str, Any]:
        """Create an OpsItem from CreateOpsItem's parameters (``at``: its creation time, default now)."""
        _validate(params, required=True)
        moment = to_datetime(at) if at is not None else now()
        operational_data = {
            key: dict(entry) for key, entry in dict(params.get("OperationalData") or {}).items()
        }
        with self._lock:
            dedup = _dedup_string(operational_data)
            if dedup is not None:
                for existing in self.items.values():
                    if (
                        existing["Status"] != "Resolved"
                        and _dedup_string(existing["OperationalData"]) == dedup
                    ):
                        raise OpsItemAlreadyExistsError(existing["OpsItemId"])
            ops_item_id = f"oi-{mock_random.get_random_hex(12)}"
            item: dict[str, Any] = {
                "OpsItemId": ops_item_id,
                "OpsItemArn": self.arn(ops_item_id),
                "Title": params["Title"],
                "Description": params["Description"],
                "Source": params["Source"],
                "OpsItemType": params.get("OpsItemType") or DEFAULT_TYPE,
                "Status": "Open",
                "Priority": params.get("Priority"),
                "Category": params.get("Category"),
                "Severity": params.get("Severity"),
                "OperationalData": operational_data,
                "Notifications": list(params.get("Notifications") or []),
                "RelatedOpsItems": list(params.get("RelatedOpsItems") or []),
                "Tags": list(params.get("Tags") or []),
                "AccountId": params.get("AccountId") or self.account_id,
                "CreatedBy": self._caller(),
                "CreatedTime": moment,
                "LastModifiedBy": self._caller(),
                "LastModifiedTime": moment,
                "Version": "1",
                **{name: to_datetime(params[name]) for name in _TIMES if params.get(name) is not None},
            }
            self.items[ops_item_id] = item
        self._emit(CREATE_EVENT, item, update=False)
        return item

    def get(self, ops_item_id: str, ops_item_arn: str | None = None) -> dict[str, Any]:
        item = self.items.get(ops_item_id)
        if item is None or (ops_item_arn is not None and ops_item_arn != item["OpsItemArn"]):
            raise OpsItemNotFoundError(f"The OpsItem {ops_item_id} doesn't exist in this account and Region.")
        return item

    def update(self, params: Mapping[str, Any], *, at: datetime | None = None) -> dict[str, Any]:
        """Apply UpdateOpsItem's parameters (``at``: the modification time, default now)."""
        _validate(params, required=False)
        moment = to_datetime(at) if at is not None else now()
        with self._lock:
            item = self.get(str(params.get("OpsItemId")), params.get("OpsItemArn"))
            for name in ("Title", "Description", "Status", "Priority", "Category", "Severity"):
                if params.get(name) is not None:
                    item[name] = params[name]
            for name in ("Notifications", "RelatedOpsItems"):
                if params.get(name) is not None:
                    item[name] = list(params[name])
            for name in _TIMES:
                if params.get(name) is not None:
                    item[name] = to_datetime(params[name])
            for key, entry in dict(params.get("OperationalData") or {}).items():
                item["OperationalData"][key] = dict(entry)
            for key in params.get("OperationalDataToDelete") or []:
                item["OperationalData"].pop(key, None)
            item["LastModifiedBy"] = self._caller()
            item["LastModifiedTime"] = moment
            item["Version"] = str(int(item["Version"]) + 1)
        self._emit(UPDATE_EVENT, item, update=True)
        return item

    def describe(self, filters: list[Mapping[str, Any]]) -> list[dict[str, Any]]:
        """The OpsItems matching every filter, newest first."""
        for flt in filters:
            allowed = OPERATORS.get(str(flt.get("Key")))
            if allowed is None or flt.get("Operator") not in allowed:
                raise _ValidationError(
                    f"Filter key {flt.get('Key')} does not support the operator {flt.get('Operator')}"
                )
        with self._lock:
            items = list(self.items.values())
        found = [
            item
            for item in items
            if all(
                any(
                    _matches(item, str(flt["Key"]), str(flt["Operator"]), str(value))
                    for value in flt["Values"]
                )
                for flt in filters
            )
        ]
        found.sort(key=lambda item: item["CreatedTime"], reverse=True)
        return found

    def _emit(self, detail_type: str, item: Mapping[str, Any], *, update: bool) -> None:
        put_event(
            self.account_id,
            self.region,
            source=SOURCE,
            detail_type=detail_type,
            detail=event_detail(item, update=update),
            resources=[item["OpsItemArn"]],
            time=item["LastModifiedTime"],
        )


_STORE = "_localcloud_ops_center"
_store_lock = threading.Lock()


def ops_center(account_id: str, region: str) -> OpsCenter:
    """The OpsItems of ``account_id``/``region`` (to seed or inspect scenario data from tests and demos)."""
    backend: SimpleSystemManagerBackend = ssm_backends[account_id][region]
    with _store_lock:
        store: OpsCenter | None = getattr(backend, _STORE, None)
        if store is None:
            store = OpsCenter(account_id, region)
            setattr(backend, _STORE, store)
    return store


def _summary(item: Mapping[str, Any]) -> dict[str, Any]:
    return {name: item[name] for name in _SUMMARY_FIELDS if item.get(name) is not None}


def _public(item: Mapping[str, Any]) -> dict[str, Any]:
    return {
        key: value for key, value in item.items() if key not in ("Tags", "AccountId") and value is not None
    }


def _params(response: SimpleSystemManagerResponse) -> dict[str, Any]:
    body = json.loads(response.body or "{}")
    return body if isinstance(body, dict) else {}


def _store(response: SimpleSystemManagerResponse) -> OpsCenter:
    return ops_center(response.current_account, response.region)


def create_ops_item(self: SimpleSystemManagerResponse) -> ActionResult:
    item = _store(self).create(_params(self))
    return ActionResult({"OpsItemId": item["OpsItemId"], "OpsItemArn": item["OpsItemArn"]})


def update_ops_item(self: SimpleSystemManagerResponse) -> ActionResult:
    _store(self).update(_params(self))
    return ActionResult({})


def get_ops_item(self: SimpleSystemManagerResponse) -> ActionResult:
    params = _params(self)
    item = _store(self).get(str(params.get("OpsItemId")), params.get("OpsItemArn"))
    return ActionResult({"OpsItem": _public(item)})


def describe_ops_items(self: SimpleSystemManagerResponse) -> ActionResult:
    params = _params(self)
    size = int(params.get("MaxResults", MAX_RESULTS))
    if not 1 <= size <= MAX_RESULTS:
        raise _ValidationError(f"MaxResults must be between 1 and {MAX_RESULTS}")
    items = _store(self).describe(list(params.get("OpsItemFilters") or []))
    try:
        page, token = paginate([_summary(item) for item in items], params, page_size=size)
    except InvalidNextTokenError as exc:
        raise _InvalidNextTokenError() from exc
    return ActionResult({"OpsItemSummaries": page, "NextToken": token})


_OPERATIONS: dict[str, Callable[[SimpleSystemManagerResponse], ActionResult]] = {
    "create_ops_item": create_ops_item,
    "update_ops_item": update_ops_item,
    "get_ops_item": get_ops_item,
    "describe_ops_items": describe_ops_items,
}


@contextmanager
def extend() -> Iterator[None]:
    """Serve the OpsItem operations from moto's SSM (in-process and served) for the block."""
    with ExitStack() as stack:
        for name, operation in _OPERATIONS.items():
            stack.enter_context(mock.patch.object(SimpleSystemManagerResponse, name, operation, create=True))
        yield
