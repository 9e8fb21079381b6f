"""The sender adapter against real sockets: SSRF refusals after DNS (with a resolver we control), the
connection pinned to the checked address, no redirects, timeouts, capped answers, Retry-After."""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from standardwebhooks import Webhook

from sevbridge.adapters.webhook_http import HttpWebhookSender
from sevbridge.domain.notify.deliveries import EXCERPT_BYTES
from sevbridge.domain.notify.endpoints import new_signing_secret
from sevbridge.domain.notify.ports import OutgoingWebhook
from tests.support.receiver import Answer, Receiver

pytestmark = pytest.mark.functional
SECRET = new_signing_secret()


class Resolver:
    """DNS we control: records each lookup; `answers` per host, optionally changing between lookups."""

    def __init__(self, answers: dict[str, list[list[str]]]) -> None:
        self.answers = answers
        self.lookups: list[str] = []

    def __call__(self, host: str, port: int) -> list[str]:
        self.lookups.append(host)
        sequence = self.answers[host]
        return sequence.pop(0) if len(sequence) > 1 else sequence[0]


def webhook(url: str) -> OutgoingWebhook:
    return OutgoingWebhook(
        url=url,
        body='{"id":"msg_1","type":"webhook.test"}',
        message_id="msg_1",
        timestamp=datetime.now(UTC),
        secrets=[SECRET],
    )


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


@pytest.mark.parametrize(
    "addresses",
    [
        ["10.0.0.5"],
        ["169.254.169.254"],
        ["127.0.0.1"],
        ["::1"],
        ["fd00:ec2::254"],
        ["::ffff:192.168.0.1"],
        ["100.64.1.1"],
        ["93.184.216.34", "10.0.0.5"],  # one internal answer among public ones: refused
    ],
)
def test_a_name_resolving_to_an_internal_address_is_refused_before_connecting(addresses: list[str]) -> None:
    resolver = Resolver({"hooks.example.com": [addresses]})
    sender = HttpWebhookSender(resolver=resolver, timeout=1)
    result = sender.send(webhook("https://hooks.example.com/in"))
    assert result.refused and result.outcome == "failed" and result.status_code is None
    assert "public addresses" in (result.error or "")


def test_http_is_refused_in_deployed_mode() -> None:
    sender = HttpWebhookSender(resolver=Resolver({"hooks.example.com": [["93.184.216.34"]]}), timeout=1)
    assert sender.send(webhook("http://hooks.example.com/in")).refused


def test_the_connection_goes_to_the_checked_address_with_the_original_host(receiver: Receiver) -> None:
    # DNS rebinding: the first answer is the (allowed) receiver, a second lookup would say metadata service.
    resolver = Resolver({"hooks.example.test": [["127.0.0.1"], ["169.254.169.254"]]})
    sender = HttpWebhookSender(resolver=resolver, allow_loopback=True, timeout=1)
    result = sender.send(webhook(f"http://hooks.example.test:{receiver.port}/in?token=abc"))
    assert result.outcome == "succeeded", result
    assert resolver.lookups == ["hooks.example.test"]  # resolved once, used as checked
    (got,) = receiver.requests
    assert got.headers["host"] == f"hooks.example.test:{receiver.port}"
    assert got.path == "/in?token=abc"
    assert Webhook(SECRET).verify(got.body, got.headers)


def test_redirects_are_not_followed(receiver: Receiver) -> None:
    target = Receiver()
    try:
        receiver.plan(Answer(status=302, headers={"location": target.url}))
        sender = HttpWebhookSender(allow_loopback=True, timeout=1)
        result = sender.send(webhook(receiver.url))
        assert result.status_code == 302 and result.outcome == "failed"
        assert "redirects are not followed" in (result.error or "")
        assert target.requests == []
    finally:
        target.close()


def test_a_slow_receiver_times_out_and_is_retried(receiver: Receiver) -> None:
    receiver.plan(Answer(delay=1.5))
    result = HttpWebhookSender(allow_loopback=True, timeout=0.5).send(webhook(receiver.url))
    assert result.status_code is None and result.outcome == "retry"
    assert "timed out (read" in (result.error or "")


def test_a_closed_port_is_a_network_error_that_is_retried() -> None:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    result = HttpWebhookSender(allow_loopback=True, timeout=1).send(webhook(f"http://127.0.0.1:{port}/in"))
    assert result.outcome == "retry" and "network error" in (result.error or "")


def test_only_a_small_excerpt_of_the_answer_is_read(receiver: Receiver) -> None:
    receiver.plan(Answer(status=500, body=b"x" * 2_000_000))
    result = HttpWebhookSender(allow_loopback=True, timeout=2).send(webhook(receiver.url))
    assert result.status_code == 500 and result.outcome == "retry"
    assert result.excerpt is not None and len(result.excerpt) == EXCERPT_BYTES


@pytest.mark.parametrize(
    ("status", "outcome"),
    [
        (200, "succeeded"),
        (204, "succeeded"),
        (400, "failed"),
        (410, "failed"),
        (408, "retry"),
        (429, "retry"),
        (502, "retry"),
    ],
)
def test_status_codes_decide_retry_or_not(receiver: Receiver, status: int, outcome: str) -> None:
    receiver.plan(Answer(status=status, headers={"retry-after": "120"} if status == 429 else {}))
    result = HttpWebhookSender(allow_loopback=True, timeout=1).send(webhook(receiver.url))
    assert result.outcome == outcome
    if status == 429:
        assert result.retry_after_seconds == 120


def _tls_receiver(tmp_path: Any, hostname: str) -> tuple[Receiver, ssl.SSLContext]:
    """A receiver serving https with a certificate for `hostname` only, and a client context trusting it."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hostname)])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(hostname)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    receiver = Receiver(tls=(str(cert_file), str(key_file)))
    client_context = ssl.create_default_context(cafile=str(cert_file))
    return receiver, client_context


def test_https_to_the_pinned_address_verifies_the_certificate_for_the_original_name(tmp_path: Any) -> None:
    receiver, trust = _tls_receiver(tmp_path, "hooks.example.test")
    try:
        resolver = Resolver({"hooks.example.test": [["127.0.0.1"]], "evil.example.test": [["127.0.0.1"]]})
        client = httpx.Client(verify=trust, follow_redirects=False, trust_env=False, timeout=2)
        sender = HttpWebhookSender(resolver=resolver, allow_loopback=True, timeout=2, http=client)
        ok = sender.send(webhook(f"https://hooks.example.test:{receiver.port}/in"))
        assert ok.outcome == "succeeded", ok  # connected to 127.0.0.1, certificate checked for the name
        (got,) = receiver.requests
        assert got.headers["host"] == f"hooks.example.test:{receiver.port}"
        # Another name pointing at the same address does not pass as hooks.example.test.
        wrong = sender.send(webhook(f"https://evil.example.test:{receiver.port}/in"))
        assert wrong.outcome == "retry" and "network error" in (wrong.error or "")
        assert len(receiver.requests) == 1
    finally:
        receiver.close()
