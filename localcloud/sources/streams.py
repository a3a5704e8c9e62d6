"""DynamoDB stream event source mappings with Lambda's semantics, on moto's stream records.

moto invokes its stream mapping inside every write, one write per invocation, ignores BatchSize and
FilterCriteria, drops the records when the handler fails and then clears the shard, so sequence
numbers restart. ``capture_stream_records`` switches that delivery off; moto's shard then simply keeps
every record with increasing sequence numbers (which also keeps ``GetRecords`` consistent), and a
poller per mapping reads from its own position in the shard. What Lambda adds on top is here:

- batches of up to ``BatchSize`` matching records, strictly in order per shard (a failing batch blocks
  the shard until it succeeds or is discarded); ``FilterCriteria`` drops non-matching records;
- on a function error (or a malformed ``ReportBatchItemFailures`` response) the batch is retried; with
  ``BisectBatchOnFunctionError`` it is split in two first; with item failures it is retried from the
  lowest reported sequence number;
- every re-invocation of a record counts as one retry (halves of a split batch inherit the count);
  after ``MaximumRetryAttempts`` retries, or once a record is older than ``MaximumRecordAgeInSeconds``
  (the 24-hour retention when -1), the records are discarded and the AWS-shaped failure record goes to
  ``DestinationConfig.OnFailure`` (SQS or SNS);
- retries wait on the virtual clock (1, 2, 4 ... s, at most 60 s); AWS does not document its
  back-off, so only the order and the counts are meant to match.

Not modelled: ``MaximumBatchingWindowInSeconds``, ``ParallelizationFactor`` and tumbling windows for
streams (batches go out as soon as records exist), the 6 MB payload limit, and stream retention
trimming. ``StartingPosition: LATEST`` counts from the first ``sync()`` after the mapping appears.
"""

from __future__ import annotations

import calendar
import json
import threading
import uuid
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from unittest import mock

from moto.dynamodb.models import dynamodb_backends
from moto.dynamodb.models.table import StreamRecord, StreamShard, Table

from localcloud.clock import VirtualClock, isoformat
from localcloud.sources.destinations import send
from localcloud.sources.filters import RecordFilter
from localcloud.sources.invoke import Invocation, invoke, reported_failures

RETENTION_SECONDS = 24 * 3600
MAX_BACKOFF_SECONDS = 60.0

_swap_lock = threading.Lock()


@contextmanager
def capture_stream_records() -> Iterator[None]:
    """Keep moto's stream records in the shard and stop moto invoking stream mappings on writes."""
    original = StreamShard.add

    def add(shard: StreamShard, old: Any, new: Any) -> None:
        table = shard.table
        with _swap_lock:
            mappings, table.lambda_event_source_mappings = table.lambda_event_source_mappings, {}
        try:
            original(shard, old, new)
        finally:
            with _swap_lock:
                table.lambda_event_source_mappings.update(mappings)

    with mock.patch.object(StreamShard, "add", add):
        yield


def stream_arn(table: Table) -> str | None:
    if not table.latest_stream_label:
        return None
    return f"{table.table_arn}/stream/{table.latest_stream_label}"


def created_at(item: StreamRecord) -> float:
    """A record's ``ApproximateCreationDateTime`` in epoch seconds (moto keeps a naive UTC datetime)."""
    value = item.record["dynamodb"]["ApproximateCreationDateTime"]
    if isinstance(value, datetime):
        return calendar.timegm(value.utctimetuple()) + value.microsecond / 1e6
    return float(value)


def stream_record(item: StreamRecord, source_arn: str, region: str) -> dict[str, Any]:
    """One moto stream record in the shape Lambda hands to the function."""
    record = item.to_json()
    dynamodb = dict(record["dynamodb"])
    dynamodb["ApproximateCreationDateTime"] = int(created_at(item))
    return {
        "eventID": record["eventID"],
        "eventName": record["eventName"],
        "eventVersion": record["eventVersion"],
        "eventSource": record["eventSource"],
        "awsRegion": region,
        "dynamodb": dynamodb,
        "eventSourceARN": source_arn,
    }


