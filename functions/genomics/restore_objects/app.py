"""Genomics: RestoreObject for each archived object of a queued chunk (partial batch failures)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from blueprints.core.batch import PartialBatchResponse, process_sqs_batch
from blueprints.core.observability import observed
from blueprints.core.settings import LazySettings
from blueprints.genomics import wiring
from blueprints.genomics.settings import RestoreSettings

SETTINGS = LazySettings(RestoreSettings)


@observed
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialBatchResponse:
    flow = wiring.restore_flow(SETTINGS.get())
    return process_sqs_batch(event, context, lambda record: flow.restore_chunk(record.body))
