"""SQS event source mappings with Lambda's semantics, on moto's real queues.

moto's own SQS mapping fires inside ``SendMessage``, one message per invocation, with empty message
attributes and constant timestamps, and deletes a message its handler reported as failed. This poller
replaces it (``disable_moto_delivery``) and receives through moto's SQS backend instead, so receive
counts, visibility timeouts, ``DelaySeconds`` and redrive to the DLQ after ``maxReceiveCount`` are
moto's. What Lambda adds on top is here:

- batches of up to ``BatchSize``, held back until full or ``MaximumBatchingWindowInSeconds`` has passed;
- the Lambda SQS record shape (attributes, message attributes, md5s);
- ``FilterCriteria``: messages that match no filter are deleted without an invocation, as Lambda does;
- on success, the batch is deleted; with ``ReportBatchItemFailures`` all but the reported items are;
  a function error (or a malformed report) deletes nothing, and the messages come back when their
  visibility timeout expires (a visibility the handler changed itself is kept).

``ScalingConfig.MaximumConcurrency`` is honoured trivially: invocations run one after another in one
process, so concurrency never exceeds 1; the configured value is reported in the status.
"""

from __future__ import annotations

import base64
import threading
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from unittest import mock

from moto.sqs.exceptions import ReceiptHandleIsInvalid
from moto.sqs.models import Message, Queue, sqs_backends

from localcloud.clock import VirtualClock
from localcloud.sources.filters import RecordFilter, sqs_filter_view
from localcloud.sources.invoke import invoke, reported_failures

_swap_lock = threading.Lock()

# Lambda keeps only these system attributes, when present, in the record's ``attributes``.
_FIFO_ATTRIBUTES = (("MessageGroupId", "group_id"), ("MessageDeduplicationId", "deduplication_id"))


@contextmanager
def disable_moto_delivery() -> Iterator[None]:
    """Stop moto delivering to SQS mappings inside ``SendMessage`` (the pollers deliver instead).

    moto loops over ``queue.lambda_event_source_mappings`` at the end of ``Queue.add_message``; the
    mapping dict is hidden for the duration of the call, so the rest of ``add_message`` (FIFO
    deduplication, waking long-pollers) stays moto's.
    """
    original = Queue.add_message

    def add_message(queue: Queue, message: Message) -> None:
        with _swap_lock:
            mappings, queue.lambda_event_source_mappings = queue.lambda_event_source_mappings, {}
        try:
            original(queue, message)
        finally:
            with _swap_lock:
                queue.lambda_event_source_mappings.update(mappings)

    with mock.patch.object(Queue, "add_message", add_message):
        yield


def message_attributes(message: Message) -> dict[str, dict[str, Any]]:
    """moto's stored message attributes in Lambda's record shape."""
    converted: dict[str, dict[str, Any]] = {}
    for name, value in message.message_attributes.items():
        attribute: dict[str, Any] = {
            "stringListValues": [],
            "binaryListValues": [],
            "dataType": value["DataType"],
        }
        if value.get("BinaryValue") is not None:
            binary = value["BinaryValue"]
            attribute["binaryValue"] = (
                base64.b64encode(binary).decode() if isinstance(binary, bytes) else binary
            )
        else:
            attribute["stringValue"] = value.get("StringValue")
        converted[name] = attribute
    return converted


def sqs_record(message: Message, queue: Queue, region: str) -> dict[str, Any]:
    """One received message as the record Lambda hands to the function."""
    attributes = {
        "ApproximateReceiveCount": str(message.approximate_receive_count),
        "SentTimestamp": str(message.sent_timestamp),
        "SenderId": message.sender_id,
        "ApproximateFirstReceiveTimestamp": str(message.approximate_first_receive_timestamp),
    }
    if queue.fifo_queue:
        attributes["SequenceNumber"] = str(message.sequence_number)
        for key, field in _FIFO_ATTRIBUTES:
            if getattr(message, field):
                attributes[key] = getattr(message, field)
    trace_header = message.system_attributes.get("AWSTraceHeader", {}).get("StringValue")
    if trace_header:
        attributes["AWSTraceHeader"] = trace_header
    record: dict[str, Any] = {
        "messageId": message.id,
        "receiptHandle": message.receipt_handle,
        "body": message.body,
        "attributes": attributes,
        "messageAttributes": message_attributes(message),
        "md5OfBody": message.body_md5,
        "eventSource": "aws:sqs",
        "eventSourceARN": queue.queue_arn,
        "awsRegion": region,
    }
    if message.message_attributes:
        record["md5OfMessageAttributes"] = message.attribute_md5
    return record


