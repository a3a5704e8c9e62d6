"""Service fakes: AWS APIs moto lacks, reachable with plain boto3 exactly as moto's own services are.

Why this shape: project code must not know it runs offline (no "local mode" branches, no injected
stubs in handlers). moto finds a service in two places, and a fake is registered in both, at runtime:

1. ``moto.backend_index.backend_url_patterns``: the (service, URL regex) list that both
   ``mock_aws``'s botocore hook (``moto.core.botocore_stubber``) and the server's
   ``DomainDispatcherApplication`` (host inferred from the request's SigV4 credential scope) consult;
2. ``moto.backends.get_backend(name)``, which imports ``moto.<name>`` and reads ``<name>_backends``, a
   ``BackendDict`` of one backend per account and region; the backend's ``urls`` route the request to
   its response class's ``dispatch``.

``install_fakes()`` puts a module named ``moto.<name>`` (holding the fake's ``BackendDict``) in
``sys.modules`` and appends the fake's URL pattern to that list, so the same client call works under
``mock_aws`` and against ``ThreadedMotoServer``. The backends live in moto's ``BackendDict``, so
``mock_aws`` and ``/moto-api/reset`` reset them with everything else. Requests are parsed and responses
serialised by moto from the service's botocore model (``automated_parameter_parsing`` and
``ActionResult``), so a fake is protocol-agnostic (JSON, query, REST) and its errors are the service's
own error codes.

How to add a fake (``pricing.py`` is the worked example):

1. In ``localcloud/fakes/<service>.py``, subclass ``FakeResponse`` with ``SERVICE = "<botocore name>"``
   and one method per operation, named in snake case (``get_products``): read ``self.params`` (already
   parsed and named as in the API), call the backend (``self.backend``), return
   ``ActionResult({...})``; raise a ``ServiceException`` subclass whose ``code`` is the AWS error code.
2. Subclass ``FakeBackend`` with the same ``SERVICE`` and ``RESPONSE = <your response class>``; keep the
   state in it (one instance per account and region; ``__init__(region_name, account_id)``). Decorate
   it with ``@fake_service``.
3. Add the module to ``MEMBERS``. Routing (endpoint prefix, signing name, protocol) comes from the
   botocore model; shipped data goes in ``localcloud/fakes/data/`` and is marked as sample data.
4. Test it with a plain boto3 client under ``mock_aws()`` + ``install_fakes()`` and once served.

A fake is refused for a service moto implements: extend moto's backend instead, with a module in
``EXTENSIONS`` whose ``extend()`` patches the missing operations in while installed
(``opscenter.py`` is the worked example).
"""

from __future__ import annotations

import base64
import hashlib
import importlib
import importlib.util
import json
import re
import sys
import threading
import types
from collections.abc import Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from typing import Any, ClassVar

from moto.core.base_backend import BackendDict, BaseBackend
from moto.core.exceptions import ServiceException
from moto.core.responses import BaseResponse

from localcloud import LocalCloudError

__all__ = [
    "EXTENSIONS",
    "MEMBERS",
    "FakeBackend",
    "FakeResponse",
    "InvalidNextTokenError",
    "fake_backend",
    "fake_service",
    "install_fakes",
    "paginate",
]

MEMBERS = ("localcloud.fakes.pricing",)
"""The modules that define the shipped fakes (importing one registers its service)."""

EXTENSIONS = (
    "localcloud.fakes.opscenter",
    "localcloud.fakes.codepipeline",
    "localcloud.fakes.spot",
    "localcloud.fakes.secretsmanager",  # AWS::SecretsManager::Secret in moto's CloudFormation
    "localcloud.fakes.github",  # not AWS: GitHub's REST API, answered to urllib in process
)
"""Modules that add operations to services moto implements: each has ``extend()``, a context manager
that patches them into moto's backend or response class; ``install_fakes`` enters them too."""

_REGISTRY: dict[str, type[FakeBackend]] = {}
_BACKENDS: dict[str, BackendDict[Any]] = {}  # one per service and process, like moto's module globals
_installed = 0  # nesting depth of install_fakes()
_extensions: ExitStack | None = None  # the entered EXTENSIONS while installed
_registered: list[tuple[Any, str]] = []  # (URL pattern, module name) of each installed fake
_FAKE_MARK = "__localcloud_fake__"
_lock = threading.Lock()


class FakeResponse(BaseResponse):
    """The request handler of a fake service: moto parses the request from the botocore model."""

    SERVICE: ClassVar[str] = ""

    def __init__(self) -> None:
        super().__init__(service_name=self.SERVICE)
        self.automated_parameter_parsing = True
        self.params: dict[str, Any] = {}

    @property
    def backend(self) -> Any:
        """The fake's state for the request's account and region."""
        return fake_backend(self.SERVICE, self.current_account, self.region)


class FakeBackend(BaseBackend):
    """The state of a fake service in one account and region; routes come from the botocore model."""

    SERVICE: ClassVar[str] = ""
    RESPONSE: ClassVar[type[FakeResponse]] = FakeResponse

    @property
    def _url_module(self) -> Any:
        # BaseBackend reads url_bases/url_paths from "moto.<service>.urls"; a fake has no such module.
        endpoint_prefix, _ = _endpoint_names(self.SERVICE)
        return types.SimpleNamespace(
            url_bases=[rf"https?://{re.escape(endpoint_prefix)}\.(.+)\.amazonaws\.com"],
            # the root (JSON and query protocols post there) and any path (REST protocols)
            url_paths={"{0}/$": self.RESPONSE.dispatch, "{0}/.*$": self.RESPONSE.dispatch},
        )


