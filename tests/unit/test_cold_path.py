"""What a function's cold start imports and builds (issue 10 §4). Timing belongs to `make bench`
(benchmarks/coldstart.py); this guards the cause, so the cold path cannot silently regrow: a fresh
interpreter imports one handler module and reports what is in sys.modules and which models are built."""

from __future__ import annotations

import functools
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.unit
ROOT = Path(__file__).resolve().parents[2]

_PROBE = """
import gc, json, sys
import functions.{function}.app
collector = {{"enabled": gc.isenabled(), "frozen": gc.get_freeze_count()}}
modules = sorted(sys.modules)  # before the probe imports the model base (and pydantic) itself
from sevbridge.common.model import Model

def subclasses(cls):
    for sub in cls.__subclasses__():
        yield sub
        yield from subclasses(sub)

models = list(subclasses(Model))
print(json.dumps({{
    "modules": modules,
    "models": len(models),
    "built": sorted(m.__qualname__ for m in models if m.__pydantic_complete__),
    "collector": collector,
}}))
"""


@functools.cache  # one fresh interpreter per function for all the tests below
def _cold_import(function: str) -> dict[str, Any]:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "layers/sevbridge")]),
        "POWERTOOLS_TRACE_DISABLED": "true",  # outside Lambda the Tracer is off anyway; say so explicitly
    }
    out = subprocess.run(
        [sys.executable, "-c", _PROBE.format(function=function)],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        check=True,
    )
    result: dict[str, Any] = json.loads(out.stdout.splitlines()[-1])
    return result


def _loaded(modules: list[str], prefix: str) -> list[str]:
    return [m for m in modules if m == prefix or m.startswith(prefix + ".")]


# Per function: modules its cold start must not load (each is loaded on first use where needed).
NOT_ON_COLD_PATH = {
    "api": [
        "httpx",  # the sevDesk client: only when a route talks to sevDesk
        "sevbridge.adapters.sevdesk",
        "aws_lambda_powertools.event_handler.openapi.models",  # only for /v1/openapi.json and /v1/docs
        "aws_lambda_powertools.event_handler.openapi.swagger_ui",
        "sevbridge.api.swagger",
        "sevbridge.api.openapi_webhooks",
        "sevbridge.domain.push.service",  # the push engine belongs to the transfer worker
        "sevbridge.domain.pull.runner",
        "sevbridge.workers",
        # The resolver with Powertools validation and the route modules load with the first request that
        # reaches a route, and then only that route's module (sevbridge/api/route_index.py).
        "sevbridge.api.app",
        "sevbridge.api.routes_connections",
        "sevbridge.api.routes_transfers",
        "sevbridge.api.routes_imports",
        "sevbridge.api.routes_backfills",
        "sevbridge.api.routes_webhooks",
        "aws_lambda_powertools.event_handler.openapi.params",
        "aws_lambda_powertools.event_handler.middlewares.openapi_validation",
        "sevbridge.domain.ports",  # the gate authenticates with the platform store only
    ],
    # The push engine (sevDesk client, httpx, the push and pull domains) loads with the first transfer
    # that goes to sevDesk (workers/transfers.py); `make bench` measures import + first message.
    "transfer_worker": [
        "httpx",
        "tenacity",
        "sevbridge.adapters.sevdesk",
        "sevbridge.adapters.dynamo_mappings",
        "sevbridge.domain.push.service",
        "sevbridge.domain.push.contacts",
        "sevbridge.domain.pull",
        "sevbridge.domain.intake",
        "sevbridge.api",
        "sevbridge.workers.imports",
    ],
    # Every step's path (the message model, the config, the import runner with the pull domain and its
    # stores) loads with the first record (workers/imports.py); the sevDesk reader (with httpx) only with
    # the first step that reads sevDesk.
    "import_worker": [
        "pydantic",
        "sevbridge.config",
        "sevbridge.wiring",
        "sevbridge.domain",
        "sevbridge.adapters",
        "httpx",
        "sevbridge.api",
        "sevbridge.workers.transfers",
    ],
    "import_scheduler": ["httpx", "sevbridge.api", "sevbridge.adapters.sevdesk", "sevbridge.domain.push.service"],
    "webhook_dispatcher": [
        "sevbridge.api",
        "sevbridge.adapters.sevdesk",
        "sevbridge.domain.push",
        "sevbridge.domain.pull",
    ],
    # The console (operator actions, with the API's backfill view) loads with the first console event; the
    # queue path (the message validator, the config, the backfill worker with the domain it drives, the
    # transfer worker's runner) with the first queue message; the push engine with the first chunk.
    "backfill": [
        "pydantic",
        "sevbridge.config",
        "sevbridge.wiring",
        "sevbridge.domain",
        "sevbridge.adapters",
        "sevbridge.workers.transfers",
        "sevbridge.api",
        "sevbridge.workers.backfill_console",
        "sevbridge.workers.imports",
        "httpx",
    ],
}


