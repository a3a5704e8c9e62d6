"""S3 event notifications with the shapes AWS sends, to Lambda, SQS, SNS and EventBridge.

Why: moto 5.2.5 builds its notification records in ``moto.s3.notifications`` without ``userIdentity``,
``requestParameters``, ``responseElements``, ``bucket.ownerIdentity``, ``object.sequencer`` and
``object.versionId``, and encodes keys with ``quote_plus`` *including* ``/``. Powertools' ``S3Model``
rejects such records, and a handler that decodes keys as on AWS is tested against the wrong input. Its
EventBridge events carry a fixed ``id``/``sequencer``, ``eTag`` instead of ``etag``, ``reason``
``ObjectCreated`` instead of ``PutObject``, and go to the rules of every bus instead of the default one.

``S3Notifications.install()`` replaces ``moto.s3.notifications.send_event`` (moto's models call it by
attribute, so every path reaches it: PutObject, POST, CopyObject, CompleteMultipartUpload, DeleteObject,
restores, tagging, ACLs). One S3 action is one *occurrence*: one time, one request id and one
``sequencer`` shared by every destination it is sent to, as on AWS. What is delivered:

- Lambda (asynchronous invocation, as S3 invokes: the runtime's retries and destinations apply), SQS
  and SNS (subject ``Amazon S3 Notification``): ``{"Records": [record]}`` with eventVersion 2.1 (2.3 for
  the tagging, ACL, lifecycle and restore-expiry events), ISO time with milliseconds, the key encoded as
  S3 encodes it (``quote_plus`` keeping ``/``: ``in/a b.csv`` -> ``in/a+b.csv``), ``versionId`` when the
  bucket is versioned, a ``sequencer`` that increases per key (18 hex digits: epoch seconds, then a
  counter), and ``glacierEventData`` for ``ObjectRestore:Completed``;
- EventBridge (``EventBridgeConfiguration``): the ``Object Created``/``Object Deleted``/``Object Restore
  ...`` event on the default bus, detail as AWS documents it (raw key, ``etag``, ``version-id``,
  ``reason``, ``deletion-type``, ``restore-expiry-time``, ``source-storage-class``).

Events moto gets wrong beyond their shape:

- versioned buckets: moto sends nothing when DELETE creates a delete marker and, for a version deleted
  by id, describes the wrong version; ``S3Backend.delete_object`` is wrapped to send
  ``ObjectRemoved:DeleteMarkerCreated`` and ``ObjectRemoved:Delete`` for the version actually removed;
- extra events: moto's PutObject and CopyObject also "put" the object's tags (an ``ObjectTagging:Put``
  for every upload) and CompleteMultipartUpload also sends ``ObjectCreated:Put``; while those calls
  run only the event AWS sends gets through (``S3Notifications.only``);
- the ``s3:TestEvent`` sent to queues and topics when a configuration is put gains the ``RequestId`` and
  ``HostId`` AWS includes.

``eventTime`` and the sequencer follow the local cloud's virtual clock when it has one.

Delivery stays asynchronous in spirit: a failing destination never fails the S3 call (moto swallows
errors silently; here they are logged).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import logging
import secrets
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol
from unittest import mock
from urllib.parse import quote_plus

from localcloud.clock import isoformat

log = logging.getLogger(__name__)


class Clock(Protocol):
    """What S3 events need of the virtual clock: its time, in epoch seconds."""

    def now(self) -> float: ...


EVENT_VERSION = "2.1"
# AWS uses 2.3 for these (they carry extra, operation-specific data); 2.1 for everything else.
_EVENT_VERSION_2_3 = (
    "ObjectTagging:",
    "ObjectAcl:",
    "LifecycleExpiration:",
    "LifecycleTransition",
    "ObjectRestore:Delete",
    "IntelligentTiering",
)
SNS_SUBJECT = "Amazon S3 Notification"
EMPTY_ETAG = hashlib.md5(b"", usedforsecurity=False).hexdigest()  # what a delete marker reports
_CREATED_REASONS = {
    "Put": "PutObject",
    "Post": "POST Object",
    "Copy": "CopyObject",
    "CompleteMultipartUpload": "CompleteMultipartUpload",
}
_SERVICE_SOURCE = "s3.amazonaws.com"  # S3 itself as the requester (restore completion)
_BY_S3 = ("ObjectRestore:Completed", "ObjectRestore:Delete")  # done by S3, not by a request


def encode_key(key: str) -> str:
    """The object key as S3 writes it in notification records (``a b/c+d`` -> ``a+b/c%2Bd``)."""
    return quote_plus(key, safe="/")


def _account_ids(account_id: str) -> tuple[str, str]:
    """Stable stand-ins for the requester's IAM unique id and the bucket owner's Amazon customer id."""
    digest = base64.b32encode(hashlib.sha256(account_id.encode()).digest()).decode()
    return f"AIDA{digest[:17]}", f"A{digest[17:30]}"


class Sequencer:
    """``s3.object.sequencer`` values: 18 hex digits, epoch seconds then a counter, never repeating.

    AWS promises that, for one key, a later event has a greater sequencer (compared as hex strings of
    equal length); one strictly increasing value per local cloud gives that for every key.
    """

    def __init__(self) -> None:
        self._last = 0
        self._lock = threading.Lock()

    def next(self, epoch: float) -> str:
        with self._lock:
            self._last = max(int(epoch) << 32, self._last + 1)
            return f"{self._last:018X}"


@dataclass(frozen=True)
class Occurrence:
    """One S3 action, as every destination of its notification sees it."""

    event_name: str  # moto's name, "s3:ObjectCreated:Put"
    epoch: float
    sequencer: str
    request_id: str
    host_id: str
    principal_id: str
    source_ip: str

    @property
    def name(self) -> str:
        """The record's ``eventName``: ``ObjectCreated:Put``."""
        return self.event_name.removeprefix("s3:")


