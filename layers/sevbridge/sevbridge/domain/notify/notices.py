"""What a state change hands to its store so the notification is written in the same DynamoDB
transaction: the deliveries, and the guards that enforce "at most once per window" atomically."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sevbridge.domain.notify.deliveries import Delivery


@dataclass(frozen=True)
class Guard:
    """At most one notice per `window` for (tenant, key): the store writes the guard only if the last one
    is older than the window, in the same transaction; if another writer won, the notice is dropped and
    the state change is written without it."""

    platform_id: str
    tenant_id: str
    key: str
    window: timedelta
    at: datetime


@dataclass(frozen=True)
class Notices:
    deliveries: tuple[Delivery, ...] = ()
    guards: tuple[Guard, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.deliveries)

    def __add__(self, other: Notices) -> Notices:
        return Notices(self.deliveries + other.deliveries, self.guards + other.guards)


NO_NOTICES = Notices()
