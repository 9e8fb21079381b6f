"""Every known difference between sevDesk's specs and what we deliberately send, in one place.

The contract helper validates each recorded request against both specs: the community-corrected one
(`shared/sevdesk/openapi.yaml`, "community") and the official one as sevDesk publishes it
(`shared/sevdesk/openapi-official.yaml`, "official"). The real API differs from them in a few
documented ways (api-facts.md §5, §6, §9); only the items below are tolerated, each with its reason and
the spec(s) it applies to. Anything else that fails validation is a bug in our request.

Each spec patch first checks that the spec still has the flaw it works around and fails loudly if
not: when the spec gets fixed upstream, the deviation must be deleted here, not silently kept.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

Spec = dict[str, Any]


SpecName = Literal["community", "official"]
BOTH: tuple[SpecName, ...] = ("community", "official")
SPEC_FILES: dict[SpecName, str] = {"community": "openapi.yaml", "official": "openapi-official.yaml"}


@dataclass(frozen=True)
class UndocumentedPath:
    """A path sevDesk serves but the spec lacks: requests to it get our header checks only."""

    path: str
    reason: str
    specs: tuple[SpecName, ...] = BOTH

    def covers(self, path: str) -> bool:
        return path == self.path or path.startswith(self.path + "/")


@dataclass(frozen=True)
class SpecPatch:
    """A change to the spec dict, applied before openapi-core loads it."""

    name: str
    reason: str
    apply: Callable[[Spec], None]
    specs: tuple[SpecName, ...] = BOTH


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
    UndocumentedPath(
        "/SevUser",
        "api-facts §5, §9: the contact person's id comes from GET /SevUser; the community spec lists it "
        "(getSevUsers), the official one does not.",
        specs=("official",),
    ),
)


# sevDesk's revenue tax rules under Update 2.0 (api-facts §5 "Revenue rules"; the official spec's enum).
TAX_RULES = (1, 2, 3, 4, 5, 11, 17, 18, 19, 20, 21)


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
    # Stricter than the spec, which takes any integer: only the revenue rules of Update 2.0 (api-facts §5).
    id_schema["id"] = {
        "anyOf": [{"type": "integer", "enum": list(TAX_RULES)}, {"type": "string", "enum": [str(r) for r in TAX_RULES]}]
    }


def _invoice_tax_rule_id_also_integer(spec: Spec) -> None:
    id_schema = _schema(spec, "Model_Invoice")["properties"]["taxRule"]["properties"]
    rules = id_schema["id"].get("enum")
    _expect(id_schema["id"].get("type") == "string" and bool(rules), "Model_Invoice.taxRule.id is a string enum")
    # The same rules, as the integers the community spec (and our client, for every id) sends.
    id_schema["id"] = {"anyOf": [id_schema["id"], {"type": "integer", "enum": [int(rule) for rule in rules]}]}


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
        "api-facts §5, §9: integer in the corrected spec, string enum ('1') in the official one; both are used live. "
        "Limited to the known rules, so an unknown one (e.g. 6) still fails.",
        _invoice_tax_rule_id_int_or_string,
        specs=("community",),
    ),
    SpecPatch(
        "Model_Invoice.taxRule.id also as an integer (official spec)",
        "api-facts §5, §9: the official spec types the rule id as a string enum ('1'), the corrected one as an "
        "integer; both are used live. We send every id as an integer (see NOTES), so the official enum is "
        "widened by the same rules as integers: an unknown rule (e.g. 6) still fails.",
        _invoice_tax_rule_id_also_integer,
        specs=("official",),
    ),
)

NOTES: tuple[Note, ...] = (
    Note(
        "Model_Invoice.deliveryDate is sent as a date-time",
        "Both specs type deliveryDate as 'date-time' (their example '01.01.2022' contradicts that), so we "
        "send the form sevDesk itself answers with: Berlin midnight with its offset, "
        "'2025-07-01T00:00:00+02:00' (payloads.sevdesk_timestamp). No tolerance needed; invoiceDate stays "
        "dd.mm.yyyy, which its schema (a plain string: 'timestamp or dd.mm.yyyy') allows.",
    ),
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


def undocumented(path: str, spec_name: SpecName = "community") -> UndocumentedPath | None:
    """The deviation covering this API path (relative to the server URL) in that spec, if any."""
    return next((e for e in UNDOCUMENTED_PATHS if spec_name in e.specs and e.covers(path)), None)


def apply_spec_patches(spec: Spec, spec_name: SpecName = "community") -> Spec:
    for patch in SPEC_PATCHES:
        if spec_name in patch.specs:
            patch.apply(spec)
    return spec
