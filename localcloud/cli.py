"""``localcloud``: run the application offline from its own templates.

    localcloud up [--port 4566] [--api-port 3000] [--no-deploy] [--parameter-overrides K=V ...]  serve, deploy
    localcloud invoke <LogicalId | Nested/LogicalId> -e <event.json>          like `sam local invoke`
    localcloud status [--endpoint URL]                                         what a running one holds
    localcloud demo [blueprint]                                                scripted scenarios (demos/)

Exit codes: 0 success, 1 a function or demo failed (or nothing answered), 2 bad usage or input.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import logging
import os
import signal
import sys
import threading
import time
import traceback
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from localcloud import LocalCloudError

if TYPE_CHECKING:
    from localcloud.cloud import LocalCloud
    from localcloud.deploy import Deployment

STARTED = time.perf_counter()
DEFAULT_PORT = 4566
DEFAULT_API_PORT = 3000
DEFAULT_CLOCK_SPEED = 60.0
PUMP_INTERVAL_SECONDS = 0.1


class UsageError(Exception):
    """Bad arguments or input files: exit code 2."""


def _parameter_overrides(pairs: Sequence[str]) -> dict[str, str]:
    overrides: dict[str, str] = {}
    for pair in pairs:
        name, separator, value = pair.partition("=")
        if not separator or not name:
            raise UsageError(f"--parameter-overrides takes Name=Value pairs, not {pair!r}")
        overrides[name] = value
    return overrides


def _template(path: str) -> Path:
    template = Path(path)
    if not template.is_file():
        raise UsageError(f"no template {template} (run from the project folder or pass -t)")
    return template


def _cloud(args: argparse.Namespace, **options: Any) -> LocalCloud:
    from localcloud.cloud import LocalCloud

    return LocalCloud(
        _template(args.template),
        stack_name=args.stack_name,
        parameter_overrides=_parameter_overrides(args.parameter_overrides),
        **options,
    )


# -- up ---------------------------------------------------------------------------------------------


def _default_port(variable: str = "LOCALCLOUD_PORT", default: int = DEFAULT_PORT) -> int:
    value = os.environ.get(variable, str(default))
    if not value.isdigit():
        raise UsageError(f"{variable} must be a port number, not {value!r}")
    return int(value)


def _ready_line(deployment: Deployment | None, endpoint: str) -> str:
    seconds = time.perf_counter() - STARTED
    if deployment is None:
        return f"ready in {seconds:.2f}s: nothing deployed (--no-deploy), endpoint {endpoint}"
    stacks = ", ".join(stack.name for stack in deployment.stacks)
    functions = ", ".join(sorted(deployment.functions)) or "none"
    return f"ready in {seconds:.2f}s: stacks {stacks}; functions {functions}; endpoint {endpoint}"


def _counted(types: list[str]) -> str:
    return ", ".join(f"{kind} x{count}" for kind, count in sorted(Counter(types).items())) or "none"


def _pump_forever(cloud: LocalCloud, stop: threading.Event, speed: float, out: TextIO) -> None:
    """The event sources' delivery loop of ``up``: virtual time runs ``speed`` times faster than wall time."""
    last = time.monotonic()
    while not stop.wait(PUMP_INTERVAL_SECONDS):
        now = time.monotonic()
        cloud.clock.advance((now - last) * speed)
        last = now
        try:
            cloud.pump()
        except Exception:  # noqa: BLE001 - a failing round is reported and the emulator keeps serving
            print(f"localcloud: delivery round failed:\n{traceback.format_exc()}", file=out)


