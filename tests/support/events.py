"""Load sample events from ``events/<blueprint>/<function>/<case>.json``.

The same files feed ``sam local invoke -e``, ``localcloud invoke`` and pytest, so a test never builds
a large event dict by hand: it loads the case and changes the one field it is about.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.support.paths import EVENTS


def event_path(blueprint: str, function: str, case: str) -> Path:
    path = EVENTS / blueprint / function / f"{case}.json"
    if not path.is_file():
        raise FileNotFoundError(f"no sample event {path.relative_to(EVENTS.parent)}")
    return path


def load_event(blueprint: str, function: str, case: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(event_path(blueprint, function, case).read_text())
    return loaded


def event_cases(blueprint: str, function: str) -> list[str]:
    """Every case name of a function's sample events, sorted."""
    return sorted(path.stem for path in (EVENTS / blueprint / function).glob("*.json"))
