"""I8 against the sevDesk sandbox: an invoice is never created twice, whatever happened to the
previous attempt (timeout or 5xx after sevDesk committed, 5xx before, a lost mapping row)."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime

import boto3
import httpx
import pytest

from sevbridge.adapters.dynamo_items import tenant_pk
from sevbridge.adapters.dynamo_mappings import mapping_sk
from sevbridge.adapters.sevdesk import ErrorBrake, SevdeskClient
from sevbridge.adapters.sevdesk.gateway import build_push_service
from sevbridge.domain.push.service import PushService
from sevbridge.domain.settings import TenantSettings
from sevbridge.domain.sevdesk_errors import SevdeskNetworkError, SevdeskServerError
from sevdesk_sandbox import Fault
from tests.functional.push.builders import invoice
from tests.functional.push.conftest import CLIENT_TIMEOUT, PLATFORM, TODAY, Tenant

pytestmark = pytest.mark.functional

Version = Callable[[], datetime]
SAVE = "^/Invoice/Factory/saveInvoice$"


class GatewayErrorAfterCommit(httpx.BaseTransport):
    """A proxy in front of sevDesk: the request reaches sevDesk (and commits), the answer is a 502."""

    def __init__(self, path_pattern: str) -> None:
        self._inner = httpx.HTTPTransport()
        self._pattern = re.compile(path_pattern)
        self.hits = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self._inner.handle_request(request)
        if request.method == "POST" and self._pattern.search(request.url.path) and self.hits == 0:
            self.hits += 1
            response.read()
            return httpx.Response(502, html="<html><body>Bad Gateway</body></html>", request=request)
        return response


def _service_through(tenant: Tenant, transport: httpx.BaseTransport) -> PushService:
    client = SevdeskClient(
        tenant.account.token,
        base_url=tenant.sandbox.url,
        tenant_key=f"{PLATFORM}:{tenant.tenant_id}",
        http=httpx.Client(transport=transport),
        timeout=CLIENT_TIMEOUT,
        max_attempts=3,
        max_backoff=0.01,
        brake=ErrorBrake(max_errors=1000),
        sleep=lambda _: None,
    )
    return build_push_service(client, PLATFORM, tenant.tenant_id, TenantSettings(), TODAY, mappings=tenant.mappings)


def test_timeout_after_commit_then_uncertain_retry_adopts(tenant: Tenant, version: Version) -> None:
    tenant.sandbox.state.add_fault(
        Fault(
            kind="timeout_after_commit",
            account_id=tenant.account.account_id,
            method="POST",
            path_pattern=SAVE,
            delay_seconds=1.5,
        )
    )
    with pytest.raises(SevdeskNetworkError) as failure:
        tenant.service().push_invoice(invoice(), version=version(), uncertain=False, manual=False)
    assert failure.value.outcome_unknown
    [committed] = tenant.invoices()
    assert committed["status"] == "100"  # created, never sent

    outcome = tenant.service().push_invoice(invoice(), version=version(), uncertain=True, manual=False)

    [inv] = tenant.invoices()
    assert (outcome.action, outcome.sevdesk_id) == ("adopted", inv["id"])
    assert outcome.message == (
        f"invoice RE-inv-1 found in sevDesk ({inv['id']}) after an interrupted attempt and adopted; then sent"
    )
    assert inv["status"] == "200"
    assert len(tenant.requests("POST", "/Invoice/Factory/saveInvoice")) == 1  # adopted as is, not rewritten
    assert len(tenant.contacts()) == 1


def test_5xx_after_commit_then_uncertain_retry_adopts(tenant: Tenant, version: Version) -> None:
    transport = GatewayErrorAfterCommit("/Invoice/Factory/saveInvoice$")
    with pytest.raises(SevdeskServerError) as failure:
        _service_through(tenant, transport).push_invoice(invoice(), version=version(), uncertain=False, manual=False)
    assert failure.value.outcome_unknown and failure.value.status == 502
    assert len(tenant.invoices()) == 1  # the client did not resend the POST

    outcome = _service_through(tenant, transport).push_invoice(
        invoice(), version=version(), uncertain=True, manual=False
    )

    [inv] = tenant.invoices()
    assert (outcome.action, inv["status"]) == ("adopted", "200")


def test_5xx_before_commit_then_uncertain_retry_creates_once(tenant: Tenant, version: Version) -> None:
    tenant.sandbox.state.add_fault(
        Fault(kind="status", status=503, account_id=tenant.account.account_id, method="POST", path_pattern=SAVE)
    )
    with pytest.raises(SevdeskServerError) as failure:
        tenant.service().push_invoice(invoice(), version=version(), uncertain=False, manual=False)
    assert failure.value.outcome_unknown
    assert tenant.invoices() == []

    outcome = tenant.service().push_invoice(invoice(), version=version(), uncertain=True, manual=False)

    assert outcome.action == "created"
    assert len(tenant.invoices()) == 1


def test_lost_mapping_row_finds_invoice_by_marker(tenant: Tenant, version: Version) -> None:
    first = tenant.service().push_invoice(invoice(), version=version(), uncertain=False, manual=False)
    boto3.client("dynamodb").delete_item(
        TableName=tenant.mappings._table,
        Key={"pk": {"S": tenant_pk(PLATFORM, tenant.tenant_id)}, "sk": {"S": mapping_sk("invoice", "inv-1")}},
    )

    outcome = tenant.service().push_invoice(invoice(status="paid"), version=version(), uncertain=False, manual=False)

    assert (outcome.action, outcome.sevdesk_id) == ("adopted", first.sevdesk_id)
    assert "payment booked" in outcome.message
    assert len(tenant.invoices()) == 1 and tenant.invoices()[0]["status"] == "1000"


def test_marker_lookup_compares_exactly(tenant: Tenant, version: Version) -> None:
    """sevDesk's customerInternalNote filter is a LIKE match: inv-1 must not adopt inv-10."""
    ten = tenant.service().push_invoice(invoice("inv-10"), version=version(), uncertain=False, manual=False)
    one = tenant.service().push_invoice(invoice("inv-1"), version=version(), uncertain=True, manual=False)
    assert one.action == "created" and one.sevdesk_id != ten.sevdesk_id
    assert len(tenant.invoices()) == 2


