"""Registration: every launch request (config upload, Snakefile bundle, ``POST /launches``) becomes one
validated registry item, ``REGISTERED`` or, when invalid, ``FAILED`` with the precise reason.

Duplicate deliveries of the same request are absorbed by the conditional put (same ``dedupe_key``).
A request without a usable launch id is still recorded, under ``rejected-<hash of its source>``, and
announced on the alerts topic, so nothing accepted is lost.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol

from blueprints.core.errors import PermanentError
from blueprints.core.observability import logger
from blueprints.genomics import config as schema
from blueprints.genomics.engines import compute_for
from blueprints.genomics.errors import InvalidLaunchConfigError, LaunchConflictError
from blueprints.genomics.records import Source, new_launch_item, rejected_launch_item
from blueprints.genomics.registry import LaunchRegistry


class Registered(StrEnum):
    CREATED = "created"
    DUPLICATE = "duplicate"
    REJECTED = "rejected"  # recorded FAILED
    SKIPPED = "skipped"  # not a launch request (a sheet next to a Snakefile, a README under launches/)


@dataclass(frozen=True)
class Result:
    outcome: Registered
    launch_id: str
    error_code: str = ""
    error_message: str = ""


@dataclass(frozen=True)
class Defaults:
    results_bucket: str
    default_versions: dict[str, str]
    restore_enabled: bool
    restore_default: bool


class Notifier(Protocol):
    def notify(self, subject: str, message: dict[str, Any]) -> None: ...


class Registrar:
    def __init__(
        self,
        registry: LaunchRegistry,
        defaults: Defaults,
        notifier: Notifier,
        now: Callable[[], datetime],
    ) -> None:
        self.registry = registry
        self.defaults = defaults
        self.notifier = notifier
        self.now = now
        self._at: datetime | None = None  # the time of the request being registered

    def _now(self) -> datetime:
        return self._at or self.now()

    # -- entry points -------------------------------------------------------------------------------

    def register_upload(
        self, source: Source, read: Callable[[], bytes], at: datetime | None = None
    ) -> Result:
        """A config file under ``launches/`` (``read`` fetches it) or a Snakefile bundle under
        ``snakefiles/`` (registered with default settings, nothing read); ``at`` is the upload's time."""
        self._at = at
        key = source.key
        fallback = schema.launch_id_from_key(key)
        if key.startswith("snakefiles/"):
            if not schema.is_snakefile_bundle(key):
                logger.info("Upload is not a Snakefile bundle; nothing to launch", key=key)
                return Result(Registered.SKIPPED, "")
            if fallback is None:
                return self._reject(
                    source, None, InvalidLaunchConfigError(f"{key}: no valid launch id in the path")
                )
            return self._register(source, schema.snakefile_defaults(fallback, source.bucket, key))
        if not key.endswith(schema.CONFIG_SUFFIXES):  # a README or a sheet next to the configs
            logger.info("Upload is not a launch configuration (.json, .yaml, .yml); ignored", key=key)
            return Result(Registered.SKIPPED, "")
        try:
            document = schema.decode(read(), key)
        except PermanentError as exc:
            return self._reject(source, fallback, exc)
        if not document.get("launch_id") and fallback is not None:
            document = {**document, "launch_id": fallback}
        return self._register(source, document)

    def register_request(self, document: dict[str, Any], caller: str, at: datetime | None = None) -> Result:
        """``POST /launches``: the caller identity overrides ``requested_by``."""
        self._at = at
        canonical = json.dumps(document, sort_keys=True, separators=(",", ":"), default=str)
        source = Source("api", request_id=hashlib.sha256(canonical.encode()).hexdigest()[:32])
        return self._register(source, {**document, "requested_by": caller}, record_invalid=False)

    # -- internals ----------------------------------------------------------------------------------

    def _register(self, source: Source, document: dict[str, Any], *, record_invalid: bool = True) -> Result:
        launch_id = document.get("launch_id") if isinstance(document.get("launch_id"), str) else None
        try:
            launch = schema.validate(document)
            compute = compute_for(launch.workflow_type, launch.compute_service)
            if compute == "batch" and not launch.launch_id[0].isalnum():
                raise InvalidLaunchConfigError(
                    "launch_id: a Batch launch's id must start with a letter or digit (it names the job)"
                )
            restore = self._restore_check(launch.restore_check)
        except PermanentError as exc:
            if not record_invalid:
                raise
            return self._reject(source, launch_id, exc)
        values = new_launch_item(
            launch,
            source=source,
            compute_service=compute,
            engine_version=launch.engine_version
            or self.defaults.default_versions.get(launch.workflow_type, ""),
            output_s3_path=launch.output_s3_path
            or f"s3://{self.defaults.results_bucket}/{launch.launch_id}/",
            restore_check=restore,
            now=self._now(),
        )
        try:
            created = self.registry.create(values)
        except LaunchConflictError as exc:  # the id is another request's: this one is rejected, with a notice
            if not record_invalid:
                raise
            return self._reject(source, launch.launch_id, exc)
        outcome = Registered.CREATED if created else Registered.DUPLICATE
        logger.info("Launch request registered", launch_id=launch.launch_id, outcome=outcome)
        return Result(outcome, launch.launch_id)

    def _restore_check(self, requested: bool | None) -> bool:
        if requested and not self.defaults.restore_enabled:
            raise InvalidLaunchConfigError("restore_check: the Glacier restore blueprint is not deployed")
        if requested is None:  # nothing to check against where no restore flow is deployed
            return self.defaults.restore_default and self.defaults.restore_enabled
        return requested

    def _reject(self, source: Source, launch_id: str | None, error: PermanentError) -> Result:
        valid = launch_id is not None and schema.valid_launch_id(launch_id)
        key = (
            launch_id
            if valid and launch_id
            else f"rejected-{hashlib.sha256(source.dedupe_key.encode()).hexdigest()[:16]}"
        )
        values = rejected_launch_item(
            key, source=source, error_code=error.code, error_message=str(error), now=self._now()
        )
        try:
            created = self.registry.create(values)
            duplicate = not created  # this very request, delivered again: it was announced already
        except LaunchConflictError:
            created = duplicate = False  # the id is an earlier request's; the notice says why this one failed
        logger.warning("Launch request rejected", launch_id=key, error_code=error.code, recorded=created)
        if not duplicate:
            self.notifier.notify(
                f"Blueprints genomics launch rejected: {key}",
                {
                    "launch_id": key,
                    "error_code": error.code,
                    "error_message": str(error),
                    "source": source.as_map(),
                },
            )
        return Result(Registered.REJECTED, key, error.code, str(error))
