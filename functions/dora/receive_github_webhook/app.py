"""DORA: receive GitHub push webhooks (HMAC-SHA256 signed with the stack's webhook secret)."""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEventV2
from aws_lambda_powertools.utilities.typing import LambdaContext

from blueprints.core.observability import logger, observed
from blueprints.core.settings import LazySettings
from blueprints.dora import wiring
from blueprints.dora.errors import InvalidEventError, SignatureError
from blueprints.dora.settings import WebhookSettings

SETTINGS = LazySettings(WebhookSettings)


def response(status: int, body: dict[str, Any]) -> dict[str, Any]:
    return {"statusCode": status, "headers": {"content-type": "application/json"}, "body": json.dumps(body)}


@observed
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    request = APIGatewayProxyEventV2(event)
    try:
        result = wiring.webhook(SETTINGS.get()).receive(
            request.headers, request.body, bool(request.is_base64_encoded)
        )
    except SignatureError as exc:
        logger.warning(
            "webhook refused", extra={"reason": str(exc), "source_ip": request.request_context.http.source_ip}
        )
        return response(401, {"message": "Unauthorized"})
    except InvalidEventError as exc:
        return response(400, {"message": str(exc)})
    return response(result.status, result.body)
