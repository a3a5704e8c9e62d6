"""EventBridge Pipes on the virtual clock: source → filter → enrichment → input template → target.

Why: moto's ``pipes`` backend only stores pipes (create, describe, update, start, stop, delete); nothing
reads a source or invokes a target, and moto's CloudFormation skips ``AWS::Pipes::Pipe`` (the deploy
applier creates it through the API). ``Pipes`` runs every pipe of that backend whose ``DesiredState`` is
``RUNNING``, re-reading the moto object each round, so ``UpdatePipe``/``StopPipe``/``StartPipe`` apply at
once. What AWS does, and how it is done here:

- **Sources.** A DynamoDB stream is read exactly as the stream mappings read it (``PipeStreamPoller`` is a
  ``StreamPoller``: moto's shard records in order, ``StartingPosition``, ``BatchSize`` (default 1),
  ``MaximumRetryAttempts`` and ``MaximumRecordAgeInSeconds`` (default -1: until the 24-hour retention),
  ``OnPartialBatchItemFailure: AUTOMATIC_BISECT``). An SQS queue is received and deleted through moto's
  backend as the SQS mappings do (``PipeSqsPoller``: ``BatchSize`` default 10, the batching window,
  visibility and moto's redrive after ``maxReceiveCount``).
- **FilterCriteria** with moto's EventBridge pattern matcher (``filters.py``); a JSON SQS body is matched
  as data. Records that match no filter start nothing (SQS: they are deleted, as AWS does).
- **Enrichment** (a Lambda function, invoked synchronously with the batch as a JSON array, after
  ``EnrichmentParameters.InputTemplate``): its response replaces the batch. A JSON array gives the events;
  an empty response (nothing, ``""``, ``{}``, ``[]``) invokes no target; any other value is one event.
- **InputTemplate** per event (``render_template``): ``<$.json.path>`` and the ``<aws.pipes.*>`` reserved
  variables, JSON-aware (see there). A JSON SQS ``body`` can be addressed inside (``<$.body.id>``), the
  implicit body parsing of AWS.
- **Targets.** Step Functions with the batch as one JSON-array input: ``FIRE_AND_FORGET`` (the default,
  ``StartExecution``) or ``REQUEST_RESPONSE`` (moto has no ``StartSyncExecution``: the execution is started
  and settled without moving the clock; if it ends failed, the batch failed). Lambda with the batch as a
  JSON array: ``REQUEST_RESPONSE`` (the default, synchronous) or ``FIRE_AND_FORGET`` (asynchronous: the
  local Lambda runtime owns its retries). SQS (``SqsQueueParameters``), SNS and EventBridge buses
  (``EventBridgeEventBusParameters``): one message or event per event.
- **Failures.** A failed enrichment or target (function error, missing resource, failed synchronous
  execution) fails the batch; a synchronous Lambda target's ``batchItemFailures`` fails only the items it
  names (partial batch failure). Streams retry with the stream mappings' back-off, then send AWS's
  metadata record (``context.partnerResourceArn``, ``condition``, ``DDBStreamBatchInfo``) to
  ``DeadLetterConfig`` (SQS or SNS). SQS sources delete nothing that failed: the messages come back after
  their visibility timeout and moto's redrive policy moves them to the queue's DLQ.

Not modelled: Kinesis, MQ and Kafka sources, API destination targets or enrichments, Step Functions
enrichments, ``LogConfiguration``, a stream batching window and ``ParallelizationFactor`` (as for the stream
mappings).
"""

from __future__ import annotations

import json
import re
import uuid
from collections import deque
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from moto.pipes.models import Pipe, pipes_backends
from moto.sns.models import sns_backends
from moto.sqs.models import sqs_backends

from localcloud.clock import VirtualClock, isoformat
from localcloud.sources.destinations import UnsupportedDestinationError, send
from localcloud.sources.eventbridge import DeliveryError
from localcloud.sources.invoke import MOTO_ERRORS, Invocation, invoke, reported_failures
from localcloud.sources.sqs import SqsPoller
from localcloud.sources.streams import StreamPoller
from localcloud.sources.target_input import json_path

