"""The local API Gateway for HTTP APIs: a WSGI router that serves the deployed routes like the real one.

A request to ``http://127.0.0.1:3000/{apiId}/{stage?}/path`` (see ``localcloud.httpapi`` for the scheme;
with a single API deployed the id may be left out, as with ``sam local start-api``) goes through what API
Gateway does, in its order:

1. stage and route selection (``localcloud.httpapi.match``): 404 ``{"message":"Not Found"}`` otherwise;
2. authorization: an ``AWS_IAM`` route needs a valid SigV4 signature for ``execute-api`` (``Verifier``:
   recomputed with botocore's signer from the request as it arrived); the caller's identity goes into
   ``requestContext.authorizer.iam``;
3. the Lambda proxy event, payload format 2.0, to the route's function through the Lambda Invoke API (so
   the local cloud's runtime runs it, with its logs and call record);
4. the function's result mapped to the HTTP response as HTTP APIs map it; a function error is a 500.

The same WSGI app serves a socket (``RouterServer``, for ``localcloud up`` and external clients) and
in-process calls without one (``in_process``, behind ``LocalCloud.http`` for tests), so both behave alike.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import hmac
import json
import logging
import os
import re
import threading
import urllib.parse
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.compat import HTTPHeaders
from botocore.credentials import Credentials
from werkzeug.serving import BaseWSGIServer, make_server
from werkzeug.test import Client
from werkzeug.wrappers import Request, Response

from localcloud import LocalCloudError
from localcloud.httpapi import (
    AUTH_IAM,
    AUTH_NONE,
    DEFAULT_STAGE,
    HttpApi,
    Route,
    cloudformation_models,
    deployed_apis,
    local_url,
    match,
)
from localcloud.translate import ACCOUNT, REGION

if TYPE_CHECKING:
    from localcloud.deploy import Deployment

log = logging.getLogger(__name__)

HOST = "127.0.0.1"
DEFAULT_API_PORT = 3000  # the `sam local start-api` convention
_TEXT_TYPES = re.compile(r"^(text/.*|application/(json|javascript|xml|[\w.+-]*\+(json|xml)))$")
Invoke = Callable[[str, bytes], tuple[bytes, str | None]]
"""Invoke a function by ARN with a JSON payload: ``(response payload, FunctionError or None)``."""


class RouterError(LocalCloudError):
    """The router could not start (most often: the port is taken)."""


@dataclass(frozen=True)
class HttpResponse:
    """What a client received: status, headers (lower-case names), ``Set-Cookie`` values and body."""

    status: int
    headers: dict[str, str]
    body: bytes
    cookies: list[str] = field(default_factory=list)

    @property
    def text(self) -> str:
        return self.body.decode()

    def json(self) -> Any:
        return json.loads(self.body)


# -- the event ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class IncomingRequest:
    """A request as it reached the router, below the API id: what the event is built from."""

    method: str
    raw_path: str  # as sent (percent-encoding kept), stage prefix included: the event's rawPath
    raw_query: str
    headers: list[tuple[str, str]]
    body: bytes
    source_ip: str = HOST
    protocol: str = "HTTP/1.1"


def _headers(request: IncomingRequest) -> tuple[dict[str, str], list[str]]:
    """Lower-cased headers with repeats comma-joined, and the cookies taken out of them (format 2.0)."""
    headers: dict[str, str] = {}
    cookies: list[str] = []
    for name, value in request.headers:
        lower = name.lower()
        if lower == "cookie":
            cookies += [cookie.strip() for cookie in value.split(";") if cookie.strip()]
        else:
            headers[lower] = f"{headers[lower]},{value}" if lower in headers else value
    return headers, cookies


def _body(request: IncomingRequest, content_type: str) -> tuple[str | None, bool]:
    """HTTP APIs pass text media types as text and base64-encode everything else."""
    if not request.body:
        return None, False
    if _TEXT_TYPES.match(content_type.split(";", 1)[0].strip().lower()):
        try:
            return request.body.decode(), False
        except UnicodeDecodeError:
            pass
    return base64.b64encode(request.body).decode(), True


def query_parameters(raw_query: str) -> dict[str, str]:
    """Decoded query parameters; a repeated name has its values joined with commas (format 2.0)."""
    parameters: dict[str, str] = {}
    for name, value in urllib.parse.parse_qsl(raw_query, keep_blank_values=True):
        parameters[name] = f"{parameters[name]},{value}" if name in parameters else value
    return parameters


def new_request_id() -> str:
    """An id shaped like API Gateway's (``JKJaXmPLvHcESHA=``)."""
    return base64.b64encode(os.urandom(11)).decode()


