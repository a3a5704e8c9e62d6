"""Receiving GitHub push webhooks: authenticate, parse, store the push (idempotent per push)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from blueprints.core.observability import logger
from blueprints.dora.errors import InvalidEventError
from blueprints.dora.events import parse_push
from blueprints.dora.secrets import SecretValues
from blueprints.dora.store import FactStore
from blueprints.dora.webhook import DELIVERY_HEADER, EVENT_HEADER, SIGNATURE_HEADER, header, raw_body, verify


@dataclass(frozen=True)
class WebhookResult:
    status: int
    body: dict[str, Any]


@dataclass
class WebhookReceiver:
    store: FactStore
    secrets: SecretValues
    secret_arn: str
    now: Callable[[], datetime]

    def receive(self, headers: Mapping[str, str], body: str | None, is_base64_encoded: bool) -> WebhookResult:
        """Raises ``SignatureError`` (401) before anything is parsed or stored."""
        raw = raw_body(body, is_base64_encoded)
        verify(self.secrets.get(self.secret_arn).encode(), raw, header(headers, SIGNATURE_HEADER))
        kind = header(headers, EVENT_HEADER) or ""
        delivery = header(headers, DELIVERY_HEADER) or hashlib.sha256(raw).hexdigest()
        if kind == "ping":
            return WebhookResult(200, {"message": "pong"})
        if kind != "push":
            return WebhookResult(202, {"message": f"ignored {kind or 'unnamed'} event"})
        try:
            payload = json.loads(raw)
        except ValueError as exc:
            raise InvalidEventError("the push body is not JSON") from exc
        parsed = parse_push(payload)
        if parsed.deleted:
            return WebhookResult(202, {"message": "ignored branch deletion"})
        push = parsed.push()
        stored = self.store.put_push(push, delivery, self.now())
        logger.info(
            "push received",
            extra={
                "repo": push.repo,
                "ref": push.ref,
                "after": push.after,
                "commits": len(push.commits),
                "new": stored,
            },
        )
        return WebhookResult(202, {"message": "stored" if stored else "duplicate", "after": push.after})