__all__ = ["PipeDelivery", "PipeRunner", "Pipes", "render_template"]

STREAM_BATCH_SIZE = 1
SQS_BATCH_SIZE = 10
DELIVERY_LOG_SIZE = 1000
_OK = Invocation(payload=None, function_error=None)
_PLACEHOLDER = re.compile(r"<(\$[^<>]*|aws\.pipes\.[\w.\-]+)>")
_FAILED_EXECUTION = frozenset({"FAILED", "TIMED_OUT", "ABORTED"})


class Settling(Protocol):
    """Work the runner lets settle after starting a synchronous execution (Step Functions)."""

    def settle(self) -> bool: ...


# -- input templates ---------------------------------------------------------------------------------


def render_template(template: str, lookup: Callable[[str], Any]) -> str:
    """Fill ``<$.path>`` and ``<aws.pipes.*>`` placeholders with ``lookup(name)``, as Pipes does.

    A template that starts with ``{`` or ``[`` is JSON and must stay valid JSON: inside the template's own
    quotes a value is inserted as escaped text (``"id": "<$.id>"``); outside them it is inserted as JSON
    (``"image": <$.dynamodb.NewImage>``; a string gets its quotes). Any other template is text: strings
    are inserted as they are, other values as JSON. A path that matches nothing gives ``null`` (or nothing
    in text).
    """
    json_template = template.lstrip().startswith(("{", "["))
    pieces: list[str] = []
    in_string = False
    position = 0
    for match in _PLACEHOLDER.finditer(template):
        literal = template[position : match.start()]
        in_string = _after(literal, in_string)
        pieces.append(literal)
        pieces.append(_inserted(lookup(match.group(1)), json_template=json_template, quoted=in_string))
        position = match.end()
    pieces.append(template[position:])
    return "".join(pieces)


def _after(text: str, in_string: bool) -> bool:
    """Whether a JSON string is open after ``text`` (template text only, never inserted values)."""
    escaped = False
    for char in text:
        if escaped:
            escaped = False
        elif char == "\\" and in_string:
            escaped = True
        elif char == '"':
            in_string = not in_string
    return in_string


def _inserted(value: Any, *, json_template: bool, quoted: bool) -> str:
    if not json_template or quoted:
        text = "" if value is None else value if isinstance(value, str) else json.dumps(value)
        return json.dumps(text)[1:-1] if json_template else text
    return json.dumps(value)


def parsed_view(event: Any) -> Any:
    """The event as paths and ``aws.pipes.event.json`` see it: a JSON SQS ``body`` parsed in place."""
    if isinstance(event, dict) and isinstance(event.get("body"), str):
        try:
            body = json.loads(event["body"])
        except ValueError:
            return event
        if isinstance(body, dict | list):
            return {**event, "body": body}
    return event


def _as_json(text: str) -> Any:
    """A transformed event as a JSON value (a template may produce plain text: it stays a string)."""
    try:
        return json.loads(text)
    except ValueError:
        return text


def enriched_events(payload: Any) -> list[Any]:
    """The events an enrichment's response stands for (AWS: an empty response invokes no target)."""
    if payload in (None, "", {}, []):
        return []
    return list(payload) if isinstance(payload, list) else [payload]


# -- running one pipe ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PipeDelivery:
    """One batch handed (or not) to a pipe's target, for status output and assertions."""

    pipe: str
    target: str
    events: list[Any]
    error: str | None = None