def sequence_number(item: StreamRecord) -> str:
    return str(item.record["dynamodb"]["SequenceNumber"])


@dataclass
class Piece:
    """Records (positions in the shard) delivered together, and how often they were retried."""

    indexes: list[int]
    attempts: int = 0
    due: float = 0.0


@dataclass
class StreamStats:
    invocations: int = 0
    filtered: int = 0
    discarded: int = 0
    failure_records: list[dict[str, Any]] = field(default_factory=list)


class StreamPoller:
    """Delivers one DynamoDB stream mapping; the moto mapping object is read on every round."""

    kind = "dynamodb"

    def __init__(self, mapping: Any, clock: VirtualClock, account_id: str, region: str) -> None:
        self.mapping = mapping
        self.clock = clock
        self.account_id = account_id
        self.region = region
        self.stats = StreamStats()
        self.progress = 0  # bumped whenever a round changed anything (the idle test of run_until_idle)
        self._shard: StreamShard | None = None
        self._position = 0
        self._attached = False
        self._pending: deque[Piece] = deque()

    @property
    def uuid(self) -> str:
        return str(self.mapping.uuid)

    def _current_shard(self) -> StreamShard | None:
        for table in list(dynamodb_backends[self.account_id][self.region].tables.values()):
            if stream_arn(table) == self.mapping.event_source_arn:
                shard: StreamShard | None = table.stream_shard
                return shard
        return None

    def attach(self) -> StreamShard | None:
        """Follow the mapping's shard, starting at TRIM_HORIZON or LATEST the first time it is seen."""
        shard = self._current_shard()
        if shard is not self._shard:
            latest = not self._attached and self.mapping.starting_position == "LATEST"
            self._shard = shard
            self._pending.clear()
            self._position = len(shard.items) if (shard is not None and latest) else 0
            self._attached = self._attached or shard is not None
        return shard

    def backlog(self) -> int:
        """Records not yet delivered successfully (pending retries included)."""
        shard = self._shard
        unread = len(shard.items) - self._position if shard is not None else 0
        return unread + sum(len(piece.indexes) for piece in self._pending)

    def ready(self) -> bool:
        shard = self.attach()
        if shard is None or not self.mapping.enabled:
            return False
        if self._pending:
            return self._pending[0].due <= self.clock.now()
        return self._position < len(shard.items)

    def next_due(self) -> float | None:
        if self._pending and self.mapping.enabled:
            return self._pending[0].due
        return None

    def pump(self) -> int:
        """Deliver the head batch of the shard if it is due. Returns invocations (0 or 1)."""
        if not self.ready():
            return 0
        shard = self._shard
        if shard is None:  # ready() attached it; this only narrows the type
            return 0
        if not self._pending:
            self._take_batch(shard)
        if not self._pending:
            return 0
        piece = self._pending[0]
        if not self._drop_expired(shard, piece):
            return 0
        items = [shard.items[index] for index in piece.indexes]
        records = [stream_record(item, self.mapping.event_source_arn, self.region) for item in items]
        outcome = self._deliver(records)
        self.stats.invocations += 1
        self.progress += 1
        self._settle(shard, piece, outcome)
        return 1

    def _deliver(self, records: list[dict[str, Any]]) -> Invocation:
        """Invoke the function with a batch (a pipe delivers to its target instead)."""
        return invoke(self.account_id, self.region, self.mapping.function_arn, {"Records": records})

    def _take_batch(self, shard: StreamShard) -> None:
        selector = RecordFilter(self.mapping.filter_criteria)
        batch: list[int] = []
        while self._position < len(shard.items) and len(batch) < int(self.mapping.batch_size):
            index = self._position
            self._position += 1
            record = stream_record(shard.items[index], self.mapping.event_source_arn, self.region)
            if selector.matches(record):
                batch.append(index)
            else:
                self.stats.filtered += 1
        self.progress += 1
        if batch:
            self._pending.append(Piece(batch, due=self.clock.now()))

    def _drop_expired(self, shard: StreamShard, piece: Piece) -> bool:
        """Discard records older than the maximum age; False when nothing is left to deliver."""
        limit = self.mapping.max_record_age
        limit = RETENTION_SECONDS if limit in (None, -1) else int(limit)
        now = self.clock.now()
        expired = [index for index in piece.indexes if now - created_at(shard.items[index]) > limit]
        if expired:
            self.progress += 1
            self._discard(shard, expired, "RecordAgeExceeded", None, piece.attempts)
            piece.indexes = [index for index in piece.indexes if index not in expired]
        if not piece.indexes:
            self._pending.popleft()
            return False
        return True

    def _settle(self, shard: StreamShard, piece: Piece, outcome: Invocation) -> None:
        sequence_numbers = {sequence_number(shard.items[index]): index for index in piece.indexes}
        if "ReportBatchItemFailures" in (self.mapping.function_response_types or []):
            failed = reported_failures(outcome, sequence_numbers)
        else:
            failed = None if outcome.failed else []
        self._pending.popleft()
        if failed == []:
            return
        if failed:
            # Lambda checkpoints at the lowest reported sequence number and retries from there.
            lowest = sequence_numbers[min(failed, key=int)]
            self._retry(
                shard, piece, [index for index in piece.indexes if index >= lowest], outcome, split=False
            )
        else:
            self._retry(shard, piece, piece.indexes, outcome, split=bool(self.mapping.bisect_on_error))

    def _retry(
        self, shard: StreamShard, piece: Piece, indexes: list[int], outcome: Invocation, *, split: bool
    ) -> None:
        limit = self.mapping.max_retry_attempts
        if limit not in (None, -1) and piece.attempts >= int(limit):
            self._discard(shard, indexes, "RetryAttemptsExhausted", outcome, piece.attempts + 1)
            return
        attempts = piece.attempts + 1
        due = self.clock.now() + min(2.0 ** (attempts - 1), MAX_BACKOFF_SECONDS)
        if split and len(indexes) > 1:
            middle = len(indexes) // 2
            pieces = [Piece(indexes[:middle], attempts, due), Piece(indexes[middle:], attempts, due)]
        else:
            pieces = [Piece(indexes, attempts, due)]
        self._pending.extendleft(reversed(pieces))

    def _discard(
        self, shard: StreamShard, indexes: list[int], condition: str, outcome: Invocation | None, invokes: int
    ) -> None:
        """Skip records for good, sending the failure record AWS sends to the on-failure destination."""
        self.stats.discarded += len(indexes)
        items = [shard.items[index] for index in indexes]
        record: dict[str, Any] = {
            "requestContext": {
                "requestId": str(uuid.uuid4()),
                "functionArn": self.mapping.function_arn,
                "condition": condition,
                "approximateInvokeCount": invokes,
            },
            "version": "1.0",
            "timestamp": isoformat(self.clock.now(), millis=True),
            "DDBStreamBatchInfo": {
                "shardId": shard.id,
                "startSequenceNumber": sequence_number(items[0]),
                "endSequenceNumber": sequence_number(items[-1]),
                "approximateArrivalOfFirstRecord": isoformat(created_at(items[0])),
                "approximateArrivalOfLastRecord": isoformat(created_at(items[-1])),
                "batchSize": len(items),
                "streamArn": self.mapping.event_source_arn,
            },
        }
        if outcome is not None:
            response: dict[str, Any] = {"statusCode": 200, "executedVersion": "$LATEST"}
            if outcome.function_error:
                response["functionError"] = outcome.function_error
            record["responseContext"] = response
        self.stats.failure_records.append(record)
        destination = ((self.mapping.destination_config or {}).get("OnFailure") or {}).get("Destination")
        if destination:
            send(destination, json.dumps(record))
