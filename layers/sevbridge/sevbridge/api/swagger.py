"""Swagger UI for /v1/docs, with the JS/CSS that ship inside Powertools (no CDN needed)."""

from __future__ import annotations

import functools
from pathlib import Path

import aws_lambda_powertools.event_handler.openapi.swagger_ui as swagger_ui
from aws_lambda_powertools.event_handler.openapi.swagger_ui.html import generate_swagger_html

_ASSETS = Path(swagger_ui.__file__).parent


@functools.cache
def _assets() -> tuple[str, str]:
    js = (_ASSETS / "swagger-ui-bundle.min.js").read_text(encoding="utf-8")
    css = (_ASSETS / "swagger-ui.min.css").read_text(encoding="utf-8")
    return js, css


def swagger_page(document: str) -> str:
    js, css = _assets()
    return generate_swagger_html(document.replace("</", "<\\/"), js, css, "", None, True)