def build_event(
    api_id: str,
    stage: str,
    stage_variables: Mapping[str, str],
    route_key: str,
    path_parameters: Mapping[str, str],
    request: IncomingRequest,
    *,
    iam: Mapping[str, Any] | None = None,
    request_id: str = "",
    now: dt.datetime | None = None,
) -> dict[str, Any]:
    """The Lambda proxy event, payload format 2.0, as HTTP APIs send it (absent parts are left out)."""
    now = now or dt.datetime.now(dt.UTC)
    headers, cookies = _headers(request)
    port = headers.get("host", "").rpartition(":")[2]
    headers.setdefault("x-forwarded-for", request.source_ip)
    headers.setdefault("x-forwarded-port", port if port.isdigit() else "80")
    headers.setdefault("x-forwarded-proto", "http")
    headers.setdefault("x-amzn-trace-id", f"Root=1-{int(now.timestamp()):08x}-{uuid.uuid4().hex[:24]}")
    body, encoded = _body(request, headers.get("content-type", ""))
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": request.raw_path,
        "rawQueryString": request.raw_query,
    }
    if cookies:
        event["cookies"] = cookies
    event["headers"] = headers
    if request.raw_query:
        event["queryStringParameters"] = query_parameters(request.raw_query)
    context: dict[str, Any] = {
        "accountId": ACCOUNT,
        "apiId": api_id,
        "domainName": f"{api_id}.execute-api.{REGION}.amazonaws.com",
        "domainPrefix": api_id,
        "http": {
            "method": request.method,
            "path": request.raw_path,
            "protocol": request.protocol,
            "sourceIp": request.source_ip,
            "userAgent": headers.get("user-agent", ""),
        },
        "requestId": request_id,
        "routeKey": route_key,
        "stage": stage,
        "time": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
        "timeEpoch": int(now.timestamp() * 1000),
    }
    if iam is not None:
        context["authorizer"] = {"iam": dict(iam)}
    event["requestContext"] = context
    if path_parameters:
        event["pathParameters"] = dict(path_parameters)
    if stage_variables:
        event["stageVariables"] = dict(stage_variables)
    if body is not None:
        event["body"] = body
    event["isBase64Encoded"] = encoded
    return event


# -- the response -------------------------------------------------------------------------------------


class MalformedResponseError(Exception):
    """A function result HTTP APIs cannot turn into a response (they answer 500)."""


def map_response(payload: Any) -> tuple[int, list[tuple[str, str]], bytes]:
    """Status, headers and body from a function's result, as format 2.0 defines it.

    A dict with ``statusCode`` is a response (headers, cookies, body, isBase64Encoded). Anything else is
    the body of a 200 ``application/json`` response: a string as it is, other values as JSON.
    """
    if not (isinstance(payload, dict) and "statusCode" in payload):
        inferred = payload if isinstance(payload, str) else json.dumps(payload)
        return 200, [("content-type", "application/json")], inferred.encode()
    try:
        status = int(payload["statusCode"])
        headers = [
            (str(name).lower(), _text(value)) for name, value in (payload.get("headers") or {}).items()
        ]
        headers += [("set-cookie", str(cookie)) for cookie in payload.get("cookies") or []]
        body = payload.get("body")
        text = "" if body is None else body if isinstance(body, str) else json.dumps(body)
        data = base64.b64decode(text, validate=True) if payload.get("isBase64Encoded") else text.encode()
    except (TypeError, ValueError, AttributeError) as exc:
        raise MalformedResponseError(str(exc)) from exc
    if not 100 <= status <= 599:
        raise MalformedResponseError(f"statusCode {status}")
    if not any(name == "content-type" for name, _ in headers):
        headers.append(("content-type", "text/plain; charset=utf-8"))
    return status, headers, data


