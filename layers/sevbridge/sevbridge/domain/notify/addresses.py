"""Which IP addresses a webhook may be delivered to (SSRF guard).

Only public unicast addresses. Checked on every attempt *after* DNS resolution, on the address the
connection is then pinned to (adapters/webhook_http.py), so a name that resolves to an internal address —
or changes its answer between check and use — never reaches one. IPv6 forms that embed an IPv4 address
(mapped, compatible, NAT64, 6to4) are judged by the embedded address; Teredo is refused outright.
"""

from __future__ import annotations

import ipaddress
import re
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network

IPAddress = IPv4Address | IPv6Address

_V4: tuple[tuple[IPv4Network, str], ...] = tuple(
    (IPv4Network(net), reason)
    for net, reason in (
        ("0.0.0.0/8", "a 'this network' address"),
        ("10.0.0.0/8", "a private address (RFC 1918)"),
        ("100.64.0.0/10", "a carrier-grade NAT address (RFC 6598)"),
        ("127.0.0.0/8", "a loopback address"),
        ("169.254.0.0/16", "a link-local address (includes cloud metadata services)"),
        ("172.16.0.0/12", "a private address (RFC 1918)"),
        ("192.0.0.0/24", "an IETF protocol assignment"),
        ("192.0.2.0/24", "a documentation address"),
        ("192.88.99.0/24", "a 6to4 relay anycast address"),
        ("192.168.0.0/16", "a private address (RFC 1918)"),
        ("198.18.0.0/15", "a benchmarking address"),
        ("198.51.100.0/24", "a documentation address"),
        ("203.0.113.0/24", "a documentation address"),
        ("224.0.0.0/4", "a multicast address"),
        ("240.0.0.0/4", "a reserved address"),
    )
)
_V6: tuple[tuple[IPv6Network, str], ...] = tuple(
    (IPv6Network(net), reason)
    for net, reason in (
        ("::/128", "an unspecified address"),
        ("::1/128", "a loopback address"),
        ("100::/64", "a discard-only address"),
        ("2001::/32", "a Teredo tunnel address"),
        ("2001:db8::/32", "a documentation address"),
        ("fc00::/7", "a unique local address (includes cloud metadata services)"),
        ("fe80::/10", "a link-local address"),
        ("fec0::/10", "a site-local address"),
        ("ff00::/8", "a multicast address"),
    )
)
_NAT64 = (IPv6Network("64:ff9b::/96"), IPv6Network("64:ff9b:1::/48"))
_SIX_TO_FOUR = IPv6Network("2002::/16")
_COMPATIBLE = IPv6Network("::/96")


# 127.1, 0x7f.0.0.1, 0177.0.0.1, 2130706433: the numeric host forms inet_aton (and so many resolvers and
# HTTP clients) accept besides dotted quads. Each part decimal, 0x-hex or 0-octal; 1 to 4 parts.
_LEGACY_IPV4 = re.compile(r"(?:0x[0-9a-f]*|[0-9]+)(?:\.(?:0x[0-9a-f]*|[0-9]+)){0,3}\.?", re.IGNORECASE)


def parse_ip(text: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(text.strip("[]").split("%", 1)[0])
    except ValueError:
        return legacy_ipv4(text)


def legacy_ipv4(text: str) -> IPv4Address | None:
    """The address a numeric host like 127.1 stands for under inet_aton rules (the last part fills the
    remaining bytes), or None if `text` is no such form or out of range."""
    if not _LEGACY_IPV4.fullmatch(text):
        return None
    try:
        parts = [
            int(p, 16) if p[:2].lower() == "0x" else int(p, 8) if len(p) > 1 and p[0] == "0" else int(p)
            for p in text.rstrip(".").split(".")
        ]
    except ValueError:
        return None
    *head, last = parts
    if any(p > 255 for p in head) or last >= 256 ** (4 - len(head)):
        return None
    value = last
    for index, part in enumerate(head):
        value += part << (8 * (3 - index))
    return IPv4Address(value)


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
    """Why webhooks must not go to `ip` ("a loopback address", with its article), or None if it is public."""
    if allow_loopback and is_loopback(ip):
        return None
    if isinstance(ip, IPv6Address):
        inner = embedded_ipv4(ip)
        if inner is not None:
            reason = refusal(inner, allow_loopback=allow_loopback)
            return f"an IPv6 form of {reason}" if reason else None
        for net6, reason in _V6:
            if ip in net6:
                return reason
    else:
        for net4, reason in _V4:
            if ip in net4:
                return reason
    if not ip.is_global:
        return "an address that is not public"
    return None