def _up(args: argparse.Namespace) -> int:
    port = args.port if args.port is not None else _default_port()
    api_port = (
        args.api_port if args.api_port is not None else _default_port("LOCALCLOUD_API_PORT", DEFAULT_API_PORT)
    )
    with _cloud(args, serve=True, port=port, api_port=api_port) as cloud:
        endpoint = str(cloud.endpoint_url)
        deployment = None if args.no_deploy else cloud.deploy()
        print(_ready_line(deployment, endpoint), flush=True)
        if deployment is not None:
            print(f"  applied after deploy: {_counted([r.type for r in deployment.applied])}")
            print(f"  not emulated (skipped): {_counted([r.type for r in deployment.unsupported])}")
        apis = deployment.of_type("AWS::ApiGatewayV2::Api") if deployment else []
        print(f"  http apis: {len(apis)} on {cloud.http_apis.base_url} (SigV4 with the credentials below)")
        for api in apis:
            print(f"    {api.path}: {cloud.api_url(api.path)}")
        print(
            f"  clients: export AWS_ENDPOINT_URL={endpoint} AWS_ACCESS_KEY_ID=testing "
            "AWS_SECRET_ACCESS_KEY=testing AWS_DEFAULT_REGION=us-east-1"
        )
        stop = threading.Event()
        if threading.current_thread() is threading.main_thread():  # Ctrl-C also when started in background
            for signum in (signal.SIGINT, signal.SIGTERM):
                signal.signal(signum, lambda _signal, _frame: stop.set())
        if cloud.sources is not None:
            print(f"  event sources: on, virtual clock x{args.clock_speed:g}")
            threading.Thread(
                target=_pump_forever, args=(cloud, stop, args.clock_speed, sys.stderr), daemon=True
            ).start()
        else:
            print(
                "  event sources: off (localcloud.sources is not installed); moto's inline deliveries apply"
            )
        print("  Ctrl-C stops it", flush=True)
        try:
            while not stop.wait(1.0):
                pass
        except KeyboardInterrupt:
            stop.set()
    print("stopped")
    return 0


# -- invoke -----------------------------------------------------------------------------------------


def _event(path: str | None) -> Any:
    if path is None:
        return {}
    try:
        text = sys.stdin.read() if path == "-" else Path(path).read_text()
        return json.loads(text)
    except OSError as exc:
        raise UsageError(f"cannot read the event {path}: {exc.strerror}") from exc
    except json.JSONDecodeError as exc:
        raise UsageError(f"the event {path} is not JSON: {exc}") from exc


def _invoke(args: argparse.Namespace) -> int:
    event = _event(args.event)
    with _cloud(args) as cloud:
        deployment = cloud.deploy()
        try:
            deployment.function(args.function)
        except KeyError as exc:
            raise UsageError(str(exc.args[0])) from exc
        result = cloud.invoke(args.function, event)
    for line in result.logs:
        print(line, file=sys.stderr)
    print(json.dumps(result.payload, indent=2))
    return 1 if result.errored else 0


# -- status -----------------------------------------------------------------------------------------


def _status(args: argparse.Namespace) -> int:
    import boto3
    from botocore.config import Config
    from botocore.exceptions import EndpointConnectionError

    from localcloud.status import collect, render

    endpoint = args.endpoint or os.environ.get("AWS_ENDPOINT_URL") or f"http://127.0.0.1:{_default_port()}"
    config = Config(region_name="us-east-1", retries={"max_attempts": 1}, connect_timeout=2, read_timeout=30)
    session = boto3.session.Session(aws_access_key_id="testing", aws_secret_access_key="testing")  # noqa: S106
    try:
        status = collect(lambda service: session.client(service, endpoint_url=endpoint, config=config))  # type: ignore[call-overload]
    except EndpointConnectionError:
        print(f"no local cloud answers at {endpoint} (start one with `localcloud up`)", file=sys.stderr)
        return 1
    print(f"local cloud at {endpoint}")
    print("\n".join(render(status)))
    return 0


# -- demo -------------------------------------------------------------------------------------------


def _load_demo(path: Path) -> Any:
    spec = importlib.util.spec_from_file_location(f"localcloud_demo_{path.stem}", path)
    if spec is None or spec.loader is None:
        raise UsageError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses and postponed annotations look their module up there
    spec.loader.exec_module(module)
    if not callable(getattr(module, "run", None)):
        raise UsageError(f"{path} has no run(cloud, out) function")
    return module


