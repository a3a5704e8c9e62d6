"""DORA: store a production deployment from a CodePipeline pipeline or stage SUCCEEDED event."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from blueprints.core.observability import observed
from blueprints.core.settings import LazySettings
from blueprints.dora import wiring
from blueprints.dora.events import parse_pipeline_event
from blueprints.dora.settings import IngestPipelineSettings

SETTINGS = LazySettings(IngestPipelineSettings)


@observed
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, str]:
    parsed = parse_pipeline_event(event)
    return {"outcome": wiring.ingest_pipeline(SETTINGS.get()).handle(parsed)}