def _text(value: Any) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def _error(status: int, message: str, error_type: str | None = None) -> Response:
    response = Response(
        json.dumps({"message": message}, separators=(",", ":")), status, content_type="application/json"
    )
    if error_type:
        response.headers["x-amzn-ErrorType"] = error_type
    return response


# -- IAM authorization (SigV4) ----------------------------------------------------------------------

SERVICE = "execute-api"
FAKE_CREDENTIALS = {"testing": "testing"}  # the local cloud's (and moto's) dummy access key and secret
MAX_SKEW = dt.timedelta(minutes=5)
_SIGV4_TIME = "%Y%m%dT%H%M%SZ"
_MISMATCH = (
    "The request signature we calculated does not match the signature you provided. Check your AWS Secret "
    "Access Key and signing method. Consult the service documentation for details."
)


@dataclass(frozen=True)
class AuthFailure:
    """Why API Gateway refuses a request to an ``AWS_IAM`` route (a 403 with this message and type)."""

    message: str
    error_type: str


class _Recomputed(SigV4Auth):
    """botocore's signer restricted to the headers the client says it signed (whatever their names)."""

    def __init__(self, credentials: Credentials, region: str, signed: list[str]) -> None:
        super().__init__(credentials, SERVICE, region)
        self._signed = signed

    def headers_to_sign(self, request: AWSRequest) -> HTTPHeaders:
        headers = HTTPHeaders()
        for name in self._signed:
            headers[name] = request.headers.get(name, "")
        return headers


def sign(
    method: str,
    url: str,
    headers: Mapping[str, str] | None = None,
    body: bytes = b"",
    *,
    access_key: str = "testing",
    secret_key: str = "testing",  # noqa: S107 - the local cloud's dummy secret
    token: str | None = None,
    region: str = REGION,
) -> dict[str, str]:
    """The headers of a request signed for ``execute-api`` (what an IAM-authenticated client sends)."""
    request = AWSRequest(method=method.upper(), url=url, headers=dict(headers or {}), data=body)
    SigV4Auth(Credentials(access_key, secret_key, token), SERVICE, region).add_auth(request)
    return {str(name): str(value) for name, value in request.headers.items()}


