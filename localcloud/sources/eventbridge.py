"""EventBridge rule targets moto does not deliver to, or delivers differently from AWS.

moto's ``Rule.send_to_targets`` raises ``NotImplementedError`` for Lambda, Step Functions and SNS
targets (so ``PutEvents`` fails as a whole), drops ``account`` and ignores ``Input``/``InputPath`` for
SQS, and ``PutEvents`` fires disabled rules. The patch keeps moto's pattern matching and its delivery to
logs, archives, other buses and API destinations, and delivers these itself:

- Lambda: asynchronous invoke (InvocationType ``Event``) through moto's Lambda backend, so the local
  cloud's runtime runs the handler and owns async retries and destinations;
- Step Functions: ``StartExecution`` on moto's backend (the interpreter's when execution is enabled);
- SQS (``SqsParameters.MessageGroupId`` for FIFO) and SNS: the target input, verbatim.

A target that cannot be reached (missing function, state machine, queue or topic) is not retried (AWS
does not retry those errors either): the event goes to the target's ``DeadLetterConfig`` queue with
the ``RULE_ARN``/``TARGET_ARN``/``ERROR_CODE``/``ERROR_MESSAGE`` attributes AWS adds, or is dropped.
``RetryPolicy`` therefore never comes into play offline.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, cast
from unittest import mock

from moto.events.models import Rule
from moto.sns.models import sns_backends
from moto.sqs.models import sqs_backends

from localcloud.sources.destinations import UnsupportedDestinationError, send
from localcloud.sources.invoke import MOTO_ERRORS, invoke
from localcloud.sources.target_input import full_event, target_input

OUR_SERVICES = frozenset({"lambda", "states", "sqs", "sns"})
DELIVERY_LOG_SIZE = 1000  # the most recent deliveries, so a long `localcloud up` does not grow


class DeliveryError(Exception):
    """A target could not be reached; ``code`` is the AWS error code put on the dead-letter message."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class TargetDelivery:
    """One event handed (or not) to one target, for status output and assertions."""

    rule_arn: str
    target_arn: str
    body: str
    error: str | None = None
    dead_letter_arn: str | None = None


def _service(arn: str) -> str:
    parts = arn.split(":")
    return parts[2] if len(parts) > 2 else ""


class EventBridgeTargets:
    """Installs the ``Rule.send_to_targets`` patch and records what each target was sent."""

    def __init__(self) -> None:
        self.deliveries: deque[TargetDelivery] = deque(maxlen=DELIVERY_LOG_SIZE)
        self._narrowing = threading.RLock()
        self._original: Any = None

    @contextmanager
    def install(self) -> Iterator[EventBridgeTargets]:
        owner = self

        def send_to_targets(rule: Rule, original_event: dict[str, Any], transform_input: bool = True) -> None:
            owner.on_event(rule, original_event, transform_input)

        self._original = Rule.send_to_targets
        try:
            with mock.patch.object(Rule, "send_to_targets", send_to_targets):
                yield self
        finally:
            self._original = None

    def on_event(self, rule: Rule, original_event: dict[str, Any], transform_input: bool = True) -> None:
        """An event put on the rule's bus (moto calls this for every rule of the bus)."""
        if rule.scheduled_expression and not rule.event_pattern.get_pattern():
            return  # a schedule-only rule matches no event (moto's empty pattern would match all)
        if rule.state != "ENABLED" or not rule.event_pattern.matches_event(cast(Any, original_event)):
            return
        self.deliver(rule, original_event, transform_input)

    def deliver(self, rule: Rule, original_event: dict[str, Any], transform_input: bool = True) -> None:
        """Send ``original_event`` (moto's internal shape, epoch ``time``) to every target of ``rule``."""
        original: Any = self._original or Rule.send_to_targets
        ours = [target for target in rule.targets if _service(target["Arn"]) in OUR_SERVICES]
        rest = [target for target in rule.targets if _service(target["Arn"]) not in OUR_SERVICES]
        if rest:
            with self._narrowing:  # moto's delivery reads rule.targets; show it only its own
                saved, rule.targets = rule.targets, rest
                try:
                    original(rule, original_event, transform_input)
                finally:
                    rule.targets = saved
        event = full_event(original_event)
        for target in ours:
            body = target_input(target, event, rule.arn, rule.name) if transform_input else json.dumps(event)
            try:
                self._deliver(target, body, event)
            except DeliveryError as failure:
                self._dead_letter(rule, target, event, body, failure)
            else:
                self.deliveries.append(TargetDelivery(rule.arn, target["Arn"], body))

    def _deliver(self, target: dict[str, Any], body: str, event: dict[str, Any]) -> None:
        arn = target["Arn"]
        parts = arn.split(":")
        service, region, account_id = parts[2], parts[3], parts[4]
        try:
            if service == "lambda":
                outcome = invoke(account_id, region, arn, json.loads(body), asynchronous=True)
                if outcome.function_error == "Missing":
                    raise DeliveryError("ResourceNotFoundException", f"Function not found: {arn}")
            elif service == "states":
                from moto.stepfunctions.responses import get_backend

                get_backend(account_id, region).start_execution(
                    state_machine_arn=arn, name=str(uuid.uuid4()), execution_input=body
                )
            elif service == "sqs":
                queue_name = parts[5]
                group_id = (target.get("SqsParameters") or {}).get("MessageGroupId")
                sqs_backends[account_id][region].send_message(
                    queue_name=queue_name,
                    message_body=body,
                    group_id=group_id,
                    deduplication_id=str(event.get("id")) if queue_name.endswith(".fifo") else None,
                )
            else:
                sns_backends[account_id][region].publish(message=body, arn=arn)
        except ValueError as exc:
            raise DeliveryError("InvalidInput", f"target input is not JSON: {exc}") from exc
        except MOTO_ERRORS as exc:
            raise DeliveryError(type(exc).__name__, str(exc)) from exc

    def _dead_letter(
        self, rule: Rule, target: dict[str, Any], event: dict[str, Any], body: str, failure: DeliveryError
    ) -> None:
        dead_letter_arn = (target.get("DeadLetterConfig") or {}).get("Arn")
        if dead_letter_arn:
            attributes = {
                "RULE_ARN": rule.arn,
                "TARGET_ARN": target["Arn"],
                "ERROR_CODE": failure.code,
                "ERROR_MESSAGE": failure.message[:256],
            }
            try:
                send(dead_letter_arn, json.dumps(event), attributes)
            except (UnsupportedDestinationError, *MOTO_ERRORS):
                dead_letter_arn = None  # AWS drops the event when its DLQ is unusable too
        self.deliveries.append(TargetDelivery(rule.arn, target["Arn"], body, failure.code, dead_letter_arn))
