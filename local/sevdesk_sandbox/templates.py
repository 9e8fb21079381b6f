"""The full field set of each stored object type, as sevDesk returns it (many nulls included).
Created and seeded objects start from these, so every read has the shape of the real API."""

from __future__ import annotations

import copy
from typing import Any

_CONTACT: dict[str, Any] = {
    "name": None,
    "status": "100",
    "customerNumber": None,
    "parent": None,
    "surename": None,
    "familyname": None,
    "titel": None,
    "category": None,
    "description": None,
    "academicTitle": None,
    "gender": None,
    "name2": None,
    "birthday": None,
    "vatNumber": None,
    "bankAccount": None,
    "bankNumber": None,
    "defaultCashbackTime": None,
    "defaultCashbackPercent": None,
    "defaultTimeToPay": None,
    "taxNumber": None,
    "taxOffice": None,
    "exemptVat": "0",
    "taxType": None,
    "taxSet": None,
    "defaultDiscountAmount": None,
    "defaultDiscountPercentage": "1",  # sic, seen live (api-facts §10): a flag, on although no discount is set
    "buyerReference": None,
    "governmentAgency": "0",
    "additionalInformation": None,
    "mandateReference": None,
    "defaultShowVat": None,
}

_CONTACT_ADDRESS: dict[str, Any] = {
    "contact": None,
    "street": None,
    "zip": None,
    "city": None,
    "country": None,
    "category": None,
    "name": None,
    "name2": None,
    "name3": None,
    "name4": None,
    "additionalInformation": None,
}

_COMMUNICATION_WAY: dict[str, Any] = {
    "contact": None,
    "type": None,
    "value": None,
    "key": None,
    "main": "0",
    "additionalInformation": None,
}

_INVOICE: dict[str, Any] = {
    "invoiceNumber": None,
    "contact": None,
    "invoiceDate": None,
    "header": None,
    "headText": None,
    "footText": None,
    "timeToPay": None,
    "discountTime": None,
    "discount": "0",
    "addressName": None,
    "addressStreet": None,
    "addressZip": None,
    "addressCity": None,
    "addressCountry": None,
    "payDate": None,
    "createUser": None,
    "deliveryDate": None,
    "deliveryDateUntil": None,
    "status": "100",
    "smallSettlement": "0",
    "contactPerson": None,
    "taxRate": "0",
    "taxRule": None,
    "taxText": None,
    "dunningLevel": None,
    "taxType": None,
    "paymentMethod": None,
    "costCentre": None,
    "sendDate": None,
    "origin": None,
    "invoiceType": "RE",
    "accountIntervall": None,
    "accountNextInvoice": None,
    "reminderTotal": None,
    "reminderDebit": None,
    "reminderDeadline": None,
    "reminderCharge": "0",  # live drafts: "0", not null (api-facts §10)
    "taxSet": None,
    "address": None,
    "currency": "EUR",
    "sumNet": "0",
    "sumTax": "0",
    "sumGross": "0",
    "sumDiscounts": "0",
    "sumNetForeignCurrency": "0",
    "sumTaxForeignCurrency": "0",
    "sumGrossForeignCurrency": "0",
    "sumDiscountsForeignCurrency": "0",
    "sumNetAccounting": "0",
    "sumTaxAccounting": "0",
    "sumGrossAccounting": "0",
    "paidAmount": 0,
    "customerInternalNote": None,
    "showNet": "1",
    "enshrined": None,
    "sendType": "0",  # live drafts: "0", not null (api-facts §10)
    "deliveryAddressCountry": None,
    "datevConnectOnline": None,
    "sendPaymentReceivedNotificationDate": None,
    # present live (api-facts §10); `cancelled` stays null even on a cancelled invoice
    "cancelled": None,
    "propertyIsEInvoice": "0",
    "addressName2": None,
    "addressGender": None,
    "sumDiscountNet": "0",
    "sumDiscountGross": "0",
    "sumDiscountNetForeignCurrency": "0",
    "sumDiscountGrossForeignCurrency": "0",
    "additionalInformation": None,
}

