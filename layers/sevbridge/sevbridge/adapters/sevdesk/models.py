"""Typed views of the few sevDesk objects the client itself reads."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import ConfigDict, field_validator

from sevbridge.adapters.sevdesk.normalize import to_id, to_str
from sevbridge.common.model import Model


class SevUser(Model):
    """A row of `GET /SevUser`, flattened; ids are strings whatever sevDesk sent."""

    model_config = ConfigDict(frozen=True)

    id: str
    username: str | None = None
    fullname: str | None = None
    email: str | None = None
    client_id: str | None = None
    client_name: str | None = None

    @field_validator("id", "client_id", mode="before")
    @classmethod
    def _id(cls, value: object) -> str | None:
        return to_id(value)

    @field_validator("username", "fullname", "email", "client_name", mode="before")
    @classmethod
    def _text(cls, value: object) -> str | None:
        return to_str(value)

    @classmethod
    def from_api(cls, row: Mapping[str, Any]) -> SevUser:
        client = row.get("sevClient")
        client = client if isinstance(client, Mapping) else {}
        fullname = to_str(row.get("fullname"))
        if fullname is None:
            parts = (to_str(row.get("firstName")), to_str(row.get("lastName")))
            fullname = " ".join(p for p in parts if p) or None
        return cls(
            id=row.get("id"),  # "123" or 123; the validator makes it a string
            username=row.get("username"),
            fullname=fullname,
            email=row.get("email"),
            client_id=client.get("id"),
            client_name=client.get("name"),
        )
