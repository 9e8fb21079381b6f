"""Review findings, pinned down: races between token rotation and workers/tests (C3), offboarding while
a transfer runs (C5), transient KMS errors and unexpected failures never leaving a transfer stuck."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from sevbridge import wiring
from sevbridge.domain.connections import ConnectionService
from tests.support.api_client import HandlerApiClient
from tests.support.events import load_event
from tests.support.worker import drain

pytestmark = pytest.mark.functional
EVENTS = "/v1/tenants/school-42/events"


def statuses(api: HandlerApiClient) -> list[str]:
    return [t["status"] for t in api.get("/v1/tenants/school-42/transfers").json["items"]]


def test_connection_test_racing_a_token_rotation_never_restores_the_old_token(
    api: HandlerApiClient, connected: Any, sandbox_state: Any
) -> None:
    new_token = sandbox_state.rotate_token(connected.account_id)
    service = wiring.connection_service()
    real_probe = service.probe
    platform_id = wiring.connection_store().list_connections()[0].platform_id

    class ProbeWhileAPutLands:
        """The platform stores the new token while the test is still probing the old one."""

        raced = False

        def identify(self, token: str, *, tenant_key: str) -> Any:
            if not self.raced:
                self.raced = True
                ConnectionService(**{**service.__dict__, "probe": real_probe}).put(
                    platform_id, "school-42", token=new_token, settings_patch=None
                )
            return real_probe.identify(token, tenant_key=tenant_key)

    service.probe = ProbeWhileAPutLands()
    stored, outcome = service.test(platform_id, "school-42")

    assert outcome.ok, outcome  # re-tested with the token stored meanwhile
    assert stored.token_version == 2
    assert stored.token_fingerprint == "…" + new_token[-4:]
    assert api.get("/v1/tenants/school-42/connection").json["status"] == "connected"


def test_worker_401_racing_a_new_token_does_not_strand_the_transfer(
    api: HandlerApiClient, connected: Any, sandbox_state: Any, aws: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    new_token = sandbox_state.rotate_token(connected.account_id)
    real_mark = ConnectionService.mark_reconnect_required

    def new_token_lands_first(self: ConnectionService, *args: Any, **kwargs: Any) -> bool:
        # The worker got its 401 with the old token; the platform's PUT lands before it records that.
        assert api.put("/v1/tenants/school-42/connection", json_body={"sevdesk_token": new_token}).status == 200
        monkeypatch.setattr(ConnectionService, "mark_reconnect_required", real_mark)
        return real_mark(self, *args, **kwargs)

    monkeypatch.setattr(ConnectionService, "mark_reconnect_required", new_token_lands_first)
    api.post(EVENTS, json_body=load_event("platform-invoice-upserted.json"))
    drain(aws)

    assert statuses(api) == ["transferred"]
    assert api.get("/v1/tenants/school-42/connection").json["status"] == "connected"
    assert len(sandbox_state.objects(connected.account_id, "Invoice")) == 1


def test_offboarding_while_a_transfer_runs_leaves_no_ledger_rows(
    api: HandlerApiClient, connected: Any, aws: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sevbridge.workers import transfers

    real_factory = transfers._push_factory

    def offboard_mid_flight(time_left: Any) -> Any:
        def build(connection: Any, token: str) -> Any:
            assert api.delete("/v1/tenants/school-42").status == 200
            return real_factory(time_left)(connection, token)

        return build

    monkeypatch.setattr(transfers, "_push_factory", offboard_mid_flight)
    api.post(EVENTS, json_body=load_event("platform-invoice-upserted.json"))
    drain(aws)

    ledger = boto3.client("dynamodb").scan(TableName=aws.environment()["LEDGER_TABLE"])["Items"]
    assert ledger == []  # the customer's mapping the push wrote on the way is gone too
    tenants = boto3.client("dynamodb").scan(TableName=aws.environment()["TENANTS_TABLE"])["Items"]
    # Nor the proof that this connection created the marker field (MARKING): it must not outlive the
    # tenant. Left: the reference-data cache (REFDATA: sevDesk's units, countries; expires in a day).
    left = [i["sk"]["S"] for i in tenants if i["pk"]["S"].endswith("#school-42")]
    assert left in ([], ["REFDATA"]), left
    assert api.get("/v1/tenants/school-42/transfers").status == 404


def test_transient_kms_error_is_retried_not_failed(
    api: HandlerApiClient, connected: Any, sandbox_state: Any, aws: Any
) -> None:
    from sevbridge.adapters import aws_clients

    throttles = {"left": 1}

    def throttle_once(**_: Any) -> None:
        if throttles["left"]:
            throttles["left"] -= 1
            raise ClientError({"Error": {"Code": "ThrottlingException", "Message": "slow down"}}, "Decrypt")

    wiring.token_vault().forget()
    aws_clients.kms().meta.events.register("before-call.kms.Decrypt", throttle_once)
    api.post(EVENTS, json_body=load_event("platform-invoice-upserted.json"))
    drain(aws)

    (transfer,) = api.get("/v1/tenants/school-42/transfers").json["items"]
    detail = api.get(f"/v1/tenants/school-42/transfers/{transfer['transfer_id']}").json
    assert detail["status"] == "transferred"
    assert any("KMS" in (h["note"] or "") for h in detail["history"])


def test_unexpected_failure_ends_as_failed_after_the_last_delivery_not_stuck_in_sending(
    api: HandlerApiClient, connected: Any, aws: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sevbridge.workers import transfers

    def broken(connection: Any, token: str) -> Any:
        raise RuntimeError("bug")

    monkeypatch.setattr(transfers, "_push_factory", lambda time_left: broken)
    api.post(EVENTS, json_body=load_event("platform-invoice-upserted.json"))
    drain(aws)

    (transfer,) = api.get("/v1/tenants/school-42/transfers").json["items"]
    assert transfer["status"] == "failed"
    assert transfer["attempts"] == 8  # TRANSFER_MAX_ATTEMPTS; each attempt's outcome recorded
    assert "unexpected RuntimeError" in transfer["reason"]
    detail = api.get(f"/v1/tenants/school-42/transfers/{transfer['transfer_id']}").json
    # A live transfer writes no `sending`: each attempt is one write, its outcome.
    assert [h["status"] for h in detail["history"]][1:] == ["queued"] * 7 + ["failed"]
    assert "bug" not in transfer["reason"]  # exception text can carry data; the type is enough


def test_requeue_ignores_stale_index_copies(api: HandlerApiClient, connected: Any, aws: Any) -> None:
    from sevbridge.domain.ledger import TransferStatus

    event = load_event("platform-invoice-upserted.json")
    event["data"]["positions"][0]["unit"] = "Fass"
    api.post(EVENTS, json_body=event)
    drain(aws)
    ops = wiring.transfer_ops()
    platform_id = wiring.connection_store().list_connections()[0].platform_id
    (failed,) = wiring.ledger().with_status(platform_id, "school-42", TransferStatus.FAILED)
    ops.retry(platform_id, "school-42", failed.transfer_id)
    drain(aws)  # fails again (same unknown unit): a newer `failed` row

    # A stale copy of the first `failed` row (as an eventually consistent index could return) changes nothing.
    assert ops._requeue([failed], "stale copy") == []
    assert wiring.ledger().get(platform_id, "school-42", failed.transfer_id).attempts == 2  # type: ignore[union-attr]