def test_uncertain_retry_after_the_send_step_failed(tenant: Tenant, version: Version) -> None:
    tenant.sandbox.state.add_fault(
        Fault(kind="status", status=422, account_id=tenant.account.account_id, method="PUT", path_pattern="/sendBy$")
    )
    with pytest.raises(Exception, match="Unprocessable"):
        tenant.service().push_invoice(invoice(), version=version(), uncertain=False, manual=False)
    row = tenant.mappings.get(PLATFORM, tenant.tenant_id, "invoice", "inv-1")
    assert row is not None and row.status == 100 and row.sevdesk_id == tenant.invoices()[0]["id"]

    outcome = tenant.service().push_invoice(invoice(), version=version(), uncertain=True, manual=False)

    assert (outcome.action, outcome.message) == ("updated", "invoice RE-inv-1 updated in sevDesk: sent")
    assert len(tenant.invoices()) == 1


def test_uncertain_contact_create_inside_an_invoice_push(tenant: Tenant, version: Version) -> None:
    tenant.sandbox.state.add_fault(
        Fault(
            kind="timeout_after_commit",
            account_id=tenant.account.account_id,
            method="POST",
            path_pattern="^/Contact$",
            delay_seconds=1.5,
        )
    )
    customer = invoice().customer.model_copy(update={"customer_number": "K-55"})
    with pytest.raises(SevdeskNetworkError):
        tenant.service().push_invoice(invoice(customer=customer), version=version(), uncertain=False, manual=False)
    assert tenant.invoices() == [] and len(tenant.contacts()) == 1

    outcome = tenant.service().push_invoice(invoice(customer=customer), version=version(), uncertain=True, manual=False)

    assert outcome.action == "created"
    [contact] = tenant.contacts()
    assert outcome.contact_sevdesk_id == contact["id"]
