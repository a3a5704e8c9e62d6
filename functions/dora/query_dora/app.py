"""DORA: the HTTP API (metrics of a window, services, drill-down, snapshots), IAM-authorized."""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.utilities.typing import LambdaContext

from blueprints.core.observability import observed
from blueprints.core.settings import LazySettings
from blueprints.dora import wiring
from blueprints.dora.errors import InvalidRequestError, UnknownEditionError, UnknownServiceError
from blueprints.dora.query import Query
from blueprints.dora.settings import QuerySettings

SETTINGS = LazySettings(QuerySettings)
app = APIGatewayHttpResolver()


def query() -> Query:
    return wiring.query(SETTINGS.get())


def parameters() -> dict[str, str]:
    return dict(app.current_event.query_string_parameters or {})


@app.get("/dora/services")
def services() -> dict[str, Any]:
    return query().services()


@app.get("/dora/metrics")
def metrics() -> dict[str, Any]:
    return query().metrics(parameters())


@app.get("/dora/deployments")
def deployments() -> dict[str, Any]:
    return query().deployments(parameters())


@app.get("/dora/snapshots")
def snapshots() -> dict[str, Any]:
    return query().snapshots(parameters())


def _error(status: int, exc: Exception) -> Response[str]:
    return Response(
        status_code=status, content_type="application/json", body=json.dumps({"message": str(exc)})
    )


def bad_request(exc: Exception) -> Response[str]:
    return _error(400, exc)


def not_found(exc: Exception) -> Response[str]:
    return _error(404, exc)


app.exception_handler([InvalidRequestError, UnknownEditionError])(bad_request)
app.exception_handler(UnknownServiceError)(not_found)


@observed
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
