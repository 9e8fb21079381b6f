"""Request bodies and assertions shared by the sandbox tests."""

from __future__ import annotations

import copy
from typing import Any

import httpx


def create_contact(client: httpx.Client, **fields: Any) -> dict[str, Any]:
    body = {"name": "Muster GmbH", "category": {"id": 3, "objectName": "Category"}, **fields}
    response = client.post("/Contact", json=body)
    assert response.status_code == 201, response.text
    return dict(response.json()["objects"])


def add_address(client: httpx.Client, contact_id: str) -> dict[str, Any]:
    body = {
        "contact": {"id": contact_id, "objectName": "Contact"},
        "street": "Musterstraße 1",
        "zip": "12345",
        "city": "Musterstadt",
        "country": {"id": 1, "objectName": "StaticCountry"},
        "category": {"id": 47, "objectName": "Category"},
    }
    response = client.post("/ContactAddress", json=body)
    assert response.status_code == 201, response.text
    return dict(response.json()["objects"])


_INVOICE_BODY: dict[str, Any] = {
    "invoice": {
        "objectName": "Invoice",
        "mapAll": True,
        "invoiceType": "RE",
        "status": "100",
        "invoiceDate": "01.07.2025",
        "deliveryDate": "01.07.2025",
        "contact": {"id": None, "objectName": "Contact"},
        "contactPerson": {"id": None, "objectName": "SevUser"},
        "currency": "EUR",
        "taxRule": {"id": 1, "objectName": "TaxRule"},
        "taxRate": 0,
        "taxText": "Umsatzsteuer",
        "discount": 0,
        "showNet": True,
        "timeToPay": 14,
        "header": "Rechnung zu Bestellung 1001",
        "customerInternalNote": "ext:tenantA:shop:order:1001",
        "address": "Muster GmbH\nMusterstraße 1\n12345 Musterstadt",
        "addressCountry": {"id": 1, "objectName": "StaticCountry"},
    },
    "invoicePosSave": [
        {
            "objectName": "InvoicePos",
            "mapAll": True,
            "positionNumber": 0,
            "name": "Beratung",
            "quantity": 2,
            "price": 100.0,
            "unity": {"id": 9, "objectName": "Unity"},
            "taxRate": 19,
        },
        {
            "objectName": "InvoicePos",
            "mapAll": True,
            "positionNumber": 1,
            "name": "Fachbuch",
            "quantity": 1,
            "price": 25.0,
            "unity": {"id": 1, "objectName": "Unity"},
            "taxRate": 7,
        },
    ],
    "invoicePosDelete": None,
    "discountSave": None,
    "discountDelete": None,
    "takeDefaultAddress": False,
}


def invoice_body(contact_id: str, user_id: str, **invoice_fields: Any) -> dict[str, Any]:
    """The example saveInvoice payload (example-payloads.json) for this account."""
    body = copy.deepcopy(_INVOICE_BODY)
    body["invoice"]["contact"]["id"] = contact_id
    body["invoice"]["contactPerson"]["id"] = user_id
    body["invoice"].update(invoice_fields)
    return body


def error_of(response: httpx.Response) -> dict[str, Any]:
    body = response.json()
    assert body["objects"] is None
    error = dict(body["error"])
    assert set(error) == {"exceptionUUID", "message", "errorCode", "code", "data", "responseCode"}
    assert error["responseCode"] == response.status_code
    return error
