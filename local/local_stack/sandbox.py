"""The sevDesk sandbox the handlers talk to locally, with one demo account."""

from __future__ import annotations

from dataclasses import dataclass

from sevdesk_sandbox import SandboxState, serve
from sevdesk_sandbox.server import SandboxServer

DEMO_ACCOUNT_NAME = "Demo GmbH"


@dataclass(frozen=True)
class DemoAccount:
    account_id: str
    token: str


class SandboxService:
    def __init__(self, host: str, port: int) -> None:
        self.state = SandboxState()
        self._host = host
        self._port = port
        self._server: SandboxServer | None = None

    def start(self) -> None:
        self._server = serve(self.state, host=self._host, port=self._port)

    @property
    def server(self) -> SandboxServer:
        if self._server is None:
            raise RuntimeError("the sandbox is not running")
        return self._server

    def create_demo_account(self) -> DemoAccount:
        account = self.state.create_account(name=DEMO_ACCOUNT_NAME)
        return DemoAccount(account_id=str(account.account_id), token=account.token)

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server = None
