"""A tiny webhook receiver for development: verifies each delivery with the standardwebhooks library
(as a platform's own receiver should) and reports it. Used by `sevbridge webhooks listen`."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from standardwebhooks import Webhook, WebhookVerificationError


@dataclass(frozen=True)
class Delivery:
    at: datetime
    verified: bool
    webhook_id: str | None
    payload: Any
    problem: str | None
    answered: int


class Listener:
    def __init__(
        self,
        secrets: list[str],
        report: Callable[[Delivery], None],
        *,
        host: str = "127.0.0.1",
        port: int = 8765,
        fail_first: int = 0,
    ) -> None:
        self._verifiers = [Webhook(s) for s in secrets]
        self._report = report
        self._fail_left = fail_first
        self._lock = threading.Lock()
        self._serving = threading.Event()
        listener = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(min(length, 1_048_576))
                status, delivery = listener.handle(body, {k.lower(): v for k, v in self.headers.items()})
                self.send_response(status)
                self.send_header("content-length", "0")
                self.end_headers()
                listener._report(delivery)

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer((host, port), Handler)
        self._server.daemon_threads = True

    def add_secret(self, secret: str) -> None:
        self._verifiers.append(Webhook(secret))

    @property
    def url(self) -> str:
        host, port = str(self._server.server_address[0]), int(self._server.server_address[1])
        return f"http://{host}:{port}/webhooks"

    def handle(self, body: bytes, headers: dict[str, str]) -> tuple[int, Delivery]:
        now = datetime.now(UTC)
        text = body.decode("utf-8", errors="replace")
        payload: Any = None
        problem = None
        for verifier in self._verifiers:
            try:
                payload = verifier.verify(text, headers)
                break
            except WebhookVerificationError as exc:
                problem = f"signature not valid: {exc}"
        else:
            if not self._verifiers:
                problem = "no secret to verify with"
        verified = payload is not None
        if not verified:
            try:
                payload = json.loads(text)
            except json.JSONDecodeError:
                payload = text[:200]
            # 4xx: the delivery fails for good (a wrong secret is not fixed by retrying).
            return 400, Delivery(now, False, headers.get("webhook-id"), payload, problem, 400)
        with self._lock:
            failing = self._fail_left > 0
            self._fail_left -= 1 if failing else 0
        status = 503 if failing else 204
        return status, Delivery(now, True, headers.get("webhook-id"), payload, None, status)

    def serve_forever(self) -> None:
        self._serving.set()
        self._server.serve_forever(poll_interval=0.2)

    def shutdown(self) -> None:
        if self._serving.is_set():  # shutdown() waits for the serving loop: only ask a running one
            self._server.shutdown()
        self._server.server_close()
