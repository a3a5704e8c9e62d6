"""The in-process Lambda runtime: every moto invocation runs the project's real handler (no Docker).

moto funnels every invocation (the Invoke API, S3/SNS deliveries, its event source mappings, Step
Functions tasks, EventBridge targets) through ``LambdaFunction._invoke_lambda``; ``install`` replaces it.
An invocation here behaves as the Lambda Python runtime does:

- the handler is imported from the function's code folder (the artefact its ``Code`` names, or its zip
  extracted when it was created through the API) under a module name unique to the folder, with the
  folders of its layers and the code folder on ``sys.path``;
- the function's resolved environment (plus the variables Lambda itself sets) is in ``os.environ`` for
  the call and the previous environment is restored afterwards;
- the context carries the function's identity and a deadline from its ``Timeout``; overrunning it turns
  the result into the runtime's timeout error;
- an exception becomes the runtime's error payload ``{errorMessage, errorType, stackTrace}``;
- what the handler prints (Powertools logs, EMF metrics) goes to CloudWatch Logs, in the function's
  ``LoggingConfig`` log group, between START/END/REPORT lines;
- an asynchronous invocation (``InvocationType=Event``) is retried up to ``MaximumRetryAttempts`` (2
  by default) and then goes to the on-failure destination and the dead-letter queue. moto runs it
  inline, so the retries run at once (AWS waits about a minute, then two).

``os.environ`` and ``sys.path`` are process-wide, so invocations are serialised. An invocation that
starts *inside* another one on a different thread (a handler's call through the served endpoint that
triggers another function) belongs to the same chain: outgoing botocore requests carry the chain id in
a header and the server thread joins that chain instead of waiting for it to end.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import importlib.util
import io
import json
import logging
import os
import random
import sys
import tempfile
import threading
import time
import traceback
import uuid
import zipfile
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any, TextIO
from unittest import mock

from localcloud.patches import DEAD_LETTER_CONFIG, LOGGING_CONFIG
from localcloud.translate import ARTIFACT_BUCKET

CHAIN_HEADER = "x-localcloud-chain"
DEFAULT_ASYNC_RETRIES = 2
GATE_PATIENCE_SECONDS = 30.0
LOG_TAIL_BYTES = 4096

log = logging.getLogger(__name__)

Clients = Callable[[str], Any]


@dataclass
class Invocation:
    """One run of a handler, as recorded in ``LambdaRuntime.calls`` (for assertions and ``status``)."""

    function_name: str
    event: Any
    request_id: str
    invocation_type: str
    attempt: int
    payload: Any = None
    errored: bool = False
    logs: list[str] = field(default_factory=list)
    duration_ms: float = 0.0


@dataclass
class LambdaContext:
    """The context object of the Python runtime (the attributes Powertools and handlers read)."""

    function_name: str
    function_version: str
    invoked_function_arn: str
    memory_limit_in_mb: int
    aws_request_id: str
    log_group_name: str
    log_stream_name: str
    deadline: float  # time.monotonic() at which the invocation times out
    identity: Any = None
    client_context: Any = None

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.deadline - time.monotonic()) * 1000))


_OUTPUT = threading.local()  # per thread: the output buffers of the invocations running in it


class _ThreadOutput(io.TextIOBase):
    """``sys.stdout``/``sys.stderr`` while a handler runs: the writes of a thread running a handler go to
    its invocation's buffer, any other write passes through to the stream it replaced. A logging handler
    that keeps it (Powertools binds ``sys.stdout`` when its logger is created) keeps working afterwards."""

    def __init__(self, target: TextIO) -> None:
        self.target = target

    @staticmethod
    def _buffer() -> list[str] | None:
        buffers: list[list[str]] = getattr(_OUTPUT, "buffers", [])
        return buffers[-1] if buffers else None

    def write(self, text: str) -> int:
        buffer = self._buffer()
        if buffer is None:
            return self.target.write(text)
        buffer.append(text)
        return len(text)

    def flush(self) -> None:
        if self._buffer() is None:
            self.target.flush()

    def isatty(self) -> bool:
        return False

    def fileno(self) -> int:
        return self.target.fileno()

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return str(getattr(self.target, "encoding", "utf-8"))


class _ChainGate:
    """One invocation chain at a time; re-entrant for the chain that holds it (see the module docstring)."""

    def __init__(self, local: threading.local) -> None:
        self._local = local
        self._condition = threading.Condition()
        self._owner: str | None = None
        self._depth = 0

    @property
    def chain(self) -> str | None:
        chain: str | None = getattr(self._local, "chain", None)
        return chain

    @contextlib.contextmanager
    def hold(self, patience: float = GATE_PATIENCE_SECONDS) -> Iterator[None]:
        chain = self.chain or _incoming_chain() or uuid.uuid4().hex
        with self._condition:
            joined = self._condition.wait_for(lambda: self._owner in (None, chain), timeout=patience)
            if not joined:
                log.warning(
                    "invocation chain %s still runs after %ss; running concurrently", self._owner, patience
                )
            else:
                self._owner = chain
                self._depth += 1
        previous, self._local.chain = self.chain, chain
        try:
            yield
        finally:
            self._local.chain = previous
            if joined:
                with self._condition:
                    self._depth -= 1
                    if self._depth == 0:
                        self._owner = None
                        self._condition.notify_all()


def _incoming_chain() -> str | None:
    """The chain id of the HTTP request this (moto server) thread is serving, if any."""
    flask = sys.modules.get("flask")
    if flask is None or not flask.has_request_context():
        return None
    chain: str | None = flask.request.headers.get(CHAIN_HEADER)
    return chain


def _header(headers: Any, name: str, default: str) -> str:
    for key, value in dict(headers or {}).items():
        if str(key).lower() == name:
            return str(value)
    return default


@contextlib.contextmanager
def _environment(values: Mapping[str, str], removed: tuple[str, ...]) -> Iterator[None]:
    """``values`` set and the ``removed`` prefixes unset for the block; afterwards the environment is
    exactly what it was (whatever the handler changed in it)."""
    saved = dict(os.environ)
    for name in [name for name in os.environ if name.startswith(removed)]:
        del os.environ[name]
    os.environ.update(values)
    try:
        yield
    finally:
        for name in set(os.environ) - set(saved):
            del os.environ[name]
        os.environ.update(saved)


@contextlib.contextmanager
def _import_path(folders: list[Path]) -> Iterator[None]:
    added = [str(folder) for folder in folders if str(folder) not in sys.path]
    sys.path[:0] = added
    try:
        yield
    finally:
        for entry in added:
            with contextlib.suppress(ValueError):
                sys.path.remove(entry)


class HandlerNotFoundError(Exception):
    """No code for the function (an unknown artefact and no zip), or no such handler in it."""


class InjectedFaultError(Exception):
    """What a planned fault raises in place of the handler (or after it ran)."""


@dataclass
class Fault:
    """A planned failure of one function's invocations: on given call numbers, or at a seeded rate.

    ``after=True`` lets the handler run first (its side effects happen, then the invocation fails), which
    is how duplicate deliveries and exactly-once effects are shown.
    """

    function_name: str
    calls: frozenset[int] = frozenset()  # 1-based numbers of this function's invocations that fail
    rate: float = 0.0  # otherwise, the probability that an invocation fails
    after: bool = False
    message: str = "injected fault"
    seed: int = 0
    _random: random.Random = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._random = random.Random(self.seed)  # noqa: S311 - reproducible test faults, not security

    def strikes(self, call_number: int) -> bool:
        if self.calls:
            return call_number in self.calls
        return self._random.random() < self.rate


def _error_payload(exc: BaseException, error_type: str | None = None) -> dict[str, Any]:
    frames = [frame for frame in traceback.extract_tb(exc.__traceback__) if frame.filename != __file__]
    return {
        "errorMessage": str(exc),
        "errorType": error_type or type(exc).__name__,
        "stackTrace": list(traceback.format_list(frames)),
    }


class LambdaRuntime:
    """Runs moto's Lambda functions in this process (see the module docstring)."""

    def __init__(
        self,
        artifacts: Mapping[str, Path] | None = None,
        *,
        clients: Clients,
        endpoint_url: str | None = None,
    ) -> None:
        self.artifacts: dict[str, Path] = dict(artifacts or {})
        self.endpoint_url = endpoint_url
        self.calls: list[Invocation] = []
        self._clients = clients
        self._local = threading.local()
        self._gate = _ChainGate(self._local)
        self._modules: dict[tuple[Path, str], ModuleType] = {}
        self._streams: dict[str, str] = {}
        self._extracted: dict[str, Path] = {}
        self._scratch: Path | None = None
        self.faults: list[Fault] = []
        self._counts: Counter[str] = Counter()

    def inject(
        self,
        function_name: str,
        *,
        calls: tuple[int, ...] = (1,),
        rate: float = 0.0,
        after: bool = False,
        message: str = "injected fault",
        seed: int = 0,
    ) -> Fault:
        """Make invocations of ``function_name`` fail (by default its next first call, counting from now)."""
        numbers = (
            frozenset(self._counts[function_name] + number for number in calls) if not rate else frozenset()
        )
        fault = Fault(function_name, numbers, rate, after, message, seed)
        self.faults.append(fault)
        return fault

    # -- installation -------------------------------------------------------------------------------

    @contextlib.contextmanager
    def install(self) -> Iterator[LambdaRuntime]:
        """Patch moto (and tag outgoing botocore requests) for the duration of the block."""
        from botocore.httpsession import URLLib3Session
        from botocore.retries.standard import ExponentialBackoff
        from moto.awslambda.models import LambdaFunction

        runtime = self
        original_invoke = LambdaFunction.invoke
        original_send = URLLib3Session.send

        def _invoke_lambda(function: Any, event: Any = None) -> tuple[str, bool, str]:
            return runtime.run(function, event)

        def invoke(function: Any, body: str, request_headers: Any, response_headers: Any) -> str | bytes:
            if _header(request_headers, "x-amz-invocation-type", "RequestResponse") != "Event":
                return original_invoke(function, body, request_headers, response_headers)
            runtime.run_async(function, json.loads(body) if body else {})
            return ""

        def send(session: Any, request: Any) -> Any:
            chain = runtime._gate.chain
            if chain is not None:
                request.headers[CHAIN_HEADER] = chain
            return original_send(session, request)

        with contextlib.ExitStack() as stack:
            stack.enter_context(mock.patch.object(LambdaFunction, "_invoke_lambda", _invoke_lambda))
            stack.enter_context(mock.patch.object(LambdaFunction, "invoke", invoke))
            # Every botocore HTTP request (any session, any client) carries the running chain's id.
            stack.enter_context(mock.patch.object(URLLib3Session, "send", send))
            # The SDK's own retry backoff would really sleep inside handlers; time here is virtual (as
            # for async retries), so a throttled call is retried at once, with the same attempt budget.
            stack.enter_context(mock.patch.object(ExponentialBackoff, "delay_amount", _no_delay))
            self._scratch = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="localcloud-code-")))
            try:
                yield self
            finally:
                self._extracted.clear()

    # -- code ---------------------------------------------------------------------------------------

    def _code_folder(self, code: Mapping[str, Any], code_bytes: bytes, digest: str) -> Path | None:
        if code.get("S3Bucket") == ARTIFACT_BUCKET and str(code.get("S3Key")) in self.artifacts:
            return self.artifacts[str(code["S3Key"])]
        if not code_bytes or self._scratch is None:
            return None
        if digest not in self._extracted:
            try:
                with zipfile.ZipFile(io.BytesIO(code_bytes)) as archive:
                    folder = self._scratch / hashlib.sha256(code_bytes).hexdigest()[:16]
                    archive.extractall(folder)
            except zipfile.BadZipFile:
                return None
            self._extracted[digest] = folder
        return self._extracted[digest]

    def _layer_folders(self, function: Any) -> list[Path]:
        from moto.awslambda.models import lambda_backends

        backend = lambda_backends[function.account_id][function.region]
        folders: list[Path] = []
        for layer in function.layers:
            version = backend.layers_versions_by_arn(layer["Arn"])
            folder = version and self._code_folder(
                version.content, getattr(version, "code_bytes", b""), str(version.code_sha_256)
            )
            if folder:
                folders += [folder / "python", folder] if (folder / "python").is_dir() else [folder]
        return folders

    def _handler(self, function: Any) -> Callable[[Any, LambdaContext], Any]:
        folder = self._code_folder(
            function.code, getattr(function, "code_bytes", b""), str(getattr(function, "code_sha_256", ""))
        )
        if folder is None:
            raise HandlerNotFoundError(f"no local code for function {function.function_name}")
        module_name, _, attribute = str(function.handler).rpartition(".")
        key = (folder, module_name)
        if key not in self._modules:
            self._modules[key] = self._import(folder, module_name)
        handler = getattr(self._modules[key], attribute, None)
        if not callable(handler):
            raise HandlerNotFoundError(f"handler {function.handler} missing in {folder}")
        return handler  # type: ignore[no-any-return]

    @staticmethod
    def _import(folder: Path, module_name: str) -> ModuleType:
        relative = Path(*module_name.split("."))
        path = folder / relative.with_suffix(".py")
        if not path.is_file():
            path = folder / relative / "__init__.py"
        if not path.is_file():
            raise HandlerNotFoundError(f"no module {module_name} in {folder}")
        unique = "localcloud_code_" + hashlib.sha256(str(path).encode()).hexdigest()[:12] + f"_{path.stem}"
        spec = importlib.util.spec_from_file_location(unique, path)
        if spec is None or spec.loader is None:
            raise HandlerNotFoundError(f"cannot load {path}")
        module = importlib.util.module_from_spec(spec)
        sys.modules[unique] = module
        try:
            spec.loader.exec_module(module)
        except BaseException:
            del sys.modules[unique]
            raise
        return module

    # -- invocation ---------------------------------------------------------------------------------

    def _environment(self, function: Any, context: LambdaContext) -> dict[str, str]:
        logging_config: dict[str, Any] = getattr(function, LOGGING_CONFIG, {})
        values = {
            "AWS_LAMBDA_FUNCTION_NAME": function.function_name,
            "AWS_LAMBDA_FUNCTION_VERSION": context.function_version,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(function.memory_size),
            "AWS_LAMBDA_LOG_GROUP_NAME": context.log_group_name,
            "AWS_LAMBDA_LOG_STREAM_NAME": context.log_stream_name,
            "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
            "AWS_EXECUTION_ENV": f"AWS_Lambda_{function.run_time}",
            "AWS_REGION": function.region,
            "AWS_DEFAULT_REGION": function.region,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_SESSION_TOKEN": "testing",
            "AWS_SAM_LOCAL": "true",  # as under `sam local`: the X-Ray tracer stays off, nothing is sent
            "_HANDLER": str(function.handler),
            "TZ": ":UTC",
        }
        if logging_config.get("LogFormat") == "JSON":
            values["AWS_LAMBDA_LOG_FORMAT"] = "JSON"
            values["AWS_LAMBDA_LOG_LEVEL"] = str(logging_config.get("ApplicationLogLevel", "INFO"))
        if self.endpoint_url:
            values["AWS_ENDPOINT_URL"] = self.endpoint_url
        else:  # in-process moto: no endpoint from the caller's shell or profile may send calls elsewhere
            values["AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"] = "true"
        values.update({str(name): str(value) for name, value in function.environment_vars.items()})
        return values

    def _context(self, function: Any, request_id: str) -> LambdaContext:
        logging_config: dict[str, Any] = getattr(function, LOGGING_CONFIG, {})
        group = str(logging_config.get("LogGroup") or f"/aws/lambda/{function.function_name}")
        if function.function_arn not in self._streams:
            today = dt.datetime.now(dt.UTC).strftime("%Y/%m/%d")
            self._streams[function.function_arn] = f"{today}/[$LATEST]{uuid.uuid4().hex}"
        return LambdaContext(
            function_name=function.function_name,
            function_version="$LATEST",
            invoked_function_arn=function.function_arn,
            memory_limit_in_mb=int(function.memory_size),
            aws_request_id=request_id,
            log_group_name=group,
            log_stream_name=self._streams[function.function_arn],
            deadline=time.monotonic() + float(function.timeout),
        )

    def run(
        self, function: Any, event: Any = None, invocation_type: str = "RequestResponse", attempt: int = 1
    ) -> tuple[str, bool, str]:
        """Run the handler once: ``(payload JSON, errored, log tail)``, moto's ``_invoke_lambda`` contract."""
        call = self.run_once(function, event, invocation_type, attempt)
        tail = "\n".join(call.logs).encode()[-LOG_TAIL_BYTES:].decode(errors="ignore")
        return json.dumps(call.payload), call.errored, tail

    def run_once(
        self, function: Any, event: Any = None, invocation_type: str = "RequestResponse", attempt: int = 1
    ) -> Invocation:
        """Run the handler once and return the recorded invocation."""
        if isinstance(event, (str, bytes)):
            event = json.loads(event or "{}")
        call = Invocation(function.function_name, event, str(uuid.uuid4()), invocation_type, attempt)
        self.calls.append(call)
        with self._gate.hold():
            context = self._context(function, call.request_id)
            started = time.perf_counter()
            buffer: list[str] = []
            with _captured_output(buffer):
                call.payload, call.errored = self._call(function, event, context)
            call.duration_ms = (time.perf_counter() - started) * 1000
            if call.duration_ms > float(function.timeout) * 1000:
                call.payload, call.errored = self._timed_out(call.request_id, float(function.timeout)), True
            call.logs = self._log_lines(function, context, call, "".join(buffer))
            self._write_logs(function, context, call.logs)
        return call

    def _fault(self, function_name: str) -> Fault | None:
        self._counts[function_name] += 1
        number = self._counts[function_name]
        return next((f for f in self.faults if f.function_name == function_name and f.strikes(number)), None)

    def _call(self, function: Any, event: Any, context: LambdaContext) -> tuple[Any, bool]:
        fault = self._fault(function.function_name)
        with self._prepared(function, context):
            try:
                handler = self._handler(function)
            except HandlerNotFoundError as exc:
                return _error_payload(exc, "HandlerNotFound"), True
            except Exception as exc:  # noqa: BLE001 - any import failure is the runtime's init error
                return _error_payload(exc, "Runtime.ImportModuleError"), True
            try:
                if fault is not None and not fault.after:
                    raise InjectedFaultError(fault.message)
                result = handler(event, context)
                json.dumps(result)  # the runtime serialises the result; a bad one is the handler's error
                if fault is not None:
                    raise InjectedFaultError(fault.message)
            except Exception as exc:  # noqa: BLE001 - whatever the handler raises becomes its error payload
                payload = _error_payload(exc)
                print(_error_line(function, context, payload), file=sys.stderr)  # noqa: T201 - the runtime's line
                return payload, True
        return result, False

    @contextlib.contextmanager
    def _prepared(self, function: Any, context: LambdaContext) -> Iterator[None]:
        folder = self._code_folder(
            function.code, getattr(function, "code_bytes", b""), str(getattr(function, "code_sha_256", ""))
        )
        folders = [*([folder] if folder else []), *self._layer_folders(function)]
        removed = (
            "AWS_ENDPOINT_URL",
            "AWS_PROFILE",
            "AWS_DEFAULT_PROFILE",
            "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS",
        )
        with _environment(self._environment(function, context), removed), _import_path(folders):
            yield

    @staticmethod
    def _timed_out(request_id: str, timeout: float) -> dict[str, Any]:
        return {
            "errorMessage": f"RequestId: {request_id} Error: Task timed out after {timeout:.2f} seconds",
            "errorType": "Sandbox.Timedout",
        }

    @staticmethod
    def _log_lines(function: Any, context: LambdaContext, call: Invocation, output: str) -> list[str]:
        duration = f"{call.duration_ms:.2f}"
        report = {"durationMs": float(duration), "memorySizeMB": context.memory_limit_in_mb}
        if getattr(function, LOGGING_CONFIG, {}).get("LogFormat") == "JSON":
            now = dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
            record = {"requestId": call.request_id, "version": context.function_version}

            def platform(kind: str, extra: Mapping[str, Any]) -> str:
                return json.dumps({"time": now, "type": f"platform.{kind}", "record": {**record, **extra}})

            return [
                platform("start", {}),
                *output.splitlines(),
                platform("report", {"metrics": report, "status": "error" if call.errored else "success"}),
            ]
        return [
            f"START RequestId: {call.request_id} Version: {context.function_version}",
            *output.splitlines(),
            f"END RequestId: {call.request_id}",
            f"REPORT RequestId: {call.request_id}\tDuration: {duration} ms\t"
            f"Memory Size: {context.memory_limit_in_mb} MB",
        ]

    @staticmethod
    def _write_logs(function: Any, context: LambdaContext, lines: list[str]) -> None:
        """Into moto's CloudWatch Logs backend directly: no client call, so no nested HTTP in ``up``."""
        logs = function.logs_backend
        logs.ensure_log_group(context.log_group_name)
        group = logs.groups[context.log_group_name]
        if context.log_stream_name not in group.streams:
            logs.create_log_stream(context.log_group_name, context.log_stream_name)
        now = int(time.time() * 1000)
        events = [{"timestamp": now, "message": line} for line in lines if line]
        if events:
            logs.put_log_events(context.log_group_name, context.log_stream_name, events)

    # -- asynchronous invocation --------------------------------------------------------------------

    def run_async(self, function: Any, event: Any) -> None:
        """``InvocationType=Event``: retries, then the on-failure destination and the dead-letter queue."""
        configs = getattr(function, "event_invoke_config", [])
        config: dict[str, Any] = configs[0].config if configs else {}
        retries = int(config.get("MaximumRetryAttempts", DEFAULT_ASYNC_RETRIES))
        destinations: dict[str, Any] = config.get("DestinationConfig") or {}
        with self._gate.hold():
            for attempt in range(1, retries + 2):
                call = self.run_once(function, event, "Event", attempt)
                if not call.errored:
                    target = destinations.get("OnSuccess", {}).get("Destination")
                    if target:
                        self._deliver(target, _record(function, call, "Success"), None)
                    return
            target = destinations.get("OnFailure", {}).get("Destination")
            if target:
                self._deliver(target, _record(function, call, "RetriesExhausted"), None)
            dead_letter = getattr(function, DEAD_LETTER_CONFIG, {}).get("TargetArn")
            if dead_letter:
                attributes = {
                    "RequestID": {"DataType": "String", "StringValue": call.request_id},
                    "ErrorCode": {"DataType": "Number", "StringValue": "200"},
                    "ErrorMessage": {
                        "DataType": "String",
                        "StringValue": str(call.payload.get("errorMessage")),
                    },
                }
                self._deliver(str(dead_letter), event, attributes)

    def _deliver(self, arn: str, message: Any, attributes: dict[str, Any] | None) -> None:
        service = arn.split(":")[2]
        body = json.dumps(message)
        if service == "sqs":
            sqs = self._clients("sqs")
            url = sqs.get_queue_url(
                QueueName=arn.rsplit(":", 1)[-1], QueueOwnerAWSAccountId=arn.split(":")[4]
            )
            sqs.send_message(QueueUrl=url["QueueUrl"], MessageBody=body, MessageAttributes=attributes or {})
        elif service == "sns":
            self._clients("sns").publish(TopicArn=arn, Message=body, MessageAttributes=attributes or {})
        elif service == "lambda":
            self._clients("lambda").invoke(FunctionName=arn, InvocationType="Event", Payload=body.encode())
        elif service == "events":
            condition = (
                message.get("requestContext", {}).get("condition") if isinstance(message, dict) else None
            )
            result = "Success" if condition == "Success" else "Failure"
            self._clients("events").put_events(
                Entries=[
                    {
                        "EventBusName": arn,
                        "Source": "lambda",
                        "DetailType": f"Lambda Function Invocation Result - {result}",
                        "Detail": body,
                    }
                ]
            )
        else:
            log.warning("destination %s is not supported by the local cloud; dropped", arn)