def fake_service[B: type[FakeBackend]](backend: B) -> B:
    """Register ``backend`` (a ``FakeBackend`` subclass) as the fake of its ``SERVICE``."""
    if not backend.SERVICE or backend.RESPONSE.SERVICE != backend.SERVICE:
        raise LocalCloudError(f"{backend.__name__}: SERVICE must be set and equal to its RESPONSE's")
    _REGISTRY[backend.SERVICE] = backend
    return backend


def fake_backend(service: str, account_id: str, region: str) -> Any:
    """The backend of a registered fake (to seed scenario data from tests)."""
    return _backend_dict(service)[account_id][region]


def _backend_dict(service: str) -> BackendDict[Any]:
    if service not in _BACKENDS:
        _BACKENDS[service] = BackendDict(_REGISTRY[service], service)
    return _BACKENDS[service]


def _endpoint_names(service: str) -> tuple[str, str]:
    """The service's endpoint prefix (``api.pricing``) and signing name (``pricing``)."""
    from moto.core.utils import get_service_model

    metadata = get_service_model(service).metadata
    prefix = str(metadata["endpointPrefix"])
    return prefix, str(metadata.get("signingName", prefix))


def _moto_name(service: str) -> str:
    return service.replace("-", "")  # how moto.backends.get_backend names a service's module


def _register(service: str) -> tuple[Any, str]:
    """Make moto find ``service``: its module, and a URL pattern matching both names of its host."""
    import moto.backend_index as backend_index

    name = _moto_name(service)
    module_name = f"moto.{name}"
    known = sys.modules.get(module_name)
    if (known is not None and not getattr(known, _FAKE_MARK, False)) or (
        known is None and importlib.util.find_spec(module_name) is not None
    ):
        raise LocalCloudError(f"moto implements {service}: extend its backend instead of faking it")
    module = types.ModuleType(module_name, f"localcloud fake of {service} (see localcloud.fakes)")
    setattr(module, _FAKE_MARK, True)
    setattr(module, f"{name}_backends", _backend_dict(service))
    sys.modules[module_name] = module
    hosts = "|".join(sorted({re.escape(host) for host in _endpoint_names(service)}))
    pattern = (name, re.compile(rf"https?://({hosts})\.(.+)\.amazonaws\.com"))
    backend_index.backend_url_patterns.append(pattern)
    return pattern, module_name


def _unregister(pattern: Any, module_name: str) -> None:
    import moto.backend_index as backend_index

    if pattern in backend_index.backend_url_patterns:
        backend_index.backend_url_patterns.remove(pattern)
    sys.modules.pop(module_name, None)


@contextmanager
def install_fakes() -> Iterator[list[str]]:
    """Serve every fake of ``MEMBERS`` (process-wide, nestable) for the block; yields their names."""
    global _installed
    with _lock:
        if _installed == 0:
            for member in MEMBERS:
                importlib.import_module(member)
            try:
                for service in sorted(_REGISTRY):
                    _registered.append(_register(service))
                _extend_all()
            except BaseException:
                _remove_all()
                raise
        _installed += 1
    try:
        yield sorted(_REGISTRY)
    finally:
        with _lock:
            _installed -= 1
            if _installed == 0:
                _remove_all()


def _extend_all() -> None:
    global _extensions
    stack = ExitStack()
    _extensions = stack
    for member in EXTENSIONS:
        stack.enter_context(importlib.import_module(member).extend())


def _remove_all() -> None:
    global _extensions
    stack, _extensions = _extensions, None
    if stack is not None:
        stack.close()
    while _registered:
        _unregister(*_registered.pop())


class InvalidNextTokenError(ServiceException):
    """The pagination token is not one this fake issued for the same request."""

    code = "InvalidNextTokenException"
    message = "The pagination token is invalid."


_PAGING_PARAMS = ("NextToken", "MaxResults")


def paginate(
    items: Sequence[Any], params: Mapping[str, Any], *, page_size: int
) -> tuple[list[Any], str | None]:
    """One page of ``items`` and the ``NextToken`` of the next one (``None`` on the last page).

    The token names the offset and a digest of the request's other parameters, so a token replayed
    with different filters is refused (``InvalidNextTokenException``) as AWS refuses it.
    """
    query = {key: value for key, value in params.items() if key not in _PAGING_PARAMS}
    digest = hashlib.sha256(json.dumps(query, sort_keys=True, default=str).encode()).hexdigest()[:16]
    offset = 0
    token = params.get("NextToken")
    if token:
        try:
            decoded = json.loads(base64.urlsafe_b64decode(str(token).encode()))
            offset, issued_for = int(decoded["offset"]), str(decoded["query"])
        except (ValueError, KeyError, TypeError) as exc:
            raise InvalidNextTokenError() from exc
        if issued_for != digest or not 0 <= offset <= len(items):
            raise InvalidNextTokenError()
    end = offset + page_size
    if end >= len(items):
        return list(items[offset:]), None
    next_token = base64.urlsafe_b64encode(json.dumps({"offset": end, "query": digest}).encode()).decode()
    return list(items[offset:end]), next_token
