"""The Glacier restore flow: index a restore request, restore objects, record completions, reconcile.

- **Index** (``index``): list every URL of the request, classify each object, write one row per object
  that must be restored (BatchWriteItem), then the chunks to the restore queue (SendMessageBatch). Nothing to
  restore: the launch goes straight to READY. A repeated delivery of the same upload resumes an interrupted
  indexing and otherwise does nothing.
- **Restore** (``restore_chunk``): RestoreObject per object and the outcome matrix; every outcome is
  idempotent, so a redelivered chunk is safe.
- **Complete** (``complete_object``): every open row of the object (several requests may share it) is
  resolved in a transaction with its request's counter; the request whose counter reaches zero flips to READY
  once, and its launch WAITING → READY, which starts it.
- **Reconcile** (``reconcile``): completion events that never came are found with HeadObject, lost or
  expired restores are requested again (at most ``max_attempts``), and a request past its deadline fails its
  launch with ``RestoreTimeout``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from botocore.exceptions import ClientError

from blueprints.core.errors import PermanentError, RetryableError
from blueprints.core.observability import logger
from blueprints.genomics.registration import Notifier
from blueprints.genomics.registry import LaunchRegistry
from blueprints.genomics.restore import (
    SLA_MIN_HOURS,
    Decision,
    ObjectState,
    RestoreRequest,
    Tier,
    chunks,
    classify,
    deadline,
    estimate,
    object_days,
    object_tier,
    parse_request,
    request_tier,
    targets,
)
from blueprints.genomics.restore_s3 import (
    Outcome,
    RestoreListingError,
    RestoreObjectMissingError,
    RestoreS3,
)
from blueprints.genomics.restore_store import SYNC_PENDING, RestoreStore, Row
from blueprints.genomics.status import Status

FAILED_CODES = {"timeout": "RestoreTimeout", "failed": "RestoreFailed"}


class ChunkQueue(Protocol):
    def send(self, bodies: Sequence[str]) -> int:
        """Send every body; returns the number of SendMessageBatch calls."""
        ...


@dataclass(frozen=True)
class RestoreConfig:
    allow_partial: bool
    max_attempts: int = 3
    lost_chunk_grace: timedelta = timedelta(minutes=15)
    indexing_timeout: timedelta = timedelta(minutes=30)  # an INDEXING request older than this failed
    rows_per_request: int = 1000  # rows one reconciler run looks at per request before the next request


@dataclass
class IndexReport:
    request_id: str
    outcome: str
    total: int = 0
    readable: int = 0
    list_pages: int = 0
    row_write_calls: int = 0
    send_calls: int = 0
    messages: int = 0
    tier: str = ""
    estimate: dict[str, Any] = field(default_factory=dict)


@dataclass
class ReconcileReport:
    requests: int = 0
    completed: int = 0
    requested_again: int = 0
    deferred: int = 0
    synced: int = 0  # READY or FAILED requests whose launch transition was applied late
    readied: int = 0  # WAITING requests with nothing remaining, flipped late
    indexing_failed: list[str] = field(default_factory=list)  # stuck in INDEXING past the timeout
    timed_out: list[str] = field(default_factory=list)


def _iso(moment: datetime) -> str:
    return moment.isoformat()


def _tier(value: str) -> Tier:
    return "Expedited" if value == "Expedited" else "Standard" if value == "Standard" else "Bulk"


def _attempt(request: RestoreRequest) -> int:
    return request.attempt or 1


class RestoreFlow:
    def __init__(
        self,
        store: RestoreStore,
        s3: RestoreS3,
        registry: LaunchRegistry,
        queue: ChunkQueue,
        notifier: Notifier,
        config: RestoreConfig,
        now: Callable[[], datetime],
    ) -> None:
        self.store = store
        self.s3 = s3
        self.registry = registry
        self.queue = queue
        self.notifier = notifier
        self.config = config
        self.now = now
        self._at: datetime | None = None  # the time of the event being handled

    def _now(self) -> datetime:
        return self._at or self.now()

    # -- index --------------------------------------------------------------------------------------

    def index(self, request_id: str, source: str, body: bytes, at: datetime | None = None) -> IndexReport:
        """``at``: the upload's time."""
        self._at = at
        logger.append_keys(restore_request=request_id)
        existing = self.store.meta(request_id)
        if existing is not None and existing.get("source") == source:
            if existing.get("status") == "WAITING" and not existing.get("chunks_sent"):
                report = self._send_chunks(request_id, existing, IndexReport(request_id, "resumed"))
                self._maybe_ready(request_id)  # nothing to restore, or restoring objects done meanwhile
                return report
            if existing.get("launch_sync") == SYNC_PENDING:  # finished, but its launch was not told
                self._sync_launch(request_id, existing)
            if existing.get("status") != "INDEXING":
                return IndexReport(request_id, "duplicate")
        try:
            request = parse_request(body)
            self._check_launch(request_id, request)
            new_round = existing is not None and existing.get("status") != "INDEXING"
            if new_round and _attempt(request) <= int((existing or {}).get("attempt", 1)):
                raise RestoreRequestError(  # its rows and counter are in use: a new request needs a new name
                    f"restore request {request_id} was indexed already ({(existing or {}).get('status')})"
                )
        except PermanentError as exc:
            self._reject(request_id, source, existing, exc)
            return IndexReport(request_id, "rejected")
        # META first (INDEXING): whatever stops this indexing from here on, the reconciler's INDEXING sweep
        # fails the request and its launch after RestoreIndexingTimeoutMinutes
        first = {
            "launch_id": request.launch_id or "",
            "source": source,
            "status": "INDEXING",
            "attempt": _attempt(request),
            "created_at": _iso(self._now()),
            "deadline_at": _iso(self._now()),
        }
        if existing is None and not self.store.begin(request_id, first):
            return IndexReport(request_id, "duplicate")  # another delivery of the upload began it
        if new_round and not self.store.restart(request_id, first, str((existing or {}).get("source", ""))):
            return IndexReport(request_id, "duplicate")
        try:
            report = self._index(request_id, source, request, clear_rows=existing is not None)
        except (RestoreObjectMissingError, RestoreListingError) as exc:  # it can never be restored
            self._fail(request_id, "failed", str(exc))
            return IndexReport(request_id, "failed")
        if new_round and report.outcome == "indexed":
            report.outcome = "reindexed"
        return report

    def _check_launch(self, request_id: str, request: RestoreRequest) -> None:
        if request.launch_id is None:
            return
        if request.launch_id != request_id:  # the launch's request file is its one restore request
            raise RestoreRequestError(
                f"a restore request for launch {request.launch_id} must be named "
                f"restore/{request.launch_id}.json"
            )
        launch = self.registry.get(request.launch_id)
        if launch is None or launch.status is not Status.WAITING:
            state = "does not exist" if launch is None else f"is {launch.status}, not WAITING"
            raise RestoreRequestError(f"launch {request.launch_id} {state}")
        if launch.attempt != _attempt(request):
            raise RestoreRequestError(
                f"launch {request.launch_id} is at attempt {launch.attempt}, not {_attempt(request)}"
            )

    def _index(
        self, request_id: str, source: str, request: RestoreRequest, *, clear_rows: bool
    ) -> IndexReport:
        """Classify, then META's values (it is INDEXING already), the rows, WAITING and the chunks.
        ``clear_rows``: rows of a previous round or of an interrupted indexing are deleted first."""
        created = self._now()
        needed_until = created + timedelta(days=request.days)
        report = IndexReport(request_id, "indexed")
        decided: dict[Decision, list[ObjectState]] = {decision: [] for decision in Decision}
        pages_before = self.s3.list_pages
        for target in targets(request.s3_urls):
            for obj in self.s3.objects(target, request.expected_bucket_owner):
                decided[classify(obj, needed_until)].append(obj)
        report.list_pages = self.s3.list_pages - pages_before
        to_restore, restoring = decided[Decision.RESTORE], decided[Decision.RESTORING]
        tier = request_tier(request.tier, to_restore)
        expected = estimate(to_restore, tier, request.days)
        report.tier, report.estimate = tier, expected.as_map()
        report.readable = len(decided[Decision.READABLE])
        report.total = len(to_restore) + len(restoring)
        values = {
            "launch_id": request.launch_id or "",
            "source": source,
            "status": "INDEXING",
            "total": report.total,
            "remaining": report.total,
            "readable": report.readable,
            "unsupported": len(decided[Decision.UNSUPPORTED]),
            "tier": tier,
            "days": request.days,
            "attempt": _attempt(request),
            **(
                {"expected_bucket_owner": request.expected_bucket_owner}
                if request.expected_bucket_owner
                else {}
            ),
            "created_at": _iso(created),
            "deadline_at": _iso(deadline(created, [*to_restore, *restoring], tier, request.deadline_hours)),
            "estimate": expected.as_map(),
        }
        # created_at stays the first delivery's: the INDEXING sweep's clock
        update = {name: value for name, value in values.items() if name not in ("status", "created_at")}
        if not self.store.set_status(request_id, "INDEXING", expected=["INDEXING"], values=update):
            return IndexReport(request_id, "duplicate")  # the sweep failed it meanwhile, or it moved on
        if clear_rows:  # rows of the previous round, or of the interrupted indexing
            report.row_write_calls += self.store.delete_rows(request_id)
        stamp = _iso(created)
        rows = [self._row(request_id, obj, "PENDING", tier, request.days, stamp) for obj in to_restore]
        rows += [self._row(request_id, obj, "RESTORING", tier, request.days, stamp) for obj in restoring]
        rows += [
            {
                **self._row(request_id, obj, "FAILED", tier, request.days, stamp),
                "last_error": "UnsupportedStorageClass",
            }
            for obj in decided[Decision.UNSUPPORTED]
        ]
        report.row_write_calls += self.store.put_rows(request_id, rows)
        if decided[Decision.UNSUPPORTED] and not self.config.allow_partial:
            keys = ", ".join(
                f"s3://{o.bucket}/{o.key} ({o.storage_class})" for o in decided[Decision.UNSUPPORTED][:5]
            )
            self._fail(request_id, "failed", f"UnsupportedStorageClass: {keys}")
            report.outcome = "failed"
            return report
        self.store.set_status(request_id, "WAITING", expected=["INDEXING"])
        meta = {**values, "status": "WAITING"}
        if report.total == 0:
            self._maybe_ready(request_id)
            report.outcome = "ready"
            return report
        self._maybe_ready(request_id)  # objects already restoring may have completed
        return self._send_chunks(request_id, meta, report, to_restore)

    def _send_chunks(
        self,
        request_id: str,
        meta: dict[str, Any],
        report: IndexReport,
        objects: Sequence[ObjectState] | None = None,
    ) -> IndexReport:
        if objects is None:  # resumed: the rows still PENDING are what remains to be sent
            objects = [
                self._state(row) for row in self.store.rows(request_id) if row.restore_status == "PENDING"
            ]
        owner = meta.get("expected_bucket_owner")
        bodies = [chunk.body(request_id, meta["tier"], int(meta["days"]), owner) for chunk in chunks(objects)]
        report.messages = len(bodies)
        report.send_calls = self.queue.send(bodies)
        self.store.set_status(
            request_id, "WAITING", expected=["WAITING", "READY"], values={"chunks_sent": True}
        )
        logger.info("Restore request indexed", total=report.total, messages=report.messages, tier=report.tier)
        return report

    @staticmethod
    def _row(
        request_id: str, obj: ObjectState, status: str, tier: Tier, days: int, stamp: str
    ) -> dict[str, Any]:
        row: dict[str, Any] = {
            "pk": f"REQ#{request_id}",
            "sk": f"OBJ#{obj.ref}",
            "object_ref": obj.ref,
            "bucket": obj.bucket,
            "key": obj.key,
            "storage_class": obj.storage_class,
            "restore_status": status,
            "tier": object_tier(tier, obj),
            "attempts": 1 if status == "RESTORING" else 0,
            "requested_at": stamp,
            "size": obj.size,
        }
        days_value = object_days(days, obj)
        if days_value is not None:
            row["days"] = days_value
        if obj.version_id:
            row["version_id"] = obj.version_id
        if obj.archive_status:
            row["archive_status"] = obj.archive_status
        return row

    @staticmethod
    def _state(row: Row) -> ObjectState:
        return ObjectState(row.bucket, row.key, row.version_id, 0, row.storage_class, row.archive_status)

    def _reject(
        self, request_id: str, source: str, existing: dict[str, Any] | None, error: PermanentError
    ) -> None:
        logger.warning("Restore request rejected", error_code=error.code, reason=str(error))
        if existing is None:
            self.store.begin(
                request_id,
                {
                    "source": source,
                    "status": "FAILED",
                    "failure_reason": str(error)[:1024],
                    "created_at": _iso(self._now()),
                },
            )
        self.notifier.notify(
            f"Blueprints genomics restore request rejected: {request_id}",
            {"request_id": request_id, "error_code": error.code, "error_message": str(error)},
        )

    # -- restore ------------------------------------------------------------------------------------

    def restore_chunk(self, body: str) -> dict[str, int]:
        message = json.loads(body)
        request_id = str(message["request_id"])
        days = int(message["days"])
        counts: dict[str, int] = {}
        for item in message["objects"]:
            obj = ObjectState(
                str(item["bucket"]),
                str(item["key"]),
                item.get("version_id"),
                0,
                str(item["storage_class"]),
                item.get("archive_status"),
            )
            outcome = self._restore_one(
                request_id,
                obj,
                object_tier(message["tier"], obj),
                object_days(days, obj),
                message.get("expected_bucket_owner"),
            )
            counts[outcome] = counts.get(outcome, 0) + 1
        return counts

    def _restore_one(
        self, request_id: str, obj: ObjectState, tier: Tier, days: int | None, owner: str | None = None
    ) -> str:
        row = Row(
            request_id,
            obj.ref,
            obj.bucket,
            obj.key,
            obj.version_id,
            obj.storage_class,
            obj.archive_status,
            "PENDING",
            tier,
            0,
            "",
        )
        result = self.s3.restore(obj, tier, days, owner)
        if result.outcome is Outcome.EXPEDITED_UNAVAILABLE:
            logger.info("No Expedited capacity; restoring with Standard", object_ref=obj.ref)
            tier = "Standard"
            result = self.s3.restore(obj, tier, days, owner)
        if result.outcome in (Outcome.STARTED, Outcome.IN_PROGRESS, Outcome.EXPEDITED_UNAVAILABLE):
            self.store.mark_row(
                row,
                "RESTORING",
                expected=["PENDING"],
                values={"requested_at": _iso(self._now()), "tier": tier, "attempts": 1},
            )
        elif result.outcome is Outcome.ALREADY_RESTORED:
            self._resolve(row, "RESTORED", "restored")
        elif result.outcome is Outcome.NOT_ARCHIVED:
            self._resolve(row, "SKIPPED", "skipped")
        else:
            self._object_failed(row, f"{result.code}: {result.message}")
        return result.outcome.value

    def _object_failed(self, row: Row, reason: str) -> None:
        """A permanent error for one object: the request fails, unless partial restores are allowed, in
        which case the object stops holding the request back."""
        if self.config.allow_partial:
            self._resolve(row, "FAILED", "failed", last_error=reason)
            return
        if self.store.mark_row(row, "FAILED", values={"last_error": reason[:1024]}):
            self.store.count_failed(row.request_id)
            self._fail(row.request_id, "failed", f"{row.object_ref}: {reason}")

    # -- completion ---------------------------------------------------------------------------------

    def complete_object(
        self, bucket: str, key: str, version_id: str | None, expiry: str | None, at: datetime | None = None
    ) -> int:
        """A restore completed (at ``at``, the event's time): resolve every open row of the object; returns
        how many."""
        self._at = at
        refs = [f"{bucket}/{key}#{version_id or 'null'}"]
        if version_id:
            refs.append(f"{bucket}/{key}#null")  # listed under a prefix: indexed without its version id
        resolved = 0
        for ref in refs:
            for row in self.store.rows_of_object(ref):
                resolved += self._resolve(row, "RESTORED", "restored", expiry)
        return resolved

    def expire_object(self, bucket: str, key: str, version_id: str | None, at: datetime | None = None) -> int:
        """A restored copy expired ("Object Restore Expired"): every request still WAITING that counted it
        restored takes it back (row PENDING, counter up) and its restore is queued again; returns how
        many rows were reopened. A request that is READY already is left alone (its launch started)."""
        self._at = at
        refs = [f"{bucket}/{key}#{version_id or 'null'}"]
        if version_id:
            refs.append(f"{bucket}/{key}#null")
        reopened: dict[str, list[Row]] = {}
        for ref in refs:
            for row in self.store.rows_of_object(ref, statuses=["RESTORED"]):
                if self.store.reopen(row, _iso(self._now())):
                    reopened.setdefault(row.request_id, []).append(row)
        for request_id, rows in reopened.items():
            meta = self.store.meta(request_id) or {}
            logger.warning(
                "Restored copy expired before the launch started; restoring it again",
                request_id=request_id,
                objects=len(rows),
            )
            bodies = [
                chunk.body(
                    request_id,
                    _tier(str(meta.get("tier", "Bulk"))),
                    int(meta.get("days", 7)),
                    meta.get("expected_bucket_owner"),
                )
                for chunk in chunks([self._state(row) for row in rows])
            ]
            self.queue.send(bodies)
        return sum(len(rows) for rows in reopened.values())

    def _resolve(
        self, row: Row, status: str, counter: str, expiry: str | None = None, last_error: str | None = None
    ) -> int:
        values: dict[str, Any] = {"completed_at": _iso(self._now())}
        if expiry:
            values["expiry_at"] = expiry
        if last_error:
            values["last_error"] = last_error[:1024]
        if not self.store.resolve(row, status, counter, values):
            return 0  # a duplicate report of this object
        self._maybe_ready(row.request_id, self.store.meta(row.request_id) or {})
        return 1

    def _maybe_ready(self, request_id: str, meta: dict[str, Any] | None = None) -> bool:
        """READY once the counter is zero (one conditional write decides the winner), then the launch."""
        if meta is not None and int(meta.get("remaining", 1)) > 0:
            return False
        if not self.store.set_status(
            request_id,
            "READY",
            expected=["WAITING"],
            values={"ready_at": _iso(self._now()), "launch_sync": SYNC_PENDING, "launch_synced": False},
            when_remaining_zero=True,
        ):
            return False
        self._sync_launch(request_id)
        return True

    def _fail(self, request_id: str, kind: str, reason: str) -> bool:
        """FAILED once (from INDEXING or WAITING), then the launch and the notice."""
        if not self.store.set_status(
            request_id,
            "FAILED",
            expected=["INDEXING", "WAITING"],
            values={
                "failure_reason": reason[:1024],
                "error_code": FAILED_CODES[kind],
                "launch_sync": SYNC_PENDING,
                "launch_synced": False,
            },
        ):
            return False
        self._sync_launch(request_id)
        return True

    def _sync_launch(self, request_id: str, meta: dict[str, Any] | None = None) -> None:
        """Apply a READY or FAILED request to its launch (WAITING -> READY or FAILED at the request's
        attempt), send the failure notice, then mark the request synced. Every step is conditional or
        at least once, so a run interrupted anywhere is finished by the next event or the reconciler."""
        meta = meta if meta is not None else self.store.meta(request_id) or {}
        status = str(meta.get("status", ""))
        launch_id = str(meta.get("launch_id") or "") or None
        attempt = int(meta.get("attempt", 1))
        if status == "READY" and launch_id:
            moved = self.registry.transition(
                launch_id, attempt=attempt, sources={Status.WAITING}, target=Status.READY, now=self._now()
            )
            logger.info(
                "Archived inputs restored; launch READY", launch_id=launch_id, moved=moved is not None
            )
        if status == "FAILED":
            code = str(meta.get("error_code") or FAILED_CODES["failed"])
            reason = str(meta.get("failure_reason", ""))
            if launch_id:
                self.registry.transition(
                    launch_id,
                    attempt=attempt,
                    sources={Status.WAITING},
                    target=Status.FAILED,
                    now=self._now(),
                    set_values={"error_code": code, "error_message": reason, "log_scan": "NOT_APPLICABLE"},
                )
            logger.warning("Restore request failed", error_code=code, reason=reason)
            self.notifier.notify(
                f"Blueprints genomics restore failed: {launch_id or request_id}",
                {
                    "request_id": request_id,
                    "launch_id": launch_id,
                    "error_code": code,
                    "error_message": reason,
                },
            )
        self.store.mark_synced(request_id)

    # -- reconcile ----------------------------------------------------------------------------------

    def reconcile(self, now: datetime, has_time: Callable[[], bool]) -> ReconcileReport:
        self._at = now
        report = ReconcileReport()
        for meta in self.store.unsynced():  # READY or FAILED, the launch transition not confirmed
            if not has_time():
                return report
            try:
                self._sync_launch(str(meta["request_id"]), meta)
            except (ClientError, RetryableError) as exc:  # one launch write failing must not stop the run
                report.deferred += 1
                logger.warning("Launch transition deferred", request_id=meta["request_id"], error=str(exc))
                continue
            report.synced += 1
        for meta in self.store.by_status("INDEXING"):
            if not has_time():
                return report
            self._sweep_indexing(meta, now, report)
        # least recently visited first, so that one large request cannot starve the others
        waiting = sorted(self.store.waiting(), key=lambda item: str(item.get("reconciled_at", "")))
        for meta in waiting:
            if not has_time():
                break
            report.requests += 1
            request_id = str(meta["request_id"])
            launch_id = str(meta.get("launch_id") or "") or None
            if int(meta.get("remaining", 1)) <= 0:  # every object done, but the READY flip was lost
                if self._maybe_ready(request_id):
                    report.readied += 1
                continue
            if now >= datetime.fromisoformat(str(meta["deadline_at"])):
                if self._fail(request_id, "timeout", f"not restored by {meta['deadline_at']}"):
                    report.timed_out.append(launch_id or request_id)
                continue
            self._reconcile_rows(request_id, meta, now, has_time, report)
        return report

    def _reconcile_rows(
        self,
        request_id: str,
        meta: dict[str, Any],
        now: datetime,
        has_time: Callable[[], bool],
        report: ReconcileReport,
    ) -> None:
        """The open rows of one request from its cursor, at most ``rows_per_request``; the cursor is saved
        where the run stopped, and cleared when every row was looked at."""
        cursor: str | None = meta.get("reconcile_cursor")
        last: str | None = None
        for looked, row in enumerate(self.store.rows(request_id, start_after=cursor)):
            if not has_time() or looked >= self.config.rows_per_request:
                self.store.note_reconciled(request_id, _iso(now), last or cursor)
                return
            try:
                self._reconcile_row(row, now, report, meta)
            except RetryableError as exc:  # throttled or briefly unavailable: the next run tries again
                report.deferred += 1
                logger.warning(
                    "Reconciliation of an object deferred", object_ref=row.object_ref, error=str(exc)
                )
            last = row.sort_key
        self.store.note_reconciled(request_id, _iso(now), None)

    def _sweep_indexing(self, meta: dict[str, Any], now: datetime, report: ReconcileReport) -> None:
        """An indexing that never finished (its function timed out or its retries ran out) fails."""
        created = datetime.fromisoformat(str(meta.get("created_at") or meta["deadline_at"]))
        if now - created < self.config.indexing_timeout:
            return
        request_id = str(meta["request_id"])
        minutes = int(self.config.indexing_timeout.total_seconds() // 60)
        if self._fail(request_id, "failed", f"indexing did not finish within {minutes} minutes"):
            report.indexing_failed.append(str(meta.get("launch_id") or "") or request_id)

    def _reconcile_row(self, row: Row, now: datetime, report: ReconcileReport, meta: dict[str, Any]) -> None:
        requested = datetime.fromisoformat(row.requested_at) if row.requested_at else now
        deep = row.storage_class == "DEEP_ARCHIVE" or row.archive_status == "DEEP_ARCHIVE_ACCESS"
        earliest = SLA_MIN_HOURS.get((deep, row.tier), 0.0)
        wait = self.config.lost_chunk_grace if row.restore_status == "PENDING" else timedelta(hours=earliest)
        if now - requested < wait:
            return
        try:
            state = self.s3.head(row.bucket, row.key, row.version_id, meta.get("expected_bucket_owner"))
        except RestoreObjectMissingError as exc:  # one object gone must not stop the whole run
            self._object_failed(row, str(exc))
            return
        if state.restore_in_progress is False or (state.intelligent_tiering and state.archive_status is None):
            expiry = state.restore_expiry.isoformat() if state.restore_expiry else None
            report.completed += self._resolve(row, "RESTORED", "restored", expiry)
            return
        if state.restore_in_progress:
            return
        if row.attempts >= self.config.max_attempts:
            self._object_failed(row, f"restore lost {row.attempts} times")
            return
        days = None if state.intelligent_tiering else int(meta.get("days", 7))
        tier = _tier(row.tier) if row.tier in ("Bulk", "Expedited") else "Standard"
        self._restore_one(row.request_id, state, tier, days, meta.get("expected_bucket_owner"))
        self.store.mark_row(
            row, "RESTORING", values={"attempts": row.attempts + 1, "requested_at": _iso(now)}
        )
        report.requested_again += 1


class RestoreRequestError(PermanentError):
    """The restore request names a launch that does not exist or is not waiting for a restore."""
