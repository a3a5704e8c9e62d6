"""Genomics: launch status from "ECS Task State Change" events of the blueprint's cluster."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.parser import parse
from aws_lambda_powertools.utilities.typing import LambdaContext

from blueprints.core.observability import observed
from blueprints.core.settings import LazySettings
from blueprints.genomics import wiring
from blueprints.genomics.events import EcsTaskStateChangeEvent
from blueprints.genomics.settings import TrackSettings
from blueprints.genomics.tracking import ecs_change

SETTINGS = LazySettings(TrackSettings)


@observed
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, str]:
    parsed = parse(event=event, model=EcsTaskStateChangeEvent)
    outcome = wiring.tracker(SETTINGS.get()).apply(ecs_change(parsed.detail, parsed.time.isoformat()))
    return {"outcome": outcome.value}
