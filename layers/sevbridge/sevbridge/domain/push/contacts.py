"""Contacts in sevDesk (P1, P2): find the one that is already there, else create it; keep it current.

Matching follows the tenant's `contact_matching` order. "mapping" means our mapping row (verified to
still exist in sevDesk) and, should the row be lost, our source id in a contact custom field. When an
earlier attempt may have created the contact (`uncertain`, or a mapping row left "create in flight"),
the custom field and the customer number are always looked up before creating. A contact linked
(custom field) to another platform contact is never taken over by e-mail and makes a customer-number
match an error.

Every create carries a customer number, written into the mapping row before the create is sent: the
platform's, or one obtained from sevDesk (getNextCustomerNumber, checked free) when the platform has
none. A create whose answer was lost is therefore found again by that number, never made twice.

A mapped contact whose content is unchanged since it was last fully applied (content hash in the
mapping row) costs no sevDesk call at all: sevDesk holds what we would write. Should it have been
deleted there, the invoice's save is rejected; the document then checks that contact and, if it is
gone, resolves the customer again (invoices.py). Without a mapping row the search by our custom field
runs (one request) unless the account never had a marked contact, or this connection created our field
setting (then every contact it marked has a row: MappingStore.marking_setting): rows are erased when a
tenant is offboarded (C5), its contacts stay in sevDesk, and a later connection must find them, not copy
them. Every create writes its row (with the customer number it sends) before the create.

Under policy `update`, what the platform removed (an e-mail, phone, mobile, website, delivery address)
is removed in sevDesk if sevbridge created it; what someone added there by hand stays (owned.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import datetime

from sevbridge.domain.events import Address, Contact, ContactKind
from sevbridge.domain.pull.echo import echo_stamp
from sevbridge.domain.push import normal
from sevbridge.domain.push.documents import contact_content_hash
from sevbridge.domain.push.locks import NoLocks, TenantLocks
from sevbridge.domain.push.markers import CUSTOM_FIELD_NAME, contact_marker
from sevbridge.domain.push.outcome import Action, PushOutcome, PushRefused
from sevbridge.domain.push.owned import OwnedParts
from sevbridge.domain.push.payloads import address_fields, contact_fields, new_contact_body
from sevbridge.domain.push.ports import MappingRow, SdAddress, SdCommWay, SdContact, SdCustomField, SevdeskPort
from sevbridge.domain.push.reference import Reference
from sevbridge.domain.push.rows import TenantRows
from sevbridge.domain.push.versions import is_stale, newest, stale_message
from sevbridge.domain.settings import ContactMatch, TenantSettings

KEY_PRIVATE, KEY_WORK, KEY_MOBILE = 1, 2, 4
# How many numbers after sevDesk's "next customer number" are tried when that one is already taken.
NUMBER_ATTEMPTS = 5
_TRAILING_DIGITS = re.compile(r"^(.*?)(\d+)$")


@dataclass(frozen=True)
class ContactResult:
    contact_id: str
    action: Action
    message: str
    number: str | None


def _create_in_flight(row: MappingRow | None) -> bool:
    """A create was about to be sent when the row was written: it may have reached sevDesk."""
    return row is not None and row.create_in_flight


class ContactSync:
    def __init__(
        self,
        port: SevdeskPort,
        rows: TenantRows,
        ref: Reference,
        *,
        platform_id: str,
        settings: TenantSettings,
        locks: TenantLocks | None = None,
    ) -> None:
        self._port = port
        self._rows = rows
        self._ref = ref
        self._platform_id = platform_id
        self._settings = settings
        # Transfers of one tenant may run side by side (lanes): one contact is written by one at a time.
        self._locks = locks if locks is not None else TenantLocks(NoLocks(), platform_id, "")
        # Custom fields read during the current sync, by contact id: one read serves the link check
        # of a match and the marker check after it.
        self._fields: dict[str, list[SdCustomField]] = {}
        # Contact ids answered from the mapping row alone, without asking sevDesk (see unverified()).
        self._unverified: set[str] = set()

    # -- entry points --------------------------------------------------------------------------

    def push(self, contact: Contact, *, version: datetime, uncertain: bool) -> PushOutcome:
        with self._locks.contact(contact.source_id):
            return self._push(contact, version=version, uncertain=uncertain)

    def _push(self, contact: Contact, *, version: datetime, uncertain: bool) -> PushOutcome:
        row = self._rows.get("contact", contact.source_id)
        if row is not None and is_stale(row, version):
            return PushOutcome(row.sevdesk_id, "skipped", stale_message(row), row.number)
        result = self._sync(contact, row, version, uncertain)
        return PushOutcome(result.contact_id, result.action, result.message, result.number)

    def resolve(self, contact: Contact, *, version: datetime, uncertain: bool, gone: str | None = None) -> str:
        """A document's customer (I3): found or created, updated per policy unless this data is older.
        `gone`: a contact id sevDesk no longer has (the caller checked); it is not answered again.
        Under the contact's lock, so a document beside another of the same customer sees its create."""
        with self._locks.contact(contact.source_id):
            return self._resolve(contact, version=version, uncertain=uncertain, gone=gone)

    def _resolve(self, contact: Contact, *, version: datetime, uncertain: bool, gone: str | None) -> str:
        row = self._rows.get("contact", contact.source_id)
        if row is not None and row.sevdesk_id and row.sevdesk_id != gone and is_stale(row, version):
            current = self._port.get_contact(row.sevdesk_id)
            if current is not None:
                return current.id
        return self._sync(contact, row, version, uncertain, gone=gone).contact_id

    def unverified(self, contact_id: str) -> bool:
        """Whether `contact_id` was answered from the mapping row without asking sevDesk."""
        return contact_id in self._unverified

    # -- flow ----------------------------------------------------------------------------------

    def _sync(
        self, contact: Contact, row: MappingRow | None, version: datetime, uncertain: bool, *, gone: str | None = None
    ) -> ContactResult:
        self._fields = {}
        content = contact_content_hash(contact)
        # Deleted in sevDesk: match (custom field…) or create as usual.
        row_gone = gone is not None and row is not None and row.sevdesk_id == gone
        if not row_gone and self._applied_already(row, content):
            assert row is not None and row.sevdesk_id is not None
            if newest(row, version) != row.version:
                self._rows.put(replace(row, version=newest(row, version)))
            self._unverified.add(row.sevdesk_id)
            return ContactResult(
                row.sevdesk_id, "unchanged", f"contact already up to date in sevDesk ({row.sevdesk_id})", row.number
            )
        uncertain = uncertain or _create_in_flight(row)
        found = self._match(contact, row, uncertain, row_gone=row_gone)
        if found is None:
            return self._create(contact, row, version, content)
        # Our own create whose follow-up steps (addresses…) were interrupted: finish it whatever the policy.
        unfinished = row is not None and row.sevdesk_id == found.id and not row.complete
        adopted = uncertain and not unfinished and (row is None or row.sevdesk_id != found.id)
        owned = OwnedParts.for_contact(row, found.id, unfinished=unfinished)
        never = self._settings.contact_update_policy == "never"
        if never and not (unfinished or adopted):
            # Nothing written: the row keeps the content hash it had if it describes this contact.
            kept = row.content_hash if row is not None and row.sevdesk_id == found.id else None
            self._remember(contact, found, row, version, number=found.customer_number, applied=kept, owned=owned)
            return ContactResult(
                found.id,
                "unchanged",
                f"contact exists in sevDesk ({found.id}); left unchanged (contact update policy: never)",
                found.customer_number,
            )
        # Adopted under "never": probably our own lost create, but it could be someone else's contact
        # with that customer number, so only what is missing is added; nothing is overwritten.
        additive = never and adopted
        # A contact about to be marked without a row pointing at it yet gets that row first: every contact
        # this connection marks has one, which is what lets _by_marker skip the search (marking_setting).
        link = None
        if row is None or row.sevdesk_id != found.id:
            link = MappingRow(
                "contact",
                contact.source_id,
                sevdesk_id=found.id,
                version=row.version if row is not None else None,  # nothing applied yet
                number=found.customer_number,
                content_hash=None,
            )
        changes = self._bring_up_to_date(contact, found, additive=additive, owned=owned, link=link)
        number = contact.customer_number or found.customer_number
        wrote = unfinished or adopted or bool(changes)
        applied = None if additive else content
        self._remember(contact, found, row, version, number=number, applied=applied, owned=owned, wrote=wrote)
        action: Action
        if unfinished:
            action, message = (
                "created",
                f"contact created in sevDesk ({found.id}), finished after an interruption",
            )
        elif adopted:
            action = "adopted"
            message = f"contact found in sevDesk ({found.id}) after an interrupted attempt and adopted"
        elif changes:
            action, message = "updated", f"contact updated in sevDesk ({found.id}): {'; '.join(changes)}"
        else:
            action, message = "unchanged", f"contact already up to date in sevDesk ({found.id})"
        return ContactResult(found.id, action, message, number)

    def _applied_already(self, row: MappingRow | None, content: str) -> bool:
        """Mapped, complete and this very content applied last time: sevDesk holds what we would write.

        Only when the mapping is the first matching strategy, which is what the full match would use.
        """
        return (
            row is not None
            and row.sevdesk_id is not None
            and row.complete
            and row.content_hash == content
            and self._settings.contact_matching[0] is ContactMatch.MAPPING
        )

    def _create(self, contact: Contact, row: MappingRow | None, version: datetime, content: str) -> ContactResult:
        # One create of the tenant at a time: two side by side would take the same next customer number.
        with self._locks.new_contact():
            return self._create_alone(contact, row, version, content)

    def _create_alone(self, contact: Contact, row: MappingRow | None, version: datetime, content: str) -> ContactResult:
        self._check_countries(contact)  # a refusal must come before the first write
        number = contact.customer_number
        if number and not self._port.is_customer_number_available(number):
            holders = [c.id for c in self._port.find_contacts_by_customer_number(number) if c.customer_number == number]
            holder = f" (sevDesk contact {holders[0]})" if holders else ""
            raise PushRefused(
                f"customer number {number} is already used in sevDesk{holder} by a contact that was not "
                "matched to this one; add `customer_number` to `contact_matching` to link them, or change "
                "the number"
            )
        if not number:
            number = self._free_number(row)
        category = self._ref.customer_category()
        # Before the create: should its answer be lost, the retry looks the contact up by this number.
        pending = MappingRow(
            "contact",
            contact.source_id,
            sevdesk_id=None,
            version=row.version if row is not None else None,  # nothing applied yet
            number=number,
            complete=False,
        )
        self._rows.put(pending, at_once=True)
        created = self._port.create_contact(new_contact_body(contact, category, customer_number=number))
        try:
            return self._finish_create(contact, created, row, version, content, number)
        except Exception:
            # A step after the create failed: the retry finds and finishes this contact by its id. (Should
            # the worker die instead, the pending row makes the next attempt look for it by its number.)
            self._rows.put(replace(pending, sevdesk_id=created.id, version=newest(row, version)))
            raise

    def _finish_create(
        self, contact: Contact, created: SdContact, row: MappingRow | None, version: datetime, content: str, number: str
    ) -> ContactResult:
        # The create's answer is the contact as stored: read it back only if it shows no number.
        fresh = created if created.customer_number is not None else (self._port.get_contact(created.id) or created)
        if fresh.customer_number != number:
            # Seen live: a contact came back with another (its parent's) customer number.
            self._port.update_contact(created.id, {"customerNumber": number})
        # A contact we just created has no custom fields, addresses or communication ways to read.
        self._fields[created.id] = []
        self._ensure_marker(created.id, self._marker(contact))
        owned = OwnedParts()
        self._sync_addresses(contact, created.id, existing=[], owned=owned)
        self._sync_comm_ways(contact, created.id, existing=[], owned=owned)
        self._remember(contact, created, row, version, number=number, applied=content, owned=owned, wrote=True)
        return ContactResult(
            created.id, "created", f"contact created in sevDesk ({created.id}) with customer number {number}", number
        )

    def _free_number(self, row: MappingRow | None) -> str:
        """A customer number for a new contact the platform sent without one: sevDesk's next number,
        checked free (or the next few after it); the number of an earlier attempt whose create never
        arrived is reused while it is still free."""
        earlier = row.number if row is not None and _create_in_flight(row) else None
        if earlier and self._port.is_customer_number_available(earlier):
            return earlier
        guess = self._port.next_customer_number()
        if self._port.is_customer_number_available(guess):
            return guess
        # The guess (the port may answer from its cache) was taken, e.g. by a contact made in sevDesk
        # since: ask sevDesk, and try the numbers after its answer.
        number: str | None = self._port.next_customer_number(fresh=True)
        tried: list[str] = []
        if number == guess:
            tried.append(guess)
            number = following_number(guess)
        while number is not None and len(tried) < NUMBER_ATTEMPTS:
            if self._port.is_customer_number_available(number):
                return number
            tried.append(number)
            number = following_number(number)
        raise PushRefused(
            "could not obtain a free customer number from sevDesk for this contact "
            f"(tried {', '.join(tried)}); send the contact with a `customer_number`, or check the "
            "customer number sequence in sevDesk"
        )

    def _remember(
        self,
        contact: Contact,
        found: SdContact,
        row: MappingRow | None,
        version: datetime,
        *,
        number: str | None,
        applied: str | None,
        owned: OwnedParts,
        wrote: bool = False,
    ) -> None:
        # M7: what sevbridge wrote (and when) lets the import tell its own writes from edits in sevDesk.
        echo_hash, echo_at = None, None
        if wrote:
            echo_hash, echo_at = echo_stamp(contact, number)
        elif row is not None and row.sevdesk_id == found.id:
            echo_hash, echo_at = row.echo_hash, row.echo_at
        self._rows.put(
            owned.recorded(
                MappingRow(
                    "contact",
                    contact.source_id,
                    sevdesk_id=found.id,
                    version=newest(row, version),
                    number=number,
                    content_hash=applied,
                    echo_hash=echo_hash,
                    echo_at=echo_at,
                )
            )
        )

    # -- matching ------------------------------------------------------------------------------

    def _match(
        self, contact: Contact, row: MappingRow | None, uncertain: bool, *, row_gone: bool = False
    ) -> SdContact | None:
        order = list(self._settings.contact_matching)
        if uncertain:
            order += [s for s in (ContactMatch.MAPPING, ContactMatch.CUSTOMER_NUMBER) if s not in order]
        for strategy in order:
            found = self._try(strategy, contact, row, uncertain=uncertain, row_gone=row_gone)
            if found is not None:
                return found
        return None

    def _try(
        self, strategy: ContactMatch, contact: Contact, row: MappingRow | None, *, uncertain: bool, row_gone: bool
    ) -> SdContact | None:
        if strategy is ContactMatch.MAPPING:
            if row is not None and row.sevdesk_id and not row_gone:
                found = self._port.get_contact(row.sevdesk_id)
                if found is not None:
                    return found
            # Also without a row: rows are erased on offboarding (C5) while the contacts stay in sevDesk, so
            # a tenant connected again finds them by our marker. Costs nothing in an account never marked
            # (no field setting, known from reference data) or marked only by this connection (proof).
            return self._by_marker(contact, uncertain=uncertain)
        if strategy is ContactMatch.SEVDESK_ID:
            return self._port.get_contact(contact.sevdesk_id) if contact.sevdesk_id else None
        if strategy is ContactMatch.CUSTOMER_NUMBER:
            return self._by_customer_number(contact, row)
        return self._by_email(contact)

    def _marker(self, contact: Contact) -> str:
        return contact_marker(self._platform_id, contact.source_id)

    def _by_marker(self, contact: Contact, *, uncertain: bool) -> SdContact | None:
        setting = self._ref.field_setting(create=False)
        if setting is None:
            return None  # no contact was ever marked in this account
        if not uncertain and self._rows.marking_setting() == setting:
            # This connection created the setting and writes a row before it marks a contact: a contact
            # without a row carries no marker of ours (an earlier attempt in flight makes this uncertain).
            return None
        marker = self._marker(contact)
        for candidate in _by_id(self._port.find_contacts_by_custom_field(setting, CUSTOM_FIELD_NAME, marker)):
            if self._linked_to(candidate.id) == marker:  # the search may be loose: check the value
                return candidate
        return None

    def _by_customer_number(self, contact: Contact, row: MappingRow | None) -> SdContact | None:
        marker = self._marker(contact)
        if contact.customer_number:
            found = self._holder(contact.customer_number, marker, ours_only=False)
            if found is not None:
                return found
        # The number a create in flight was sent with: finds that contact if the create arrived.
        sent = row.number if row is not None and _create_in_flight(row) else None
        if sent and sent != contact.customer_number:
            return self._holder(sent, marker, ours_only=True)
        return None

    def _holder(self, number: str, marker: str, *, ours_only: bool) -> SdContact | None:
        """The sevDesk contact with exactly this customer number. One linked to another platform
        contact is an error for the platform's number, and skipped for a number we chose ourselves
        (our lost create carries no link, or ours)."""
        for candidate in _by_id(self._port.find_contacts_by_customer_number(number)):
            if candidate.customer_number != number:  # sevDesk may return near matches
                continue
            linked = self._linked_to(candidate.id)
            if linked not in (None, marker):
                if ours_only:
                    continue
                raise PushRefused(
                    f"customer number {number} belongs to sevDesk contact {candidate.id}, which is already "
                    f"linked to another platform contact ({linked}); fix the customer number on one of them"
                )
            return candidate
        return None

    def _by_email(self, contact: Contact) -> SdContact | None:
        marker = self._marker(contact)
        for email in contact.emails:
            wanted = normal.comm_value("EMAIL", email)
            ids = sorted(
                {
                    w.contact_id
                    for w in self._port.find_email_ways(email)
                    if w.contact_id and w.type.upper() == "EMAIL" and normal.comm_value("EMAIL", w.value) == wanted
                },
                key=_id_key,
            )
            for contact_id in ids:
                if self._linked_to(contact_id) not in (None, marker):
                    continue  # shared address (household, firm): that contact belongs to someone else
                found = self._port.get_contact(contact_id)
                if found is not None:
                    return found
        return None

    def _custom_fields(self, contact_id: str) -> list[SdCustomField]:
        if contact_id not in self._fields:
            self._fields[contact_id] = self._port.list_custom_fields(contact_id)
        return self._fields[contact_id]

    def _our_fields(self, contact_id: str, setting: str) -> list[SdCustomField]:
        return [
            f for f in self._custom_fields(contact_id) if f.setting_id == setting and f.contact_id in (None, contact_id)
        ]

    def _linked_to(self, contact_id: str) -> str | None:
        """The platform contact a sevDesk contact is linked to by our custom field, if any."""
        setting = self._ref.field_setting(create=False)
        if setting is None:
            return None
        values = [f.value for f in self._our_fields(contact_id, setting) if f.value]
        return values[0] if values else None

    def _ensure_marker(self, contact_id: str, marker: str, *, link: MappingRow | None = None) -> None:
        """Our marker on the contact. `link`: the row to write before marking a contact that has none."""
        setting = self._ref.field_setting(create=False)
        if setting is None:
            # The account's first marker: one transfer of the tenant at a time creates the setting.
            with self._locks.new_contact():
                setting = self._ref.field_setting(create=True)
                assert setting is not None  # created on demand
                if self._ref.created_field_setting:
                    # Created by this connection: no contact carried the marker before (ports.MappingStore).
                    self._rows.record_marking_setting(setting)
        # A link to another platform contact is left alone: it is not ours to move.
        if not self._our_fields(contact_id, setting):
            if link is not None:
                self._rows.put(link, at_once=True)
            self._port.create_custom_field(contact_id, setting, marker)
            self._fields.pop(contact_id, None)

    # -- updating ------------------------------------------------------------------------------

    def _bring_up_to_date(
        self,
        contact: Contact,
        current: SdContact,
        *,
        additive: bool = False,
        owned: OwnedParts,
        link: MappingRow | None = None,
    ) -> list[str]:
        self._check_countries(contact)  # a refusal must come before the first write
        changes: list[str] = []
        wanted = {} if additive else contact_fields(contact)
        diff = {k: v for k, v in wanted.items() if normal.text(current.values.get(k)) != normal.text(v)}
        number = diff.get("customerNumber")
        if number is not None and not self._port.is_customer_number_available(number):
            del diff["customerNumber"]
            changes.append(f"customer number {number} kept out: already used by another sevDesk contact")
        if diff:
            self._port.update_contact(current.id, diff)
            changes.append("fields " + ", ".join(sorted(diff)))
        self._ensure_marker(current.id, self._marker(contact), link=link)
        changes += self._sync_addresses(contact, current.id, additive=additive, owned=owned)
        changes += self._sync_comm_ways(contact, current.id, owned=owned, remove=not additive)
        return changes

    def _check_countries(self, contact: Contact) -> None:
        for address in [contact.billing_address, *contact.delivery_addresses]:
            if address is not None:
                self._ref.country(address.country)

    def _sync_addresses(
        self,
        contact: Contact,
        contact_id: str,
        *,
        owned: OwnedParts,
        additive: bool = False,
        existing: list[SdAddress] | None = None,
    ) -> list[str]:
        wanted: list[tuple[str, str, list[Address]]] = []
        if contact.billing_address is not None:
            wanted.append(("billing", self._ref.billing_category(), [contact.billing_address]))
        # Also when the platform sent none: delivery addresses of ours may have to go.
        if contact.delivery_addresses or (owned.addresses and not additive) or owned.claim_existing:
            wanted.append(("delivery", self._ref.delivery_category(), list(contact.delivery_addresses)))
        if not wanted:
            return []
        if existing is None:
            existing = self._port.list_addresses(contact_id)
        owned.claim_addresses(a.id for a in existing)
        changes: list[str] = []
        current: list[str] = []  # ids that hold the platform's data after this sync
        for label, category, addresses in wanted:
            pool = [a for a in existing if a.category_id == category]
            if additive and pool:
                continue
            desired = [(a, self._ref.country(a.country)) for a in addresses]
            missing = [(a, c) for a, c in desired if not any(_same_address(e, a, c) for e in pool)]
            free = [e for e in pool if not any(_same_address(e, a, c) for a, c in desired)]
            current += [e.id for e in pool if e not in free]
            # The billing address is the contact's one invoice address: an outdated one is rewritten.
            # Of the delivery addresses only ours are: one someone added in sevDesk is left alone.
            reusable = free if label == "billing" else [e for e in free if owned.may_rewrite_address(e.id)]
            for address, country_id in missing:
                fields = address_fields(address, country_id=country_id, category_id=category)
                if reusable:  # rewrite an outdated address of this kind rather than piling up copies
                    target = reusable.pop(0)
                    self._port.update_address(target.id, fields)
                    current.append(target.id)
                    changes.append(f"{label} address updated")
                else:
                    created = self._port.create_address(contact_id, fields)
                    owned.created_address(created)
                    current.append(created)
                    changes.append(f"{label} address added")
            if label == "delivery" and not additive:
                changes += [self._remove_address(e, owned) for e in reusable if owned.owns_address(e.id)]
        owned.settle_addresses(current)
        return changes

    def _remove_address(self, address: SdAddress, owned: OwnedParts) -> str:
        """A delivery address of ours the platform no longer has."""
        owned.forget_address(address.id)  # gone, or refused: either way never tried again
        where = ", ".join(p for p in (address.street, address.city) if p) or address.id
        if self._port.delete_address(address.id):
            return f"delivery address {where} removed"
        return f"delivery address {where} kept: sevDesk refused to delete it (still in use)"

    def _sync_comm_ways(
        self,
        contact: Contact,
        contact_id: str,
        *,
        owned: OwnedParts,
        remove: bool = True,
        existing: list[SdCommWay] | None = None,
    ) -> list[str]:
        personal = contact.resolved_kind is ContactKind.PERSON
        key = KEY_PRIVATE if personal else KEY_WORK
        wanted = [("EMAIL", e, key) for e in contact.emails]
        if contact.phone:
            wanted.append(("PHONE", contact.phone, key))
        if contact.mobile:
            wanted.append(("MOBILE", contact.mobile, KEY_MOBILE))
        if contact.website:
            wanted.append(("WEB", contact.website, key))
        if not wanted and not (remove and owned.ways) and not owned.claim_existing:
            return []
        listed = self._port.list_communication_ways(contact_id) if existing is None else existing
        ways = [w for w in listed if w.contact_id in (None, contact_id)]
        owned.claim_ways(w.id for w in ways)
        keep = {_way_key(type_, value) for type_, value, _ in wanted}
        changes: list[str] = []
        if remove:
            for way in [w for w in ways if owned.owns_way(w.id) and _way_key(w.type, w.value) not in keep]:
                owned.forget_way(way.id)  # gone, or refused: either way never tried again
                if self._port.delete_communication_way(way.id):
                    ways.remove(way)
                    changes.append(f"{way.type.lower()} {way.value} removed")
                else:
                    changes.append(f"{way.type.lower()} {way.value} kept: sevDesk refused to delete it (still in use)")
        have: dict[str, set[str]] = {}
        with_main: set[str] = set()
        for way in ways:
            have.setdefault(normal.comm_group(way.type), set()).add(normal.comm_value(way.type, way.value))
            if way.main:
                with_main.add(way.type.upper())
        current = [w.id for w in ways if _way_key(w.type, w.value) in keep]
        for type_, value, key_id in wanted:
            normalised = normal.comm_value(type_, value)
            pool = have.setdefault(normal.comm_group(type_), set())
            if not normalised or normalised in pool:
                continue
            main = type_ not in with_main
            created = self._port.create_communication_way(contact_id, type_, value, key_id, main)
            owned.created_way(created)
            current.append(created)
            with_main.add(type_)
            pool.add(normalised)
            changes.append(f"{type_.lower()} {value} added")
        owned.settle_ways(current)
        return changes