class Verifier:
    """Checks SigV4 as API Gateway does for ``AWS_IAM`` routes, with the local cloud's credentials: the
    dummy ones, access keys of moto's IAM users, and moto's STS session credentials."""

    def __init__(
        self,
        credentials: Mapping[str, str] | None = None,
        *,
        now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
        region: str = REGION,
    ) -> None:
        self.credentials = dict(FAKE_CREDENTIALS if credentials is None else credentials)
        self.now = now
        self.region = region

    def secret(self, access_key: str) -> str | None:
        from moto.iam.models import iam_backends
        from moto.sts.models import sts_backends

        role = sts_backends[ACCOUNT]["aws"].get_assumed_role_from_access_key(access_key)
        if role is not None:
            return str(role.secret_access_key)
        iam = iam_backends[ACCOUNT]["aws"]
        user = iam.get_user_from_access_key_id(access_key)
        if user is not None:
            keys = iam.list_access_keys(user.name)
            return next(str(key.secret_access_key) for key in keys if key.access_key_id == access_key)
        return self.credentials.get(access_key)

    def identity(self, access_key: str) -> dict[str, Any]:
        """``requestContext.authorizer.iam``: who moto's STS says the key belongs to."""
        from moto.sts.models import sts_backends

        user_id, arn, account = sts_backends[ACCOUNT]["aws"].get_caller_identity(access_key, self.region)
        return {
            "accessKey": access_key,
            "accountId": account,
            "callerId": user_id,
            "cognitoIdentity": None,
            "principalOrgId": None,
            "userArn": arn,
            "userId": user_id,
        }

    def verify(
        self, method: str, raw_path: str, raw_query: str, headers: Iterable[tuple[str, str]], body: bytes
    ) -> dict[str, Any] | AuthFailure:
        """The caller's identity, or why the request is refused (checked in API Gateway's order)."""
        received = HTTPHeaders()
        for name, value in headers:
            received[name.lower()] = value
        fields = _authorization(received)
        if isinstance(fields, AuthFailure):
            return fields
        access_key, day, region, service, _ = [*fields["Credential"].split("/", 4), "", "", "", ""][:5]
        if service != SERVICE:
            message = f"Credential should be scoped to correct service: '{SERVICE}'."
            return AuthFailure(message, "InvalidSignatureException")
        if region != self.region:
            return AuthFailure("Credential should be scoped to a valid region.", "InvalidSignatureException")
        expired = self._expired(received["x-amz-date"], day)
        if expired:
            return AuthFailure(expired, "InvalidSignatureException")
        secret = self.secret(access_key)
        if secret is None:
            message = "The security token included in the request is invalid."
            return AuthFailure(message, "UnrecognizedClientException")
        signed = [name.strip().lower() for name in fields["SignedHeaders"].split(";") if name.strip()]
        url = f"http://{received.get('host', HOST)}{raw_path}" + (f"?{raw_query}" if raw_query else "")
        request = AWSRequest(method.upper(), url, {name: received.get(name, "") for name in signed}, body)
        request.context["timestamp"] = received["x-amz-date"]
        signer = _Recomputed(Credentials(access_key, secret), region, signed)
        expected = signer.signature(
            signer.string_to_sign(request, signer.canonical_request(request)), request
        )
        if not hmac.compare_digest(expected, fields["Signature"]):
            return AuthFailure(_MISMATCH, "InvalidSignatureException")
        return self.identity(access_key)

    def _expired(self, amz_date: str, day: str) -> str | None:
        try:
            signed_at = dt.datetime.strptime(amz_date, _SIGV4_TIME).replace(tzinfo=dt.UTC)
        except ValueError:
            return f"Date must be in ISO-8601 'basic format'. Got '{amz_date}'."
        if day != amz_date[:8]:
            return (
                "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: "
                f"'{day}' != '{amz_date[:8]}'."
            )
        now = self.now()
        stamp = now.strftime(_SIGV4_TIME)
        if signed_at < now - MAX_SKEW:
            earliest = (now - MAX_SKEW).strftime(_SIGV4_TIME)
            return f"Signature expired: {amz_date} is now earlier than {earliest} ({stamp} - 5 min.)"
        if signed_at > now + MAX_SKEW:
            latest = (now + MAX_SKEW).strftime(_SIGV4_TIME)
            return f"Signature not yet current: {amz_date} is still later than {latest} ({stamp} + 5 min.)"
        return None


def _authorization(received: HTTPHeaders) -> dict[str, str] | AuthFailure:
    """The fields of a SigV4 ``Authorization`` header; unsigned and incomplete requests are refused."""
    authorization = received.get("authorization")
    if not authorization:
        return AuthFailure("Forbidden", "ForbiddenException")
    algorithm, _, rest = authorization.strip().partition(" ")
    fields = dict(part.strip().partition("=")[::2] for part in rest.split(","))
    missing = [
        f"Authorization header requires '{name}' parameter."
        for name in ("Credential", "Signature", "SignedHeaders")
        if not fields.get(name)
    ]
    if not received.get("x-amz-date"):
        missing.append("Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.")
    if algorithm != "AWS4-HMAC-SHA256" or missing:
        return AuthFailure(
            " ".join(missing) or "Unsupported signing algorithm.", "IncompleteSignatureException"
        )
    return fields


# -- the router ---------------------------------------------------------------------------------------


