"""Invoke a function through moto's Lambda backend, and read a partial batch response as Lambda does.

Why through the backend: every invocation then reaches ``LambdaFunction._invoke_lambda``, which the
local cloud's runtime patches to run the project's real handler, so pollers, rules and the Invoke API
share one runner, one call log and one fault injector. Calling the backend (not a boto3 client) works
the same in decorator mode and behind the HTTP server, and needs no active ``mock_aws``.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from moto.awslambda.utils import get_backend
from moto.core.exceptions import JsonRESTError, ServiceException

# What moto's backends raise for API errors (missing resources, validation): JSON-protocol services
# raise JsonRESTError subclasses, the newer serializer-based ones ServiceException subclasses.
MOTO_ERRORS = (JsonRESTError, ServiceException)


@dataclass(frozen=True)
class Invocation:
    """What a synchronous invocation returned.

    ``function_error`` is the ``X-Amz-Function-Error`` value (``Handled``/``Unhandled``), ``"Missing"``
    when the function could not be invoked at all, ``None`` on success. ``payload`` is the parsed
    response; ``valid_json`` is false when the response was not JSON (Lambda then fails the batch).
    """

    payload: Any
    function_error: str | None
    valid_json: bool = True

    @property
    def failed(self) -> bool:
        return self.function_error is not None


def invoke(
    account_id: str, region: str, function_arn: str, event: Any, *, asynchronous: bool = False
) -> Invocation:
    """Invoke ``function_arn`` with ``event``; ``asynchronous`` uses InvocationType ``Event``.

    Raises nothing for a missing function: that is an invocation failure the caller must handle the
    way the calling AWS service does (retry the batch, or send the event to a dead-letter queue).
    """
    response_headers: dict[str, Any] = {}
    invocation_type = "Event" if asynchronous else "RequestResponse"
    try:
        body = get_backend(account_id, region).invoke(
            function_name=function_arn,
            qualifier=None,
            body=json.dumps(event),
            headers={"x-amz-invocation-type": invocation_type},
            response_headers=response_headers,
        )
    except MOTO_ERRORS:
        return Invocation(payload=None, function_error="Missing")
    error = response_headers.get("x-amz-function-error")
    text = body.decode() if isinstance(body, bytes) else (body or "")
    if not text.strip():
        return Invocation(payload=None, function_error=error)
    try:
        return Invocation(payload=json.loads(text), function_error=error)
    except ValueError:
        return Invocation(payload=text, function_error=error, valid_json=False)


def reported_failures(invocation: Invocation, identifiers: Collection[str]) -> list[str] | None:
    """The ``itemIdentifier`` values of a successful ``ReportBatchItemFailures`` response.

    ``None`` means Lambda treats the whole batch as failed: a function error, a response that is not
    JSON, or a malformed entry (missing, empty or unknown identifier). An empty or missing
    ``batchItemFailures`` (or no response at all) is a complete success, as the Lambda docs state.
    """
    if invocation.failed or not invocation.valid_json:
        return None
    payload = invocation.payload
    if not isinstance(payload, dict):
        return []
    failures = payload.get("batchItemFailures")
    if failures is None:
        return []
    if not isinstance(failures, list):
        return None
    reported: list[str] = []
    for item in failures:
        identifier = item.get("itemIdentifier") if isinstance(item, dict) else None
        if not isinstance(identifier, str) or identifier not in identifiers:
            return None
        reported.append(identifier)
    return reported
