"""Import a function's ``app.py`` under a unique module name (every handler file is called ``app``)."""

from __future__ import annotations

import importlib.util
import sys
from types import ModuleType

from tests.support.paths import FUNCTIONS


def module_name(blueprint: str, function: str) -> str:
    return f"functions.{blueprint}.{function}.app"


def load_handler(blueprint: str, function: str) -> ModuleType:
    """Import (once) and return the handler module of ``functions/<blueprint>/<function>/app.py``."""
    name = module_name(blueprint, function)
    if name in sys.modules:
        return sys.modules[name]
    path = FUNCTIONS / blueprint / function / "app.py"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module
