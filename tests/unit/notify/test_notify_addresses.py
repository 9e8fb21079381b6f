"""SSRF guard: the address table. Every internal, reserved or translated form is refused; public
addresses pass; loopback passes only when the local stack's explicit setting allows it."""

from __future__ import annotations

import ipaddress

import pytest

from sevbridge.domain.notify.addresses import parse_ip, refusal

pytestmark = pytest.mark.unit

REFUSED = [
    ("127.0.0.1", "loopback"),
    ("127.255.255.254", "loopback"),
    ("0.0.0.0", "'this network'"),
    ("10.1.2.3", "private"),
    ("172.16.0.1", "private"),
    ("172.31.255.255", "private"),
    ("192.168.1.1", "private"),
    ("169.254.169.254", "link-local"),  # AWS/GCP/Azure instance metadata
    ("169.254.170.2", "link-local"),  # ECS task metadata
    ("100.64.0.1", "carrier-grade NAT"),
    ("100.127.255.254", "carrier-grade NAT"),
    ("192.0.0.170", "IETF"),
    ("192.0.2.10", "documentation"),
    ("198.18.0.1", "benchmarking"),
    ("203.0.113.9", "documentation"),
    ("224.0.0.251", "multicast"),
    ("240.0.0.1", "reserved"),
    ("255.255.255.255", "reserved"),
    ("::", "unspecified"),
    ("::1", "loopback"),
    ("fe80::1", "link-local"),
    ("fc00::1", "unique local"),
    ("fd00:ec2::254", "unique local"),  # AWS IMDS over IPv6
    ("fec0::1", "site-local"),
    ("ff02::1", "multicast"),
    ("2001:db8::1", "documentation"),
    ("2001:0:4136:e378:8000:63bf:3fff:fdd2", "Teredo"),
    ("100::1", "discard"),
    ("::ffff:127.0.0.1", "IPv6 form of a loopback"),  # IPv4-mapped
    ("::ffff:169.254.169.254", "IPv6 form of a link-local"),
    ("::ffff:10.0.0.1", "IPv6 form of a private"),
    ("::127.0.0.1", "IPv6 form of a loopback"),  # IPv4-compatible (deprecated)
    ("64:ff9b::a9fe:a9fe", "IPv6 form of a link-local"),  # NAT64 of 169.254.169.254
    ("64:ff9b::a00:1", "IPv6 form of a private"),  # NAT64 of 10.0.0.1
    ("2002:7f00:1::1", "IPv6 form of a loopback"),  # 6to4 of 127.0.0.1
    ("2002:c0a8:101::1", "IPv6 form of a private"),  # 6to4 of 192.168.1.1
]
PUBLIC = ["8.8.8.8", "1.1.1.1", "93.184.216.34", "2606:4700:4700::1111", "::ffff:8.8.8.8", "64:ff9b::808:808"]


@pytest.mark.parametrize(("address", "reason"), REFUSED)
def test_internal_addresses_are_refused(address: str, reason: str) -> None:
    ip = ipaddress.ip_address(address)
    found = refusal(ip)
    assert found is not None, address
    assert reason in found, (address, found)


@pytest.mark.parametrize("address", PUBLIC)
def test_public_addresses_pass(address: str) -> None:
    assert refusal(ipaddress.ip_address(address)) is None


@pytest.mark.parametrize("address", ["127.0.0.1", "127.0.0.2", "::1", "::ffff:127.0.0.1"])
def test_loopback_passes_only_when_allowed(address: str) -> None:
    ip = ipaddress.ip_address(address)
    assert refusal(ip) is not None
    assert refusal(ip, allow_loopback=True) is None


@pytest.mark.parametrize("address", ["10.0.0.1", "169.254.169.254", "192.168.0.1", "fd00:ec2::254"])
def test_the_local_setting_allows_loopback_and_nothing_else(address: str) -> None:
    assert refusal(ipaddress.ip_address(address), allow_loopback=True) is not None


def test_parse_ip_reads_literals_and_rejects_names() -> None:
    assert parse_ip("[::1]") == ipaddress.ip_address("::1")
    assert parse_ip("fe80::1%eth0") == ipaddress.ip_address("fe80::1")
    assert parse_ip("example.com") is None
