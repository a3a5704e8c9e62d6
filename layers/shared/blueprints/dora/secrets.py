"""Secrets Manager values (webhook secret, GitHub token), cached per container for a few minutes."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from blueprints.core.aws import client as aws_client
from blueprints.dora.errors import SourceUnavailableError

TTL_SECONDS = 300
PLACEHOLDERS = frozenset({"", "none", "changeme", "placeholder"})


class SecretValues:
    def __init__(self, client: Any = None, clock: Callable[[], float] = time.monotonic) -> None:
        self._client = client
        self._clock = clock
        self._values: dict[str, tuple[str, float]] = {}

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = aws_client("secretsmanager")
        return self._client

    def get(self, secret_id: str) -> str:
        """The secret's string; a placeholder value (``none``, empty) reads as empty."""
        cached = self._values.get(secret_id)
        if cached is not None and cached[1] > self._clock():
            return cached[0]
        try:
            value = str(self.client.get_secret_value(SecretId=secret_id).get("SecretString", ""))
        except (ClientError, BotoCoreError) as exc:
            raise SourceUnavailableError(f"secret {secret_id} unreadable: {type(exc).__name__}") from exc
        value = "" if value.strip().lower() in PLACEHOLDERS else value.strip()
        self._values[secret_id] = (value, self._clock() + TTL_SECONDS)
        return value
