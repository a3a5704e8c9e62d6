"""``LocalCloud``: moto (in-process or served over HTTP), the application deployed from its templates,
the in-process Lambda runtime, and, when present, the event sources on a virtual clock.

    with LocalCloud("template.yaml") as cloud:          # in-process: for tests and `localcloud invoke`
        cloud.deploy()
        result = cloud.invoke("RerunOnEniTimeoutFunction", event)

    with LocalCloud("template.yaml", serve=True) as cloud:   # `localcloud up`: http://127.0.0.1:4566
        ...

In-process, moto's ``mock_aws`` intercepts every botocore call of this process, handlers' included. Served,
moto's server runs in a thread of this process (so every patch applies to what it serves) and handlers
reach it through ``AWS_ENDPOINT_URL``, as external clients do.

The event sources, the virtual clock and the simulators (``localcloud.sources``, ``localcloud.clock``)
are composed when they are installed; without them everything else works, and ``pump`` says why not.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Self

import boto3
from botocore.config import Config
from moto.core.config import DefaultConfig

from localcloud import LocalCloudError
from localcloud.deploy import STACK_NAME, Deployment, deploy
from localcloud.fakes import install_fakes
from localcloud.httpapi_router import DEFAULT_API_PORT, HttpResponse, LocalHttpApis
from localcloud.patches import cloudformation_patches
from localcloud.runtime import Fault, Invocation, LambdaRuntime
from localcloud.s3_events import S3Notifications
from localcloud.server import DEFAULT_PORT, Server
from localcloud.stepfunctions import StepFunctions
from localcloud.translate import REGION, translate_application

MOTO_CONFIG: DefaultConfig = {
    "stepfunctions": {"execute_state_machine": True},
    "batch": {"use_docker": False},  # Batch jobs (and batch:submitJob.sync) succeed without Docker
}
CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}  # moto's fake ones
_PART_B = ("localcloud.clock", "localcloud.sources")


@dataclass
class InvokeResult:
    """A synchronous invocation through the Lambda Invoke API, with every handler run it caused."""

    payload: Any
    function_error: str | None
    calls: list[Invocation] = field(default_factory=list)

    @property
    def errored(self) -> bool:
        return self.function_error is not None

    @property
    def logs(self) -> list[str]:
        return [line for call in self.calls for line in call.logs]


def _event_sources_modules() -> tuple[Any, Any] | None:
    try:
        return tuple(importlib.import_module(name) for name in _PART_B)  # type: ignore[return-value]
    except ModuleNotFoundError as exc:
        if exc.name in _PART_B:
            return None
        raise


class LocalCloud:
    """The local cloud (see the module docstring). Use it as a context manager."""

    def __init__(
        self,
        template: Path | str = "template.yaml",
        *,
        stack_name: str = STACK_NAME,
        parameter_overrides: dict[str, str] | None = None,
        serve: bool = False,
        port: int = DEFAULT_PORT,
        event_sources: bool | None = None,
        api_port: int = DEFAULT_API_PORT,
    ) -> None:
        """``event_sources``: ``None`` uses them when installed, ``True`` requires them, ``False`` leaves
        them out (moto's own inline deliveries then apply)."""
        self.template = Path(template)
        self.stack_name = stack_name
        self.parameter_overrides = dict(parameter_overrides or {})
        self.server = Server(port) if serve else None
        self.endpoint_url: str | None = None
        self.deployment: Deployment | None = None
        self.clock: Any = None
        self.sources: Any = None
        self.stepfunctions: StepFunctions | None = None
        self._want_sources = event_sources
        self._clients: dict[str, Any] = {}
        self._stack: contextlib.ExitStack | None = None
        self.runtime = LambdaRuntime(clients=self.client)
        self.http_apis = LocalHttpApis(self.client, port=api_port, serve=serve)  # served with the emulator

    # -- lifecycle ----------------------------------------------------------------------------------

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.close()

    def start(self) -> Self:
        if self._stack is not None:
            return self
        stack = contextlib.ExitStack()
        try:
            stack.enter_context(cloudformation_patches())
            stack.enter_context(self.http_apis.install())
            stack.enter_context(install_fakes())  # services moto lacks, routed as moto routes its own
            if self.server is None:
                from moto import mock_aws

                stack.enter_context(mock_aws(config=MOTO_CONFIG))
            else:
                self._serve(stack, self.server)
            self.runtime.endpoint_url = self.endpoint_url
            stack.enter_context(self.runtime.install())
            self._compose_event_sources(stack)
            stack.enter_context(S3Notifications(self.clock).install())  # S3 events with AWS's shapes
            self.stepfunctions = StepFunctions(self.clock)  # Wait/Retry/.sync on the virtual clock
            stack.enter_context(self.stepfunctions.install())
            if self.sources is not None:  # run_until_idle waits for executions too
                self.sources.workers.append(self.stepfunctions)
        except BaseException:
            stack.close()
            raise
        self._stack = stack
        return self

    def _serve(self, stack: contextlib.ExitStack, server: Server) -> None:
        from moto.core.config import default_user_config

        stack.enter_context(_patched_dict(default_user_config, MOTO_CONFIG))
        self.endpoint_url = server.start()
        stack.callback(server.stop)
        # moto's Step Functions interpreter calls its own services at localhost:$MOTO_PORT when served.
        stack.enter_context(_environ({"MOTO_PORT": str(server.port)}))

    def _compose_event_sources(self, stack: contextlib.ExitStack) -> None:
        if self._want_sources is False:
            return
        modules = _event_sources_modules()
        if modules is None:
            if self._want_sources:
                raise LocalCloudError("event sources requested but localcloud.sources is not installed")
            return
        clock_module, sources_module = modules
        self.clock = clock_module.VirtualClock()
        self.sources = sources_module.EventSources(self.clock)
        stack.enter_context(self.clock.install())  # moto's SQS (and the simulators) read the virtual time
        stack.enter_context(self.sources.install())

    def close(self) -> None:
        stack, self._stack = self._stack, None
        self._clients.clear()
        if stack is not None:
            stack.close()

    # -- clients ------------------------------------------------------------------------------------

    def client(self, service: str) -> Any:
        """A boto3 client of the local cloud (cached), whatever the caller's shell says."""
        if service not in self._clients:
            config = Config(
                region_name=REGION,
                retries={"mode": "standard", "max_attempts": 2},
                ignore_configured_endpoint_urls=self.endpoint_url is None,  # type: ignore[call-arg]
            )
            self._clients[service] = boto3.session.Session().client(
                service,  # type: ignore[call-overload]
                endpoint_url=self.endpoint_url,
                config=config,
                **CREDENTIALS,
            )
        return self._clients[service]

    # -- application --------------------------------------------------------------------------------

    def deploy(self) -> Deployment:
        """Translate the templates, create the stacks, and let the event sources see what was created."""
        if self._stack is None:
            raise LocalCloudError("start the local cloud before deploying (use it as a context manager)")
        application = translate_application(self.template, self.parameter_overrides)
        self.runtime.artifacts.update(application.artifacts)
        self.deployment = deploy(
            application, self.client, stack_name=self.stack_name, parameter_overrides=self.parameter_overrides
        )
        if self.sources is not None:
            self.sources.sync()
        return self.deployment

    def invoke(self, function: str, event: Any = None, *, asynchronous: bool = False) -> InvokeResult:
        """Invoke a deployed function (``LogicalId``, ``Nested/LogicalId`` or its name) via the Invoke API."""
        if self.deployment is None:
            raise LocalCloudError("deploy before invoking")
        target = self.deployment.function(function)
        first = len(self.runtime.calls)
        response = self.client("lambda").invoke(
            FunctionName=target.name,
            InvocationType="Event" if asynchronous else "RequestResponse",
            Payload=json.dumps({} if event is None else event).encode(),
        )
        body = response["Payload"].read()
        payload = json.loads(body) if body else None
        return InvokeResult(payload, response.get("FunctionError"), self.runtime.calls[first:])

    def api_url(self, api: str) -> str:
        """The local URL of a deployed HTTP API (``LogicalId`` or ``Nested/LogicalId``), as its output."""
        if self.deployment is None:
            raise LocalCloudError("deploy before asking for an API's URL")
        return self.http_apis.url(self.deployment, api)

    def http(self, method: str, url: str, **request: Any) -> HttpResponse:
        """A request to the HTTP API router without a socket (``headers``, ``body``, ``json_body``,
        ``signed=True`` to sign it with the dummy credentials); see ``LocalHttpApis.request``."""
        return self.http_apis.request(method, url, **request)

    def calls(self, function: str | None = None) -> list[Invocation]:
        """The runtime's call log, optionally of one deployed function (``LogicalId``, path or name)."""
        if function is None:
            return list(self.runtime.calls)
        name = self._function_name(function)
        return [call for call in self.runtime.calls if call.function_name == name]

    def inject_fault(self, function: str, **plan: Any) -> Fault:
        """Plan failures of a deployed function's invocations (see ``LambdaRuntime.inject``)."""
        return self.runtime.inject(self._function_name(function), **plan)

    def _function_name(self, function: str) -> str:
        if self.deployment is None:
            return function
        try:
            return self.deployment.function(function).name
        except KeyError:
            return function

    # -- event sources (localcloud.sources) -----------------------------------------------------------

    def _require_sources(self) -> Any:
        if self.sources is None:
            raise LocalCloudError(
                "event sources are not available: localcloud.sources/localcloud.clock are not installed"
                if _event_sources_modules() is None
                else "event sources are switched off for this local cloud (event_sources=False)"
            )
        return self.sources

    def pump(self) -> int:
        """One delivery round of the event sources; the number of invocations it made."""
        return int(self._require_sources().pump())

    def run_until_idle(self, max_virtual_seconds: float = 3600.0) -> int:
        """Deliver until nothing is left to deliver within ``max_virtual_seconds`` of virtual time."""
        return int(self._require_sources().run_until_idle(max_virtual_seconds))


@contextlib.contextmanager
def _environ(values: dict[str, str]) -> Iterator[None]:
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@contextlib.contextmanager
def _patched_dict(target: Any, values: Mapping[str, Any]) -> Iterator[None]:
    from unittest import mock

    with mock.patch.dict(target, {key: {**target.get(key, {}), **value} for key, value in values.items()}):
        yield
