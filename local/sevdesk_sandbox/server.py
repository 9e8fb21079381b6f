"""Run the sandbox on a real socket (werkzeug, threaded) in a daemon thread."""

from __future__ import annotations

import threading
from types import TracebackType
from typing import Any

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from .app import ADMIN_PREFIX, API_PREFIX, create_app
from .state import SandboxState


class _QuietHandler(WSGIRequestHandler):
    """No access log on stderr: tests read the sandbox's own request log instead."""

    def log(self, type: str, message: str, *args: Any) -> None:
        return None


class SandboxServer:
    def __init__(self, state: SandboxState, server: BaseWSGIServer, thread: threading.Thread) -> None:
        self.state = state
        self._server = server
        self._thread = thread
        self.host = str(server.host)
        self.port = int(server.port)

    @property
    def root_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def url(self) -> str:
        """The SEVDESK_BASE_URL to point a client at."""
        return self.root_url + API_PREFIX

    @property
    def admin_url(self) -> str:
        return self.root_url + ADMIN_PREFIX

    def shutdown(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> SandboxServer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.shutdown()


def serve(state: SandboxState | None = None, host: str = "127.0.0.1", port: int = 0) -> SandboxServer:
    """Start serving now; port 0 picks a free port (see `.port` / `.url`)."""
    state = state if state is not None else SandboxState()
    server = make_server(host, port, create_app(state), threaded=True, request_handler=_QuietHandler)
    thread = threading.Thread(
        target=server.serve_forever,
        kwargs={"poll_interval": 0.05},  # shutdown() waits for one poll; keep test teardown fast
        name=f"sevdesk-sandbox:{server.port}",
        daemon=True,
    )
    thread.start()
    return SandboxServer(state, server, thread)
