"""`python -m sevdesk_sandbox [--port 8765]`: run the sandbox alone with one demo account."""

from __future__ import annotations

import argparse
import time

from .server import serve
from .state import SandboxState


def main() -> None:
    parser = argparse.ArgumentParser(description="sevDesk sandbox (in-memory sevDesk API emulator)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--account-name", default="Demo GmbH")
    args = parser.parse_args()
    state = SandboxState()
    account = state.create_account(name=args.account_name)
    server = serve(state, host=args.host, port=args.port)
    print(f"SEVDESK_BASE_URL={server.url}", flush=True)
    print(f"admin API:        {server.admin_url}", flush=True)
    print(f"account {account.account_id} token: {account.token}", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        server.shutdown()


if __name__ == "__main__":
    main()
