"""Genomics (scheduled): finish restores whose completion event never came; fail launches past deadline."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from aws_lambda_powertools.utilities.parser import parse
from aws_lambda_powertools.utilities.typing import LambdaContext

from blueprints.core.observability import observed
from blueprints.core.settings import LazySettings
from blueprints.genomics import wiring
from blueprints.genomics.events import ScheduledCheck
from blueprints.genomics.settings import RestoreSettings

SETTINGS = LazySettings(RestoreSettings)
RESERVE_MS = 15_000  # stop this long before the timeout


@observed
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    now = datetime.fromisoformat(
        parse(event=event, model=ScheduledCheck).scheduled_time.replace("Z", "+00:00")
    )
    report = wiring.restore_flow(SETTINGS.get()).reconcile(
        now, lambda: context.get_remaining_time_in_millis() > RESERVE_MS
    )
    return {
        "requests": report.requests,
        "completed": report.completed,
        "requested_again": report.requested_again,
        "synced": report.synced,
        "readied": report.readied,
        "timed_out": report.timed_out,
        "indexing_failed": report.indexing_failed,
    }
