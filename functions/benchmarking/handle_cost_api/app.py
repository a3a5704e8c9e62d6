"""Benchmarking HTTP API on the genomics API: GET and POST (re-cost) /launches/{launch_id}/cost,
GET /benchmarks."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.utilities.typing import LambdaContext

from blueprints.benchmarking import wiring
from blueprints.benchmarking.errors import LaunchNotFoundError, RecostNotAllowedError
from blueprints.benchmarking.reports import BenchmarkQuery
from blueprints.benchmarking.settings import ApiSettings
from blueprints.core.errors import BlueprintError
from blueprints.core.observability import observed
from blueprints.core.settings import LazySettings

SETTINGS = LazySettings(ApiSettings)
app = APIGatewayHttpResolver()
STATUS_CODES: dict[type[BlueprintError], int] = {LaunchNotFoundError: 404, RecostNotAllowedError: 409}


@app.get("/launches/<launch_id>/cost")
def launch_cost(launch_id: str) -> dict[str, Any]:
    return wiring.reports(SETTINGS.get()).cost(launch_id)


@app.post("/launches/<launch_id>/cost")
def recost(launch_id: str) -> Response[dict[str, Any]]:
    caller = app.current_event.request_context.authorizer.iam.user_arn or "unknown"
    return Response(
        202, content_types.APPLICATION_JSON, wiring.reports(SETTINGS.get()).recost(launch_id, caller)
    )


@app.get("/benchmarks")
def benchmarks() -> dict[str, Any]:
    query = BenchmarkQuery.parse(dict(app.current_event.query_string_parameters or {}), wiring.utc_now())
    return wiring.reports(SETTINGS.get()).benchmarks(query)


@app.exception_handler(BlueprintError)  # type: ignore[untyped-decorator]
def typed_error(error: BlueprintError) -> Response[dict[str, str]]:
    return Response(
        STATUS_CODES.get(type(error), 400),
        content_types.APPLICATION_JSON,
        {"error_code": error.code, "message": str(error)},
    )


@observed
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
