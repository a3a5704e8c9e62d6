"""Genomics: an archived object is readable again ("Object Restore Completed"); READY its launches once.
A restored copy that expires before its launch started ("Object Restore Expired") is restored again."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.parser import parse
from aws_lambda_powertools.utilities.typing import LambdaContext

from blueprints.core.observability import observed
from blueprints.core.settings import LazySettings
from blueprints.genomics import wiring
from blueprints.genomics.events import RestoreCompletedEvent
from blueprints.genomics.settings import RestoreSettings

SETTINGS = LazySettings(RestoreSettings)
EXPIRED = "Object Restore Expired"


@observed
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, int]:
    parsed = parse(event=event, model=RestoreCompletedEvent)
    detail = parsed.detail
    flow = wiring.restore_flow(SETTINGS.get())
    if parsed.detail_type == EXPIRED:
        reopened = flow.expire_object(
            detail.bucket.name, detail.object.key, detail.object.version_id, parsed.time
        )
        return {"reopened": reopened}
    resolved = flow.complete_object(
        detail.bucket.name,
        detail.object.key,
        detail.object.version_id,
        detail.restore_expiry_time,
        parsed.time,
    )
    return {"resolved": resolved}
