"""Sends one webhook: Standard Webhooks signatures, and an SSRF guard that holds after DNS.

Per attempt: resolve the host once, refuse unless *every* address it resolves to is public (a name that
mixes public and internal answers is a rebinding attempt), then connect to the checked address itself —
the URL is rewritten to the IP, `Host` and TLS SNI/certificate checks use the original name — so no second
lookup can swap the target (no TOCTOU). Redirects are not followed, proxies from the environment are
ignored, timeouts are a few seconds and at most EXCERPT_BYTES of the answer are read.
"""

from __future__ import annotations

import email.utils
import socket
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
from standardwebhooks import Webhook

from sevbridge import __version__
from sevbridge.domain.notify.addresses import IPAddress, parse_ip, refusal
from sevbridge.domain.notify.deliveries import EXCERPT_BYTES, SendResult
from sevbridge.domain.notify.ports import OutgoingWebhook

Resolver = Callable[[str, int], list[str]]
USER_AGENT = f"sevbridge-webhooks/{__version__}"


def system_resolver(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


class _Refused(Exception):
    pass


def signature_header(webhook: OutgoingWebhook) -> str:
    """`v1,<base64 HMAC-SHA256 of id.timestamp.body>` per secret, space-separated (rotation: two)."""
    return " ".join(
        Webhook(secret).sign(webhook.message_id, webhook.timestamp, webhook.body) for secret in webhook.secrets
    )


class HttpWebhookSender:
    def __init__(
        self,
        *,
        allow_loopback: bool = False,
        timeout: float = 5.0,
        resolver: Resolver = system_resolver,
        http: httpx.Client | None = None,
    ) -> None:
        self._allow_loopback = allow_loopback
        self._timeout = timeout
        self._resolver = resolver
        self._http = http or httpx.Client(
            timeout=httpx.Timeout(timeout, connect=min(timeout, 3.0), pool=min(timeout, 3.0)),
            follow_redirects=False,
            trust_env=False,  # an HTTP(S)_PROXY would connect elsewhere than the address we checked
            limits=httpx.Limits(max_connections=20, max_keepalive_connections=10, keepalive_expiry=30.0),
        )

    def send(self, webhook: OutgoingWebhook) -> SendResult:
        started = time.monotonic()

        def took() -> int:
            return int((time.monotonic() - started) * 1000)

        try:
            pinned_url, host_header, sni = self._pin(webhook.url)
        except _Refused as exc:
            return SendResult(latency_ms=took(), error=f"not sent: {exc}", refused=True)
        except (OSError, UnicodeError):
            return SendResult(latency_ms=took(), error="DNS lookup of the endpoint's host failed")
        headers = {
            "host": host_header,
            "content-type": "application/json",
            "accept-encoding": "identity",  # the excerpt is read raw: no decompression of what a receiver sends
            "user-agent": USER_AGENT,
            "webhook-id": webhook.message_id,
            "webhook-timestamp": str(int(webhook.timestamp.timestamp())),
            "webhook-signature": signature_header(webhook),
        }
        extensions: dict[str, Any] = {"sni_hostname": sni} if sni else {}
        try:
            with self._http.stream(
                "POST", pinned_url, content=webhook.body.encode(), headers=headers, extensions=extensions
            ) as response:
                excerpt = self._excerpt(response, started)
                status = response.status_code
                retry_after = _retry_after(response.headers.get("retry-after"))
        except httpx.TimeoutException as exc:
            return SendResult(latency_ms=took(), error=f"timed out ({_timeout_kind(exc)}, limit {self._timeout:g} s)")
        except httpx.HTTPError as exc:
            # Type only: httpx messages can carry the URL, and a platform's URL may hold its own token.
            return SendResult(latency_ms=took(), error=f"network error ({type(exc).__name__})")
        error = None
        if 300 <= status < 400:
            error = f"HTTP {status}: redirects are not followed; register the final URL"
        elif not 200 <= status < 300:
            error = f"HTTP {status}"
        return SendResult(
            latency_ms=took(), status_code=status, error=error, retry_after_seconds=retry_after, excerpt=excerpt
        )

    def _pin(self, url: str) -> tuple[str, str, str | None]:
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        host = parts.hostname or ""
        if scheme not in ("https", "http") or (scheme == "http" and not self._allow_loopback):
            raise _Refused("only https URLs are allowed")
        port = parts.port or (443 if scheme == "https" else 80)
        literal = parse_ip(host)
        candidates = [literal] if literal is not None else [parse_ip(a) for a in self._resolver(host, port)]
        addresses: list[IPAddress] = [a for a in candidates if a is not None]
        if not addresses:
            raise OSError("no address")
        for address in addresses:
            reason = refusal(address, allow_loopback=self._allow_loopback)
            if reason:
                raise _Refused(f"the endpoint's host resolves to {reason}; webhooks go only to public addresses")
        target = addresses[0]
        netloc = f"[{target}]:{port}" if target.version == 6 else f"{target}:{port}"
        pinned = urlunsplit((scheme, netloc, parts.path or "/", parts.query, ""))
        default_port = parts.port is None or parts.port == (443 if scheme == "https" else 80)
        host_header = host if default_port else f"{host}:{port}"
        if literal is not None and literal.version == 6:
            host_header = f"[{host}]" if default_port else f"[{host}]:{port}"
        sni = host if scheme == "https" and literal is None else None
        return pinned, host_header, sni

    def _excerpt(self, response: httpx.Response, started: float) -> str | None:
        body = b""
        deadline = started + 3 * self._timeout  # a receiver dribbling bytes cannot hold the worker
        for chunk in response.iter_raw():
            body += chunk
            if len(body) >= EXCERPT_BYTES or time.monotonic() > deadline:
                break
        return body[:EXCERPT_BYTES].decode("utf-8", errors="replace") or None

    def close(self) -> None:
        self._http.close()


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return max(0.0, (moment - datetime.now(UTC)).total_seconds())


def _timeout_kind(exc: httpx.TimeoutException) -> str:
    return {
        httpx.ConnectTimeout: "connect",
        httpx.ReadTimeout: "read",
        httpx.WriteTimeout: "write",
        httpx.PoolTimeout: "pool",
    }.get(type(exc), "timeout")
