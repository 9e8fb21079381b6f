"""M7: sevbridge's own writes never come back as changes; when both sides changed, the newer wins.

Contacts. When the push writes a contact to sevDesk it records, in the contact's mapping row, when it
wrote (`echo_at`) and how the import would map that contact (`echo_hash`, predicted from the platform
contact it pushed). The first time an import sees the contact after such a write, the version in
sevDesk is sevbridge's own when
- it maps to exactly the predicted record, or
- sevDesk last changed it no later than that write (its `update` ≤ `echo_at` + a few seconds of clock
  difference) — the contact may hold more than sevbridge wrote (a second phone added by hand earlier;
  the push adds and never removes), which the prediction cannot know.
Either way it is recorded as the new baseline without a change. Anything sevDesk shows later that
differs from the baseline is an edit in sevDesk and comes back as `updated`, with the `source_id`.
Edits made within those few seconds after sevbridge's write, before any import saw the contact,
cannot be told apart from the write itself.

Conflicts. An edit in sevDesk while the platform has a newer version of the same contact still on its
way (a contact, invoice or project transfer carrying it is queued or parked) means both sides changed
since the last sync: the change is flagged `conflict` with both times, and `winner` names the newer
side (sevDesk when its `update` is later than the platform's `occurred_at`). The platform's pending
version is still applied by the push when its turn comes.

Invoices pushed by sevbridge come back only when sevDesk moved them on by itself (paid or cancelled
in sevDesk, a payment the platform did not send): the status the push reached is the echo.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from sevbridge.domain.pull.ports import PushedContact, PushedInvoice
from sevbridge.domain.pull.records import AddressRecord, ConflictInfo, ContactRecord, InvoiceRecord, record_hash
from sevbridge.domain.pull.runs import IndexEntry

if TYPE_CHECKING:
    # Only the push predicts a contact (it has the platform's event models loaded); the import reads
    # what the push recorded, so the import worker never loads them (tests/unit/test_cold_path.py).
    from sevbridge.domain.events import Address, Contact

# How far sevDesk's clock may run ahead of ours (its `update` stamps vs. our `echo_at`).
CLOCK_SLACK = timedelta(seconds=5)


def predicted_contact(contact: Contact, *, customer_number: str | None) -> ContactRecord:
    """The record the import will map from sevDesk after the push wrote `contact` to a contact that
    had nothing else (the push writes only what the platform filled and adds, never removes)."""
    from sevbridge.domain.events import ContactKind

    def address(value: Address | None) -> AddressRecord | None:
        if value is None:
            return None
        return AddressRecord(
            name=value.name, street=value.street, zip=value.zip, city=value.city, country=value.country.upper()
        )

    organisation = contact.resolved_kind is ContactKind.ORGANISATION
    delivery = [a for a in (address(d) for d in contact.delivery_addresses) if a is not None]
    return ContactRecord(
        kind="organisation" if organisation else "person",
        organisation_name=contact.company_name if organisation else None,
        title=None if organisation else contact.title,
        first_name=None if organisation else contact.first_name,
        last_name=None if organisation else contact.last_name,
        customer_number=contact.customer_number or customer_number,
        description=contact.notes,
        vat_id=contact.vat_id,
        billing_address=address(contact.billing_address),
        delivery_addresses=delivery,
        emails=[str(e) for e in contact.emails][:2],
        mobiles=[contact.mobile] if contact.mobile else [],
        phone=contact.phone,
    )


def predicted_contact_hash(contact: Contact, *, customer_number: str | None) -> str:
    return record_hash(predicted_contact(contact, customer_number=customer_number))


def echo_stamp(contact: Contact, customer_number: str | None) -> tuple[str, datetime]:
    """What the push records right after writing a contact: (predicted record hash, now). Wall-clock
    time on purpose: it is compared with sevDesk's own `update` stamps, not with platform versions."""
    return predicted_contact_hash(contact, customer_number=customer_number), datetime.now(UTC)


def contact_is_echo(
    pushed: PushedContact | None, entry: IndexEntry | None, new_hash: str, update: datetime | None
) -> bool:
    if pushed is None or pushed.echo_at is None:
        return False
    if entry is not None and entry.observed_at >= pushed.echo_at:
        return False  # the import saw it after sevbridge's last write: any difference is someone's edit
    if pushed.echo_hash == new_hash:
        return True
    return update is not None and update <= pushed.echo_at + CLOCK_SLACK


def contact_conflict(pending_version: datetime | None, update: datetime | None) -> ConflictInfo | None:
    if pending_version is None or update is None:
        return None
    return ConflictInfo(
        sevdesk_updated_at=update,
        platform_updated_at=pending_version,
        winner="sevdesk" if update > pending_version else "platform",
    )


def invoice_is_echo(pushed: PushedInvoice | None, record: InvoiceRecord) -> bool:
    return (
        pushed is not None
        and pushed.status is not None
        and record.status != "cancelled"
        and record.sevdesk_status == pushed.status
    )