class HttpApiRouter:
    """The WSGI application (see the module docstring). ``apis`` reads the deployed APIs per request."""

    def __init__(
        self,
        invoke: Invoke,
        *,
        apis: Callable[[], dict[str, HttpApi]] = deployed_apis,
        verifier: Verifier | None = None,
    ) -> None:
        self._invoke = invoke
        self._apis = apis
        self.verifier = verifier or Verifier()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        request = Request(environ)
        response = self.handle(request)
        response.headers.setdefault("apigw-requestid", new_request_id())
        return response(environ, start_response)

    def _select(self, raw_path: str) -> tuple[HttpApi, str, str] | None:
        """The API, stage and the raw path below the API id (the event's ``rawPath``)."""
        apis = self._apis()
        first, _, rest = raw_path.lstrip("/").partition("/")
        if first in apis:
            api, below = apis[first], "/" + rest
        elif len(apis) == 1:  # one API: its paths also answer without the id (`sam local start-api`)
            api, below = next(iter(apis.values())), raw_path
        else:
            return None
        stage = urllib.parse.unquote(below.lstrip("/").partition("/")[0])
        if stage and stage != DEFAULT_STAGE and stage in api.stages:
            return api, stage, below
        return (api, DEFAULT_STAGE, below) if DEFAULT_STAGE in api.stages else None

    def handle(self, request: Request) -> Response:
        raw_uri = str(request.environ.get("RAW_URI") or request.environ.get("REQUEST_URI") or request.path)
        raw_path, _, raw_query = raw_uri.partition("?")
        selected = self._select(raw_path)
        if selected is None:
            return _error(404, "Not Found")
        api, stage, below = selected
        route_path = below if stage == DEFAULT_STAGE else "/" + below.lstrip("/").partition("/")[2]
        found = match(api.routes, request.method, route_path)
        if found is None:
            return _error(404, "Not Found")
        route, parameters = found
        body = request.get_data()
        iam: dict[str, Any] | None = None
        if route.authorization == AUTH_IAM:
            result = self.verifier.verify(request.method, raw_path, raw_query, request.headers.items(), body)
            if isinstance(result, AuthFailure):
                return _error(403, result.message, result.error_type)
            iam = result
        elif route.authorization != AUTH_NONE:
            log.warning("%s: %s authorizers are not emulated; rejected", route.key, route.authorization)
            return _error(401, "Unauthorized")
        incoming = IncomingRequest(
            request.method,
            below,
            raw_query,
            list(request.headers.items()),
            body,
            str(request.remote_addr or HOST),
            str(request.environ.get("SERVER_PROTOCOL", "HTTP/1.1")),
        )
        identifier = new_request_id()
        event = build_event(
            api.api_id,
            stage,
            api.stages.get(stage, {}),
            route.key,
            parameters,
            incoming,
            iam=iam,
            request_id=identifier,
        )
        response = self._call(route, event)
        response.headers["apigw-requestid"] = identifier
        return response

    def _call(self, route: Route, event: dict[str, Any]) -> Response:
        if (
            route.function_arn is None
            or route.integration_type != "AWS_PROXY"
            or route.payload_format != "2.0"
        ):
            log.warning(
                "%s: only Lambda proxy integrations with payload format 2.0 are emulated (%s %s %s)",
                route.key,
                route.integration_type,
                route.payload_format,
                route.function_arn,
            )
            return _error(500, "Internal Server Error")
        try:
            payload, function_error = self._invoke(route.function_arn, json.dumps(event).encode())
        except Exception:  # a failed invocation is API Gateway's 500, logged here
            log.exception("%s: invoking %s failed", route.key, route.function_arn)
            return _error(500, "Internal Server Error")
        if function_error is not None:
            return _error(500, "Internal Server Error")
        try:
            status, headers, data = map_response(json.loads(payload) if payload else None)
        except (MalformedResponseError, ValueError) as exc:
            log.warning("%s: malformed Lambda response: %s", route.key, exc)
            return _error(500, "Internal Server Error")
        response = Response(data, status)
        response.headers.clear()
        for name, value in headers:
            response.headers.add(name, value)
        return response


# -- serving ------------------------------------------------------------------------------------------


class RouterServer:
    """The router on a loopback port, in a thread of this process (port 0 picks a free port)."""

    def __init__(self, app: HttpApiRouter, port: int = DEFAULT_API_PORT, host: str = HOST) -> None:
        self.app = app
        self.host = host
        self.port = port
        self._server: BaseWSGIServer | None = None

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> str:
        logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per request
        try:
            server = make_server(self.host, self.port, self.app, threaded=True)
        except (OSError, SystemExit) as exc:  # werkzeug exits when the port is taken
            raise RouterError(f"cannot serve HTTP APIs on {self.host}:{self.port}: {exc}") from exc
        self.port = server.server_port
        threading.Thread(target=server.serve_forever, name="localcloud-httpapi", daemon=True).start()
        self._server = server
        return self.base_url

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()