def _record(function: Any, call: Invocation, condition: str) -> dict[str, Any]:
    """The invocation record Lambda sends to an asynchronous invocation's destination."""
    response_context: dict[str, Any] = {"statusCode": 200, "executedVersion": "$LATEST"}
    if condition != "Success":
        response_context["functionError"] = "Unhandled"
    return {
        "version": "1.0",
        "timestamp": dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "requestContext": {
            "requestId": call.request_id,
            "functionArn": f"{function.function_arn}:$LATEST",
            "condition": condition,
            "approximateInvokeCount": call.attempt,
        },
        "requestPayload": call.event,
        "responseContext": response_context,
        "responsePayload": call.payload,
    }


def _error_line(function: Any, context: LambdaContext, payload: Mapping[str, Any]) -> str:
    """The line the Python runtime logs for an uncaught exception: one log event (newlines as ``\\r``)."""
    if getattr(function, LOGGING_CONFIG, {}).get("LogFormat") == "JSON":
        now = dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        record = {"timestamp": now, "level": "ERROR", "message": payload["errorMessage"], **payload}
        return json.dumps({**record, "requestId": context.aws_request_id})
    text = f"[ERROR] {payload['errorType']}: {payload['errorMessage']}\n" + "".join(payload["stackTrace"])
    return text.rstrip("\n").replace("\n", "\r")