def _way_key(type_: str, value: str) -> tuple[str, str]:
    """Phone, mobile and fax share one pool (normal.comm_group): a number moved from phone to mobile stays."""
    return normal.comm_group(type_), normal.comm_value(type_, value)


def following_number(number: str) -> str | None:
    """'1005' → '1006', 'K-0099' → 'K-0100'; None without trailing digits."""
    match = _TRAILING_DIGITS.match(number)
    if match is None:
        return None
    prefix, digits = match.groups()
    return prefix + str(int(digits) + 1).zfill(len(digits))


def _id_key(contact_id: str) -> tuple[int, str]:
    return (len(contact_id), contact_id)


def _by_id(contacts: list[SdContact]) -> list[SdContact]:
    """Oldest first: the original wins over later duplicates someone made by hand."""
    return sorted(contacts, key=lambda c: _id_key(c.id))


def _same_address(existing: SdAddress, wanted: Address, country_id: str) -> bool:
    same = (
        normal.text(existing.street) == normal.text(wanted.street)
        and normal.text(existing.zip) == normal.text(wanted.zip)
        and normal.text(existing.city) == normal.text(wanted.city)
        and (existing.country_id or "") == country_id
    )
    # The recipient line is ours to compare only when the platform sets one.
    return same and (not wanted.name or normal.text(existing.name) == normal.text(wanted.name))
