"""DORA: import history (CodePipeline executions, OpsItems) into the fact store, as events would have."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from blueprints.core.observability import observed
from blueprints.core.settings import LazySettings
from blueprints.dora import wiring
from blueprints.dora.backfill import parse_request
from blueprints.dora.settings import BackfillSettings

SETTINGS = LazySettings(BackfillSettings)


@observed
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return wiring.backfill(SETTINGS.get()).run(parse_request(event))