def in_process(
    app: HttpApiRouter, method: str, url: str, headers: Mapping[str, str], body: bytes
) -> HttpResponse:
    """Call the router as a client would, without a socket (werkzeug's test client builds the environ)."""
    parts = urllib.parse.urlsplit(url)
    path = parts.path or "/"
    response = Client(app, use_cookies=False).open(
        path + (f"?{parts.query}" if parts.query else ""),
        base_url=f"{parts.scheme}://{parts.netloc}",
        method=method.upper(),
        headers=list(headers.items()),
        data=body,
        environ_base={"REMOTE_ADDR": HOST},
    )
    try:
        data = response.get_data()
        names = {name.lower() for name, _ in response.headers.items()}
        merged = {name: ",".join(response.headers.getlist(name)) for name in names if name != "set-cookie"}
        return HttpResponse(response.status_code, merged, data, response.headers.getlist("set-cookie"))
    finally:
        response.close()


# -- one local cloud's HTTP APIs ------------------------------------------------------------------------

API_TYPE = "AWS::ApiGatewayV2::Api"


class LocalHttpApis:
    """The HTTP APIs of one local cloud: the CloudFormation models while it runs, the router (served on
    a port when the cloud is served), the APIs' local URLs, and in-process requests for tests."""

    def __init__(
        self, clients: Callable[[str], Any], *, port: int = DEFAULT_API_PORT, serve: bool = False
    ) -> None:
        self._clients = clients
        self.port = port
        self.router = HttpApiRouter(self._invoke)
        self.server = RouterServer(self.router, port) if serve else None

    @property
    def base_url(self) -> str:
        """Where the APIs answer; also in-process (no socket), so stack outputs look the same."""
        return self.server.base_url if self.server is not None else f"http://{HOST}:{self.port}"

    @contextlib.contextmanager
    def install(self) -> Iterator[LocalHttpApis]:
        with cloudformation_models(lambda: self.base_url):
            if self.server is None:
                yield self
                return
            self.server.start()
            try:
                yield self
            finally:
                self.server.stop()

    def _invoke(self, function_arn: str, payload: bytes) -> tuple[bytes, str | None]:
        response = self._clients("lambda").invoke(FunctionName=function_arn, Payload=payload)
        return response["Payload"].read(), response.get("FunctionError")

    def url(self, deployment: Deployment, name: str) -> str:
        """The local URL of a deployed API by ``LogicalId`` (unique across stacks) or ``Nested/LogicalId``."""
        found = [api for api in deployment.of_type(API_TYPE) if name in (api.path, api.logical_id)]
        if len(found) != 1 or found[0].physical_id is None:
            known = ", ".join(sorted(api.path for api in deployment.of_type(API_TYPE))) or "none"
            raise KeyError(f"no single HTTP API {name} (HTTP APIs: {known})")
        api_id = found[0].physical_id
        stages = deployed_apis().get(api_id, HttpApi(api_id, name)).stages
        stage = DEFAULT_STAGE if DEFAULT_STAGE in stages or len(stages) != 1 else next(iter(stages))
        return local_url(self.base_url, api_id, stage)

    def request(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        body: bytes | str | None = None,
        json_body: Any = None,
        signed: bool = False,
    ) -> HttpResponse:
        """A request to the router without a socket; ``signed`` signs it with the dummy credentials."""
        data = body.encode() if isinstance(body, str) else body or b""
        sent = dict(headers or {})
        if json_body is not None:
            data = json.dumps(json_body).encode()
            sent.setdefault("content-type", "application/json")
        if signed:
            sent = sign(method, url, sent, data)
        return in_process(self.router, method, url, sent, data)


__all__ = [
    "DEFAULT_API_PORT",
    "HttpApiRouter",
    "HttpResponse",
    "IncomingRequest",
    "LocalHttpApis",
    "RouterServer",
    "build_event",
    "in_process",
    "map_response",
    "sign",
]
