"""Clients for the account an event came from: this account's own, or through the cross-account role.

The tooling and workload accounts deploy a read-only role (templates/dora-tooling.yaml). A client for
another account assumes it on first use, keeps the credentials for the life of the container and assumes
it again five minutes before they expire. Nothing is created at import time.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import boto3

from blueprints.core.aws import client as aws_client
from blueprints.core.aws import client_config

REFRESH_MARGIN_SECONDS = 300


@dataclass(frozen=True)
class _Credentials:
    access_key: str
    secret_key: str
    token: str
    expires_at: float  # epoch seconds


class AccountClients:
    def __init__(
        self,
        own_account: str,
        role_name: str,
        *,
        session_name: str = "blueprints-dora",
        sts: Any = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.own_account = own_account
        self.role_name = role_name
        self.session_name = session_name
        self._sts = sts
        self._clock = clock
        self._credentials: dict[str, _Credentials] = {}
        self._clients: dict[tuple[str, str, str], tuple[Any, float]] = {}
        self._lock = threading.Lock()

    def client(self, service: str, account: str, region: str) -> Any:
        """A client of ``service`` in ``account``/``region`` (cached; refreshed before expiry)."""
        if not account or account == self.own_account:
            return self._own(service, region)
        with self._lock:
            cached = self._clients.get((service, account, region))
            if cached is not None and cached[1] - REFRESH_MARGIN_SECONDS > self._clock():
                return cached[0]
            credentials = self._assume(account)
            created = boto3.session.Session().client(
                service,  # type: ignore[call-overload]
                region_name=region,
                aws_access_key_id=credentials.access_key,
                aws_secret_access_key=credentials.secret_key,
                aws_session_token=credentials.token,
                config=client_config(),
            )
            self._clients[(service, account, region)] = (created, credentials.expires_at)
            return created

    def _own(self, service: str, region: str) -> Any:
        default = aws_client(service)
        if not region or default.meta.region_name == region:
            return default
        key = (service, self.own_account, region)
        if key not in self._clients:
            created = boto3.session.Session().client(
                service,  # type: ignore[call-overload]
                region_name=region,
                config=client_config(),
            )
            self._clients[key] = (created, float("inf"))
        return self._clients[key][0]

    def _assume(self, account: str) -> _Credentials:
        known = self._credentials.get(account)
        if known is not None and known.expires_at - REFRESH_MARGIN_SECONDS > self._clock():
            return known
        sts = self._sts or aws_client("sts")
        partition = str(sts.meta.partition) if hasattr(sts.meta, "partition") else "aws"
        response = sts.assume_role(
            RoleArn=f"arn:{partition}:iam::{account}:role/{self.role_name}",
            RoleSessionName=self.session_name,
            DurationSeconds=3600,
        )["Credentials"]
        expiration = response["Expiration"]
        expires_at = expiration.timestamp() if isinstance(expiration, datetime) else float(expiration)
        fresh = _Credentials(
            response["AccessKeyId"], response["SecretAccessKey"], response["SessionToken"], expires_at
        )
        self._credentials[account] = fresh
        return fresh
