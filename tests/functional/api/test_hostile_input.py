"""Hostile input never gets a 500 and is never echoed (issue 6 §4).

Every route is taken from the OpenAPI document, so a route added later is covered without editing
this file. A value planted by the caller may come back only in a success body, and only where the
platform's own identifiers are echoed (tenant id, event id, source id); never in an error body and,
if it is secret-shaped, never in a log line.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.api_client import ApiResult, HandlerApiClient
from tests.support.events import load_event

pytestmark = pytest.mark.functional

# A sevDesk token (what the issue saw echoed) and a value that is not secret-shaped, so the
# masking of secret-shaped strings cannot hide an echo of it. Both are valid tenant ids.
TOKEN = "5f0c3a9e7b1d2468ace0f13579bdf024"
CANARY = "Canary.Zq7Wx-planted"
PLANTED = (TOKEN, CANARY)
TENANT = "school-42"
CONNECTION = f"/v1/tenants/{TENANT}/connection"
EVENTS = f"/v1/tenants/{TENANT}/events"
# Success bodies echo the platform's own ids for its resources; nothing else.
ECHOED_IDS = {"tenant_id", "event_id", "source_id"}


@pytest.fixture
def connected(api: HandlerApiClient, sevdesk_account: Any) -> Any:
    result = api.put(CONNECTION, json_body={"sevdesk_token": sevdesk_account.token})
    assert result.status == 201, result.body
    return sevdesk_account


def _operations(api: HandlerApiClient) -> list[tuple[str, str, dict[str, Any]]]:
    document = api.get("/v1/openapi.json").json
    return [
        (method.upper(), path, operation)
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if method in {"get", "put", "post", "patch", "delete"}
    ]


def _fill(path: str, value: str | None = None) -> str:
    """A concrete path: every parameter gets `value`, or a plausible one."""
    plausible = {"tenant_id": TENANT, "transfer_id": "tr_0000000000000000000000"}
    return re.sub(r"\{(\w+)\}", lambda m: value if value is not None else plausible.get(m.group(1), "x1"), path)


def _bodies(value: str) -> Iterator[tuple[str, str | bytes, str | None]]:
    """(name, body, content type) with `value` planted in every position a body has."""
    yield "json key", json.dumps({value: value}), "application/json"
    yield "json nested key", json.dumps({"settings": {value: 1}}), "application/json"
    yield "json dict key", json.dumps({"settings": {"unit_mapping": {value: 7}}}), "application/json"
    yield "json token field", json.dumps({"sevdesk_token": value}), "application/json"
    yield "json known fields", json.dumps({"sevdesk_token": value, "settings": {"webhook_url": value}}), None
    yield "json event type", json.dumps({"id": value, "type": value, "occurred_at": value, "data": {}}), None
    yield "json batch", json.dumps({"events": [{value: value}], value: [value]}), "application/json"
    yield "json list", json.dumps([value]), "application/json"
    yield "json string", json.dumps(value), "application/json"
    yield "bad json", '{"' + value + '": ', "application/json"
    yield "form", f"sevdesk_token={value}", "application/x-www-form-urlencoded"
    yield "form key", f"{value}={value}", "application/x-www-form-urlencoded"
    yield "curl -d json", json.dumps({"sevdesk_token": value}), "application/x-www-form-urlencoded"
    yield (
        "multipart",
        f'--b\r\nContent-Disposition: form-data; name="{value}"\r\n\r\n{value}\r\n--b--',
        ("multipart/form-data; boundary=b"),
    )
    yield "text", value, "text/plain"
    yield "content type", "{}", value
    yield "charset", "{}", f"application/json; charset={value}"
    yield "not utf-8", b'{"sevdesk_token": "' + value.encode() + b'\xff\xfe"}', "application/json"


def _requests(api: HandlerApiClient, value: str) -> Iterator[tuple[str, str, str, dict[str, Any]]]:
    for method, path, operation in _operations(api):
        label = f"{method} {path}"
        params = [p["name"] for p in operation.get("parameters", []) if p["in"] == "query"]
        if "{" in path:
            yield label, method, _fill(path, value), {}
        yield label, method, _fill(path), {"query": [(value, value), *((name, value) for name in params)]}
        yield label, method, _fill(path), {"headers": {value: value, "X-Request-Note": value}}
        yield label, method, _fill(path), {"key": value}
        yield label, method, _fill(path), {"key": "", "headers": {"Authorization": f"Bearer {value}"}}
        if method in {"PUT", "POST", "PATCH"}:
            for name, body, content_type in _bodies(value):
                yield f"{label} [{name}]", method, _fill(path), {"raw_body": body, "content_type": content_type}


def _echo_problems(result: ApiResult, value: str) -> list[str]:
    if value not in result.body:
        return []
    if result.status >= 400:
        return ["error body echoes it"]
    allowed: list[str] = []

    def walk(node: Any, key: str | None = None) -> None:
        if isinstance(node, dict):
            for k, v in node.items():
                walk(v, k)
        elif isinstance(node, list):
            for v in node:
                walk(v, key)
        elif node == value and key in ECHOED_IDS:
            allowed.append(key)

    walk(result.json)
    return [] if result.body.count(value) == len(allowed) else ["success body echoes it outside an id field"]


@pytest.mark.parametrize("value", PLANTED, ids=["token", "canary"])
def test_no_route_echoes_planted_input_or_fails(
    api: HandlerApiClient,
    connected: Any,
    value: str,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Our own loggers at DEBUG; libraries at INFO, the most the functions run them at (their DEBUG wire
    # traces, e.g. botocore's, repeat request data and are never switched on in a deployed stack).
    caplog.set_level(logging.INFO)
    caplog.set_level(logging.DEBUG, logger="sevbridge")
    problems = []
    count = 0
    for label, method, path, options in _requests(api, value):
        result = api.request(method, path, **options)
        count += 1
        if result.status >= 500:
            problems.append(f"{label} {options}: HTTP {result.status}")
        problems += [f"{label} {options}: {p}" for p in _echo_problems(result, value)]
        if result.status >= 400:
            error = result.json["error"]  # always the error envelope
            assert {"code", "message", "details"} <= set(error), (label, result.body)
    assert count >= 120, count  # every operation was exercised in every position
    assert not problems, "\n".join(problems)
    assert api.put(CONNECTION, json_body={"sevdesk_token": connected.token}).status in (200, 201)
    captured = capsys.readouterr()
    logs = captured.out + captured.err + caplog.text
    assert "connection stored" in logs  # the logs were captured at all
    assert TOKEN not in logs


def test_form_encoded_put_is_refused_without_echoing_the_token(api: HandlerApiClient) -> None:
    # curl -d sends application/x-www-form-urlencoded; the issue saw the token in message and field.
    for body in (f"sevdesk_token={TOKEN}", json.dumps({"sevdesk_token": TOKEN})):
        result = api.put(CONNECTION, raw_body=body, content_type="application/x-www-form-urlencoded")
        assert result.status == 415, result.body
        assert result.json["error"]["code"] == "unsupported_media_type"
        assert result.json["error"]["details"] == [
            {"field": "header.Content-Type", "problem": "must be application/json"}
        ]
        assert TOKEN not in result.body


BODIES_THAT_WERE_500 = [
    ("invalid utf-8 json", b'{"sevdesk_token": "\xff\xfe"}', "application/json", 400, "malformed_body"),
    ("text/plain", '{"sevdesk_token": "x"}', "text/plain", 415, "unsupported_media_type"),
    ("xml", "<connection><sevdesk_token/></connection>", "application/xml", 415, "unsupported_media_type"),
    ("json:api", '{"data": {}}', "application/vnd.api+json", 415, "unsupported_media_type"),
    ("multipart, no boundary", "--x\r\n\r\n--x--", "multipart/form-data", 415, "unsupported_media_type"),
    ("no content type", '{"sevdesk_token": "x"}', None, 415, "unsupported_media_type"),
    (
        "latin-1 charset",
        '{"sevdesk_token": "x"}',
        "application/json; charset=iso-8859-1",
        415,
        "unsupported_media_type",
    ),
    ("NaN", '{"settings": {"enabled": NaN}}', "application/json", 400, "malformed_json"),
    ("huge integer", '{"settings": {"enabled": ' + "9" * 5000 + "}}", "application/json", 400, "malformed_json"),
    ("lone surrogate", '{"sevdesk_token": "\\ud800"}', "application/json", 422, "invalid_input"),
]


@pytest.mark.parametrize("route", [("PUT", CONNECTION), ("POST", EVENTS)], ids=["put-connection", "post-events"])
def test_one_body_rule_for_every_route(api: HandlerApiClient, connected: Any, route: tuple[str, str]) -> None:
    for name, body, content_type, status, code in BODIES_THAT_WERE_500:
        result = api.request(route[0], route[1], raw_body=body, content_type=content_type)
        assert result.status == status, (name, result.body)
        assert result.json["error"]["code"] == code, (name, result.body)


def test_json_media_type_parameters_and_case_are_accepted(api: HandlerApiClient, connected: Any) -> None:
    for content_type in (
        "application/json; charset=utf-8",
        "Application/JSON;charset=UTF-8",
        'application/json; charset="utf-8"',
    ):
        result = api.put(CONNECTION, json_body={"settings": {"auto_transfer": False}}, content_type=content_type)
        assert result.status == 200, (content_type, result.body)


def test_events_require_json(api: HandlerApiClient, connected: Any) -> None:
    event = json.dumps(load_event("platform-invoice-upserted.json"))
    assert api.post(EVENTS, raw_body=event, content_type=None).status == 415
    assert api.post(EVENTS, raw_body=event, content_type="text/plain").status == 415
    assert api.post(EVENTS, raw_body=event, content_type="application/json").status == 202
    empty = api.post(EVENTS, content_type=None)
    assert empty.status == 422
    assert empty.json["error"]["details"][0] == {"field": "body", "problem": "is required", "type": "missing"}


def test_body_less_routes_ignore_an_empty_body_without_content_type(api: HandlerApiClient, connected: Any) -> None:
    assert api.post(f"/v1/tenants/{TENANT}/connection/test", content_type=None).status == 200
    assert api.post(f"/v1/tenants/{TENANT}/transfers/retry", content_type=None).status == 202


def test_unknown_fields_are_reported_without_naming_them(api: HandlerApiClient, connected: Any) -> None:
    result = api.put(CONNECTION, json_body={"settings": {"auto_transfer": True, CANARY: 1}, "colour": "red"})
    assert result.status == 422
    details = result.json["error"]["details"]
    # `*` stands for a key the caller made up: the problem is located without repeating the key.
    assert {(d["field"], d["type"]) for d in details} == {("settings.*", "extra_forbidden"), ("*", "extra_forbidden")}
    assert CANARY not in result.body
    assert "colour" not in result.body


def test_dict_keys_from_input_are_not_named(api: HandlerApiClient, connected: Any) -> None:
    result = api.put(CONNECTION, json_body={"settings": {"unit_mapping": {CANARY: 7}}})
    assert result.status == 422
    assert result.json["error"]["details"][0]["field"] == "settings.unit_mapping.*"
    assert CANARY not in result.body


def test_wrong_method_on_a_known_path_is_405_with_allow(api: HandlerApiClient) -> None:
    result = api.request("PATCH", CONNECTION)
    assert result.status == 405
    assert set(result.headers["Allow"].replace(" ", "").split(",")) == {"GET", "PUT"}
    assert result.json["error"]["code"] == "method_not_allowed"
    unknown = api.get(f"/v1/tenants/{CANARY}/nothing-here")
    assert unknown.status == 404
    assert CANARY not in unknown.body


def test_allow_names_the_methods_of_the_most_specific_path(api: HandlerApiClient) -> None:
    result = api.request("GET", f"/v1/tenants/{TENANT}/transfers/retry")  # not GET …/transfers/{transfer_id}
    assert result.status == 405
    assert result.headers["Allow"] == "POST"
