"""The push domain's SevdeskPort on top of SevdeskClient: paths, filters and response parsing.

Reads are normalised here (ids and numbers arrive as strings, booleans as "0"/"1", objects as a
list or a single object); filters are sent as sevDesk understands them but the domain re-checks
every value, because several of sevDesk's text filters are LIKE matches or silently ignored.

Reference data (units, categories, countries, the SevUser id, check accounts, our custom-field
setting id) comes from the process-wide, per-tenant ReferenceCache (reference_cache.py): one gateway
serves one transfer, the cache spares the next transfers of the same tenant those reads.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any, TypeVar, cast

from sevbridge.adapters.dynamo_mappings import DynamoMappingStore
from sevbridge.adapters.sevdesk.client import SevdeskClient
from sevbridge.adapters.sevdesk.models import SevUser
from sevbridge.adapters.sevdesk.normalize import to_bool, to_decimal, to_id, to_int, to_str
from sevbridge.adapters.sevdesk.params import QueryParams
from sevbridge.adapters.sevdesk.reference_cache import Key, ReferenceCache, default_reference_cache
from sevbridge.adapters.sevdesk.reference_store import DynamoReferenceStore
from sevbridge.config import get_settings
from sevbridge.domain.push.contacts import following_number
from sevbridge.domain.push.locks import ContactLocks, process_locks
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
from sevbridge.domain.push.service import Patience, PushService
from sevbridge.domain.settings import TenantSettings
from sevbridge.domain.sevdesk_errors import (
    SevdeskAuthError,
    SevdeskNotFound,
    SevdeskServerError,
    SevdeskValidationError,
)

T = TypeVar("T")

CONTACT_FIELDS = ("name", "surename", "familyname", "titel", "vatNumber", "description", "customerNumber")
NEXT_CUSTOMER_NUMBER: Key = ("next_customer_number",)
BIG_PAGE = 1000  # reference lists are small but longer than sevDesk's default page of 100


def integer_ids(value: Any) -> Any:
    """sevDesk answers ids as strings, but its spec types every id a request sends (references like
    contact/unity/checkAccount, invoice.id, invoicePosDelete[].id) as an integer: convert at the edge."""
    if isinstance(value, Mapping):
        return {
            key: int(item) if key == "id" and isinstance(item, str) and item.isdigit() else integer_ids(item)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [integer_ids(item) for item in value]
    return value


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
        invoice_type=(to_str(row.get("invoiceType")) or "RE").strip().upper(),
        origin_invoice_id=_origin_invoice(row.get("origin")),
        enshrined=row.get("enshrined") not in (None, "", "0", 0, False),  # a timestamp when set
    )


def _origin_invoice(origin: Any) -> str | None:
    """`origin` is {id, objectName} of an Invoice or an Order (api-facts §9, CHANGELOG 1.4.0); only an
    invoice origin says which document a cancellation (SR) cancels."""
    if not isinstance(origin, Mapping):
        return None
    if to_str(origin.get("objectName")) not in (None, "Invoice"):
        return None
    return to_id(origin.get("id"))


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


class _RejectionGuard:
    """The client, seen through a tripwire: when sevDesk rejects a request (4xx, 401 included), the
    tenant's cached reference data is dropped, so a stale id is never sent twice. Not-found answers
    of `get_one` are no rejection (the client turns them into None)."""

    REJECTIONS = (SevdeskAuthError, SevdeskValidationError, SevdeskNotFound)

    def __init__(self, client: SevdeskClient, on_rejection: Callable[[], None]) -> None:
        self._client = client
        self._on_rejection = on_rejection

    def _guard(self, call: Callable[[], T]) -> T:
        try:
            return call()
        except self.REJECTIONS:
            self._on_rejection()
            raise

    def get(self, path: str, params: QueryParams | None = None) -> Any:
        return self._guard(lambda: self._client.get(path, params))

    def get_one(self, path: str, params: QueryParams | None = None) -> dict[str, Any] | None:
        return self._guard(lambda: self._client.get_one(path, params))

    def post(self, path: str, json: Any = None) -> Any:
        return self._guard(lambda: self._client.post(path, json=integer_ids(json)))

    def put(self, path: str, json: Any = None, *, retry_unsafe: bool = True) -> Any:
        return self._guard(lambda: self._client.put(path, json=integer_ids(json), retry_unsafe=retry_unsafe))

    def delete(self, path: str) -> bool:
        """True when the object is gone: deleted now, or already (404, e.g. after a retried DELETE whose
        first answer was lost). False when sevDesk refuses: 409, still in use (api-facts §2). Both are
        answers about the object, not a rejected request, so the reference data stays cached."""
        try:
            self._client.delete(path)
        except SevdeskNotFound:
            return True
        except SevdeskValidationError as exc:
            if exc.status == 409:
                return False
            self._on_rejection()
            raise
        except SevdeskAuthError:
            self._on_rejection()
            raise
        return True

    def current_user(self) -> SevUser:
        return self._guard(self._client.current_user)

    def iter_pages(
        self, path: str, params: QueryParams | None = None, page_size: int = 100
    ) -> Iterator[dict[str, Any]]:
        pages = self._client.iter_pages(path, params, page_size=page_size)
        while True:
            try:
                row = next(pages)
            except StopIteration:
                return
            except self.REJECTIONS:
                self._on_rejection()
                raise
            yield row


class SevdeskGateway:
    """Implements sevbridge.domain.push.ports.SevdeskPort."""

    def __init__(self, client: SevdeskClient, *, reference_cache: ReferenceCache | None = None) -> None:
        self._tenant = client.tenant_key
        self._cache = reference_cache if reference_cache is not None else default_reference_cache
        self._client = _RejectionGuard(client, lambda: self._cache.forget(self._tenant))
        self._read_here: set[Key] = set()  # cache keys this gateway read from sevDesk itself
        # Customer numbers next_customer_number() answered: only a create with one of them continues
        # sevDesk's sequence; a platform's own number (e.g. "K-3") says nothing about the next free one,
        # and guessing its successor would take the number of a platform contact not yet created.
        self._numbers_offered: set[str] = set()

    def _all(self, path: str, params: Mapping[str, object] | None = None, page: int = 100) -> Iterable[dict[str, Any]]:
        return self._client.iter_pages(path, params, page_size=page)

    def _cached(self, key: Key, load: Callable[[], T], *, fresh: bool = False) -> T:
        """The tenant's cached value; `fresh` reads past the cache unless this gateway (this
        transfer) already read it from sevDesk."""
        if not fresh or key in self._read_here:
            hit, value = self._cache.get(self._tenant, key)
            if hit:
                return cast("T", value)
        loaded = load()
        self._cache.put(self._tenant, key, loaded)
        self._read_here.add(key)
        return loaded

    # reference data ------------------------------------------------------------------------
    def list_units(self, *, fresh: bool = False) -> list[SdUnit]:
        def load() -> tuple[SdUnit, ...]:
            return tuple(
                SdUnit(
                    id=_required_id(row, "unit"),
                    name=to_str(row.get("name")) or "",
                    translation_code=to_str(row.get("translationCode")),
                    unece_code=to_str(row.get("uneceTradeUnitCode")),
                )
                for row in self._all("/Unity", page=BIG_PAGE)
            )

        return list(self._cached(("units",), load, fresh=fresh))

    def list_categories(self, object_type: str) -> list[SdCategory]:
        def load() -> tuple[SdCategory, ...]:
            rows = self._all("/Category", {"objectType": object_type}, page=BIG_PAGE)
            return tuple(
                SdCategory(
                    id=_required_id(row, "category"),
                    name=to_str(row.get("name")),
                    translation_code=to_str(row.get("translationCode")),
                )
                for row in rows
                if to_str(row.get("objectType")) in (None, object_type)  # in case the filter is ignored
            )

        return list(self._cached(("categories", object_type), load))

    def find_countries(self, code: str, *, fresh: bool = False) -> list[SdCountry]:
        def load() -> tuple[SdCountry, ...]:
            rows = _rows(self._client.get("/StaticCountry", {"code": code, "limit": BIG_PAGE}))
            return tuple(
                SdCountry(
                    id=_required_id(row, "country"),
                    code=to_str(row.get("code")) or "",
                    name_en=to_str(row.get("nameEn")),
                )
                for row in rows
            )

        return list(self._cached(("countries", code.strip().lower()), load, fresh=fresh))

    def current_user_id(self) -> str:
        return self._cached(("user",), lambda: self._client.current_user().id)

    def list_check_accounts(self, *, fresh: bool = False) -> list[SdCheckAccount]:
        def load() -> tuple[SdCheckAccount, ...]:
            return tuple(
                SdCheckAccount(
                    id=_required_id(row, "check account"),
                    type=to_str(row.get("type")),
                    status=to_int(row.get("status")),
                )
                for row in self._all("/CheckAccount", page=BIG_PAGE)
            )

        return list(self._cached(("check_accounts",), load, fresh=fresh))

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

    def next_customer_number(self, *, fresh: bool = False) -> str:
        # The number after the last one this tenant's contacts were created with here, if known: the
        # domain checks it free before use, so a guess costs nothing when right and one read when wrong.
        hit, guess = self._cache.get(self._tenant, NEXT_CUSTOMER_NUMBER)
        if hit and not fresh:
            self._numbers_offered.add(str(guess))
            return str(guess)
        answer = self._client.get("/Contact/Factory/getNextCustomerNumber")
        number = None if isinstance(answer, dict | list) else to_str(answer)
        if number is None or not number.strip():
            raise SevdeskServerError("unexpected sevDesk answer: getNextCustomerNumber returned no number")
        self._numbers_offered.add(number.strip())
        return number.strip()

    def is_customer_number_available(self, number: str) -> bool:
        answer = self._client.get("/Contact/Mapper/checkCustomerNumberAvailability", {"customerNumber": number})
        return bool(to_bool(answer))

    def create_contact(self, fields: Mapping[str, object]) -> SdContact:
        created = parse_contact(_single(self._client.post("/Contact", json=dict(fields)), "contact"))
        sequence = created.customer_number is not None and created.customer_number in self._numbers_offered
        following = following_number(created.customer_number) if sequence and created.customer_number else None
        if following is not None:
            self._cache.put(self._tenant, NEXT_CUSTOMER_NUMBER, following, shared=False)
        return created

    def update_contact(self, contact_id: str, fields: Mapping[str, object]) -> None:
        self._client.put(f"/Contact/{contact_id}", json=dict(fields))

    def find_custom_field_setting(self, name: str, *, known_only: bool = False) -> str | None:
        key = ("field_setting", name)
        hit, cached = self._cache.get(self._tenant, key)
        if hit:
            return str(cached)
        if known_only:
            return None
        ids = [
            _required_id(row, "custom field setting")
            for row in self._all("/ContactCustomFieldSetting")
            if to_str(row.get("name")) == name
        ]
        ids.sort(key=lambda i: (len(i), i))  # oldest first if a retry ever made two
        if not ids:
            return None  # not cached: another process may create it any moment, and two would be one too many
        self._cache.put(self._tenant, key, ids[0])
        return ids[0]

    def create_custom_field_setting(self, name: str, description: str) -> str:
        body = {"name": name, "description": description, "objectName": "ContactCustomFieldSetting"}
        setting = _required_id(
            _single(self._client.post("/ContactCustomFieldSetting", json=body), "setting"), "setting"
        )
        self._cache.put(self._tenant, ("field_setting", name), setting)
        return setting

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

    def create_address(self, contact_id: str, fields: Mapping[str, object]) -> str:
        # The answer carries the contact expanded (api-facts §10); the address's own id is what we keep.
        answer = self._client.post("/ContactAddress", json={"contact": _ref(contact_id, "Contact"), **fields})
        return _required_id(_single(answer, "address"), "address")

    def update_address(self, address_id: str, fields: Mapping[str, object]) -> None:
        self._client.put(f"/ContactAddress/{address_id}", json=dict(fields))

    def delete_address(self, address_id: str) -> bool:
        return self._client.delete(f"/ContactAddress/{address_id}")

    def list_communication_ways(self, contact_id: str) -> list[SdCommWay]:
        # Filter by contact only: combined with type/main some tenants answer empty (api-facts §4).
        return [parse_comm_way(r) for r in self._all("/CommunicationWay", _owner("Contact", contact_id))]

    def create_communication_way(self, contact_id: str, type_: str, value: str, key_id: int, main: bool) -> str:
        body = {
            "contact": _ref(contact_id, "Contact"),
            "type": type_,
            "value": value,
            "key": {"id": key_id, "objectName": "CommunicationWayKey"},
            "main": main,
        }
        answer = self._client.post("/CommunicationWay", json=body)
        return _required_id(_single(answer, "communication way"), "communication way")

    def delete_communication_way(self, way_id: str) -> bool:
        return self._client.delete(f"/CommunicationWay/{way_id}")

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

    def send_invoice(self, invoice_id: str) -> SdInvoice | None:
        # Marks it sent (100 → 200) without e-mailing anyone: the platform delivers its own invoices.
        # Never resent after an unknown outcome: the domain reads the status back instead.
        answer = self._client.put(
            f"/Invoice/{invoice_id}/sendBy", json={"sendType": "VPDF", "sendDraft": False}, retry_unsafe=False
        )
        # The spec's schema is the invoice, its text says "invoice log entry": use the answer only
        # when it is this invoice, never a log entry (another objectName, its own id).
        rows = _rows(answer)
        if len(rows) != 1:
            return None
        row = rows[0]
        if to_id(row.get("id")) != invoice_id or to_str(row.get("objectName")) not in (None, "Invoice"):
            return None
        if "status" not in row or "sumGross" not in row:
            return None  # a payment is computed from sumGross: never from a default of 0
        return parse_invoice(row)

    def book_payment(self, invoice_id: str, *, amount: Decimal, day: date, check_account_id: str) -> int | None:
        body = {
            "amount": amount,
            "date": booking_timestamp(day),
            "type": "FULL_PAYMENT",
            "checkAccount": _ref(check_account_id, "CheckAccount"),
            "createFeed": False,
        }
        # Not idempotent: a resend would book the payment twice.
        answer = self._client.put(f"/Invoice/{invoice_id}/bookAmount", json=body, retry_unsafe=False)
        # The answer is an invoice log entry (api-facts §5): its toStatus is the invoice's new status.
        rows = _rows(answer)
        return to_int(rows[0].get("toStatus")) if len(rows) == 1 else None

    def reset_to_draft(self, invoice_id: str) -> None:
        # A resend after it went through answers 422 ("only open invoices…"): the domain reads the status back.
        self._client.put(f"/Invoice/{invoice_id}/resetToDraft", retry_unsafe=False)


def shared_reference_cache(tenants_table: str) -> ReferenceCache:
    """The process-wide cache, backed by the tenants table so that a new container starts warm."""
    store = default_reference_cache.store
    if not (isinstance(store, DynamoReferenceStore) and store.table == tenants_table):
        default_reference_cache.store = DynamoReferenceStore(tenants_table)
    return default_reference_cache


def build_push_service(
    client: SevdeskClient,
    platform_id: str,
    tenant_id: str,
    settings: TenantSettings,
    today: date,
    *,
    mappings: MappingStore | None = None,
    reference_cache: ReferenceCache | None = None,
    patience: Patience | None = None,
    locks: ContactLocks | None = None,
    defer_own_mapping: bool = False,
) -> PushService:
    """PushService for one tenant; the mapping store defaults to the ledger's document items (the
    marking proof: the tenants table), the reference cache to the process-wide one; `patience` says how
    long a write with an unknown outcome is chased; `locks` (default: the process-wide ones) keep
    transfers of one tenant that run side by side from writing one contact at once;
    `defer_own_mapping`: the pushed document's row is held for the ledger's outcome write."""
    if mappings is None:
        tables = get_settings()
        mappings = DynamoMappingStore(tables.ledger_table, tables.tenants_table)
    return PushService(
        SevdeskGateway(client, reference_cache=reference_cache),
        mappings,
        platform_id=platform_id,
        tenant_id=tenant_id,
        settings=settings,
        today=today,
        patience=patience,
        locks=locks if locks is not None else process_locks,
        defer_own_mapping=defer_own_mapping,
    )