@dataclass
class PipeRunner:
    """Runs one moto pipe: builds the poller for its source and delivers what the poller reads."""

    pipe: Pipe
    clock: VirtualClock
    account_id: str
    region: str
    workers: Sequence[Settling] = ()
    deliveries: deque[PipeDelivery] = field(default_factory=lambda: deque(maxlen=DELIVERY_LOG_SIZE))
    poller: StreamPoller | SqsPoller | None = None
    error: str | None = None

    def __post_init__(self) -> None:
        service = str(self.pipe.source).split(":")[2] if str(self.pipe.source).count(":") >= 5 else ""
        if service == "dynamodb":
            self.poller = PipeStreamPoller(self)
            self.poller.attach()  # fixes a LATEST starting position now
        elif service == "sqs":
            self.poller = PipeSqsPoller(self)
        else:
            self.error = f"source {self.pipe.source} is not emulated (DynamoDB streams and SQS queues are)"

    @property
    def running(self) -> bool:
        return str(self.pipe.desired_state) == "RUNNING"

    def deliver(self, records: list[dict[str, Any]]) -> Invocation:
        """Enrich, transform and deliver one filtered batch; the outcome as the source's poller reads it."""
        pipe = self.pipe
        events: list[Any] = records
        if pipe.enrichment:
            template = (pipe.enrichment_parameters or {}).get("InputTemplate")
            payload = [self._transformed(template, event, str(pipe.enrichment)) for event in records]
            outcome = invoke(self.account_id, self.region, str(pipe.enrichment), payload)
            if outcome.failed or not outcome.valid_json:
                self.deliveries.append(
                    PipeDelivery(pipe.name, str(pipe.enrichment), payload, "EnrichmentFailed")
                )
                return Invocation(None, outcome.function_error or "Unhandled")
            events = enriched_events(outcome.payload)
            if not events:
                return _OK
        template = (pipe.target_parameters or {}).get("InputTemplate")
        bodies = [self._transformed(template, event, str(pipe.target)) for event in events]
        try:
            outcome = self._target(bodies)
        except DeliveryError as failure:
            self.deliveries.append(PipeDelivery(pipe.name, str(pipe.target), bodies, failure.code))
            return Invocation(None, failure.code)
        self.deliveries.append(PipeDelivery(pipe.name, str(pipe.target), bodies, outcome.function_error))
        return outcome

    def _transformed(self, template: str | None, event: Any, destination: str) -> Any:
        if not template:
            return event
        view = parsed_view(event)
        reserved = {
            "aws.pipes.pipe-arn": self.pipe.arn,
            "aws.pipes.pipe-name": self.pipe.name,
            "aws.pipes.source-arn": self.pipe.source,
            "aws.pipes.enrichment-arn": self.pipe.enrichment,
            "aws.pipes.target-arn": destination,
            "aws.pipes.event.ingestion-time": isoformat(self.clock.now(), millis=True),
            "aws.pipes.event": json.dumps(event),
            "aws.pipes.event.json": view,
        }

        def lookup(name: str) -> Any:
            return json_path(view, name) if name.startswith("$") else reserved.get(name)

        return _as_json(render_template(str(template), lookup))

    def _target(self, events: list[Any]) -> Invocation:
        arn = str(self.pipe.target)
        parameters = self.pipe.target_parameters or {}
        parts = arn.split(":")
        service = parts[2] if len(parts) > 5 else ""
        try:
            if service == "lambda":
                mode = (parameters.get("LambdaFunctionParameters") or {}).get("InvocationType")
                fire_and_forget = mode == "FIRE_AND_FORGET"
                outcome = invoke(self.account_id, self.region, arn, events, asynchronous=fire_and_forget)
                if outcome.function_error == "Missing":
                    raise DeliveryError("ResourceNotFoundException", f"Function not found: {arn}")
                return outcome
            if service == "states":
                mode = (parameters.get("StepFunctionStateMachineParameters") or {}).get("InvocationType")
                self._start_execution(arn, json.dumps(events), synchronous=mode == "REQUEST_RESPONSE")
            elif service in ("sqs", "sns", "events"):
                for event in events:
                    self._send(service, parts, event if isinstance(event, str) else json.dumps(event))
            else:
                raise DeliveryError("UnsupportedTarget", f"target {arn} is not emulated")
        except MOTO_ERRORS as exc:
            raise DeliveryError(type(exc).__name__, str(exc)) from exc
        return _OK

    def _start_execution(self, arn: str, text: str, *, synchronous: bool) -> None:
        from moto.stepfunctions.responses import get_backend

        execution = get_backend(self.account_id, self.region).start_execution(
            state_machine_arn=arn, name=str(uuid.uuid4()), execution_input=text
        )
        if not synchronous:
            return
        for worker in self.workers:  # let it run as far as it can without the clock
            worker.settle()
        status = getattr(execution, "exec_status", None)
        status_text = str(getattr(status, "value", status or getattr(execution, "status", "")))
        if status_text in _FAILED_EXECUTION:
            arn_text = getattr(execution, "exec_arn", None) or getattr(execution, "execution_arn", arn)
            raise DeliveryError("ExecutionFailed", f"execution {arn_text} ended {status_text}")

    def _send(self, service: str, parts: list[str], body: str) -> None:
        region, account_id, name = parts[3], parts[4], parts[5]
        parameters = self.pipe.target_parameters or {}
        if service == "sqs":
            sqs = parameters.get("SqsQueueParameters") or {}
            fifo = name.endswith(".fifo")
            sqs_backends[account_id][region].send_message(
                queue_name=name,
                message_body=body,
                group_id=sqs.get("MessageGroupId"),
                deduplication_id=sqs.get("MessageDeduplicationId") or (str(uuid.uuid4()) if fifo else None),
            )
        elif service == "sns":
            sns_backends[account_id][region].publish(message=body, arn=":".join(parts))
        else:
            from moto.events.models import events_backends

            bus = parameters.get("EventBridgeEventBusParameters") or {}
            entry = {
                "EventBusName": ":".join(parts),
                "Source": bus.get("Source") or f"Pipe {self.pipe.name}",
                "DetailType": bus.get("DetailType") or "Event from pipe",
                "Detail": body,
                "Resources": list(bus.get("Resources") or []),
            }
            result = events_backends[account_id][region].put_events([entry])[0]
            if result.get("ErrorCode"):
                raise DeliveryError(str(result["ErrorCode"]), str(result.get("ErrorMessage")))