def _source_ip() -> str:
    """The client address when moto's server handles the request, loopback in-process."""
    with contextlib.suppress(ImportError, RuntimeError):
        from flask import has_request_context, request

        if has_request_context() and request.remote_addr:
            return str(request.remote_addr)
    return "127.0.0.1"


def restore_expiry_date(moment: datetime) -> datetime:
    """A restored copy's expiry as S3 sets it: ``moment`` (naive means UTC) rounded up to midnight UTC."""
    moment = moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)
    midnight = moment.replace(hour=0, minute=0, second=0, microsecond=0)
    return midnight if midnight == moment else midnight + timedelta(days=1)


def _restore_expiry(key: Any) -> datetime | None:
    """When the restored copy expires: moto's expiry rounded up to midnight UTC, as S3 rounds it."""
    expiry = getattr(key, "_expiry", None)
    return restore_expiry_date(expiry) if isinstance(expiry, datetime) else None


def _version_id(bucket: Any, key: Any) -> str | None:
    version = getattr(key, "version_id", None)
    if bucket.versioning_status is None or version is None:
        return None  # AWS omits versionId for buckets that were never versioned
    return str(version)


def _is_deletion(name: str) -> bool:
    return name.startswith(("ObjectRemoved:", "LifecycleExpiration:"))


