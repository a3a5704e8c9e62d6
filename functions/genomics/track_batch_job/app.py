"""Genomics: launch status from "Batch Job State Change" events of the blueprint's job queue."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.parser import parse
from aws_lambda_powertools.utilities.typing import LambdaContext

from blueprints.core.observability import observed
from blueprints.core.settings import LazySettings
from blueprints.genomics import wiring
from blueprints.genomics.events import BATCH_LOG_GROUP, BatchJobStateChangeEvent
from blueprints.genomics.settings import TrackSettings
from blueprints.genomics.tracking import batch_change

SETTINGS = LazySettings(TrackSettings)


@observed
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, str]:
    parsed = parse(event=event, model=BatchJobStateChangeEvent)
    change = batch_change(parsed.detail, parsed.time.isoformat(), BATCH_LOG_GROUP)
    return {"outcome": wiring.tracker(SETTINGS.get()).apply(change).value}
