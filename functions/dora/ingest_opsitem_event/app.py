"""DORA: store an incident from an OpsItem Create/Update event (the OpsItem is re-read from OpsCenter)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from blueprints.core.observability import observed
from blueprints.core.settings import LazySettings
from blueprints.dora import wiring
from blueprints.dora.events import parse_opsitem_event
from blueprints.dora.settings import IngestOpsItemSettings

SETTINGS = LazySettings(IngestOpsItemSettings)


@observed
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, str]:
    parsed = parse_opsitem_event(event)
    return {"outcome": wiring.ingest_opsitem(SETTINGS.get()).handle(parsed)}