def record(occurrence: Occurrence, bucket: Any, key: Any, configuration_id: str) -> dict[str, Any]:
    """One entry of ``Records`` (Lambda, SQS and SNS deliveries)."""
    name = occurrence.name
    restored = name == "ObjectRestore:Completed"
    by_s3 = name in _BY_S3
    _, owner = _account_ids(bucket.account_id)
    s3_object: dict[str, Any] = {"key": encode_key(key.name)}
    if not _is_deletion(name):
        s3_object["size"] = key.size
        s3_object["eTag"] = key.etag.strip('"')
    version = _version_id(bucket, key)
    if version is not None:
        s3_object["versionId"] = version
    s3_object["sequencer"] = occurrence.sequencer
    entry: dict[str, Any] = {
        "eventVersion": "2.3" if name.startswith(_EVENT_VERSION_2_3) else EVENT_VERSION,
        "eventSource": "aws:s3",
        "awsRegion": bucket.region_name,
        "eventTime": isoformat(occurrence.epoch, millis=True),
        "eventName": name,
        "userIdentity": {"principalId": f"AmazonCustomer:{owner}" if by_s3 else occurrence.principal_id},
        "requestParameters": {"sourceIPAddress": _SERVICE_SOURCE if by_s3 else occurrence.source_ip},
        "responseElements": {"x-amz-request-id": occurrence.request_id, "x-amz-id-2": occurrence.host_id},
        "s3": {
            "s3SchemaVersion": "1.0",
            "configurationId": configuration_id,
            "bucket": {"name": bucket.name, "ownerIdentity": {"principalId": owner}, "arn": bucket.arn},
            "object": s3_object,
        },
    }
    expiry = _restore_expiry(key)
    if restored and expiry is not None:
        entry["glacierEventData"] = {
            "restoreEventData": {
                "lifecycleRestorationExpiryTime": isoformat(expiry.timestamp(), millis=True),
                "lifecycleRestoreStorageClass": key.storage_class,
            }
        }
    return entry


def eventbridge_detail(occurrence: Occurrence, bucket: Any, key: Any) -> dict[str, Any]:
    """The ``detail`` of the EventBridge event (keys are not URL-encoded there)."""
    name = occurrence.name
    marker = name == "ObjectRemoved:DeleteMarkerCreated"
    s3_object: dict[str, Any] = {"key": key.name}
    if not _is_deletion(name):
        s3_object["size"] = key.size
    if marker or not _is_deletion(name):
        s3_object["etag"] = EMPTY_ETAG if marker else key.etag.strip('"')
    version = _version_id(bucket, key)
    if version is not None:
        s3_object["version-id"] = version
    if not name.startswith("ObjectRestore:"):
        s3_object["sequencer"] = occurrence.sequencer
    detail: dict[str, Any] = {"version": "0", "bucket": {"name": bucket.name}, "object": s3_object}
    detail["request-id"] = occurrence.request_id
    if name in _BY_S3:
        detail["requester"] = _SERVICE_SOURCE
        expiry = _restore_expiry(key) if name == "ObjectRestore:Completed" else None
        if expiry is not None:
            detail["restore-expiry-time"] = isoformat(expiry.timestamp())
    else:
        detail["requester"] = bucket.account_id
        detail["source-ip-address"] = occurrence.source_ip
    kind, _, operation = name.partition(":")
    if kind == "ObjectCreated":
        detail["reason"] = _CREATED_REASONS.get(operation, operation)
    elif _is_deletion(name):
        detail["reason"] = "DeleteObject" if kind == "ObjectRemoved" else "Lifecycle Expiration"
        detail["deletion-type"] = (
            "Delete Marker Created" if operation.endswith("Created") else "Permanently Deleted"
        )
    if kind == "ObjectRestore":
        detail["source-storage-class"] = key.storage_class
    return detail


# moto's S3 calls that send events AWS does not send: only the listed ones get through while they run.
# PutObject and CopyObject also "put" the object's tags (an ObjectTagging:Put event on every upload);
# CompleteMultipartUpload also sends ObjectCreated:Put and ObjectTagging:Put.
_ONLY_THESE_EVENTS = {
    ("moto.s3.responses", "S3Response", "put_object"): ("s3:ObjectCreated:Put", "s3:ObjectCreated:Post"),
    ("moto.s3.responses", "S3Response", "copy_object"): ("s3:ObjectCreated:Copy",),
    ("moto.s3.models", "S3Backend", "complete_multipart_upload"): (
        "s3:ObjectCreated:CompleteMultipartUpload",
    ),
}


