"""The imports API: clear 4xx for bad input, one run for an impatient import button, paging, health on
GET …/connection, and no token in any answer or log line of an import."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest

from sevbridge.domain.platforms import create_platform
from sevdesk_sandbox import Fault
from sevdesk_sandbox.generate import generate
from tests.functional.conftest import load_function
from tests.functional.pull.conftest import PullTenant
from tests.support.api_client import HandlerApiClient
from tests.support.worker import drain_until_empty

pytestmark = pytest.mark.functional


def path(tenant: PullTenant, rest: str) -> str:
    return f"/v1/tenants/{tenant.tenant_id}/{rest}"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"kinds": ["customers"]}, "kinds.0"),
        ({"kinds": []}, "kinds"),
        ({"full": "sometimes"}, "full"),
        ({"kinds": ["contacts"], "since": "yesterday"}, "since"),
    ],
)
def test_bad_requests_name_the_field(tenant: PullTenant, body: dict[str, Any], field: str) -> None:
    result = tenant.api.post(path(tenant, "imports"), json_body=body)
    assert result.status == 422, result.body
    assert [d["field"] for d in result.json["error"]["details"]] == [field]


def test_refusals(tenant: PullTenant) -> None:
    api = tenant.api
    assert api.post("/v1/tenants/nobody/imports", json_body={}).status == 404
    assert api.get("/v1/tenants/nobody/changes").status == 404
    from sevbridge import wiring

    _, other_key = create_platform(wiring.platform_store(), wiring.clock(), "Other")
    other = HandlerApiClient(load_function("api").lambda_handler, api_key=other_key)
    assert other.get(path(tenant, "imports")).status == 404  # another platform's tenant does not exist
    assert other.get(path(tenant, "changes")).status == 404
    tenant.api.put(path(tenant, "connection"), json_body={"settings": {"import_kinds": []}})
    nothing = tenant.api.post(path(tenant, "imports"), json_body={})
    assert nothing.status == 422 and nothing.json["error"]["details"][0]["field"] == "kinds"
    tenant.api.put(path(tenant, "connection"), json_body={"settings": {"enabled": False}})
    assert tenant.api.post(path(tenant, "imports"), json_body={"kinds": ["contacts"]}).status == 409
    assert tenant.api.get(path(tenant, "imports/im_0000")).status == 422
    assert tenant.api.get(path(tenant, "imports/im_01a2000000000000000000")).status == 404
    for query in ({"after": "bogus"}, {"limit": "0"}, {"limit": "201"}, {"kind": "customers"}):
        assert tenant.api.get(path(tenant, "changes"), query=query).status == 422, query
    assert tenant.api.get(path(tenant, "imports"), query={"cursor": "bogus"}).status == 422


def test_an_impatient_import_button_starts_one_run(tenant: PullTenant) -> None:
    first = tenant.api.post(path(tenant, "imports"), json_body={"kinds": ["contacts", "invoices"]})
    again = tenant.api.post(path(tenant, "imports"), json_body={"kinds": ["contacts"]})
    assert (first.status, again.status) == (202, 200)
    assert again.json["run_id"] == first.json["run_id"]
    full = tenant.api.post(path(tenant, "imports"), json_body={"kinds": ["contacts"], "full": True})
    assert full.status == 202 and full.json["run_id"] != first.json["run_id"]
    assert full.json["state"] == "queued" and [k["full"] for k in full.json["kinds"]] == [True]
    drain_until_empty(tenant.stack, "ImportQueue")
    # Started runs are not joined: a new request makes a new run.
    assert tenant.api.post(path(tenant, "imports"), json_body={"kinds": ["contacts"]}).status == 202


def test_runs_are_listed_newest_first_and_paged(tenant: PullTenant) -> None:
    ids = [tenant.import_now(kinds=[kind])["run_id"] for kind in ("contacts", "articles", "invoices")]
    page = tenant.api.get(path(tenant, "imports"), query={"limit": "2"}).json
    assert [r["run_id"] for r in page["items"]] == ids[::-1][:2] and page["next_cursor"]
    rest = tenant.api.get(path(tenant, "imports"), query={"limit": "2", "cursor": page["next_cursor"]}).json
    assert [r["run_id"] for r in rest["items"]] == [ids[0]] and rest["next_cursor"] is None
    run = tenant.run(ids[0])
    assert run["trigger"] == "manual" and run["state"] == "succeeded" and run["finished_at"]
    assert set(run["counts"]) == {"read", "created", "updated", "deleted", "unchanged", "flagged"}


def test_connection_shows_import_health(tenant: PullTenant) -> None:
    before = tenant.api.get(path(tenant, "connection")).json["imports"]
    assert before == {"kinds": {}, "active_run_id": None}
    tenant.import_now()
    health = tenant.api.get(path(tenant, "connection")).json["imports"]
    assert set(health["kinds"]) == {"contacts", "articles", "invoices"}
    assert all(h["last_success_at"] and h["last_full_at"] and not h["last_error"] for h in health["kinds"].values())


class Everything(logging.Handler):
    """Every record of the sevbridge loggers, with every attribute (extras included), as text."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(json.dumps({**record.__dict__, "message": record.getMessage()}, default=str))


def test_no_token_in_answers_or_logs(
    tenant: PullTenant, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="sevbridge")  # the sevDesk client's request log is DEBUG
    everything = Everything()
    logging.getLogger("sevbridge").addHandler(everything)
    generate(tenant.sandbox, tenant.account.account_id, contacts=5, invoices=5, seed=31, backdate=True)
    tenant.sandbox.add_fault(
        Fault(kind="status", status=500, path_pattern="^/Invoice$", account_id=tenant.account.account_id, times=1)
    )
    answers = [tenant.import_now(), tenant.feed()]
    old = tenant.account.token
    tenant.sandbox.rotate_token(tenant.account.account_id)
    answers.append(tenant.import_now())  # 401: parked
    logging.getLogger("sevbridge").removeHandler(everything)
    captured = capsys.readouterr()
    text = repr(answers) + caplog.text + captured.out + captured.err + "\n".join(everything.lines)
    assert "import step done" in text, "the logs were not captured"
    assert "sevdesk GET /Contact" in text, "the sevDesk client's request log was not captured"
    assert old not in text and tenant.sandbox.account(tenant.account.account_id).token not in text