_INVOICE_POS: dict[str, Any] = {
    "invoice": None,
    "part": None,
    "quantity": "1",
    "price": "0",
    "priceNet": "0",
    "priceTax": "0",
    "priceGross": "0",
    "name": None,
    "unity": None,
    "positionNumber": "0",
    "text": None,
    "discount": "0",
    "taxRate": "0.00",
    "sumNet": "0",
    "sumTax": "0",
    "sumGross": "0",
    "sumDiscount": "0",
    "sumNetAccounting": "0",
    "sumTaxAccounting": "0",
    "sumGrossAccounting": "0",
    # present live (api-facts §10), with the values recorded responses show
    "priority": "100",
    "isPercentage": "1",
    "discountedValue": None,
    "createNextPart": None,
    "temporary": "0",
    "additionalInformation": None,
}

_PART: dict[str, Any] = {
    "name": None,
    "partNumber": None,
    "text": None,
    "category": None,
    "stock": "0",
    "stockEnabled": "0",
    "unity": None,
    "price": None,
    "priceNet": None,
    "priceGross": None,
    "pricePurchase": None,
    "taxRate": "0",
    "status": "100",
    "internalComment": None,
}

_ORDER: dict[str, Any] = {
    "orderNumber": None,
    "contact": None,
    "orderDate": None,
    "status": "100",
    "header": None,
    "headText": None,
    "footText": None,
    "addressCountry": None,
    "createUser": None,
    "deliveryTerms": None,
    "paymentTerms": None,
    "origin": None,
    "version": "0",
    "smallSettlement": "0",
    "contactPerson": None,
    "taxRate": "0",
    "taxRule": None,
    "taxSet": None,
    "taxText": None,
    "taxType": None,
    "orderType": "AN",
    "sendDate": None,
    "address": None,
    "currency": "EUR",
    "sumNet": "0",
    "sumTax": "0",
    "sumGross": "0",
    "sumDiscounts": "0",
    "sumNetForeignCurrency": "0",
    "sumTaxForeignCurrency": "0",
    "sumGrossForeignCurrency": "0",
    "sumDiscountsForeignCurrency": "0",
    "customerInternalNote": None,
    "showNet": "1",
    "sendType": None,
}

_ORDER_POS: dict[str, Any] = {
    "order": None,
    "part": None,
    "quantity": "1",
    "price": "0",
    "priceNet": "0",
    "priceTax": "0",
    "priceGross": "0",
    "name": None,
    "unity": None,
    "positionNumber": "0",
    "text": None,
    "discount": "0",
    "optional": "0",
    "taxRate": "0.00",
    "sumDiscount": "0",
}

_CUSTOM_FIELD_SETTING: dict[str, Any] = {"name": None, "identifier": None, "description": None}
_CUSTOM_FIELD: dict[str, Any] = {"contact": None, "contactCustomFieldSetting": None, "value": None}

TEMPLATES: dict[str, dict[str, Any]] = {
    "Contact": _CONTACT,
    "ContactAddress": _CONTACT_ADDRESS,
    "CommunicationWay": _COMMUNICATION_WAY,
    "Invoice": _INVOICE,
    "InvoicePos": _INVOICE_POS,
    "Part": _PART,
    "Order": _ORDER,
    "OrderPos": _ORDER_POS,
    "ContactCustomFieldSetting": _CUSTOM_FIELD_SETTING,
    "ContactCustomField": _CUSTOM_FIELD,
}


def blank(object_name: str) -> dict[str, Any]:
    return copy.deepcopy(TEMPLATES.get(object_name, {}))


# Reference fields and the objectName they point to, so seeded rows may say {"id": 3} or just 3.
REFERENCE_FIELDS: dict[str, str] = {
    "category": "Category",
    "contact": "Contact",
    "parent": "Contact",
    "unity": "Unity",
    "country": "StaticCountry",
    "addressCountry": "StaticCountry",
    "key": "CommunicationWayKey",
    "invoice": "Invoice",
    "order": "Order",
    "part": "Part",
    "contactPerson": "SevUser",
    "createUser": "SevUser",
    "checkAccount": "CheckAccount",
    "taxRule": "TaxRule",
    "contactCustomFieldSetting": "ContactCustomFieldSetting",
}


def complete_references(row: dict[str, Any]) -> dict[str, Any]:
    """Turn bare ids and objectName-less refs in known reference fields into full references."""
    for field, object_name in REFERENCE_FIELDS.items():
        value = row.get(field)
        if isinstance(value, str | int) and not isinstance(value, bool):
            row[field] = {"id": str(value), "objectName": object_name}
        elif isinstance(value, dict) and "id" in value and not value.get("objectName"):
            row[field] = {**value, "id": str(value["id"]), "objectName": object_name}
    return row