class S3Notifications:
    """Installs the replacement of moto's S3 notification delivery (see the module docstring)."""

    def __init__(self, clock: Clock | None = None) -> None:
        self.clock = clock  # the local cloud's virtual clock, when it has one
        self.sequencer = Sequencer()
        self._scope = threading.local()  # per thread: the event names allowed while a moto call runs

    @contextlib.contextmanager
    def install(self) -> Iterator[S3Notifications]:
        import importlib

        from moto.s3 import notifications
        from moto.s3.models import S3Backend

        owner = self
        original_test_event = notifications._get_test_event
        original_delete = S3Backend.delete_object

        def test_event(bucket_name: str) -> dict[str, Any]:
            return {**original_test_event(bucket_name), **owner._request_ids()}

        def delete_object(backend: Any, bucket_name: str, key_name: str, *args: Any, **kwargs: Any) -> Any:
            return owner._versioned_delete(original_delete, backend, bucket_name, key_name, *args, **kwargs)

        with contextlib.ExitStack() as stack:
            stack.enter_context(mock.patch.object(notifications, "send_event", self.send_event))
            stack.enter_context(mock.patch.object(notifications, "_get_test_event", test_event))
            stack.enter_context(mock.patch.object(S3Backend, "delete_object", delete_object))
            for (module, cls_name, method), allowed in _ONLY_THESE_EVENTS.items():
                cls = getattr(importlib.import_module(module), cls_name)
                wrapped = self._allowing(getattr(cls, method), allowed)
                stack.enter_context(mock.patch.object(cls, method, wrapped))
            yield self

    @contextlib.contextmanager
    def only(self, *event_names: str) -> Iterator[None]:
        """While the block runs on this thread, drop every event but ``event_names``."""
        previous = getattr(self._scope, "allowed", None)
        self._scope.allowed = frozenset(event_names)
        try:
            yield
        finally:
            self._scope.allowed = previous

    def _allowing(self, method: Callable[..., Any], allowed: tuple[str, ...]) -> Callable[..., Any]:
        def call(*args: Any, **kwargs: Any) -> Any:
            with self.only(*allowed):
                return method(*args, **kwargs)

        return call

    # -- one occurrence, every destination ---------------------------------------------------------

    def _request_ids(self) -> dict[str, str]:
        return {
            "RequestId": secrets.token_hex(8).upper(),
            "HostId": base64.b64encode(secrets.token_bytes(56)).decode(),
        }

    def now(self) -> float:
        return self.clock.now() if self.clock is not None else time.time()

    def occurrence(self, event_name: str, account_id: str) -> Occurrence:
        epoch = self.now()
        ids = self._request_ids()
        principal, _ = _account_ids(account_id)
        return Occurrence(
            event_name=event_name,
            epoch=epoch,
            sequencer=self.sequencer.next(epoch),
            request_id=ids["RequestId"],
            host_id=ids["HostId"],
            principal_id=f"AWS:{principal}",
            source_ip=_source_ip(),
        )

    def send_event(self, account_id: str, event_name: Any, bucket: Any, key: Any) -> None:
        """moto's ``send_event`` signature: one S3 action on ``key`` of ``bucket``."""
        name = str(getattr(event_name, "value", event_name))  # moto passes its S3NotificationEvent enum
        allowed = getattr(self._scope, "allowed", None)
        configuration = bucket.notification_configuration
        if configuration is None or key is None or (allowed is not None and name not in allowed):
            return
        occurrence = self.occurrence(name, account_id)
        for kind, notifications in (
            ("lambda", configuration.cloud_function),
            ("sqs", configuration.queue),
            ("sns", configuration.topic),
        ):
            for notification in notifications:
                if _matches(notification, name, key.name):
                    body = {"Records": [record(occurrence, bucket, key, notification.id)]}
                    _deliver(kind, account_id, notification.arn, body)
        if configuration.event_bridge is not None:
            _to_eventbridge(occurrence, bucket, key)

    def _versioned_delete(
        self, original: Any, backend: Any, bucket_name: str, key_name: str, *args: Any, **kwargs: Any
    ) -> Any:
        """DELETE on a versioned bucket: the delete marker, or the version removed, as S3 reports it."""
        bucket = backend.get_bucket(bucket_name)
        if not bucket.is_versioned:
            return original(backend, bucket_name, key_name, *args, **kwargs)
        version_id = kwargs.get("version_id", args[0] if args else None)
        removed = next(
            (item for item in bucket.keys.getlist(key_name, []) if str(item.version_id) == str(version_id)),
            None,
        )
        with self.only():  # moto's own event describes the wrong version (or is missing)
            result = original(backend, bucket_name, key_name, *args, **kwargs)
        if result[0] and version_id is None:
            marker = bucket.keys.get(key_name)
            self.send_event(backend.account_id, "s3:ObjectRemoved:DeleteMarkerCreated", bucket, marker)
        elif result[0] and removed is not None:
            self.send_event(backend.account_id, "s3:ObjectRemoved:Delete", bucket, removed)
        return result