def _demo(args: argparse.Namespace) -> int:
    """Each ``demos/<blueprint>.py`` exposes ``run(cloud, out) -> bool``; it gets a freshly deployed cloud.
    A demo that needs resources to exist before the deployment (a VPC whose subnets are template
    parameters) also exposes ``prepare(cloud) -> dict`` of parameter overrides, called before deploying."""
    folder = _template(args.template).resolve().parent / "demos"
    available = sorted(path.stem for path in folder.glob("*.py") if not path.name.startswith("_"))
    if args.blueprint and args.blueprint not in available:
        print(f"no demo scenarios for {args.blueprint} (available: {', '.join(available) or 'none'})")
        return 1
    names = [args.blueprint] if args.blueprint else available
    if not names:
        print(f"no demo scenarios in {folder}")
        return 1
    passed = 0
    for name in names:
        module = _load_demo(folder / f"{name}.py")
        started = time.perf_counter()
        print(f"== demo {name}", flush=True)
        try:
            with _cloud(args) as cloud:
                if callable(getattr(module, "prepare", None)):
                    cloud.parameter_overrides.update(module.prepare(cloud))
                cloud.deploy()
                ok = bool(module.run(cloud, sys.stdout))
        except Exception:  # noqa: BLE001 - a crashing scenario is a failed scenario; the others still run
            traceback.print_exc(file=sys.stdout)
            ok = False
        passed += ok
        print(
            f"== demo {name}: {'passed' if ok else 'FAILED'} in {time.perf_counter() - started:.2f}s",
            flush=True,
        )
    print(f"demos: {passed} passed, {len(names) - passed} failed")
    return 0 if passed == len(names) else 1


# -- entry point ------------------------------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="localcloud", description=__doc__.split("\n", 1)[0] if __doc__ else None
    )
    commands = parser.add_subparsers(dest="command", required=True)

    def deployed(command: argparse.ArgumentParser) -> None:
        command.add_argument("-t", "--template", default="template.yaml", help="root SAM template")
        command.add_argument("--stack-name", default="blueprints")
        command.add_argument("--parameter-overrides", nargs="*", default=[], metavar="NAME=VALUE")

    up = commands.add_parser("up", help="serve the emulator and deploy the application")
    deployed(up)
    up.add_argument("--port", type=int, default=None, help=f"default $LOCALCLOUD_PORT or {DEFAULT_PORT}")
    up.add_argument(
        "--api-port",
        type=int,
        default=None,
        help=f"HTTP APIs; default $LOCALCLOUD_API_PORT or {DEFAULT_API_PORT}",
    )
    up.add_argument("--no-deploy", action="store_true", help="serve an empty emulator")
    up.add_argument(
        "--clock-speed", type=float, default=DEFAULT_CLOCK_SPEED, help="virtual seconds per second"
    )
    up.set_defaults(run=_up)

    invoke = commands.add_parser("invoke", help="run one function in-process with its deployed environment")
    deployed(invoke)
    invoke.add_argument("function", help="LogicalId, Nested/LogicalId or function name")
    invoke.add_argument("-e", "--event", help="event JSON file ('-' reads stdin); default {}")
    invoke.set_defaults(run=_invoke)

    status = commands.add_parser("status", help="stacks, functions, queues and executions of a running one")
    status.add_argument("--endpoint", help="default $AWS_ENDPOINT_URL or http://127.0.0.1:$LOCALCLOUD_PORT")
    status.set_defaults(run=_status)

    demo = commands.add_parser("demo", help="run the scripted scenarios of demos/<blueprint>.py")
    deployed(demo)
    demo.add_argument("blueprint", nargs="?")
    demo.set_defaults(run=_demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="localcloud: %(levelname)s %(name)s: %(message)s")
    logging.getLogger("moto").setLevel(logging.ERROR)
    # moto logs every execution that ends in a Fail state at ERROR; executions and their errors are shown
    # by `localcloud status` and the demos, so a workflow failing on purpose does not flood the output.
    logging.getLogger("moto.stepfunctions.parser").setLevel(logging.CRITICAL)
    try:
        return int(args.run(args))
    except UsageError as exc:
        print(f"localcloud: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except LocalCloudError as exc:
        print(f"localcloud: {exc}", file=sys.stderr)
        return 1