class _PipeMapping:
    """A pipe seen through the attributes the stream and SQS pollers read from a Lambda mapping (read
    live, so ``UpdatePipe`` applies at once)."""

    def __init__(self, pipe: Pipe, parameters_key: str, default_batch: int) -> None:
        self.pipe = pipe
        self._key = parameters_key
        self._default_batch = default_batch

    @property
    def _source(self) -> dict[str, Any]:
        return dict((self.pipe.source_parameters or {}).get(self._key) or {})

    @property
    def uuid(self) -> str:
        return str(self.pipe.arn)

    @property
    def event_source_arn(self) -> str:
        return str(self.pipe.source)

    @property
    def function_arn(self) -> str:
        return str(self.pipe.arn)  # named in the stream poller's failure record, which is reshaped

    @property
    def enabled(self) -> bool:
        return str(self.pipe.desired_state) == "RUNNING"

    @property
    def batch_size(self) -> int:
        return int(self._source.get("BatchSize") or self._default_batch)

    @property
    def max_batch_window(self) -> int:
        return int(self._source.get("MaximumBatchingWindowInSeconds") or 0)

    @property
    def starting_position(self) -> str:
        return str(self._source.get("StartingPosition") or "LATEST")

    @property
    def filter_criteria(self) -> dict[str, Any] | None:
        criteria: dict[str, Any] | None = (self.pipe.source_parameters or {}).get("FilterCriteria")
        return criteria

    @property
    def function_response_types(self) -> tuple[str, ...]:
        return ("ReportBatchItemFailures",)  # Pipes always honour a target's batchItemFailures

    @property
    def max_record_age(self) -> int | None:
        age = self._source.get("MaximumRecordAgeInSeconds")
        return None if age is None else int(age)

    @property
    def max_retry_attempts(self) -> int | None:
        attempts = self._source.get("MaximumRetryAttempts")
        return None if attempts is None else int(attempts)

    @property
    def bisect_on_error(self) -> bool:
        return self._source.get("OnPartialBatchItemFailure") == "AUTOMATIC_BISECT"

    @property
    def destination_config(self) -> None:
        return None  # the pipe's dead-letter record is sent by PipeStreamPoller._discard

    @property
    def dead_letter_arn(self) -> str | None:
        arn = (self._source.get("DeadLetterConfig") or {}).get("Arn")
        return str(arn) if arn else None