@contextlib.contextmanager
def _captured_output(buffer: list[str]) -> Iterator[None]:
    """Route this thread's stdout/stderr writes into ``buffer`` (what Lambda sends to CloudWatch Logs).

    Done per invocation, not once: test runners swap ``sys.stdout`` between tests. Logging handlers
    bound to the current streams before (a Powertools logger imported by a test) are pointed at the
    stand-ins for the call and restored afterwards.
    """
    saved_out, saved_err = sys.stdout, sys.stderr
    replacements: dict[int, _ThreadOutput] = {}
    for real, current in ((sys.__stdout__, saved_out), (sys.__stderr__, saved_err)):
        if not isinstance(current, _ThreadOutput):
            replacements[id(current)] = _ThreadOutput(current)
            if real is not None:
                replacements.setdefault(id(real), replacements[id(current)])
    rebound = [handler for handler in _stream_handlers() if id(handler.stream) in replacements]
    originals = [handler.stream for handler in rebound]
    for handler in rebound:
        handler.setStream(replacements[id(handler.stream)])
    sys.stdout = replacements.get(id(saved_out), saved_out)
    sys.stderr = replacements.get(id(saved_err), saved_err)
    _OUTPUT.buffers = [*getattr(_OUTPUT, "buffers", []), buffer]
    try:
        yield
    finally:
        _OUTPUT.buffers = _OUTPUT.buffers[:-1]
        sys.stdout, sys.stderr = saved_out, saved_err
        for handler, stream in zip(rebound, originals, strict=True):
            handler.setStream(stream)


def _stream_handlers() -> list[logging.StreamHandler[Any]]:
    loggers = [logging.getLogger(), *logging.Logger.manager.loggerDict.values()]
    return [
        handler
        for logger in loggers
        if isinstance(logger, logging.Logger)
        for handler in logger.handlers
        if isinstance(handler, logging.StreamHandler) and not isinstance(handler, logging.FileHandler)
    ]


__all__ = ["Fault", "InjectedFaultError", "Invocation", "LambdaContext", "LambdaRuntime"]


def _no_delay(_backoff: Any, _context: Any) -> float:
    return 0.0
