"""S3 Glacier restore simulator: ``RestoreObject`` answered as S3 answers it, restores completed on the
virtual clock with the notifications and EventBridge events S3 sends.

What moto 5.2.5 does, and what changes here:

| RestoreObject | moto | here (as on AWS) |
|---|---|---|
| first request on GLACIER / DEEP_ARCHIVE | 202 | 202; the restore runs for the tier's (virtual) time |
| while a restore runs | 200 | 409 ``RestoreAlreadyInProgress`` |
| restored copy exists | 200 | 200, the expiry moves to now + ``Days`` |
| ``VersionId`` | ignored (restores the current version) | restores that version (404 ``NoSuchVersion``) |
| STANDARD, GLACIER_IR, ... | 403 ``InvalidObjectState`` | the same |
| INTELLIGENT_TIERING, archive tier | 403 ``InvalidObjectState`` | 202 without ``Days``, 400 with ``Days`` |
| INTELLIGENT_TIERING, access tier | 403 ``InvalidObjectState`` | 403 ``ObjectAlreadyInActiveTierError`` |
| no ``Days`` (GLACIER, DEEP_ARCHIVE) | 202, nothing restored | 400 ``MalformedXML`` |
| ``Expedited`` on DEEP_ARCHIVE (or Deep Archive Access) | accepted | 400 ``InvalidArgument`` |
| completion | at the next read (``s3::keyrestore`` state manager) | after ``durations``, virtual clock |

moto's key stays the state: its ``_status`` (``IN_PROGRESS``/``RESTORED``) and ``_expiry`` are what
HeadObject (``x-amz-restore``), GetObject and CopyObject read, as before. The simulator takes each
restored key away from moto's state manager (as the ECS simulator does with tasks) and moves it itself:

- request (202): ``ongoing-request="true"``, ``s3:ObjectRestore:Post`` / "Object Restore Initiated";
- completion: GLACIER and DEEP_ARCHIVE get ``ongoing-request="false", expiry-date=...`` with the
  expiry at completion + ``Days`` rounded up to midnight UTC (S3's rule); an Intelligent-Tiering
  object moves back to the Frequent Access tier (no ``x-amz-archive-status``, no ``x-amz-restore``,
  no expiry); then ``s3:ObjectRestore:Completed`` / "Object Restore Completed";
- expiry of a restored copy (a daemon timer: it fires when the clock passes it but never keeps
  ``run_until_idle`` going): the copy is gone (no ``x-amz-restore``, GetObject refused again),
  ``s3:ObjectRestore:Delete`` / "Object Restore Expired".

Events go through ``moto.s3.notifications.send_event``, which the local cloud's ``S3Notifications``
replaces (``localcloud.s3_events``): AWS's record and EventBridge shapes, to the bucket's Lambda, SQS
and SNS configurations and, when EventBridge is enabled on the bucket, to the default bus.

Also added: ``x-amz-archive-status`` on HeadObject and 403 ``InvalidObjectState`` (with
``AccessTier``) on GetObject for Intelligent-Tiering objects in an archive tier, and ``RestoreStatus``
in ListObjectsV2 when asked with ``OptionalObjectAttributes=["RestoreStatus"]`` (moto ignores it).

Steering (see ``docs/localcloud.md``):

- ``durations[(source, tier)]``: virtual seconds per source (``GLACIER``, ``DEEP_ARCHIVE``,
  ``ARCHIVE_ACCESS``, ``DEEP_ARCHIVE_ACCESS``) and tier (``DEFAULT_DURATIONS``); the object tag
  ``LOCALCLOUD_RESTORE_SECONDS`` overrides it for one object;
- the object tag ``LOCALCLOUD_ARCHIVE_STATUS`` (``ARCHIVE_ACCESS`` | ``DEEP_ARCHIVE_ACCESS``) or
  ``archive(...)`` puts an Intelligent-Tiering object in an archive tier (moto has no tiers);
- faults, held here and never read from a request: ``throttle(n)`` (503 ``SlowDown`` for the next n
  RestoreObject calls), ``refuse_expedited(n)`` (503 ``GlacierExpeditedRetrievalNotAvailable`` for
  the next n Expedited requests that would start a restore). A call is one SDK call: its retries
  (same ``amz-sdk-invocation-id``) get the same answer, as a fault outlasting the SDK's retries would;
- lost events: ``drop_next_completion_events(n)`` and ``drop_completion_events(bucket, key)`` complete
  restores silently (no notification, no EventBridge event), for reconcilers to find them.

Not modelled: restore speed upgrades (a faster tier while a restore runs gets 409 here), S3 Select
restores (a body without ``Days`` is refused as above), the ``s3:IntelligentTiering`` event when an
object enters an archive tier, ``RequestPayer`` checks, CopyObject from an Intelligent-Tiering archive
tier.
"""

