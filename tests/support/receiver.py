"""A webhook receiver for tests: a real HTTP server on 127.0.0.1 that records every request and answers
from a plan (status codes, headers, delays), so retries, timeouts and redirects are real HTTP."""

from __future__ import annotations

import json
import ssl
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Answer:
    status: int = 204
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    delay: float = 0.0
    drop: bool = False  # close the connection without answering (a receiver that is down mid-request)


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: str

    @property
    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def type(self) -> str:
        return str(self.json["type"])


class Receiver:
    def __init__(self, tls: tuple[str, str] | None = None) -> None:
        self.requests: list[Received] = []
        self._plan: deque[Answer] = deque()
        self.default = Answer()
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length).decode()
                with receiver._lock:
                    receiver.requests.append(Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body))
                    answer = receiver._plan.popleft() if receiver._plan else receiver.default
                if answer.delay:
                    time.sleep(answer.delay)
                if answer.drop:
                    self.close_connection = True
                    return
                self.send_response(answer.status)
                for name, value in answer.headers.items():
                    self.send_header(name, value)
                self.send_header("content-length", str(len(answer.body)))
                self.end_headers()
                self.wfile.write(answer.body)

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        if tls is not None:  # https with the given certificate and key files
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*tls)
            self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/webhooks"

    def plan(self, *answers: Answer) -> None:
        with self._lock:
            self._plan.extend(answers)

    def fail_next(self, times: int, status: int = 503) -> None:
        self.plan(*[Answer(status=status)] * times)

    def go_down(self) -> None:
        self.default = Answer(drop=True)

    def come_back(self) -> None:
        self.default = Answer()

    def of_type(self, type_: str) -> list[Received]:
        return [r for r in self.requests if r.type == type_]

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def verify_at(secret: str, received: Received, now: Any = None) -> Any:
    """standardwebhooks' own verification, with the receiver's clock at `now` (simulated time; default:
    one second after the request was signed, i.e. when it arrived). The library checks the timestamp
    against its own clock, which in simulated time must follow the sender's."""
    import datetime as real

    if now is None:
        now = real.datetime.fromtimestamp(int(received.headers["webhook-timestamp"]) + 1, tz=real.UTC)

    from standardwebhooks import Webhook, webhooks

    class ReceiverClock(real.datetime):
        @classmethod
        def now(cls, tz: Any = None) -> Any:
            return now.astimezone(tz) if tz else now

    original = webhooks.datetime
    webhooks.datetime = ReceiverClock  # type: ignore[misc]
    try:
        return Webhook(secret).verify(received.body, received.headers)
    finally:
        webhooks.datetime = original  # type: ignore[misc]


class FakeClock:
    """The domain's clock, moved by the test (time travel instead of sleeping)."""

    def __init__(self, start: Any) -> None:
        self.current = start

    def now(self) -> Any:
        return self.current

    def advance(self, delta: Any) -> Any:
        self.current = self.current + delta
        return self.current
