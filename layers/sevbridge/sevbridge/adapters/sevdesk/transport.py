"""The shared httpx.Client: one connection pool per process, reused across warm Lambda invocations."""

from __future__ import annotations

import logging
import threading

import httpx

# httpx logs every request's full URL, query included, at INFO; filter values can be personal data
# (e-mail, customer number). The client logs its own line without them, so keep httpx quiet unless
# an operator configured its loggers explicitly.
for _name in ("httpx", "httpcore"):
    if logging.getLogger(_name).level == logging.NOTSET:
        logging.getLogger(_name).setLevel(logging.WARNING)

# Fail fast while nothing has been sent (always safe to retry); reads get the full budget because
# saveInvoice and PDF renders can be slow.
MAX_CONNECT_SECONDS = 5.0

_lock = threading.Lock()
_clients: dict[float, httpx.Client] = {}


def make_timeout(timeout: float) -> httpx.Timeout:
    quick = min(timeout, MAX_CONNECT_SECONDS)
    return httpx.Timeout(timeout, connect=quick, pool=quick)


def default_http_client(timeout: float) -> httpx.Client:
    """The process-wide client for this timeout, created on first use."""
    with _lock:
        client = _clients.get(timeout)
        if client is None or client.is_closed:
            client = httpx.Client(
                timeout=make_timeout(timeout),
                limits=httpx.Limits(max_connections=20, max_keepalive_connections=10, keepalive_expiry=30.0),
                # A redirect would carry the token to wherever it points; treat it as an error instead.
                follow_redirects=False,
            )
            _clients[timeout] = client
        return client


def close_default_http_clients() -> None:
    """Close and forget the shared clients (tests, local stack shutdown)."""
    with _lock:
        for client in _clients.values():
            client.close()
        _clients.clear()
