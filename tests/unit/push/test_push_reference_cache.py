"""The per-tenant reference-data cache and how the gateway uses it; the gateway's new readers."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from sevbridge.adapters.sevdesk.gateway import SevdeskGateway
from sevbridge.adapters.sevdesk.models import SevUser
from sevbridge.adapters.sevdesk.reference_cache import SWEEP_ABOVE_TENANTS, ReferenceCache
from sevbridge.domain.events import ContactWithInvoices
from sevbridge.domain.push.contacts import following_number
from sevbridge.domain.push.documents import contact_content_hash
from sevbridge.domain.sevdesk_errors import SevdeskAuthError, SevdeskServerError, SevdeskValidationError

pytestmark = pytest.mark.unit


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


# --- ReferenceCache ---------------------------------------------------------------------------


def test_entries_live_for_the_ttl_per_tenant() -> None:
    clock = Clock()
    cache = ReferenceCache(ttl=600, clock=clock)
    cache.put("p:a", ("units",), ("u1",))
    assert cache.get("p:a", ("units",)) == (True, ("u1",))
    assert cache.get("p:b", ("units",)) == (False, None)  # another tenant never sees it
    clock.now += 599.9
    assert cache.get("p:a", ("units",))[0]
    clock.now += 0.1
    assert cache.get("p:a", ("units",)) == (False, None)


def test_get_or_load_loads_once() -> None:
    cache = ReferenceCache(clock=Clock())
    loads: list[str] = []

    def load() -> str:
        loads.append("x")
        return "520001"

    assert cache.get_or_load("p:a", ("user",), load) == "520001"
    assert cache.get_or_load("p:a", ("user",), load) == "520001"
    assert cache.get_or_load("p:b", ("user",), load) == "520001"
    assert loads == ["x", "x"]


def test_forget_and_reset() -> None:
    cache = ReferenceCache(clock=Clock())
    cache.put("p:a", ("units",), ())
    cache.put("p:b", ("units",), ())
    cache.forget("p:a")
    assert cache.tenants() == {"p:b"}
    cache.reset()
    assert cache.tenants() == set()


def test_expired_tenants_are_swept_when_many() -> None:
    clock = Clock()
    cache = ReferenceCache(ttl=10, clock=clock)
    for index in range(SWEEP_ABOVE_TENANTS):
        cache.put(f"p:{index}", ("units",), ())
    clock.now += 11
    cache.put("p:new", ("units",), ())
    assert cache.tenants() == {"p:new"}


def test_negative_ttl_is_refused() -> None:
    with pytest.raises(ValueError):
        ReferenceCache(ttl=-1)


# --- the gateway on a stub client -------------------------------------------------------------


class StubClient:
    """The few SevdeskClient calls the gateway makes, answered from a dict; every call recorded."""

    def __init__(self, tenant_key: str = "p:a", answers: dict[str, Any] | None = None) -> None:
        self.tenant_key = tenant_key
        self.answers = answers or {}
        self.calls: list[str] = []
        self.fail: Exception | None = None

    def _answer(self, method: str, path: str) -> Any:
        self.calls.append(f"{method} {path}")
        if self.fail is not None:
            raise self.fail
        return self.answers.get(f"{method} {path}")

    def get(self, path: str, params: Any = None) -> Any:
        return self._answer("GET", path)

    def get_one(self, path: str, params: Any = None) -> Any:
        return self._answer("GET", path)

    def post(self, path: str, json: Any = None, params: Any = None, *, retry_unsafe: bool = False) -> Any:
        return self._answer("POST", path)

    def put(self, path: str, json: Any = None, params: Any = None, *, retry_unsafe: bool = True) -> Any:
        return self._answer("PUT", path)

    def iter_pages(self, path: str, params: Any = None, page_size: int = 100) -> Iterator[dict[str, Any]]:
        yield from self._answer("GET", path) or []

    def current_user(self) -> SevUser:
        self._answer("GET", "/SevUser")
        return SevUser(id="520001")


UNITS = [{"id": "9", "name": "Std", "translationCode": "UNITY_HOUR", "uneceTradeUnitCode": "HUR"}]


def _gateway(client: StubClient, cache: ReferenceCache) -> SevdeskGateway:
    return SevdeskGateway(client, reference_cache=cache)  # type: ignore[arg-type]


def test_reference_reads_are_cached_across_gateways_of_one_tenant() -> None:
    cache = ReferenceCache(clock=Clock())
    client = StubClient(answers={"GET /Unity": UNITS, "GET /CheckAccount": [{"id": "5001", "type": "offline"}]})
    first, second = _gateway(client, cache), _gateway(client, cache)

    assert [u.id for u in first.list_units()] == ["9"]
    assert [u.id for u in second.list_units()] == ["9"]
    assert first.current_user_id() == second.current_user_id() == "520001"
    assert [a.id for a in second.list_check_accounts()] == ["5001"]
    assert client.calls == ["GET /Unity", "GET /SevUser", "GET /CheckAccount"]

    other_tenant = StubClient(tenant_key="p:b", answers={"GET /Unity": UNITS})
    _gateway(other_tenant, cache).list_units()
    assert other_tenant.calls == ["GET /Unity"]


def test_fresh_reads_past_the_cache_once_per_gateway() -> None:
    cache = ReferenceCache(clock=Clock())
    client = StubClient(answers={"GET /Unity": UNITS})
    _gateway(client, cache).list_units()
    later = _gateway(client, cache)

    later.list_units(fresh=True)
    later.list_units(fresh=True)  # read by this gateway already: fresh enough
    assert client.calls == ["GET /Unity", "GET /Unity"]


def test_field_setting_cached_only_once_it_exists() -> None:
    cache = ReferenceCache(clock=Clock())
    client = StubClient()
    gateway = _gateway(client, cache)
    assert gateway.find_custom_field_setting("sevbridge_source_id") is None
    assert gateway.find_custom_field_setting("sevbridge_source_id") is None  # asked again: not cached
    client.answers["POST /ContactCustomFieldSetting"] = {"id": "8001"}
    assert gateway.create_custom_field_setting("sevbridge_source_id", "…") == "8001"
    assert _gateway(client, cache).find_custom_field_setting("sevbridge_source_id") == "8001"
    assert client.calls == [
        "GET /ContactCustomFieldSetting",
        "GET /ContactCustomFieldSetting",
        "POST /ContactCustomFieldSetting",
    ]


@pytest.mark.parametrize(
    "error", [SevdeskValidationError("Unprocessable", status=422), SevdeskAuthError("Authentication", status=401)]
)
def test_a_rejection_drops_the_tenants_cache(error: Exception) -> None:
    cache = ReferenceCache(clock=Clock())
    client = StubClient(answers={"GET /Unity": UNITS})
    gateway = _gateway(client, cache)
    gateway.list_units()
    cache.put("p:b", ("units",), ())

    client.fail = error
    with pytest.raises(type(error)):
        gateway.save_invoice({"invoice": {}})
    assert cache.tenants() == {"p:b"}


def test_server_errors_keep_the_cache() -> None:
    cache = ReferenceCache(clock=Clock())
    client = StubClient(answers={"GET /Unity": UNITS})
    gateway = _gateway(client, cache)
    gateway.list_units()
    client.fail = SevdeskServerError("Bad Gateway", status=502)
    with pytest.raises(SevdeskServerError):
        gateway.save_invoice({"invoice": {}})
    assert cache.tenants() == {"p:a"}


def test_rejection_while_paging_drops_the_cache() -> None:
    cache = ReferenceCache(clock=Clock())
    client = StubClient(answers={"GET /Unity": UNITS})
    gateway = _gateway(client, cache)
    gateway.list_units()
    client.fail = SevdeskValidationError("Bad Request", status=400)
    with pytest.raises(SevdeskValidationError):
        gateway.list_addresses("1000001")
    assert cache.tenants() == set()


@pytest.mark.parametrize(
    ("answer", "status"),
    [
        ({"id": "5000001", "objectName": "Invoice", "status": "200", "invoiceNumber": "RE-1", "sumGross": "1"}, 200),
        ([{"id": "5000001", "objectName": "Invoice", "status": "200", "sumGross": "1"}], 200),
        ({"id": "3001", "objectName": "InvoiceLog", "fromStatus": "100", "toStatus": "200"}, None),
        ({"id": "5000001", "objectName": "Invoice", "sumGross": "1"}, None),  # no status: can't tell
        # no sum: a payment computed from it would book 0, so the invoice is read back instead
        ({"id": "5000001", "objectName": "Invoice", "status": "200"}, None),
        (None, None),
    ],
)
def test_send_invoice_answer(answer: Any, status: int | None) -> None:
    client = StubClient(answers={"PUT /Invoice/5000001/sendBy": answer})
    sent = _gateway(client, ReferenceCache()).send_invoice("5000001")
    assert (sent.status if sent else None) == status


@pytest.mark.parametrize(
    ("answer", "status"),
    [
        ({"id": "3001", "objectName": "InvoiceLog", "fromStatus": "200", "toStatus": "1000"}, 1000),
        ([{"id": "3001", "objectName": "InvoiceLog", "fromStatus": "200", "toStatus": "750"}], 750),
        ({"id": "3001", "objectName": "InvoiceLog"}, None),  # no status: read it back
        (None, None),
    ],
)
def test_book_payment_answer(answer: Any, status: int | None) -> None:
    client = StubClient(answers={"PUT /Invoice/5000001/bookAmount": answer})
    after = _gateway(client, ReferenceCache()).book_payment(
        "5000001", amount=Decimal("10"), day=date(2025, 7, 1), check_account_id="1"
    )
    assert after == status


@pytest.mark.parametrize(("answer", "number"), [("1035", "1035"), (1035, "1035"), (" K-7 ", "K-7")])
def test_next_customer_number(answer: Any, number: str) -> None:
    client = StubClient(answers={"GET /Contact/Factory/getNextCustomerNumber": answer})
    assert _gateway(client, ReferenceCache()).next_customer_number() == number


@pytest.mark.parametrize("answer", [None, "", {"number": "1"}, []])
def test_next_customer_number_missing(answer: Any) -> None:
    client = StubClient(answers={"GET /Contact/Factory/getNextCustomerNumber": answer})
    with pytest.raises(SevdeskServerError):
        _gateway(client, ReferenceCache()).next_customer_number()


# --- domain helpers ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("number", "following"), [("1005", "1006"), ("K-0099", "K-0100"), ("999", "1000"), ("KUNDE", None)]
)
def test_following_customer_number(number: str, following: str | None) -> None:
    assert following_number(number) == following


def test_contact_content_hash() -> None:
    base = {"source_id": "c-1", "first_name": "Erika", "last_name": "Muster", "phone": "+49 30 1"}
    plain = ContactWithInvoices.model_validate(base)
    assert contact_content_hash(plain) == contact_content_hash(ContactWithInvoices.model_validate(base))
    assert contact_content_hash(plain) != contact_content_hash(
        ContactWithInvoices.model_validate({**base, "phone": "+49 30 2"})
    )
    assert contact_content_hash(plain) != contact_content_hash(
        ContactWithInvoices.model_validate(
            {**base, "billing_address": {"street": "Weg 1", "zip": "1", "city": "X", "country": "DE"}}
        )
    )
    # The invoices carried along are not contact content.
    with_invoices = ContactWithInvoices.model_validate(
        {
            **base,
            "invoices": [
                {
                    "source_id": "inv-1",
                    "status": "sent",
                    "invoice_date": "2025-07-01",
                    "customer": base,
                    "positions": [{"name": "X", "quantity": "1", "unit": "h", "unit_price": "1", "tax_rate": "19"}],
                }
            ],
        }
    )
    assert contact_content_hash(with_invoices) == contact_content_hash(plain)