def _run_probe(code: str) -> dict[str, Any]:
    """Runs a probe in a fresh interpreter (as a cold container would) and returns its last JSON line."""
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "layers/sevbridge")]),
        "POWERTOOLS_TRACE_DISABLED": "true",
    }
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=ROOT, check=True)
    result: dict[str, Any] = json.loads(out.stdout.splitlines()[-1])
    return result


@pytest.mark.parametrize("function", sorted(NOT_ON_COLD_PATH))
def test_cold_start_imports_only_what_the_function_uses(function: str) -> None:
    modules = _cold_import(function)["modules"]
    loaded = {prefix: _loaded(modules, prefix) for prefix in NOT_ON_COLD_PATH[function]}
    assert not {prefix: found for prefix, found in loaded.items() if found}


@pytest.mark.parametrize("function", sorted(NOT_ON_COLD_PATH))
def test_no_model_is_built_on_import(function: str) -> None:
    """Every sevbridge model defers its validator build to first use (sevbridge.common.model)."""
    result = _cold_import(function)
    assert result["built"] == []


@pytest.mark.parametrize("function", sorted(NOT_ON_COLD_PATH))
def test_the_import_ends_with_the_garbage_collector_running_and_its_objects_frozen(function: str) -> None:
    """app.py pauses the cyclic collector while it imports and resumes it after (common/cold_start.py): a
    function that forgot `cold_start.done()` would run without cycle collection for its whole life."""
    collector = _cold_import(function)["collector"]
    assert collector["enabled"] is True
    assert collector["frozen"] > 10_000  # the import's objects, never walked by a collection again


_FIRST_USE_PROBE = """
import gc, json
from sevbridge.common import cold_start
cold_start.done()

def collections():
    return sum(generation["collections"] for generation in gc.get_stats())

frozen, before = gc.get_freeze_count(), collections()
with cold_start.first_use():
    import sevbridge.domain.backfill.worker  # what a worker defers: allocates enough for many collections
loaded = {"collections": collections() - before, "frozen": gc.get_freeze_count() - frozen}
frozen = gc.get_freeze_count()
with cold_start.first_use():
    import sevbridge.domain.backfill.worker
    garbage = [[] for _ in range(10)]
print(json.dumps({**loaded, "frozen_again": gc.get_freeze_count() - frozen, "enabled": gc.isenabled()}))
"""


def test_modules_deferred_to_first_use_load_as_the_cold_start_does() -> None:
    """The backfill and import workers load their message path with the first message, inside
    `cold_start.first_use()`: no collection while it loads (else that message pays the collections the
    import was spared), its objects frozen; once loaded, nothing more is frozen, and the collector runs."""
    result = _run_probe(_FIRST_USE_PROBE)
    assert result["collections"] == 0
    assert result["frozen"] > 10_000
    assert result["frozen_again"] == 0
    assert result["enabled"] is True


_IMPORT_STEP_PROBE = """
import json, sys
import functions.import_worker.app
from sevbridge import wiring
from sevbridge.workers.imports import _reader
wiring.import_runner(_reader)  # what an import step builds: the runner, its stores, the platform side
wiring.platform_side("plt", "tenant")
import sevbridge.adapters.sevdesk.reader
print(json.dumps(sorted(sys.modules)))
"""


