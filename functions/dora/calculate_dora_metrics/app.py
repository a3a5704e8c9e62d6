"""DORA: the recompute state machine's tasks (plan the services, recompute one service's snapshots)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from blueprints.core.observability import observed
from blueprints.core.settings import LazySettings
from blueprints.dora import wiring
from blueprints.dora.recompute import parse_request
from blueprints.dora.settings import CalculateSettings

SETTINGS = LazySettings(CalculateSettings)


@observed
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return wiring.recompute(SETTINGS.get()).handle(parse_request(event))