@dataclass
class SqsStats:
    invocations: int = 0
    deleted: int = 0
    filtered: int = 0
    failed_batches: int = 0


class SqsPoller:
    """Delivers one SQS mapping. The moto mapping object is read on every round, so
    ``UpdateEventSourceMapping`` (batch size, window, enabled, filters) applies at once."""

    kind = "sqs"

    def __init__(self, mapping: Any, clock: VirtualClock, account_id: str, region: str) -> None:
        self.mapping = mapping
        self.clock = clock
        self.account_id = account_id
        self.region = region
        self.stats = SqsStats()
        self.progress = 0  # bumped whenever a round changed anything (the idle test of run_until_idle)
        self._window_opened: float | None = None

    @property
    def uuid(self) -> str:
        return str(self.mapping.uuid)

    def _queue(self) -> Queue | None:
        name = str(self.mapping.event_source_arn).split(":")[-1]
        queue: Queue | None = sqs_backends[self.account_id][self.region].queues.get(name)
        return queue

    def _window(self) -> float:
        return float(self.mapping.max_batch_window or 0)

    def backlog(self) -> int:
        """Messages visible now (what the next round could receive)."""
        queue = self._queue()
        return len(queue.messages) if queue is not None else 0

    def ready(self) -> bool:
        """Whether a round now would deliver: enough visible messages, or the batching window is over."""
        if not self.mapping.enabled:
            return False
        visible = self.backlog()
        if visible == 0:
            self._window_opened = None
            return False
        if visible >= int(self.mapping.batch_size) or self._window() <= 0:
            return True
        if self._window_opened is None:
            self._window_opened = self.clock.now()
        return self.clock.now() >= self._window_opened + self._window()

    def next_due(self) -> float | None:
        """The earliest virtual time something becomes deliverable (a message visible, a window over)."""
        queue = self._queue()
        if queue is None or not self.mapping.enabled:
            return None
        now_ms = self.clock.now() * 1000
        # moto compares strictly (now > visible_at), hence one millisecond past the stored time.
        pending = [
            max(message.visible_at, message.delayed_until) / 1000 + 0.001
            for message in list(queue._messages)
            if max(message.visible_at, message.delayed_until) >= now_ms
        ]
        if self._window_opened is not None:
            pending.append(self._window_opened + self._window())
        return min(pending, default=None)

    def pump(self) -> int:
        """One poll: receive a batch, invoke, delete what Lambda would delete. Returns invocations."""
        queue = self._queue()
        if queue is None or not self.ready():
            return 0
        self._window_opened = None
        backend = sqs_backends[self.account_id][self.region]
        stored = len(queue._messages)
        messages = backend.receive_message(
            queue.name,
            int(self.mapping.batch_size),
            wait_seconds_timeout=0,
            visibility_timeout=int(queue.attributes["VisibilityTimeout"]),
            message_attribute_names=["All"],
        )
        if messages or len(queue._messages) != stored:  # delivered, or moto redrove some to the DLQ
            self.progress += 1
        records = [sqs_record(message, queue, self.region) for message in messages]
        selector = RecordFilter(self.mapping.filter_criteria)
        matched = [selector.matches(sqs_filter_view(record)) for record in records]
        delivered = [record for record, keep in zip(records, matched, strict=True) if keep]
        self._delete(queue, [record for record, keep in zip(records, matched, strict=True) if not keep])
        self.stats.filtered += len(records) - len(delivered)
        if not delivered:
            return 0
        failed = self._deliver(delivered)
        self.stats.invocations += 1
        if failed is None:
            self.stats.failed_batches += 1  # nothing is deleted: visibility, then redrive, decide
            return 1
        self._delete(queue, [record for record in delivered if record["messageId"] not in failed])
        return 1

    def _deliver(self, records: list[dict[str, Any]]) -> Collection[str] | None:
        """Invoke the function with a batch: the message ids to keep, or None if the batch failed."""
        outcome = invoke(self.account_id, self.region, self.mapping.function_arn, {"Records": records})
        if "ReportBatchItemFailures" in (self.mapping.function_response_types or []):
            return reported_failures(outcome, {record["messageId"] for record in records})
        return None if outcome.failed else []

    def _delete(self, queue: Queue, records: list[dict[str, Any]]) -> None:
        backend = sqs_backends[self.account_id][self.region]
        for record in records:
            try:
                backend.delete_message(queue.name, record["receiptHandle"])
            except ReceiptHandleIsInvalid:
                continue  # already deleted by the handler itself
            self.stats.deleted += 1
