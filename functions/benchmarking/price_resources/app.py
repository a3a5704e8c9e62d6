"""Benchmarking: price what a launch used (Price List, Spot history, cached) and answer the state machine
with the amounts to write, or with what is missing (a task of the cost_launch state machine)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.parser import parse
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, ConfigDict

from blueprints.benchmarking import wiring
from blueprints.benchmarking.models import Collection
from blueprints.benchmarking.service import price_launch
from blueprints.benchmarking.settings import PriceSettings
from blueprints.core.observability import observed
from blueprints.core.settings import LazySettings

SETTINGS = LazySettings(PriceSettings)


class PriceRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")

    collection: Collection


@observed
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    request = parse(event=event, model=PriceRequest)
    settings = SETTINGS.get()
    return price_launch(
        request.collection,
        wiring.price_book(settings),
        wiring.audit_store(settings.cost_inputs_bucket_name),
    )
