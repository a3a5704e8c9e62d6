"""Genomics: launch status from the runs ECS and Batch do not report: SSM command status changes on the
ParallelCluster head node and Step Functions execution status changes of the pipelines it starts."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.parser import parse
from aws_lambda_powertools.utilities.typing import LambdaContext

from blueprints.core.observability import observed
from blueprints.core.settings import LazySettings
from blueprints.genomics import wiring
from blueprints.genomics.events import RemoteRunEvent
from blueprints.genomics.settings import TrackSettings

SETTINGS = LazySettings(TrackSettings)


@observed
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, str]:
    parsed = parse(event=event, model=RemoteRunEvent)
    return {"outcome": wiring.tracker(SETTINGS.get()).remote(parsed.root).value}