from __future__ import annotations

import secrets
import threading
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import MappingProxyType
from typing import Any, cast
from unittest import mock
from urllib.parse import unquote
from xml.etree import ElementTree
from xml.sax.saxutils import escape

from moto.core.common_types import TYPE_RESPONSE
from moto.core.responses import ActionResult
from moto.s3 import notifications
from moto.s3.exceptions import (
    InvalidArgumentError,
    InvalidObjectState,
    MalformedXML,
    MissingBucket,
    MissingKey,
    MissingVersion,
    S3ClientError,
)
from moto.s3.models import FakeKey, s3_backends
from moto.s3.responses import S3Response

from localcloud.clock import Timer, VirtualClock
from localcloud.s3_events import restore_expiry_date

DEFAULT_ACCOUNT_ID = "123456789012"
PARTITION = "aws"
ARCHIVE_CLASSES = ("GLACIER", "DEEP_ARCHIVE")
INTELLIGENT_TIERING = "INTELLIGENT_TIERING"
ARCHIVE_TIERS = ("ARCHIVE_ACCESS", "DEEP_ARCHIVE_ACCESS")
TIERS = ("Expedited", "Standard", "Bulk")
NO_EXPEDITED = ("DEEP_ARCHIVE", "DEEP_ARCHIVE_ACCESS")  # AWS offers only Standard and Bulk there
_MINUTE, _HOUR = 60.0, 3600.0
# Virtual seconds from request to completion, inside the ranges AWS documents for each tier.
DEFAULT_DURATIONS: Mapping[tuple[str, str], float] = MappingProxyType(
    {
        ("GLACIER", "Expedited"): 3 * _MINUTE,  # 1-5 minutes
        ("GLACIER", "Standard"): 4 * _HOUR,  # 3-5 hours
        ("GLACIER", "Bulk"): 8 * _HOUR,  # 5-12 hours
        ("DEEP_ARCHIVE", "Standard"): 12 * _HOUR,  # within 12 hours
        ("DEEP_ARCHIVE", "Bulk"): 48 * _HOUR,  # within 48 hours
        ("ARCHIVE_ACCESS", "Expedited"): 3 * _MINUTE,  # Intelligent-Tiering Archive Access: as GLACIER
        ("ARCHIVE_ACCESS", "Standard"): 4 * _HOUR,
        ("ARCHIVE_ACCESS", "Bulk"): 8 * _HOUR,
        ("DEEP_ARCHIVE_ACCESS", "Standard"): 12 * _HOUR,  # Deep Archive Access: as DEEP_ARCHIVE
        ("DEEP_ARCHIVE_ACCESS", "Bulk"): 48 * _HOUR,
    }
)
ARCHIVE_STATUS_TAG = "LOCALCLOUD_ARCHIVE_STATUS"
RESTORE_SECONDS_TAG = "LOCALCLOUD_RESTORE_SECONDS"
OPTIONAL_ATTRIBUTES_HEADER = "x-amz-optional-object-attributes"
INVOCATION_ID_HEADER = "amz-sdk-invocation-id"  # botocore: the same for every retry of one call
LOG_SIZE = 1000
REMEMBERED_INVOCATIONS = 1000
_IN_PROGRESS, _RESTORED = "IN_PROGRESS", "RESTORED"  # moto's s3::keyrestore states
# HTTP status of the S3 errors RestoreObject raises through moto (S3's error model; 400 otherwise).
_ERROR_STATUS = {
    "InvalidObjectState": 403,
    "ObjectAlreadyInActiveTierError": 403,
    "NoSuchKey": 404,
    "NoSuchVersion": 404,
    "NoSuchBucket": 404,
}
_JOB = "_localcloud_restore"  # attributes the simulator adds to moto's FakeKey
_ARCHIVE_STATUS = "_localcloud_archive_status"


