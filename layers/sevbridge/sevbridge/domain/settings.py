"""Per-tenant settings (design C4), with documented defaults. docs/configuration.md mirrors this."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Literal, TypeVar

from pydantic import AfterValidator, ConfigDict, Field, HttpUrl, StrictBool, StrictInt

from sevbridge.common.model import Model

E = TypeVar("E", bound=StrEnum)


class ContactMatch(StrEnum):
    """How an incoming contact is matched to an existing sevDesk contact, tried in the configured order."""

    MAPPING = "mapping"  # sevbridge's own source id → sevDesk id mapping (and the contact custom field)
    SEVDESK_ID = "sevdesk_id"  # a sevDesk contact id the platform sent along
    CUSTOMER_NUMBER = "customer_number"  # exact customer number match
    EMAIL = "email"  # exact e-mail match (opt-in: e-mails are shared by households and firms)


class ImportKind(StrEnum):
    CONTACTS = "contacts"
    ARTICLES = "articles"
    ORDER_CONFIRMATIONS = "order_confirmations"
    INVOICES = "invoices"


def _unique(values: list[E]) -> list[E]:
    if len(set(values)) != len(values):
        raise ValueError("each entry may appear only once")
    return values


class TenantSettings(Model):
    """Everything a platform may tune per tenant. Unknown fields are rejected, not ignored."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # Strict: `0` or "false" for a switch is a client bug to report, not to guess (the schema says boolean).
    enabled: StrictBool = Field(default=True, description="Integration on; when off, events are refused (409).")
    auto_transfer: StrictBool = Field(
        default=True, description="Transfer an invoice automatically when it leaves draft (I2)."
    )
    contact_update_policy: Literal["update", "never"] = Field(
        default="update",
        description="`update`: bring existing sevDesk contacts up to date; `never`: only create new "
        "contacts, invoices then carry the address themselves.",
    )
    contact_matching: Annotated[list[ContactMatch], AfterValidator(_unique)] = Field(
        default_factory=lambda: [ContactMatch.MAPPING, ContactMatch.SEVDESK_ID, ContactMatch.CUSTOMER_NUMBER],
        min_length=1,
        description="Matching order for contacts (P1). Add `email` to opt in to e-mail matching.",
    )
    unit_mapping: dict[Annotated[str, Field(min_length=1, max_length=64)], str] = Field(
        default_factory=dict,
        max_length=200,
        description='Platform unit name → sevDesk unit name, alias or UN/ECE code (e.g. {"h": "Std"}). '
        "Names not listed are matched against sevDesk's units directly.",
    )
    import_kinds: Annotated[list[ImportKind], AfterValidator(_unique)] = Field(
        default_factory=lambda: [ImportKind.CONTACTS, ImportKind.ARTICLES, ImportKind.INVOICES],
        description="Resource kinds imported on the schedule (every `import_interval_minutes`). Order "
        "confirmations are imported on demand (M3) unless listed here; [] = on demand only.",
    )
    import_interval_minutes: StrictInt = Field(
        default=15,
        ge=5,
        le=1440,
        description="Minutes between scheduled imports (M5); intervals shorter than the deployment's "
        "import schedule (15 minutes by default) run at the schedule's pace.",
    )
    import_reconcile_hours: StrictInt = Field(
        default=24,
        ge=0,
        le=168,
        description="Hours between full reconciliations, which read every record of a kind and report "
        "those deleted in sevDesk; 0 = on every scheduled import (small accounts).",
    )
    webhook_url: HttpUrl | None = Field(
        default=None,
        description="This tenant's notifications (every event type) go to this URL instead of the platform's "
        "webhook endpoints, signed with the tenant's own secret (docs/webhooks.md).",
    )
    webhook_unchanged_imports: StrictBool = Field(
        default=False,
        description="Also send `import.completed` when an import found nothing new (default: only with changes).",
    )
    check_account_id: str | None = Field(
        default=None,
        max_length=32,
        description="sevDesk CheckAccount used to book payments (I5); default: the first offline account.",
    )
    sevdesk_user_id: str | None = Field(
        default=None,
        max_length=32,
        description="sevDesk user set as contact person on invoices; default: the token's own user.",
    )
