"""Observe and script calls of a real (moto-backed) boto3 client through botocore's event hooks.

``record_calls`` keeps the parameters of every call of one operation. ``Script`` answers the first
calls of an operation with planned errors or responses, then lets the rest reach moto: the way to test
throttling, capacity failures and outages that moto never produces, while everything else stays real.
(``botocore.stub.Stubber`` uses the same ``before-call`` hook, but then every call must be stubbed.)
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class _HttpResponse:
    status_code: int
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Reply:
    """A scripted answer: an error (``code``) or a successful parsed response (``body``)."""

    status: int
    body: dict[str, Any]

    @classmethod
    def error(cls, code: str, message: str = "scripted error", status: int = 400) -> Reply:
        return cls(
            status,
            {"Error": {"Code": code, "Message": message}, "ResponseMetadata": {"HTTPStatusCode": status}},
        )

    @classmethod
    def ok(cls, body: dict[str, Any]) -> Reply:
        return cls(200, {**body, "ResponseMetadata": {"HTTPStatusCode": 200}})


PASS = None
"""In a script: let this call through to the real (moto) backend."""


def _event(client: Any, prefix: str, operation: str) -> str:
    return f"{prefix}.{client.meta.service_model.service_id.hyphenize()}.{operation}"


def record_calls(client: Any, operation: str) -> list[dict[str, Any]]:
    """A list that receives a copy of the parameters of every ``operation`` call made with ``client``."""
    calls: list[dict[str, Any]] = []

    def keep(params: dict[str, Any], **_: Any) -> None:
        calls.append(copy.deepcopy(params))

    client.meta.events.register(_event(client, "provide-client-params", operation), keep)
    return calls


class Script:
    """Answer the next calls of ``operation`` from ``replies`` (``PASS`` lets one through), then pass."""

    def __init__(self, client: Any, operation: str, replies: Iterable[Reply | None]) -> None:
        self.replies = list(replies)
        self.answered = 0
        self.passed = 0
        client.meta.events.register(_event(client, "before-call", operation), self._answer)

    def _answer(self, **_: Any) -> tuple[_HttpResponse, dict[str, Any]] | None:
        reply = self.replies.pop(0) if self.replies else PASS
        if reply is None:
            self.passed += 1
            return None
        self.answered += 1
        return _HttpResponse(reply.status), copy.deepcopy(reply.body)


def raise_on(client: Any, operation: str, exception: BaseException, times: int = 1) -> None:
    """Make the next ``times`` calls of ``operation`` raise ``exception`` (a timeout, a lost connection)."""
    remaining = [times]

    def fail(**_: Any) -> None:
        if remaining[0] > 0:
            remaining[0] -= 1
            raise exception

    client.meta.events.register(_event(client, "before-call", operation), fail)
