"""Broker: re-enqueue the stored original request when its task stopped on an ENI provisioning timeout."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.parser import parse
from aws_lambda_powertools.utilities.typing import LambdaContext

from blueprints.broker import wiring
from blueprints.broker.events import EcsTaskStateChangeEvent
from blueprints.broker.failures import Invocation
from blueprints.broker.settings import RerunSettings
from blueprints.core.idempotency import run_once
from blueprints.core.observability import observed
from blueprints.core.settings import LazySettings

SETTINGS = LazySettings(RerunSettings)
IDEMPOTENCY_SECONDS = 7 * 24 * 3600


@observed
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, str]:
    settings = SETTINGS.get()
    stopped = parse(event=event, model=EcsTaskStateChangeEvent).task_stopped()
    rerunner = wiring.rerunner(
        settings, Invocation(context.log_group_name, context.log_stream_name, context.aws_request_id)
    )
    outcome = run_once(
        lambda _: rerunner.handle(stopped).value,
        event,
        key_jmespath="id",
        table_name=settings.idempotency_table_name,
        expires_after_seconds=IDEMPOTENCY_SECONDS,
        context=context,
    )
    return {"outcome": outcome}
