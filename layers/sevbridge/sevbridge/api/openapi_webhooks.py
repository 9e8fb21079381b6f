"""The OpenAPI document's `webhooks` section (OpenAPI 3.1): one entry per event type, with the JSON
schema of its body and the Standard Webhooks headers, generated from domain/notify/types.py."""

from __future__ import annotations

from typing import Any

from sevbridge.domain.notify.types import DESCRIPTION, MESSAGE_MODEL

HEADERS = [
    ("webhook-id", "Message id, the same on every retry and replay (and equal to the body's `id`): deduplicate by it"),
    ("webhook-timestamp", "Unix seconds when this attempt was signed; reject if far from your clock (5 min)"),
    (
        "webhook-signature",
        '`v1,<base64 HMAC-SHA256 of "{webhook-id}.{webhook-timestamp}.{body}">`, space-separated when more than '
        "one secret is valid (during a rotation). Verify with a Standard Webhooks library.",
    ),
]


def document_webhooks(document: dict[str, Any]) -> None:
    components = document.setdefault("components", {}).setdefault("schemas", {})
    webhooks: dict[str, Any] = {}
    for type_, model in MESSAGE_MODEL.items():
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        for name, definition in schema.pop("$defs", {}).items():
            existing = components.setdefault(name, definition)
            if existing != definition:
                raise RuntimeError(f"two different schemas named {name} in the OpenAPI document")
        components[model.__name__] = schema
        webhooks[type_.value] = {
            "post": {
                "operationId": f"webhook_{type_.value.replace('.', '_')}",
                "summary": type_.value,
                "description": DESCRIPTION[type_],
                "tags": ["webhooks"],
                "parameters": [
                    {"name": name, "in": "header", "required": True, "schema": {"type": "string"}, "description": text}
                    for name, text in HEADERS
                ],
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{model.__name__}"}}},
                },
                "responses": {
                    "2XX": {"description": "Received. Answer within 5 s; do the work afterwards."},
                    "4XX": {"description": "Refused for good (except 408/429): the delivery fails at once"},
                    "5XX": {"description": "Retried with backoff (8 attempts over 24.5 h)"},
                },
            }
        }
    document["webhooks"] = webhooks