def test_an_import_step_does_not_load_the_platforms_event_models() -> None:
    """The import worker's message path reads what the push recorded about a contact; only the push
    predicts one from the platform's event (domain/pull/echo.py), so the event models (the largest
    sevbridge module) stay out of an import step."""
    settings = ("PLATFORMS", "TENANTS", "LEDGER", "JOBS", "CHANGES", "OUTBOX")
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "layers/sevbridge")]),
        "POWERTOOLS_TRACE_DISABLED": "true",
        "AWS_DEFAULT_REGION": "eu-central-1",
        **{f"{name}_TABLE": name.lower() for name in settings},
        **{f"{name}_QUEUE_URL": f"https://sqs/{name}" for name in ("TRANSFER", "IMPORT", "BACKFILL", "WEBHOOK")},
        "TOKEN_KEY_ID": "key",
        "BACKFILL_BUCKET": "bucket",
    }
    out = subprocess.run(
        [sys.executable, "-c", _IMPORT_STEP_PROBE], capture_output=True, text=True, env=env, cwd=ROOT, check=True
    )
    modules = json.loads(out.stdout.splitlines()[-1])
    assert "sevbridge.domain.pull.runner" in modules  # the probe did build the import path
    assert _loaded(modules, "sevbridge.domain.events") == []


def test_the_probe_sees_models() -> None:
    # The probe sees the models a function defines on import (so the "none built" check is not vacuous):
    # the api's gate defines its settings and error models, the transfer worker its messages.
    assert _cold_import("api")["models"] >= 4
    assert _cold_import("transfer_worker")["models"] > 50


_TRACED_PROBE = """
import sys
import functions.api.app
before = "httpx" in sys.modules
from sevbridge import wiring
wiring.sevdesk_probe()
import httpx
print(before, httpx.Client.__name__)
"""


def test_with_tracing_on_the_api_imports_httpx_only_when_it_builds_a_client_and_then_traces_it() -> None:
    # As in Lambda (the Tracer is on): X-Ray's patch-everything default used to import httpx on every
    # cold start; now the composition root patches it before it builds the first httpx client.
    settings = ("PLATFORMS", "TENANTS", "LEDGER", "JOBS", "CHANGES", "OUTBOX")
    env = {
        **{k: v for k, v in os.environ.items() if k != "POWERTOOLS_TRACE_DISABLED"},
        "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "layers/sevbridge")]),
        "AWS_LAMBDA_FUNCTION_NAME": "probe",
        "LAMBDA_TASK_ROOT": str(ROOT),  # Powertools turns the Tracer on only in Lambda
        "AWS_DEFAULT_REGION": "eu-central-1",
        **{f"{name}_TABLE": name.lower() for name in settings},
        **{f"{name}_QUEUE_URL": f"https://sqs/{name}" for name in ("TRANSFER", "IMPORT", "BACKFILL", "WEBHOOK")},
        "TOKEN_KEY_ID": "key",
        "BACKFILL_BUCKET": "bucket",
    }
    out = subprocess.run(
        [sys.executable, "-c", _TRACED_PROBE], capture_output=True, text=True, env=env, cwd=ROOT, check=True
    )
    assert out.stdout.split()[-2:] == ["False", "_InstrumentedClient"]


_FIRST_422_PROBE = """
import json, sys
import functions.api.app
from sevbridge.api.errors import validation_response
answer = validation_response(
    [{"type": "float_parsing", "loc": ("body", "data", "positions", 0, "quantity"), "msg": "not a number"},
     {"type": "extra_forbidden", "loc": ("body", "data", "made_up"), "msg": "extra"}]
)
print(json.dumps({"body": json.loads(answer.body), "modules": sorted(sys.modules)}))
"""


def test_a_422_names_documented_fields_without_building_the_openapi_document() -> None:
    """The first 422 of a container used to build the whole OpenAPI document (every route module and
    Powertools' OpenAPI models) to learn which field names it may show; now it reads them from
    sevbridge/api/field_names.py, generated with the document."""
    result = _run_probe(_FIRST_422_PROBE)
    fields = [detail["field"] for detail in result["body"]["error"]["details"]]
    assert fields == ["data.positions.0.quantity", "data.*"]  # documented names kept, a made-up key masked
    built_the_document = [
        m
        for m in result["modules"]
        if m.startswith(("aws_lambda_powertools.event_handler.openapi.models", "sevbridge.api.routes_"))
        or m in {"sevbridge.api.app", "sevbridge.api.openapi_webhooks"}
    ]
    assert built_the_document == []
