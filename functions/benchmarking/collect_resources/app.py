"""Benchmarking: the resources one finished launch attempt used, with their time windows (a task of the
cost_launch state machine)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.parser import parse
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, ConfigDict, Field

from blueprints.benchmarking import wiring
from blueprints.benchmarking.settings import CollectSettings
from blueprints.core.observability import logger, observed
from blueprints.core.settings import LazySettings

SETTINGS = LazySettings(CollectSettings)


class CollectRequest(BaseModel):
    """The state machine's input: the launch and the attempt its stream record was about."""

    model_config = ConfigDict(extra="ignore")

    launch_id: str = Field(min_length=1, max_length=64)
    attempt: int = Field(ge=1)  # the pipe passes DynamoDB's N as text: "1"


@observed
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    request = parse(event=event, model=CollectRequest)
    logger.append_keys(launch_id=request.launch_id, attempt=request.attempt)
    collection = wiring.collector(SETTINGS.get()).collect(request.launch_id, request.attempt)
    return collection.model_dump(mode="json")