def _matches(notification: Any, event_name: str, key_name: str) -> bool:
    """moto's event match, with S3's case-insensitive ``prefix``/``suffix`` filter rule names."""
    if not notification._event_matches(event_name):
        return False
    rules = notification.filters.get("S3Key", {}).get("FilterRule", [])
    for rule in rules if isinstance(rules, list) else [rules]:
        name, value = str(rule["Name"]).lower(), str(rule["Value"])
        if (name == "prefix" and not key_name.startswith(value)) or (
            name == "suffix" and not key_name.endswith(value)
        ):
            return False
    return True


def _deliver(kind: str, account_id: str, arn: str, body: dict[str, Any]) -> None:
    """Hand one notification to its destination; S3 delivers asynchronously, so errors are logged."""
    region = arn.split(":")[3]
    try:
        if kind == "lambda":
            from moto.awslambda.utils import get_backend

            get_backend(account_id, region).invoke(
                function_name=arn,
                qualifier=None,
                body=json.dumps(body),
                headers={"x-amz-invocation-type": "Event"},
                response_headers={},
            )
        elif kind == "sqs":
            from moto.sqs.models import sqs_backends

            sqs_backends[account_id][region].send_message(
                queue_name=arn.split(":")[-1], message_body=json.dumps(body)
            )
        else:
            from moto.sns.models import sns_backends

            sns_backends[account_id][region].publish(message=json.dumps(body), arn=arn, subject=SNS_SUBJECT)
    except Exception:  # the S3 call succeeded; AWS drops undeliverable notifications too
        log.warning("S3 notification to %s not delivered", arn, exc_info=True)


def _to_eventbridge(occurrence: Occurrence, bucket: Any, key: Any) -> None:
    """Put the event on the default bus of the bucket's account and region (never on other buses)."""
    from moto.events.models import events_backends
    from moto.events.utils import EventMessageType
    from moto.s3.notifications import _detail_type

    try:
        detail_type = _detail_type(occurrence.event_name)
    except ValueError:
        return  # S3 sends no EventBridge event for this kind (replication, reduced redundancy)
    event: EventMessageType = {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": detail_type,
        "source": "aws.s3",
        "account": bucket.account_id,
        "time": occurrence.epoch,  # moto's internal shape: epoch seconds, made ISO on delivery
        "region": bucket.region_name,
        "resources": [bucket.arn],
        "detail": eventbridge_detail(occurrence, bucket, key),
    }
    bus = events_backends[bucket.account_id][bucket.region_name].event_buses.get("default")
    for rule in list(bus.rules.values()) if bus is not None else []:
        try:
            rule.send_to_targets(event)
        except Exception:  # one failing rule does not stop the others
            log.warning("S3 event to rule %s not delivered", rule.name, exc_info=True)