class ObjectAlreadyInActiveTierError(S3ClientError):
    """RestoreObject on an Intelligent-Tiering object that is in an access tier (403, S3's error model)."""

    code = "ObjectAlreadyInActiveTierError"

    def __init__(self) -> None:
        super().__init__("The object is in an access tier already: there is nothing to restore")


class _StatusError(Exception):
    """An S3 error whose HTTP status the S3 model does not give (moto's serializer would answer 400)."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message

    def response(self, resource: str) -> TYPE_RESPONSE:
        request_id = secrets.token_hex(8).upper()
        body = (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            f"<Error><Code>{self.code}</Code><Message>{escape(self.message)}</Message>"
            f"<Resource>{escape(resource)}</Resource><RequestId>{request_id}</RequestId></Error>"
        )
        return self.status, {"Content-Type": "application/xml", "x-amz-request-id": request_id}, body


def _in_progress() -> _StatusError:
    return _StatusError(409, "RestoreAlreadyInProgress", "A restore of this object is already in progress")


def _slow_down() -> _StatusError:
    return _StatusError(503, "SlowDown", "Reduce your request rate")


def _no_expedited_capacity() -> _StatusError:
    return _StatusError(
        503,
        "GlacierExpeditedRetrievalNotAvailable",
        "Expedited retrievals are not available at the moment; try again later or use another tier",
    )


@dataclass(frozen=True)
class RestoreParameters:
    """The parts of a ``RestoreRequest`` body the simulator reads."""

    days: int | None
    tier: str


@dataclass(eq=False)
class Restore:
    """One restore S3 accepted (202), as the simulator runs it; times are virtual epoch seconds."""

    bucket: str
    key: str
    version_id: str | None  # None when the bucket was never versioned
    source: str  # GLACIER | DEEP_ARCHIVE | ARCHIVE_ACCESS | DEEP_ARCHIVE_ACCESS
    tier: str
    days: int | None  # None for Intelligent-Tiering
    requested_at: float
    due_at: float
    completed_at: float | None = None
    expires_at: float | None = None  # the restored copy's expiry (GLACIER and DEEP_ARCHIVE)
    expired_at: float | None = None
    notified: bool | None = None  # completion events sent (False: dropped); None while running
    obj: Any = field(default=None, repr=False)  # moto's FakeKey
    timer: Timer | None = field(default=None, repr=False)

    @property
    def state(self) -> str:
        if self.expired_at is not None:
            return "EXPIRED"
        return "IN_PROGRESS" if self.completed_at is None else "RESTORED"


@dataclass(frozen=True)
class RestoreCall:
    """One RestoreObject request the simulator answered (SDK retries are separate entries)."""

    bucket: str
    key: str
    version_id: str | None
    tier: str | None
    days: int | None
    status: int
    error: str | None
    invocation_id: str | None
    time: float


class _NextCalls:
    """A fault for the next ``remaining`` SDK calls; the retries of one call get that call's answer."""

    def __init__(self) -> None:
        self.remaining = 0
        self._answers: dict[str, bool] = {}

    def take(self, invocation_id: str | None) -> bool:
        if invocation_id is not None and invocation_id in self._answers:
            return self._answers[invocation_id]
        hit = self.remaining > 0
        if hit:
            self.remaining -= 1
        if invocation_id is not None:
            if len(self._answers) >= REMEMBERED_INVOCATIONS:
                del self._answers[next(iter(self._answers))]
            self._answers[invocation_id] = hit
        return hit


def _first(query: Mapping[str, Any], name: str) -> str | None:
    values = query.get(name) or [None]
    return None if values[0] is None else str(values[0])


def _child_text(element: ElementTree.Element, *path: str) -> str | None:
    """The text of a child element by local names (S3 bodies may carry the S3 XML namespace)."""
    for name in path:
        found = next((child for child in element if child.tag.rpartition("}")[2] == name), None)
        if found is None:
            return None
        element = found
    return (element.text or "").strip()


