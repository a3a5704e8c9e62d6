"""The local cloud: the application's own templates and handlers on a moto-backed emulator, offline.

``LocalCloud`` (``localcloud.cloud``) is the entry point for tests and demos; ``localcloud`` the command
(``localcloud.cli``). Importing this package is cheap: moto is imported when a cloud is used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from localcloud.cloud import LocalCloud

__all__ = ["LocalCloud", "LocalCloudError"]


class LocalCloudError(Exception):
    """Anything the local cloud cannot do, with a message for its user (the CLI prints it; exit 1)."""


def __getattr__(name: str) -> Any:
    if name == "LocalCloud":
        from localcloud.cloud import LocalCloud

        return LocalCloud
    raise AttributeError(name)
