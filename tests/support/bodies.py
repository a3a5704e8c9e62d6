"""Run-request bodies derived from the sample events, changed field by field (dotted paths)."""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from typing import Any

from tests.support.events import load_event

DELETE = object()
"""As a value in ``changes``: remove the field."""


def sample_body(blueprint: str, function: str, case: str, index: int = 0) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(load_event(blueprint, function, case)["Records"][index]["body"])
    return body


def changed(body: Mapping[str, Any], changes: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of ``body`` with ``{"a.b.0.c": value}`` changes applied (``DELETE`` removes the field)."""
    result: dict[str, Any] = copy.deepcopy(dict(body))
    for path, value in changes.items():
        *parents, last = path.split(".")
        node: Any = result
        for part in parents:
            node = node[int(part)] if isinstance(node, list) else node.setdefault(part, {})
        if isinstance(node, list):
            if value is DELETE:
                del node[int(last)]
            else:
                node[int(last)] = value
        elif value is DELETE:
            node.pop(last, None)
        else:
            node[last] = value
    return result
