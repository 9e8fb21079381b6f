"""Pure rules of the pull domain: echo and conflict decisions (M7), scheduling windows (M5)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from sevbridge.domain.events import Contact
from sevbridge.domain.pull.echo import (
    CLOCK_SLACK,
    contact_conflict,
    contact_is_echo,
    predicted_contact,
    predicted_contact_hash,
)
from sevbridge.domain.pull.ports import PushedContact
from sevbridge.domain.pull.records import ImportKind, record_hash
from sevbridge.domain.pull.runs import IndexEntry
from sevbridge.domain.pull.scheduling import ScheduledTenant, next_due, schedule_message

pytestmark = pytest.mark.unit
WROTE = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)


def pushed(echo_hash: str | None = "h-pushed") -> PushedContact:
    return PushedContact(source_id="c-1", version=WROTE - timedelta(minutes=1), echo_hash=echo_hash, echo_at=WROTE)


def entry(observed_at: datetime) -> IndexEntry:
    return IndexEntry(kind=ImportKind.CONTACTS, sevdesk_id="1", record_hash="old", run_id="r", observed_at=observed_at)


def test_the_first_look_after_a_write_recognises_it() -> None:
    # Exactly the predicted record, whenever sevDesk stamped it.
    assert contact_is_echo(pushed(), None, "h-pushed", WROTE + timedelta(hours=1))
    # Something else, but last changed by that write (sevDesk held more than sevbridge wrote).
    assert contact_is_echo(pushed(), None, "h-other", WROTE + CLOCK_SLACK)
    assert contact_is_echo(pushed(), entry(WROTE - timedelta(days=1)), "h-other", WROTE - timedelta(seconds=3))
    # Changed after the write: someone's edit.
    assert not contact_is_echo(pushed(), None, "h-other", WROTE + CLOCK_SLACK + timedelta(seconds=1))
    # Once the import saw the contact after the write, every difference is an edit.
    assert not contact_is_echo(pushed(), entry(WROTE + timedelta(minutes=1)), "h-pushed", WROTE)
    # Never written by sevbridge (or before this feature): no echo.
    assert not contact_is_echo(None, None, "h-pushed", WROTE)
    assert not contact_is_echo(PushedContact("c-1", None, None, None), None, "h", WROTE)


def test_conflicts_name_the_newer_side() -> None:
    edit = WROTE + timedelta(minutes=10)
    assert contact_conflict(None, edit) is None
    newer_sevdesk = contact_conflict(edit - timedelta(minutes=1), edit)
    assert newer_sevdesk is not None and newer_sevdesk.winner == "sevdesk"
    newer_platform = contact_conflict(edit + timedelta(minutes=1), edit)
    assert newer_platform is not None and newer_platform.winner == "platform"
    assert newer_platform.platform_updated_at == edit + timedelta(minutes=1)


def test_prediction_is_what_the_import_maps_from_a_fresh_push() -> None:
    contact = Contact.model_validate(
        {
            "source_id": "c-1",
            "company_name": "Muster GmbH",
            "emails": ["a@muster.example", "b@muster.example", "c@muster.example"],
            "mobile": "0171 1",
            "website": "https://muster.example",
            "billing_address": {"street": "Weg 1", "zip": "1", "city": "X", "country": "at"},
        }
    )
    record = predicted_contact(contact, customer_number="1005")
    assert (record.kind, record.organisation_name, record.customer_number) == ("organisation", "Muster GmbH", "1005")
    assert record.emails == ["a@muster.example", "b@muster.example"] and record.mobiles == ["0171 1"]
    assert record.billing_address is not None and record.billing_address.country == "AT"
    assert predicted_contact_hash(contact, customer_number="1005") == record_hash(record)
    assert predicted_contact_hash(contact, customer_number="1006") != record_hash(record)


def tenant(interval: int = 15) -> ScheduledTenant:
    return ScheduledTenant("p", "t", "S1", WROTE, interval, ("contacts",))


def test_next_due_leaves_room_for_a_tick_that_comes_a_little_early() -> None:
    assert next_due(WROTE, 15, 1.0) == WROTE + timedelta(minutes=14)
    assert next_due(WROTE, 60, 1.0) == WROTE + timedelta(minutes=59)
    assert next_due(WROTE, 15, 2 / 900) == WROTE + timedelta(seconds=1.8)  # the local stack's 2-second ticks


def test_one_deduplication_id_per_tenant_and_window() -> None:
    first = schedule_message(tenant(), WROTE, 1.0)
    same_window = schedule_message(tenant(), WROTE + timedelta(minutes=14), 1.0)
    next_window = schedule_message(tenant(), WROTE + timedelta(minutes=15), 1.0)
    other_tenant = schedule_message(ScheduledTenant("p", "u", "S1", WROTE, 15, ("contacts",)), WROTE, 1.0)
    assert first.dedup_id == same_window.dedup_id != next_window.dedup_id
    assert first.dedup_id != other_tenant.dedup_id
    assert first.run_id != same_window.run_id and first.trigger == "schedule"
