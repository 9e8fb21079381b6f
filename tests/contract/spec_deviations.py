"""Every known difference between sevDesk's spec and what we deliberately send, in one place.

The contract helper validates each recorded request against the community-corrected spec
(`shared/sevdesk/openapi.yaml`). The real API differs from that spec in a few documented ways
(api-facts.md §5, §6, §9); only the items below are tolerated, each with its reason. Anything else
that fails validation is a bug in our request.

Each spec patch first checks that the spec still has the flaw it works around and fails loudly if
not: when the spec gets fixed upstream, the deviation must be deleted here, not silently kept.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

Spec = dict[str, Any]


@dataclass(frozen=True)
class UndocumentedPath:
    """A path sevDesk serves but the spec lacks: requests to it get our header checks only."""

    path: str
    reason: str

    def covers(self, path: str) -> bool:
        return path == self.path or path.startswith(self.path + "/")


@dataclass(frozen=True)
class SpecPatch:
    """A change to the spec dict, applied before openapi-core loads it."""

    name: str
    reason: str
    apply: Callable[[Spec], None]


@dataclass(frozen=True)
class Note:
    """Looks like a deviation but needs no tolerance; written down so nobody "fixes" it."""

    name: str
    reason: str


UNDOCUMENTED_PATHS: tuple[UndocumentedPath, ...] = (
    UndocumentedPath("/Unity", "api-facts §6: no /Unity path in either spec; used live to list units."),
    UndocumentedPath(
        "/StaticCountry",
        "api-facts §4, §9: country ids come from GET /StaticCountry, missing from both specs.",
    ),
    UndocumentedPath(
        "/Category",
        "api-facts §4, §9: the spec itself says to fetch GET /Category?objectType=…, but has no such path.",
    ),
    UndocumentedPath("/PaymentMethod", "api-facts §9: used live, missing from both specs."),
    UndocumentedPath(
        "/SevSequence/Factory/getByType",
        "api-facts §5: the next invoice number; only mentioned in the Invoice tag text.",
    ),
    UndocumentedPath(
        "/Invoice/Factory/getNextInvoiceNumber",
        "api-facts §5, §9: older next-number call still used by clients, missing from both specs.",
    ),
)


def _schema(spec: Spec, name: str) -> dict[str, Any]:
    schema: dict[str, Any] = spec["components"]["schemas"][name]
    return schema


def _expect(condition: bool, what: str) -> None:
    if not condition:
        raise AssertionError(f"spec no longer has the flaw '{what}': delete that deviation")


def _save_invoice_requires_invoice_pos_save(spec: Spec) -> None:
    required: list[str] = _schema(spec, "saveInvoice")["required"]
    _expect("invoicePos" in required, "saveInvoice.required lists invoicePos")
    required[required.index("invoicePos")] = "invoicePosSave"


def _invoice_tax_type_optional(spec: Spec) -> None:
    required: list[str] = _schema(spec, "Model_Invoice")["required"]
    _expect("taxType" in required, "Model_Invoice.required lists taxType")
    required.remove("taxType")


def _save_invoice_trailing_keys_nullable(spec: Spec) -> None:
    properties = _schema(spec, "saveInvoice")["properties"]
    for key in ("invoicePosDelete", "discountSave", "discountDelete"):
        _expect(not properties[key].get("nullable"), f"saveInvoice.{key} is not nullable")
        properties[key]["nullable"] = True


def _save_invoice_pos_delete_is_an_array(spec: Spec) -> None:
    properties = _schema(spec, "saveInvoice")["properties"]
    item = dict(properties["invoicePosDelete"])
    _expect(
        "type" not in item and "properties" in item,
        "saveInvoice.invoicePosDelete describes a single {id, objectName} object",
    )
    nullable = bool(item.pop("nullable", False))
    item.pop("default", None)
    properties["invoicePosDelete"] = {"type": "array", "nullable": nullable, "items": {**item, "type": "object"}}


def _invoice_tax_rule_id_int_or_string(spec: Spec) -> None:
    id_schema = _schema(spec, "Model_Invoice")["properties"]["taxRule"]["properties"]
    _expect(id_schema["id"].get("type") == "integer", "Model_Invoice.taxRule.id is integer-only")
    id_schema["id"] = {"anyOf": [{"type": "integer"}, {"type": "string", "pattern": "^[0-9]+$"}]}


def _invoice_delivery_date_german_format(spec: Spec) -> None:
    prop = _schema(spec, "Model_Invoice")["properties"]["deliveryDate"]
    _expect(prop.get("format") == "date-time", "Model_Invoice.deliveryDate is date-time only")
    nullable = prop.get("nullable", False)
    prop.clear()
    prop.update(
        {
            "nullable": nullable,
            "anyOf": [
                {"type": "string", "format": "date-time"},
                {"type": "string", "pattern": r"^\d{2}\.\d{2}\.\d{4}$"},
            ],
        }
    )


SPEC_PATCHES: tuple[SpecPatch, ...] = (
    SpecPatch(
        "saveInvoice.required: invoicePosSave, not invoicePos",
        "api-facts §5: spec bug; the real positions array is invoicePosSave (invoicePos is not a property).",
        _save_invoice_requires_invoice_pos_save,
    ),
    SpecPatch(
        "Model_Invoice.taxType omitted",
        "api-facts §5: taxType is the Update 1.0 field; live 2.0 payloads send taxRule without taxType.",
        _invoice_tax_type_optional,
    ),
    SpecPatch(
        "saveInvoice trailing keys sent as null",
        "api-facts §5: the operation's description says to send invoicePosDelete, discountSave and "
        "discountDelete in order even when null; the schema does not mark them nullable.",
        _save_invoice_trailing_keys_nullable,
    ),
    SpecPatch(
        "saveInvoice.invoicePosDelete is an array of {id, objectName}",
        "api-facts §8: the factories' *PosDelete take an array of {id, objectName}; §2: a single object "
        "where an array is expected is rejected live (\"expected array with 'id' and 'objectName'\"). The "
        "spec describes one object without a type, so any array (ids of any type) passed unchecked. "
        "Stricter than the spec: tolerates nothing new.",
        _save_invoice_pos_delete_is_an_array,
    ),
    SpecPatch(
        "Model_Invoice.taxRule.id as integer or digit string",
        "api-facts §5, §9: integer in the corrected spec, string enum ('1') in the official one; both are used live.",
        _invoice_tax_rule_id_int_or_string,
    ),
    SpecPatch(
        "Model_Invoice.deliveryDate as dd.mm.yyyy",
        "api-facts §5 recommends deliveryDate = invoiceDate ('timestamp or dd.mm.yyyy'); the spec's own "
        "example for deliveryDate is '01.01.2022', which its 'date-time' format rejects.",
        _invoice_delivery_date_german_format,
    ),
)

NOTES: tuple[Note, ...] = (
    Note(
        "Model_Invoice.status is a string",
        "api-facts §5, §10: the spec types invoice status as a string enum ('100') and sevDesk answers "
        "with strings; we send '100' as the spec says, so no tolerance. Contact/Part status are integers.",
    ),
    Note(
        "Ids in request bodies are integers",
        "api-facts §3: sevDesk answers with ids as strings, but the spec types nested {id, objectName} "
        "references as integers; convert with normalize.to_int before sending.",
    ),
    Note(
        "/CommunicationWayKey is documented",
        "Listed as missing in early notes, but GET /CommunicationWayKey is in the corrected spec.",
    ),
)


def undocumented(path: str) -> UndocumentedPath | None:
    """The deviation covering this API path (relative to the server URL), if any."""
    return next((entry for entry in UNDOCUMENTED_PATHS if entry.covers(path)), None)


def apply_spec_patches(spec: Spec) -> Spec:
    for patch in SPEC_PATCHES:
        patch.apply(spec)
    return spec