class PipeStreamPoller(StreamPoller):
    """A DynamoDB stream read as the stream mappings read it; batches go to the pipe, not a function."""

    kind = "pipe:dynamodb"

    def __init__(self, runner: PipeRunner) -> None:
        self.pipe_mapping = _PipeMapping(runner.pipe, "DynamoDBStreamParameters", STREAM_BATCH_SIZE)
        super().__init__(self.pipe_mapping, runner.clock, runner.account_id, runner.region)
        self.runner = runner

    def _deliver(self, records: list[dict[str, Any]]) -> Invocation:
        """The pipe's delivery in place of the function invocation."""
        return self.runner.deliver(records)

    def _discard(self, shard: Any, indexes: list[int], condition: str, outcome: Any, invokes: int) -> None:
        """Skip records for good and send the metadata record Pipes sends to its dead-letter queue."""
        super()._discard(shard, indexes, condition, outcome, invokes)
        lambda_shaped = self.stats.failure_records.pop()
        record = {
            "context": {"partnerResourceArn": self.runner.pipe.arn, "condition": condition},
            "version": "1.0",
            "timestamp": lambda_shaped["timestamp"],
            "DDBStreamBatchInfo": lambda_shaped["DDBStreamBatchInfo"],
        }
        self.stats.failure_records.append(record)
        dead_letter = self.pipe_mapping.dead_letter_arn
        if dead_letter:
            try:
                send(dead_letter, json.dumps(record))
            except (UnsupportedDestinationError, *MOTO_ERRORS):
                return  # an unusable DLQ loses the record, as on AWS


class PipeSqsPoller(SqsPoller):
    """An SQS queue received and deleted as the SQS mappings do; batches go to the pipe."""

    kind = "pipe:sqs"

    def __init__(self, runner: PipeRunner) -> None:
        mapping = _PipeMapping(runner.pipe, "SqsQueueParameters", SQS_BATCH_SIZE)
        super().__init__(mapping, runner.clock, runner.account_id, runner.region)
        self.runner = runner

    def _deliver(self, records: list[dict[str, Any]]) -> Collection[str] | None:
        """The pipe's delivery in place of the function invocation; a target's item failures count."""
        outcome = self.runner.deliver(records)
        return reported_failures(outcome, {record["messageId"] for record in records})


# -- every pipe ------------------------------------------------------------------------------------------


class Pipes:
    """Follows moto's pipes backend and runs each pipe; ``EventSources`` pumps it with its pollers."""

    def __init__(
        self, clock: VirtualClock, account_id: str, region: str, workers: Sequence[Settling] = ()
    ) -> None:
        self.clock = clock
        self.account_id = account_id
        self.region = region
        self.workers = workers  # EventSources.workers: Step Functions joins it after construction
        self.runners: dict[str, PipeRunner] = {}

    def runner(self, name: str) -> PipeRunner:
        """The runner of a pipe by name (for assertions)."""
        self.sync()
        return self.runners[name]

    def sync(self) -> None:
        """Run new pipes, drop deleted ones (a recreated pipe starts afresh)."""
        current = {
            str(pipe.name): pipe for pipe in list(pipes_backends[self.account_id][self.region].pipes.values())
        }
        for name in set(self.runners) - set(current):
            del self.runners[name]
        for name, pipe in current.items():
            known = self.runners.get(name)
            if known is None or known.pipe is not pipe:
                self.runners[name] = PipeRunner(pipe, self.clock, self.account_id, self.region, self.workers)

    def _pollers(self) -> list[StreamPoller | SqsPoller]:
        return [runner.poller for runner in list(self.runners.values()) if runner.poller is not None]

    def pump(self) -> int:
        """One round: each running pipe delivers at most one batch. Returns target deliveries."""
        self.sync()
        return sum(poller.pump() for poller in self._pollers())

    @property
    def progress(self) -> int:
        return sum(poller.progress for poller in self._pollers())

    def next_due(self) -> float | None:
        due = [poller.next_due() for poller in self._pollers()]
        return min((moment for moment in due if moment is not None), default=None)
