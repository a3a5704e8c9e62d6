"""moto's HTTP server in a thread of this process, so the local cloud's patches apply to what it serves.

External clients (boto3 and the aws CLI with ``AWS_ENDPOINT_URL``) talk to it; handlers run in this
process and reach it through the same endpoint.
"""

from __future__ import annotations

import logging
import socket

from localcloud import LocalCloudError

HOST = "127.0.0.1"
DEFAULT_PORT = 4566  # the port AWS-emulator users expect


class ServerError(LocalCloudError):
    """The server could not start (most often: the port is taken)."""


def _check_free(host: str, port: int) -> None:
    # ThreadedMotoServer.start() waits forever when its server cannot bind, so look first.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise ServerError(
                f"cannot listen on {host}:{port}: {exc.strerror} (is a local cloud running?)"
            ) from exc


class Server:
    """``moto.server.ThreadedMotoServer`` on loopback; port 0 picks a free port."""

    def __init__(self, port: int = DEFAULT_PORT, host: str = HOST) -> None:
        self.host = host
        self.port = port
        self._server: object | None = None

    @property
    def endpoint_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> str:
        from moto.server import ThreadedMotoServer

        if self.port:
            _check_free(self.host, self.port)
        logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per request
        server = ThreadedMotoServer(ip_address=self.host, port=self.port, verbose=False)
        server.start()
        self.port = server.get_host_and_port()[1]
        self._server = server
        return self.endpoint_url

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()  # type: ignore[attr-defined]
            self._server = None