def parse_restore_request(body: bytes | str) -> RestoreParameters:
    """``Days`` and ``GlacierJobParameters.Tier`` (default Standard) of a RestoreRequest body."""
    try:
        # A request body to the local emulator, which moto itself parses with the same expat parser.
        root = ElementTree.fromstring(body) if body else None  # noqa: S314
    except ElementTree.ParseError as exc:
        raise MalformedXML() from exc
    if root is None or root.tag.rpartition("}")[2] != "RestoreRequest":
        raise MalformedXML()
    tier = _child_text(root, "GlacierJobParameters", "Tier") or "Standard"
    days = _child_text(root, "Days")
    if tier not in TIERS or (days is not None and not days.lstrip("-").isdigit()):
        raise MalformedXML()
    return RestoreParameters(days=None if days is None else int(days), tier=tier)


def _naive(moment: datetime) -> datetime:
    """moto keeps S3 times as naive UTC datetimes."""
    return moment.astimezone(UTC).replace(tzinfo=None)


def _aware(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def _tags(key: Any) -> dict[str, str]:
    tagger = s3_backends[key.account_id][key.partition].tagger
    return dict(tagger.get_tag_dict_for_resource(key.arn))


def _is_stored(key: Any) -> bool:
    """Whether moto still holds this very key (not deleted, overwritten or reset since)."""
    try:
        bucket = s3_backends[key.account_id][key.partition].get_bucket(key.bucket_name)
    except MissingBucket:
        return False
    return any(item is key for item in bucket.keys.getlist(key.name, []))


def _bucket_of(key: Any) -> Any:
    return s3_backends[key.account_id][key.partition].get_bucket(key.bucket_name)


def restore_status(key: Any) -> dict[str, Any] | None:
    """ListObjectsV2's ``RestoreStatus`` for a key (None when it has no restore), from moto's state."""
    expiry = getattr(key, "_expiry", None)
    if expiry is None:
        return None
    if key._status == _IN_PROGRESS:
        return {"IsRestoreInProgress": True}
    return {"IsRestoreInProgress": False, "RestoreExpiryDate": _aware(expiry)}


class S3RestoreSimulator:
    """Answers RestoreObject and completes restores on the virtual clock (see the module docstring)."""

    def __init__(self, clock: VirtualClock, account_id: str = DEFAULT_ACCOUNT_ID) -> None:
        self.clock = clock
        self.account_id = account_id
        self.durations: dict[tuple[str, str], float] = dict(DEFAULT_DURATIONS)
        self.restores: deque[Restore] = deque(maxlen=LOG_SIZE)  # most recent last
        self.calls: deque[RestoreCall] = deque(maxlen=LOG_SIZE)
        self._throttled = _NextCalls()
        self._expedited_refused = _NextCalls()
        self._drop_next = 0
        self._drop_keys: list[tuple[str, str, str | None]] = []
        self._lock = threading.RLock()

    # -- knobs -----------------------------------------------------------------------------------------

    def throttle(self, count: int = 1) -> None:
        """The next ``count`` RestoreObject calls get 503 ``SlowDown``."""
        with self._lock:
            self._throttled.remaining += count

    def refuse_expedited(self, count: int = 1) -> None:
        """The next ``count`` Expedited requests that would start a restore get 503
        ``GlacierExpeditedRetrievalNotAvailable`` (no Expedited capacity)."""
        with self._lock:
            self._expedited_refused.remaining += count

    def drop_next_completion_events(self, count: int = 1) -> None:
        """The next ``count`` restores to complete do so silently: no notification, no EventBridge event."""
        with self._lock:
            self._drop_next += count

    def drop_completion_events(self, bucket: str, key: str, version_id: str | None = None) -> None:
        """The next completion of this object (of any version when ``version_id`` is None) is silent."""
        with self._lock:
            self._drop_keys.append((bucket, key, version_id))

    def archive(
        self, bucket: str, key: str, tier: str = "ARCHIVE_ACCESS", *, version_id: str | None = None
    ) -> None:
        """Put an Intelligent-Tiering object in an archive tier: ARCHIVE_ACCESS or DEEP_ARCHIVE_ACCESS."""
        if tier not in ARCHIVE_TIERS:
            raise ValueError(f"not an Intelligent-Tiering archive tier: {tier!r}")
        obj = s3_backends[self.account_id][PARTITION].get_object(bucket, key, version_id=version_id)
        if obj is None:
            raise LookupError(f"no object s3://{bucket}/{key} (version {version_id})")
        if obj.storage_class != INTELLIGENT_TIERING:
            raise ValueError(f"s3://{bucket}/{key} is {obj.storage_class}, not {INTELLIGENT_TIERING}")
        with self._lock:
            setattr(obj, _ARCHIVE_STATUS, tier)

    def restore(self, bucket: str, key: str, version_id: str | None = None) -> Restore | None:
        """The most recent restore of this object (of any version when ``version_id`` is None)."""
        with self._lock:
            for item in reversed(self.restores):
                if (item.bucket, item.key) == (bucket, key) and version_id in (None, item.version_id):
                    return item
        return None

    # -- installation ----------------------------------------------------------------------------------

    @contextmanager
    def install(self) -> Iterator[S3RestoreSimulator]:
        original_post = S3Response._key_response_post
        original_get = S3Response.get_object
        original_list = S3Response.list_objects_v2
        original_headers = FakeKey.response_dict
        simulator = self

        def key_response_post(
            response: S3Response, request: Any, body: bytes, bucket_name: str, query: Any, key_name: str
        ) -> TYPE_RESPONSE:
            if "restore" in query:
                return simulator.answer_restore(response, body, bucket_name, query, key_name)
            return original_post(response, request, body, bucket_name, query, key_name)

        def get_object(response: S3Response) -> TYPE_RESPONSE:
            simulator.check_readable(response)
            return original_get(response)

        def list_objects_v2(response: S3Response) -> TYPE_RESPONSE:
            return simulator.list_with_restore_status(response, original_list)

        def response_dict(key: FakeKey) -> dict[str, Any]:
            headers: dict[str, Any] = original_headers.fget(key)  # type: ignore[attr-defined]
            tier = simulator.archive_status(key)
            if tier is not None:
                headers["x-amz-archive-status"] = tier
            return headers

        with ExitStack() as stack:
            stack.enter_context(mock.patch.object(S3Response, "_key_response_post", key_response_post))
            stack.enter_context(mock.patch.object(S3Response, "get_object", get_object))
            stack.enter_context(mock.patch.object(S3Response, "list_objects_v2", list_objects_v2))
            stack.enter_context(mock.patch.object(FakeKey, "response_dict", property(response_dict)))
            yield self

    # -- RestoreObject ---------------------------------------------------------------------------------

    def answer_restore(
        self,
        response: Any,
        body: bytes,
        bucket_name: str,
        query: Mapping[str, Any],
        key_name: str,
    ) -> TYPE_RESPONSE:
        """RestoreObject (``POST /{key}?restore``) as S3 answers it."""
        response._set_action("KEY", "POST", query)
        response._authenticate_and_authorize_s3_action(bucket_name=bucket_name, key_name=key_name)
        version_id = _first(query, "versionId")
        invocation_id = response.headers.get(INVOCATION_ID_HEADER)
        parameters: RestoreParameters | None = None

        def log(status: int, error: str | None) -> None:
            self.calls.append(
                RestoreCall(
                    bucket=bucket_name,
                    key=key_name,
                    version_id=version_id,
                    tier=parameters.tier if parameters else None,
                    days=parameters.days if parameters else None,
                    status=status,
                    error=error,
                    invocation_id=invocation_id,
                    time=self.clock.now(),
                )
            )

        try:
            with self._lock:
                if self._throttled.take(invocation_id):
                    raise _slow_down()
            parameters = parse_restore_request(body)
            status, started = self._restore(
                response.backend, bucket_name, key_name, version_id, parameters, invocation_id
            )
        except _StatusError as exc:
            log(exc.status, exc.code)
            return exc.response(f"/{bucket_name}/{key_name}")
        except S3ClientError as exc:
            log(_ERROR_STATUS.get(exc.code, 400), exc.code)  # moto serialises it, with the same status
            raise
        log(status, None)
        if started is not None:
            self._send(notifications.S3NotificationEvent.OBJECT_RESTORE_POST_EVENT, started.obj)
        return status, {}, ""

    def _restore(
        self,
        backend: Any,
        bucket_name: str,
        key_name: str,
        version_id: str | None,
        parameters: RestoreParameters,
        invocation_id: str | None,
    ) -> tuple[int, Restore | None]:
        key = backend.get_object(bucket_name, key_name, version_id=version_id)
        if key is None:
            raise MissingVersion() if version_id is not None else MissingKey(key=key_name)
        with self._lock:
            source = self._restorable_from(key, parameters)
            if key._expiry is not None and key._status == _IN_PROGRESS:
                raise _in_progress()
            if key._expiry is not None and parameters.days is not None:  # a restored copy: extend it
                self._extend(key, parameters.days)
                return 200, None
            if parameters.tier == "Expedited" and self._expedited_refused.take(invocation_id):
                raise _no_expedited_capacity()
            return 202, self._start(backend.get_bucket(bucket_name), key, source, parameters)

    def _restorable_from(self, key: Any, parameters: RestoreParameters) -> str:
        """The source a valid request restores ``key`` from, or the error S3 answers the request with."""
        storage = key.storage_class
        if storage == INTELLIGENT_TIERING:
            source = self.archive_status(key)
            if source is None:
                raise ObjectAlreadyInActiveTierError()
            if parameters.days is not None:
                raise InvalidArgumentError(
                    "Intelligent-Tiering restores have no expiry: omit Days", "Days", str(parameters.days)
                )
        elif storage in ARCHIVE_CLASSES:
            source = str(storage)
            if parameters.days is None:
                raise MalformedXML()  # S3 requires Days for GLACIER and DEEP_ARCHIVE
            if parameters.days < 1:
                raise InvalidArgumentError("Days must be at least 1", "Days", str(parameters.days))
        else:
            raise InvalidObjectState(storage_class=storage)
        if parameters.tier == "Expedited" and source in NO_EXPEDITED:
            raise InvalidArgumentError(
                f"Expedited retrieval is not available for {source}", "Tier", parameters.tier
            )
        return source

    def archive_status(self, key: Any) -> str | None:
        """``x-amz-archive-status`` of an Intelligent-Tiering object (None: an access tier)."""
        if key.storage_class != INTELLIGENT_TIERING:
            return None
        if hasattr(key, _ARCHIVE_STATUS):  # set by archive() or by a completed restore
            tier = getattr(key, _ARCHIVE_STATUS)
            return None if tier is None else str(tier)
        tier = _tags(key).get(ARCHIVE_STATUS_TAG)
        return tier if tier in ARCHIVE_TIERS else None

    def _duration(self, key: Any, source: str, tier: str) -> float:
        override = _tags(key).get(RESTORE_SECONDS_TAG)
        return float(override) if override is not None else self.durations[source, tier]

    def _start(self, bucket: Any, key: Any, source: str, parameters: RestoreParameters) -> Restore:
        now = self.clock.now()
        job = Restore(
            bucket=bucket.name,
            key=key.name,
            version_id=None if bucket.versioning_status is None else str(key.version_id),
            source=source,
            tier=parameters.tier,
            days=parameters.days,
            requested_at=now,
            due_at=now + self._duration(key, source, parameters.tier),
            obj=key,
        )
        key._transitions = []  # moto's state manager must not move the restore: the clock does
        key._status = _IN_PROGRESS
        # moto shows x-amz-restore only while _expiry is set: until completion it holds the due time.
        key._expiry = _naive(datetime.fromtimestamp(job.due_at, UTC))
        setattr(key, _JOB, job)  # a previous restore of this key has expired: its timers are done
        job.timer = self.clock.call_at(job.due_at, lambda: self._complete(job))
        self.restores.append(job)
        return job

    def _extend(self, key: Any, days: int) -> None:
        """A restored copy exists: S3 sets its expiry from now (no new event)."""
        expiry = restore_expiry_date(datetime.fromtimestamp(self.clock.now(), UTC) + timedelta(days=days))
        key._expiry = _naive(expiry)
        job = getattr(key, _JOB, None)
        if job is not None:
            self._expire_at(job, expiry.timestamp())

    # -- completion and expiry (clock callbacks) -------------------------------------------------------

    def _complete(self, job: Restore) -> None:
        with self._lock:
            key = job.obj
            if getattr(key, _JOB, None) is not job or not _is_stored(key):
                return  # deleted or overwritten meanwhile: nothing left to restore
            now = self.clock.now()
            job.completed_at, job.timer = now, None
            if job.source in ARCHIVE_CLASSES and job.days is not None:
                expiry = restore_expiry_date(datetime.fromtimestamp(now, UTC) + timedelta(days=job.days))
                key._status, key._expiry = _RESTORED, _naive(expiry)
                self._expire_at(job, expiry.timestamp())
            else:  # Intelligent-Tiering: back in the Frequent Access tier, for good
                key._status, key._expiry = None, None
                setattr(key, _ARCHIVE_STATUS, None)
            job.notified = not self._drop(job)
        if job.notified:
            self._send(notifications.S3NotificationEvent.OBJECT_RESTORE_COMPLETED_EVENT, key)

    def _drop(self, job: Restore) -> bool:
        if self._drop_next > 0:
            self._drop_next -= 1
            return True
        for candidate in ((job.bucket, job.key, job.version_id), (job.bucket, job.key, None)):
            if candidate in self._drop_keys:
                self._drop_keys.remove(candidate)
                return True
        return False

    def _expire_at(self, job: Restore, when: float) -> None:
        if job.timer is not None:
            job.timer.cancel()
        job.expires_at = when
        job.timer = self.clock.call_at(when, lambda: self._expire(job, when), daemon=True)

    def _expire(self, job: Restore, when: float) -> None:
        with self._lock:
            key = job.obj
            if getattr(key, _JOB, None) is not job or job.expires_at != when or not _is_stored(key):
                return
            key._status, key._expiry = None, None
            job.expired_at, job.timer = self.clock.now(), None
        self._send(notifications.S3NotificationEvent.OBJECT_RESTORE_DELETE_EVENT, key)

    def _send(self, event: Any, key: Any) -> None:
        """Through moto's notification entry point, which the local cloud's ``S3Notifications`` replaces."""
        notifications.send_event(key.account_id, event, _bucket_of(key), key=key)

    # -- reads -----------------------------------------------------------------------------------------

    def check_readable(self, response: Any) -> None:
        """GetObject on an Intelligent-Tiering object in an archive tier: 403 ``InvalidObjectState``."""
        version_id = _first(response.querystring, "versionId")
        key = response.backend.get_object(response.bucket_name, response.parse_key_name(), version_id)
        tier = None if key is None else self.archive_status(key)
        if tier is not None:
            error = InvalidObjectState(storage_class=INTELLIGENT_TIERING)
            error.access_tier = tier  # type: ignore[attr-defined]
            raise error

    def list_with_restore_status(
        self, response: Any, original: Callable[[Any], TYPE_RESPONSE]
    ) -> TYPE_RESPONSE:
        """ListObjectsV2 with ``RestoreStatus`` per object when the request asks for it."""
        asked = str(response.headers.get(OPTIONAL_ATTRIBUTES_HEADER) or "")
        if "RestoreStatus" not in [part.strip() for part in asked.split(",")]:
            return original(response)
        bucket = response.backend.get_bucket(response.bucket_name)
        serialized = response.serialized

        def with_restore_status(result: ActionResult) -> TYPE_RESPONSE:
            listing = cast(dict[str, Any], result.result)  # ListObjectsV2's result, as moto builds it
            for item in listing.get("Contents", []):
                name = unquote(item["Key"]) if listing.get("EncodingType") == "url" else item["Key"]
                key = bucket.keys.get(name)
                status = None if key is None else restore_status(key)
                if status is not None:
                    item["RestoreStatus"] = status
            answer: TYPE_RESPONSE = serialized(result)
            return answer

        response.serialized = with_restore_status  # this response object serves this request only
        result: TYPE_RESPONSE = original(response)
        return result
