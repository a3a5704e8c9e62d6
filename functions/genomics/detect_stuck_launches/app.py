"""Genomics (scheduled): alert on Batch jobs stuck in RUNNABLE; fail launches past the hard timeout;
re-drive launches parked after a transient start failure."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from aws_lambda_powertools.utilities.parser import parse
from aws_lambda_powertools.utilities.typing import LambdaContext

from blueprints.core.observability import observed
from blueprints.core.settings import LazySettings
from blueprints.genomics import wiring
from blueprints.genomics.events import ScheduledCheck
from blueprints.genomics.settings import DetectSettings

SETTINGS = LazySettings(DetectSettings)


@observed
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    now = datetime.fromisoformat(
        parse(event=event, model=ScheduledCheck).scheduled_time.replace("Z", "+00:00")
    )
    report = wiring.detector(SETTINGS.get()).check(now)
    return {
        "checked": report.checked,
        "alerted": report.alerted,
        "timed_out": report.timed_out,
        "redriven": report.redriven,
        "slow": report.slow,
    }
