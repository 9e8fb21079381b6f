"""sevDesk sandbox: a stateful, in-memory emulator of the part of the sevDesk API sevbridge uses,
faithful to the live API's quirks (api-facts.md), with an admin API for tests and the local stack.

    state = SandboxState()
    acct = state.create_account(name="Demo GmbH")
    server = serve(state, port=0)      # server.url is the SEVDESK_BASE_URL
"""

from __future__ import annotations

from .app import create_app
from .faults import Fault
from .request_log import RequestLogEntry
from .server import SandboxServer, serve
from .state import Account, SandboxState

__all__ = ["Account", "Fault", "RequestLogEntry", "SandboxServer", "SandboxState", "create_app", "serve"]
