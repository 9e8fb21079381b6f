"""Which IP addresses a webhook may be delivered to (SSRF guard).

Only public unicast addresses. Checked on every attempt *after* DNS resolution, on the address the
connection is then pinned to (adapters/webhook_http.py), so a name that resolves to an internal address —
or changes its answer between check and use — never reaches one. IPv6 forms that embed an IPv4 address
(mapped, compatible, NAT64, 6to4) are judged by the embedded address; Teredo is refused outright.
"""

from __future__ import annotations

import ipaddress
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network

IPAddress = IPv4Address | IPv6Address

_V4: tuple[tuple[IPv4Network, str], ...] = tuple(
    (IPv4Network(net), reason)
    for net, reason in (
        ("0.0.0.0/8", "'this network' address"),
        ("10.0.0.0/8", "private address (RFC 1918)"),
        ("100.64.0.0/10", "carrier-grade NAT address (RFC 6598)"),
        ("127.0.0.0/8", "loopback address"),
        ("169.254.0.0/16", "link-local address (includes cloud metadata services)"),
        ("172.16.0.0/12", "private address (RFC 1918)"),
        ("192.0.0.0/24", "IETF protocol assignment"),
        ("192.0.2.0/24", "documentation address"),
        ("192.88.99.0/24", "6to4 relay anycast address"),
        ("192.168.0.0/16", "private address (RFC 1918)"),
        ("198.18.0.0/15", "benchmarking address"),
        ("198.51.100.0/24", "documentation address"),
        ("203.0.113.0/24", "documentation address"),
        ("224.0.0.0/4", "multicast address"),
        ("240.0.0.0/4", "reserved address"),
    )
)
_V6: tuple[tuple[IPv6Network, str], ...] = tuple(
    (IPv6Network(net), reason)
    for net, reason in (
        ("::/128", "unspecified address"),
        ("::1/128", "loopback address"),
        ("100::/64", "discard-only address"),
        ("2001::/32", "Teredo tunnel address"),
        ("2001:db8::/32", "documentation address"),
        ("fc00::/7", "unique local address (includes cloud metadata services)"),
        ("fe80::/10", "link-local address"),
        ("fec0::/10", "site-local address"),
        ("ff00::/8", "multicast address"),
    )
)
_NAT64 = (IPv6Network("64:ff9b::/96"), IPv6Network("64:ff9b:1::/48"))
_SIX_TO_FOUR = IPv6Network("2002::/16")
_COMPATIBLE = IPv6Network("::/96")


def parse_ip(text: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(text.strip("[]").split("%", 1)[0])
    except ValueError:
        return None


def embedded_ipv4(ip: IPv6Address) -> IPv4Address | None:
    """The IPv4 address an IPv6 address stands for, if it is one of the translation forms."""
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    packed = int(ip)
    if any(ip in net for net in _NAT64):
        return IPv4Address(packed & 0xFFFFFFFF)
    if ip in _SIX_TO_FOUR:
        return IPv4Address((packed >> 80) & 0xFFFFFFFF)
    if ip in _COMPATIBLE and packed > 1:
        return IPv4Address(packed & 0xFFFFFFFF)
    return None


def is_loopback(ip: IPAddress) -> bool:
    if isinstance(ip, IPv6Address):
        inner = embedded_ipv4(ip)
        if inner is not None:
            return inner.is_loopback
    return ip.is_loopback


def refusal(ip: IPAddress, *, allow_loopback: bool = False) -> str | None:
    """Why webhooks must not go to `ip`, or None if it is a public address."""
    if allow_loopback and is_loopback(ip):
        return None
    if isinstance(ip, IPv6Address):
        inner = embedded_ipv4(ip)
        if inner is not None:
            reason = refusal(inner, allow_loopback=allow_loopback)
            return f"IPv6 form of a {reason}" if reason else None
        for net6, reason in _V6:
            if ip in net6:
                return reason
    else:
        for net4, reason in _V4:
            if ip in net4:
                return reason
    if not ip.is_global:
        return "not a public address"
    return None
