"""Offboarding (C5) erases a tenant's backfills too: the NDJSON documents in the backfill bucket (inline
pages, uploads, and an object an operator named in a console event) and the job and chunk rows; another
tenant's backfill documents stay."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import boto3
import pytest

from sevbridge import wiring
from sevbridge.config import get_settings
from sevbridge.domain.backfill.jobs import Direction, PushKind
from tests.functional.backfills.conftest import BASE, TENANT, invoice_line, ndjson
from tests.support.api_client import HandlerApiClient
from tests.support.worker import drain_until_empty

pytestmark = pytest.mark.functional


def _keys() -> set[str]:
    listed = boto3.client("s3").list_objects_v2(Bucket=os.environ["BACKFILL_BUCKET"])
    return {o["Key"] for o in listed.get("Contents", [])}


def _rows(platform_id: str, tenant_id: str) -> list[str]:
    table = get_settings().jobs_table
    answer = boto3.client("dynamodb").query(
        TableName=table,
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": f"T#{platform_id}#{tenant_id}"}},
    )
    return [i["sk"]["S"] for i in answer["Items"] if i["sk"]["S"].startswith(("BACKFILL#", "BFCHUNK#"))]


def test_offboarding_deletes_the_tenants_backfill_objects_and_jobs(
    api: HandlerApiClient,
    aws: Any,
    connected: Any,
    platform: Any,
    create_push: Callable[..., dict[str, Any]],
    sevdesk_account: Any,
) -> None:
    pid = platform[0].platform_id
    bucket = os.environ["BACKFILL_BUCKET"]
    s3 = boto3.client("s3")
    # A backfill that ran (inline page: an object, a job row, chunk rows) ...
    ran = create_push()["backfill_id"]
    page = [invoice_line(n) for n in range(1, 13)]
    page[3] = invoice_line(4, unit="Palette")  # fails: its chunk row lists it
    assert api.post(f"{BASE}/{ran}/items", json_body={"documents": page}).status == 200
    assert api.post(f"{BASE}/{ran}/start").status == 202
    drain_until_empty(aws, "BackfillQueue")
    # ... an upload that never started, and an operator's file named by a console event.
    upload = create_push(source="upload")
    s3.put_object(Bucket=bucket, Key=f"backfills/{pid}/{TENANT}/{upload['backfill_id']}/upload.ndjson", Body=b"{}\n")
    s3.put_object(Bucket=bucket, Key=f"uploads/{TENANT}/history.ndjson", Body=ndjson([invoice_line(1)]))
    wiring.backfill_service().create(
        pid,
        TENANT,
        direction=Direction.PUSH,
        kind=PushKind.INVOICES,
        source="upload",
        object_key=f"uploads/{TENANT}/history.ndjson",
    )
    # Another tenant of the same platform whose name starts like this one's.
    api.put(f"/v1/tenants/{TENANT}-b/connection", json_body={"sevdesk_token": sevdesk_account.token})
    other = api.post(f"/v1/tenants/{TENANT}-b/backfills", json_body={"direction": "push", "kind": "invoices"}).json
    api.post(f"/v1/tenants/{TENANT}-b/backfills/{other['backfill_id']}/items", json_body={"documents": page[:2]})
    theirs = {k for k in _keys() if f"/{TENANT}-b/" in k}
    assert theirs
    assert len(_keys() - theirs) == 3
    assert any(sk.startswith("BFCHUNK#") for sk in _rows(pid, TENANT))

    assert api.delete(f"/v1/tenants/{TENANT}").status == 200

    assert _keys() == theirs  # the tenant's three objects are gone, the other tenant's stay
    assert _rows(pid, TENANT) == []
    assert api.get(f"{BASE}/{ran}").status == 404
    assert _rows(pid, f"{TENANT}-b") != []
