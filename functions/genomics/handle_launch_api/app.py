"""Genomics HTTP API: POST /launches, GET /launches/{launch_id}, GET /launches?status=&workflow_type=,
POST .../retry."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.utilities.typing import LambdaContext

from blueprints.core.errors import BlueprintError
from blueprints.core.observability import observed
from blueprints.core.settings import LazySettings
from blueprints.genomics import wiring
from blueprints.genomics.api import ListQuery
from blueprints.genomics.errors import (
    LaunchConflictError,
    LaunchNotFoundError,
    RetryNotAllowedError,
)
from blueprints.genomics.registration import Registered
from blueprints.genomics.settings import RestoreApiSettings

SETTINGS = LazySettings(RestoreApiSettings)
app = APIGatewayHttpResolver()
STATUS_CODES: dict[type[BlueprintError], int] = {
    LaunchNotFoundError: 404,
    LaunchConflictError: 409,
    RetryNotAllowedError: 409,
}


@app.post("/launches")
def submit() -> Response[dict[str, Any]]:
    try:
        document = app.current_event.json_body
    except ValueError as exc:  # a body that is not JSON is the caller's error, not a server error
        return _error(400, "InvalidLaunchConfigError", f"the body is not JSON ({exc})")
    if not isinstance(document, dict):
        return _error(400, "InvalidLaunchConfigError", "the body must be a JSON object")
    caller = app.current_event.request_context.authorizer.iam.user_arn or "unknown"
    _, registrar = wiring.api(SETTINGS.get())
    result = registrar.register_request(document, caller)
    code = 201 if result.outcome is Registered.CREATED else 200
    return Response(
        code, content_types.APPLICATION_JSON, {"launch_id": result.launch_id, "outcome": result.outcome}
    )


@app.get("/launches/<launch_id>")
def get_launch(launch_id: str) -> dict[str, Any]:
    return wiring.api(SETTINGS.get())[0].get(launch_id)


@app.get("/launches")
def list_launches() -> dict[str, Any]:
    query = ListQuery.parse(dict(app.current_event.query_string_parameters or {}))
    return wiring.api(SETTINGS.get())[0].list(query)


@app.post("/launches/<launch_id>/retry")
def retry(launch_id: str) -> Response[dict[str, Any]]:
    return Response(202, content_types.APPLICATION_JSON, wiring.api(SETTINGS.get())[0].retry(launch_id))


@app.exception_handler(BlueprintError)  # type: ignore[untyped-decorator]
def typed_error(error: BlueprintError) -> Response[dict[str, str]]:
    return _error(STATUS_CODES.get(type(error), 400), error.code, str(error))


def _error(status: int, code: str, message: str) -> Response[dict[str, str]]:
    return Response(status, content_types.APPLICATION_JSON, {"error_code": code, "message": message})


@observed
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
