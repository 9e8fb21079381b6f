"""The tenant's sevDesk reference data (units, categories, countries, user, check account), read
once per service instance (one instance serves one transfer). The port may answer from a short-lived
per-tenant cache; before a document is refused for a missing unit, country or check account, the
data is read fresh, so what the tenant just fixed in sevDesk counts.
"""

from __future__ import annotations

from collections.abc import Iterable

from sevbridge.domain.push.documents import Line
from sevbridge.domain.push.markers import CUSTOM_FIELD_DESCRIPTION, CUSTOM_FIELD_NAME
from sevbridge.domain.push.outcome import PushRefused
from sevbridge.domain.push.ports import SdCategory, SevdeskPort
from sevbridge.domain.push.units import UnitMatcher
from sevbridge.domain.settings import TenantSettings

# (names, translation code, id used by every sevDesk account we know of: the fallback)
CUSTOMER = (("kunde", "customer"), "CATEGORY_CUSTOMER", "3")
BILLING_ADDRESS = (("rechnungsadresse", "invoice address"), "CATEGORY_INVOICE_ADDRESS", "47")
DELIVERY_ADDRESS = (("lieferadresse", "delivery address"), "CATEGORY_DELIVERY_ADDRESS", "48")


def _pick_category(rows: list[SdCategory], spec: tuple[tuple[str, ...], str, str]) -> str:
    names, code, fallback = spec
    for row in rows:
        if (row.name or "").strip().casefold() in names or row.translation_code == code:
            return row.id
    return fallback


class Reference:
    def __init__(self, port: SevdeskPort, settings: TenantSettings) -> None:
        self._port = port
        self._settings = settings
        self._units: UnitMatcher | None = None
        self._units_fresh = False
        self._categories: dict[str, list[SdCategory]] = {}
        self._countries: dict[str, str] = {}
        self._user_id: str | None = None
        self._check_account: str | None = None
        self._field_setting: str | None = None
        self._field_setting_looked_up = False
        # True once this instance created the setting itself (not found it): the marking proof rests on it.
        self.created_field_setting = False

    # units ---------------------------------------------------------------------------------
    def resolve_units(self, lines: Iterable[Line]) -> dict[str, str]:
        """Line unit → sevDesk unit id for every line, or PushRefused naming every missing unit."""
        wanted = [(line.unit, line.unit_fallback) for line in lines]
        if self._units is None:
            self._units = UnitMatcher(self._port.list_units(), self._settings.unit_mapping)
        try:
            return self._units.resolve(wanted)
        except PushRefused:
            if self._units_fresh:
                raise
        self._units = UnitMatcher(self._port.list_units(fresh=True), self._settings.unit_mapping)
        self._units_fresh = True
        return self._units.resolve(wanted)

    # categories ----------------------------------------------------------------------------
    def _category(self, object_type: str, spec: tuple[tuple[str, ...], str, str]) -> str:
        if object_type not in self._categories:
            self._categories[object_type] = self._port.list_categories(object_type)
        return _pick_category(self._categories[object_type], spec)

    def customer_category(self) -> str:
        return self._category("Contact", CUSTOMER)

    def billing_category(self) -> str:
        return self._category("ContactAddress", BILLING_ADDRESS)

    def delivery_category(self) -> str:
        return self._category("ContactAddress", DELIVERY_ADDRESS)

    # countries -----------------------------------------------------------------------------
    def country(self, iso2: str) -> str:
        code = iso2.strip().lower()
        if code not in self._countries:
            rows = [r for r in self._port.find_countries(code) if r.code.lower() == code]
            if not rows:
                rows = [r for r in self._port.find_countries(code, fresh=True) if r.code.lower() == code]
            if not rows:
                raise PushRefused(f"country '{iso2}' is not known to sevDesk (no StaticCountry with code '{code}')")
            # Real accounts have two "gb" rows; the "United Kingdom" one is right (api-facts §4).
            rows.sort(key=lambda r: (r.name_en != "United Kingdom", len(r.id), r.id))
            self._countries[code] = rows[0].id
        return self._countries[code]

    # people and accounts -------------------------------------------------------------------
    def contact_person(self) -> str:
        if self._user_id is None:
            self._user_id = self._settings.sevdesk_user_id or self._port.current_user_id()
        return self._user_id

    def check_account(self) -> str:
        if self._check_account is None:
            if self._settings.check_account_id:
                self._check_account = self._settings.check_account_id
            else:
                # Cash-register ("offline") accounts book without a bank transaction (api-facts §5).
                offline = [a for a in self._port.list_check_accounts() if a.type == "offline"]
                if not offline:
                    offline = [a for a in self._port.list_check_accounts(fresh=True) if a.type == "offline"]
                offline.sort(key=lambda a: (a.status is not None and a.status < 100, len(a.id), a.id))
                if not offline:
                    raise PushRefused(
                        "cannot book the payment: this sevDesk account has no offline (cash register) "
                        "check account; set `check_account_id` in the connection settings"
                    )
                self._check_account = offline[0].id
        return self._check_account

    # contact custom field ------------------------------------------------------------------
    def field_setting(self, *, create: bool) -> str | None:
        """Our ContactCustomFieldSetting id; created once per tenant on the first write."""
        if self._field_setting is None and not self._field_setting_looked_up:
            self._field_setting = self._port.find_custom_field_setting(CUSTOM_FIELD_NAME)
            self._field_setting_looked_up = True
        elif self._field_setting is None and create:
            # Another transfer of the tenant running beside this one (lanes) may have created it since this
            # one looked (the caller holds the tenant's lock): it would have told this process's cache.
            self._field_setting = self._port.find_custom_field_setting(CUSTOM_FIELD_NAME, known_only=True)
        if self._field_setting is None and create:
            self._field_setting = self._port.create_custom_field_setting(CUSTOM_FIELD_NAME, CUSTOM_FIELD_DESCRIPTION)
            self.created_field_setting = True
        return self._field_setting
