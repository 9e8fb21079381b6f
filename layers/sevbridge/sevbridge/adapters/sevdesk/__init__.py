"""sevDesk adapter: the HTTP client, its error brake, the token probe and value normalisers."""

from sevbridge.adapters.sevdesk.brake import ErrorBrake, default_brake
from sevbridge.adapters.sevdesk.client import SevdeskClient
from sevbridge.adapters.sevdesk.models import SevUser
from sevbridge.adapters.sevdesk.probe import HttpSevdeskProbe
from sevbridge.adapters.sevdesk.transport import default_http_client

__all__ = [
    "ErrorBrake",
    "HttpSevdeskProbe",
    "SevUser",
    "SevdeskClient",
    "default_brake",
    "default_http_client",
]
