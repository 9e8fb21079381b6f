"""The push domain's SevdeskPort on top of SevdeskClient: paths, filters and response parsing.

Reads are normalised here (ids and numbers arrive as strings, booleans as "0"/"1", objects as a
list or a single object); filters are sent as sevDesk understands them but the domain re-checks
every value, because several of sevDesk's text filters are LIKE matches or silently ignored.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any

from sevbridge.adapters.dynamo_mappings import DynamoMappingStore
from sevbridge.adapters.sevdesk.client import SevdeskClient
from sevbridge.adapters.sevdesk.normalize import to_bool, to_decimal, to_id, to_int, to_str
from sevbridge.config import get_settings
from sevbridge.domain.push.ports import (
    MappingStore,
    SdAddress,
    SdCategory,
    SdCheckAccount,
    SdCommWay,
    SdContact,
    SdCountry,
    SdCustomField,
    SdInvoice,
    SdUnit,
)
from sevbridge.domain.push.service import PushService
from sevbridge.domain.settings import TenantSettings
from sevbridge.domain.sevdesk_errors import SevdeskServerError

CONTACT_FIELDS = ("name", "surename", "familyname", "titel", "vatNumber", "description", "customerNumber")
BIG_PAGE = 1000  # reference lists are small but longer than sevDesk's default page of 100


def _ref(object_id: str, object_name: str) -> dict[str, str]:
    return {"id": object_id, "objectName": object_name}


def _owner(object_name: str, object_id: str) -> dict[str, str]:
    """`contact[id]=…&contact[objectName]=Contact`-style filter on a parent object."""
    key = object_name[0].lower() + object_name[1:]
    return {f"{key}[id]": object_id, f"{key}[objectName]": object_name}


def _ref_id(value: Any) -> str | None:
    return to_id(value.get("id")) if isinstance(value, Mapping) else to_id(value)


def _rows(objects: Any) -> list[dict[str, Any]]:
    if isinstance(objects, list):
        return [row for row in objects if isinstance(row, dict)]
    return [objects] if isinstance(objects, dict) else []


def _single(objects: Any, what: str) -> dict[str, Any]:
    rows = _rows(objects)
    if not rows:
        raise SevdeskServerError(f"unexpected sevDesk answer: no {what} in the response")
    return rows[0]


def _required_id(row: Mapping[str, Any], what: str) -> str:
    object_id = to_id(row.get("id"))
    if object_id is None:
        raise SevdeskServerError(f"unexpected sevDesk answer: {what} without an id")
    return object_id


# --- parsers --------------------------------------------------------------------------------


def parse_contact(row: Mapping[str, Any]) -> SdContact:
    return SdContact(id=_required_id(row, "contact"), values={name: to_str(row.get(name)) for name in CONTACT_FIELDS})


def parse_invoice(row: Mapping[str, Any]) -> SdInvoice:
    return SdInvoice(
        id=_required_id(row, "invoice"),
        number=to_str(row.get("invoiceNumber")),
        status=to_int(row.get("status")) or 0,
        marker=to_str(row.get("customerInternalNote")),
        contact_id=_ref_id(row.get("contact")),
        sum_gross=to_decimal(row.get("sumGross")) or Decimal(0),
        paid_amount=to_decimal(row.get("paidAmount")) or Decimal(0),
    )


def parse_address(row: Mapping[str, Any]) -> SdAddress:
    return SdAddress(
        id=_required_id(row, "address"),
        category_id=_ref_id(row.get("category")),
        street=to_str(row.get("street")),
        zip=to_str(row.get("zip")),
        city=to_str(row.get("city")),
        country_id=_ref_id(row.get("country")),
        name=to_str(row.get("name")),
    )


def parse_comm_way(row: Mapping[str, Any]) -> SdCommWay:
    return SdCommWay(
        id=_required_id(row, "communication way"),
        contact_id=_ref_id(row.get("contact")),
        type=(to_str(row.get("type")) or "").upper(),
        value=to_str(row.get("value")) or "",
        main=bool(to_bool(row.get("main"))),
    )


def parse_custom_field(row: Mapping[str, Any]) -> SdCustomField:
    return SdCustomField(
        id=_required_id(row, "custom field"),
        contact_id=_ref_id(row.get("contact")),
        setting_id=_ref_id(row.get("contactCustomFieldSetting")),
        value=to_str(row.get("value")),
    )


def booking_timestamp(day: date) -> int:
    """bookAmount's `date` is Unix seconds (spec); noon UTC is the same calendar day in Berlin."""
    return int(datetime.combine(day, time(12, 0), tzinfo=UTC).timestamp())


