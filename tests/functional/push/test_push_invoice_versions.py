"""M6: versions the push skipped count for staleness, so a late older event can't create a document the
platform has moved on from; a manual request is only stopped by a newer version applied in sevDesk."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import pytest

from sevbridge.domain.push.ports import MappingRow
from tests.functional.push.builders import invoice
from tests.functional.push.conftest import PLATFORM, Tenant

pytestmark = pytest.mark.functional

Version = Callable[[], datetime]


def _row(tenant: Tenant, source_id: str = "inv-1") -> MappingRow | None:
    return tenant.mappings.get(PLATFORM, tenant.tenant_id, "invoice", source_id)


def test_older_sent_event_after_a_newer_skipped_draft_is_stale(tenant: Tenant, version: Version) -> None:
    older, newer = version(), version()
    draft = tenant.service().push_invoice(invoice(status="draft"), version=newer, uncertain=False, manual=False)
    late = tenant.service().push_invoice(invoice(status="sent"), version=older, uncertain=False, manual=False)

    assert (draft.action, late.action) == ("skipped", "skipped")
    assert late.message == f"stale: a newer version ({newer.isoformat()}) was already received and not transferred"
    assert late.sevdesk_id is None
    assert tenant.invoices() == [] and tenant.contacts() == []
    assert tenant.request_count() == 0  # decided from the mapping row alone


def test_skip_records_only_a_seen_version_never_a_create_in_flight(tenant: Tenant, version: Version) -> None:
    v1, v2 = version(), version()
    tenant.service().push_invoice(invoice(status="draft"), version=v2, uncertain=False, manual=False)
    row = _row(tenant)
    assert row is not None
    assert (row.seen_only, row.seen_version, row.version, row.sevdesk_id) == (True, v2, None, None)
    assert not row.create_in_flight

    # An older draft, then the same draft again: nothing moves back, and a seen-only row is not an
    # interrupted create, so sevDesk is not searched for one.
    tenant.service().push_invoice(invoice(status="draft"), version=v1, uncertain=False, manual=False)
    again = tenant.service().push_invoice(invoice(status="draft"), version=v2, uncertain=False, manual=False)
    assert again.message == "draft: transferred when it leaves draft, or on manual request"
    assert _row(tenant) == row
    assert tenant.request_count() == 0


def test_newer_sent_event_after_a_skipped_draft_is_created(tenant: Tenant, version: Version) -> None:
    v2, v3 = version(), version()
    tenant.service().push_invoice(invoice(status="draft"), version=v2, uncertain=False, manual=False)
    sent = tenant.service().push_invoice(invoice(status="sent"), version=v3, uncertain=False, manual=False)

    assert sent.action == "created"
    [inv] = tenant.invoices()
    assert inv["status"] == "200" and inv["id"] == sent.sevdesk_id
    row = _row(tenant)
    assert row is not None
    assert (row.seen_only, row.sevdesk_id, row.version, row.seen_version) == (False, inv["id"], v3, v2)


def test_manual_transfer_of_an_older_version_after_a_skipped_draft_is_created(tenant: Tenant, version: Version) -> None:
    v1, v2 = version(), version()
    tenant.service().push_invoice(invoice(status="draft"), version=v2, uncertain=False, manual=False)
    manual = tenant.service().push_invoice(invoice(status="sent"), version=v1, uncertain=False, manual=True)

    assert manual.action == "created"
    [inv] = tenant.invoices()
    assert inv["status"] == "200"
    row = _row(tenant)
    assert row is not None and (row.seen_only, row.version, row.seen_version) == (False, v1, v2)

    # An automatic event between the two is still older than the draft that was seen: stale.
    between = v1 + (v2 - v1) / 2
    late = tenant.service().push_invoice(invoice(status="paid"), version=between, uncertain=False, manual=False)
    assert late.action == "skipped" and late.message.startswith("stale: a newer version")
    assert tenant.invoices()[0]["status"] == "200"


def test_manual_transfer_is_refused_as_stale_when_a_newer_version_was_applied(tenant: Tenant, version: Version) -> None:
    v1, v2 = version(), version()
    tenant.service().push_invoice(invoice(status="paid"), version=v2, uncertain=False, manual=False)
    manual = tenant.service().push_invoice(invoice(status="draft"), version=v1, uncertain=False, manual=True)

    assert manual.action == "skipped"
    assert manual.message == f"stale: a newer version ({v2.isoformat()}) was already applied"
    assert tenant.invoices()[0]["status"] == "1000"


def test_version_skipped_while_automatic_transfer_was_off_counts_too(tenant: Tenant, version: Version) -> None:
    older, newer = version(), version()
    off = tenant.service(auto_transfer=False).push_invoice(
        invoice(status="sent"), version=newer, uncertain=False, manual=False
    )
    assert (off.action, off.message) == ("skipped", "automatic transfer is off")

    late = tenant.service().push_invoice(invoice(status="paid"), version=older, uncertain=False, manual=False)
    assert late.action == "skipped" and late.message.startswith("stale: a newer version")
    assert tenant.invoices() == []


def test_skip_after_an_interrupted_create_keeps_the_row_in_flight(tenant: Tenant, version: Version) -> None:
    """A create whose row was written but which never reached sevDesk, then a newer draft: the row stays
    an attempt in flight (a retry still looks for the marker) and also remembers the draft."""
    v1, v2 = version(), version()
    in_flight = MappingRow("invoice", "inv-1", version=v1, content_hash="x")
    tenant.mappings.put(PLATFORM, tenant.tenant_id, in_flight)

    draft = tenant.service().push_invoice(invoice(status="draft"), version=v2, uncertain=False, manual=False)
    assert draft.action == "skipped"
    row = _row(tenant)
    assert row is not None and row.create_in_flight
    assert (row.seen_only, row.version, row.seen_version, row.content_hash) == (False, v1, v2, "x")

    # The retry of the interrupted "sent" (same version as the attempt) is now stale: the platform
    # has since made the invoice a draft.
    retry = tenant.service().push_invoice(invoice(status="sent"), version=v1, uncertain=True, manual=False)
    assert retry.action == "skipped" and retry.message.startswith("stale: a newer version")
    assert tenant.invoices() == []
