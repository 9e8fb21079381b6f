"""Which webhook URLs are accepted at registration (the address check after DNS happens per attempt).

Deployed: https only, no credentials in the URL, no literal or obviously internal host. The local stack
sets WEBHOOK_ALLOW_LOOPBACK=true (never a default), which also allows http and loopback addresses so a
receiver on 127.0.0.1 can be used for demos and tests.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from sevbridge.domain.errors import InvalidInput
from sevbridge.domain.notify.addresses import parse_ip, refusal

MAX_URL_LENGTH = 2048
# Names that are internal by definition: cloud metadata services, and suffixes reserved for private use
# (.internal, ICANN 2024; .local, mDNS; .home.arpa, RFC 8375). Their addresses are refused per attempt
# anyway (after DNS); refusing the name at registration tells the platform at once.
METADATA_HOSTS = frozenset({"metadata.google.internal", "metadata", "instance-data", "metadata.azure.com"})
INTERNAL_SUFFIXES = (".internal", ".local", ".home.arpa")


def _internal_name(host: str) -> bool:
    return host in METADATA_HOSTS or host.endswith(INTERNAL_SUFFIXES) or host == "internal"


@dataclass(frozen=True)
class UrlPolicy:
    allow_loopback: bool = False

    @property
    def schemes(self) -> tuple[str, ...]:
        return ("https", "http") if self.allow_loopback else ("https",)


def check_url(url: str, policy: UrlPolicy, *, field: str = "url") -> str:
    """The URL as it will be used, or InvalidInput naming `field` and the problem (never echoing a
    query string, which may carry a platform's own token)."""

    def bad(problem: str) -> InvalidInput:
        return InvalidInput(f"invalid {field}: {problem}", details=[{"field": field, "problem": problem}])

    url = url.strip()
    if not url or len(url) > MAX_URL_LENGTH:
        raise bad(f"must be 1 to {MAX_URL_LENGTH} characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise bad("is not a valid URL") from None
    scheme = parts.scheme.lower()
    if scheme not in policy.schemes:
        raise bad("must use https" if scheme == "http" else f"must be an {' or '.join(policy.schemes)} URL")
    if parts.username is not None or parts.password is not None:
        raise bad("must not contain credentials (user:password@); put a token in the path or query instead")
    host = parts.hostname
    if not host:
        raise bad("has no host")
    if not host.isascii():
        raise bad("host must be ASCII; use the punycode (xn--) form of an international domain name")
    if parts.fragment:
        raise bad("must not contain a fragment (#…)")
    if port == 0:
        raise bad("port must be 1 to 65535")
    ip = parse_ip(host)
    if ip is not None:
        reason = refusal(ip, allow_loopback=policy.allow_loopback)
        if reason:
            raise bad(f"points to {reason}; webhooks go only to public addresses")
    elif not policy.allow_loopback and (host == "localhost" or host.endswith(".localhost")):
        raise bad("points to a loopback address; webhooks go only to public addresses")
    elif not policy.allow_loopback and _internal_name(host.rstrip(".").lower()):
        raise bad(
            "names an internal host (cloud metadata service or a private-use domain); webhooks go only to "
            "public addresses"
        )
    elif "." not in host and not policy.allow_loopback:
        raise bad("host must be a fully qualified domain name")
    return url