class SevdeskGateway:
    """Implements sevbridge.domain.push.ports.SevdeskPort."""

    def __init__(self, client: SevdeskClient) -> None:
        self._client = client

    def _all(self, path: str, params: Mapping[str, object] | None = None, page: int = 100) -> Iterable[dict[str, Any]]:
        return self._client.iter_pages(path, params, page_size=page)

    # reference data ------------------------------------------------------------------------
    def list_units(self) -> list[SdUnit]:
        return [
            SdUnit(
                id=_required_id(row, "unit"),
                name=to_str(row.get("name")) or "",
                translation_code=to_str(row.get("translationCode")),
                unece_code=to_str(row.get("uneceTradeUnitCode")),
            )
            for row in self._all("/Unity", page=BIG_PAGE)
        ]

    def list_categories(self, object_type: str) -> list[SdCategory]:
        rows = self._all("/Category", {"objectType": object_type}, page=BIG_PAGE)
        return [
            SdCategory(
                id=_required_id(row, "category"),
                name=to_str(row.get("name")),
                translation_code=to_str(row.get("translationCode")),
            )
            for row in rows
            if to_str(row.get("objectType")) in (None, object_type)  # in case the filter is ignored
        ]

    def find_countries(self, code: str) -> list[SdCountry]:
        rows = _rows(self._client.get("/StaticCountry", {"code": code, "limit": BIG_PAGE}))
        return [
            SdCountry(
                id=_required_id(row, "country"),
                code=to_str(row.get("code")) or "",
                name_en=to_str(row.get("nameEn")),
            )
            for row in rows
        ]

    def current_user_id(self) -> str:
        return self._client.current_user().id

    def list_check_accounts(self) -> list[SdCheckAccount]:
        return [
            SdCheckAccount(
                id=_required_id(row, "check account"),
                type=to_str(row.get("type")),
                status=to_int(row.get("status")),
            )
            for row in self._all("/CheckAccount", page=BIG_PAGE)
        ]

    # contacts ------------------------------------------------------------------------------
    def get_contact(self, contact_id: str) -> SdContact | None:
        row = self._client.get_one(f"/Contact/{contact_id}")
        return None if row is None else parse_contact(row)

    def find_contacts_by_customer_number(self, number: str) -> list[SdContact]:
        # depth=1: without it sevDesk leaves persons out (api-facts §4).
        return [parse_contact(r) for r in self._all("/Contact", {"customerNumber": number, "depth": 1})]

    def find_email_ways(self, email: str) -> list[SdCommWay]:
        rows = self._all("/CommunicationWay", {"type": "EMAIL", "value": email})
        return [parse_comm_way(r) for r in rows]

    def is_customer_number_available(self, number: str) -> bool:
        answer = self._client.get("/Contact/Mapper/checkCustomerNumberAvailability", {"customerNumber": number})
        return bool(to_bool(answer))

    def create_contact(self, fields: Mapping[str, object]) -> SdContact:
        return parse_contact(_single(self._client.post("/Contact", json=dict(fields)), "contact"))

    def update_contact(self, contact_id: str, fields: Mapping[str, object]) -> None:
        self._client.put(f"/Contact/{contact_id}", json=dict(fields))

    def find_custom_field_setting(self, name: str) -> str | None:
        ids = [
            _required_id(row, "custom field setting")
            for row in self._all("/ContactCustomFieldSetting")
            if to_str(row.get("name")) == name
        ]
        ids.sort(key=lambda i: (len(i), i))  # oldest first if a retry ever made two
        return ids[0] if ids else None

    def create_custom_field_setting(self, name: str, description: str) -> str:
        body = {"name": name, "description": description, "objectName": "ContactCustomFieldSetting"}
        return _required_id(_single(self._client.post("/ContactCustomFieldSetting", json=body), "setting"), "setting")

    def find_contacts_by_custom_field(self, setting_id: str, setting_name: str, value: str) -> list[SdContact]:
        params = {
            "value": value,
            "customFieldSetting[id]": setting_id,
            "customFieldSetting[objectName]": "ContactCustomFieldSetting",
            "customFieldName": setting_name,
        }
        return [
            parse_contact(r) for r in _rows(self._client.get("/Contact/Factory/findContactsByCustomFieldValue", params))
        ]

    def list_custom_fields(self, contact_id: str) -> list[SdCustomField]:
        rows = self._all("/ContactCustomField", _owner("Contact", contact_id))
        return [parse_custom_field(r) for r in rows]

    def create_custom_field(self, contact_id: str, setting_id: str, value: str) -> None:
        body = {
            "contact": _ref(contact_id, "Contact"),
            "contactCustomFieldSetting": _ref(setting_id, "ContactCustomFieldSetting"),
            "value": value,
            "objectName": "ContactCustomField",
        }
        self._client.post("/ContactCustomField", json=body)

    def list_addresses(self, contact_id: str) -> list[SdAddress]:
        return [parse_address(r) for r in self._all("/ContactAddress", _owner("Contact", contact_id))]

    def create_address(self, contact_id: str, fields: Mapping[str, object]) -> None:
        self._client.post("/ContactAddress", json={"contact": _ref(contact_id, "Contact"), **fields})

    def update_address(self, address_id: str, fields: Mapping[str, object]) -> None:
        self._client.put(f"/ContactAddress/{address_id}", json=dict(fields))

    def list_communication_ways(self, contact_id: str) -> list[SdCommWay]:
        # Filter by contact only: combined with type/main some tenants answer empty (api-facts §4).
        return [parse_comm_way(r) for r in self._all("/CommunicationWay", _owner("Contact", contact_id))]

    def create_communication_way(self, contact_id: str, type_: str, value: str, key_id: int, main: bool) -> None:
        body = {
            "contact": _ref(contact_id, "Contact"),
            "type": type_,
            "value": value,
            "key": {"id": key_id, "objectName": "CommunicationWayKey"},
            "main": main,
        }
        self._client.post("/CommunicationWay", json=body)

    # invoices ------------------------------------------------------------------------------
    def get_invoice(self, invoice_id: str) -> SdInvoice | None:
        row = self._client.get_one(f"/Invoice/{invoice_id}")
        return None if row is None else parse_invoice(row)

    def find_invoices_by_marker(self, marker: str) -> list[SdInvoice]:
        # Live clients use customerInternalNote, the tag text spells customerIntenalNote: send both.
        params = {"customerInternalNote": marker, "customerIntenalNote": marker}
        return [parse_invoice(r) for r in self._all("/Invoice", params)]

    def find_invoices_by_number(self, number: str) -> list[SdInvoice]:
        return [parse_invoice(r) for r in self._all("/Invoice", {"invoiceNumber": number})]

    def list_invoice_position_ids(self, invoice_id: str) -> list[str]:
        rows = self._all(f"/Invoice/{invoice_id}/getPositions")
        return [_required_id(r, "position") for r in rows]

    def save_invoice(self, payload: Mapping[str, object]) -> SdInvoice:
        # POST without retry: a resend after an unknown outcome could create a second invoice;
        # the domain looks the marker up instead.
        answer = self._client.post("/Invoice/Factory/saveInvoice", json=dict(payload))
        invoice = answer.get("invoice") if isinstance(answer, dict) else None
        if not isinstance(invoice, dict):
            raise SevdeskServerError("unexpected sevDesk answer: saveInvoice returned no invoice")
        return parse_invoice(invoice)

    def send_invoice(self, invoice_id: str) -> None:
        # Marks it sent (100 → 200) without e-mailing anyone: the platform delivers its own invoices.
        self._client.put(f"/Invoice/{invoice_id}/sendBy", json={"sendType": "VPDF", "sendDraft": False})

    def book_payment(self, invoice_id: str, *, amount: Decimal, day: date, check_account_id: str) -> None:
        body = {
            "amount": amount,
            "date": booking_timestamp(day),
            "type": "FULL_PAYMENT",
            "checkAccount": _ref(check_account_id, "CheckAccount"),
            "createFeed": False,
        }
        # Not idempotent: a resend would book the payment twice.
        self._client.put(f"/Invoice/{invoice_id}/bookAmount", json=body, retry_unsafe=False)

    def reset_to_draft(self, invoice_id: str) -> None:
        self._client.put(f"/Invoice/{invoice_id}/resetToDraft")


def build_push_service(
    client: SevdeskClient,
    platform_id: str,
    tenant_id: str,
    settings: TenantSettings,
    today: date,
    *,
    mappings: MappingStore | None = None,
) -> PushService:
    """PushService for one tenant; the mapping store defaults to the TENANTS table."""
    if mappings is None:
        mappings = DynamoMappingStore(get_settings().tenants_table)
    return PushService(
        SevdeskGateway(client), mappings, platform_id=platform_id, tenant_id=tenant_id, settings=settings, today=today
    )
