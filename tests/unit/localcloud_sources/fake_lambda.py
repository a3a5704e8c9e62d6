"""A test-only stand-in for the local cloud's Lambda runtime: moto functions that run Python callables.

The real runtime (localcloud part A) patches ``LambdaFunction._invoke_lambda`` to run the project's
handlers; these tests must not depend on it, so they install this minimal patch instead. A function is
created in moto (a zip with a trivial handler, never run) and a callable is registered under its name;
every invocation is recorded, and an exception becomes the runtime's error payload with ``errored``.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from unittest import mock

import boto3
from moto.awslambda.models import LambdaFunction

REGION = "us-east-1"
ACCOUNT_ID = "123456789012"

Handler = Callable[[Any], Any]


def _zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", "def handler(event, context):\n    return event\n")
    return buffer.getvalue()


@dataclass
class FakeLambda:
    handlers: dict[str, Handler] = field(default_factory=dict)
    calls: list[tuple[str, Any]] = field(default_factory=list)

    def create(self, name: str, handler: Handler) -> str:
        """Create function ``name`` in moto, run ``handler(event)`` when invoked; returns its ARN."""
        iam = boto3.client("iam", region_name=REGION)
        try:
            role = iam.get_role(RoleName="fake-lambda")["Role"]["Arn"]
        except iam.exceptions.NoSuchEntityException:
            role = iam.create_role(RoleName="fake-lambda", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
        arn: str = boto3.client("lambda", region_name=REGION).create_function(
            FunctionName=name,
            Runtime="python3.13",
            Role=role,
            Handler="app.handler",
            Code={"ZipFile": _zip()},
        )["FunctionArn"]
        self.handlers[name] = handler
        return arn

    def events(self, name: str) -> list[Any]:
        return [event for called, event in self.calls if called == name]

    def _invoke(self, function: LambdaFunction, event: Any = None) -> tuple[str, bool, str]:
        if isinstance(event, str):
            event = json.loads(event or "{}")
        self.calls.append((function.function_name, event))
        handler = self.handlers[function.function_name]
        try:
            return json.dumps(handler(event)), False, ""
        except Exception as exc:  # noqa: BLE001 - the runtime turns any exception into an error payload
            return json.dumps({"errorMessage": str(exc), "errorType": type(exc).__name__}), True, ""

    @contextmanager
    def install(self) -> Iterator[FakeLambda]:
        fake = self

        def invoke_lambda(function: LambdaFunction, event: Any = None) -> tuple[str, bool, str]:
            return fake._invoke(function, event)

        with mock.patch.object(LambdaFunction, "_invoke_lambda", invoke_lambda):
            yield self
