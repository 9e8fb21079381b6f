"""Cold import of every function, against a minimal Powertools + boto3 handler (benchmarks/baseline/), in
a Lambda-like process: a fresh interpreter whose path holds only the function's code (/var/task), the
layer exactly as `make build-SevbridgeLayer` installs it (/opt/python) and the runtime's boto3 and
botocore (/var/runtime) — none of the dev environment's extra packages (awscrt, moto, …) that would
change what boto3 imports. Tracing is on as in Lambda (Tracer patches boto3 and httpx at import).

Two ways, each the best of N fresh processes (CPU time; as timeit, the least disturbed run): with the
layer's bytecode precompiled (what the layer ships) and without any .pyc for the layer (what Lambda paid
before the layer was compiled: /opt is read-only, so every cold start compiled every module).
`python -X importtime` names the packages the import spends its time in.

Import alone would reward moving work from the import into the first request, which a cold start pays
all the same. So the api, the transfer worker and their baselines are also measured as *import + first
request/message*: the fresh process imports the handler and answers one typical request or message against
a moto server and the sevDesk sandbox (the api: POST /v1/tenants/{id}/events with one valid invoice event,
and the same with an invalid one, its first 422; `api_app`: GET /items/{id}; `api_validated_app`: POST
/items; the transfer worker: the SQS message of one sent invoice of a known customer, sent to sevDesk;
`worker_app`: one SQS record written to DynamoDB), CPU time of the function's process only (moto's and
the sandbox's work is in other threads and processes).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import re
import shutil
import statistics
import subprocess
import sys
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from unittest import mock

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / ".local" / "bench" / "coldstart"
FUNCTIONS = ("api", "transfer_worker", "import_worker", "import_scheduler", "webhook_dispatcher", "backfill")
BASELINE_OF = {"api": "api_app"}  # every other function is compared to the SQS worker baseline
BASELINES = ("api_app", "api_validated_app", "worker_app")
RUNTIME_PACKAGES = ("boto3", "botocore", "s3transfer", "jmespath", "urllib3", "python-dateutil", "six")
API_TARGET = 1.2
WORKER_TARGET = 1.5  # every other function
FIRST_REQUEST_TASKS = ("api", "api_422", "api_app", "api_validated_app", "transfer_worker", "worker_app")
# Which code a first-request task runs: the api's 422 is the api's handler with an invalid event.
_CODE_OF = {"api_422": "api"}

# CPU time of the import is the figure compared: on a shared machine (2 cores, load often > 4) wall time
# mostly measures the neighbours; wall time is reported next to it.
_MEASURE = (
    "import sys, time; sys.path[:0] = sys.argv[1].split('|'); t, c = time.perf_counter(), time.process_time(); "
    "import app; print(time.process_time() - c, time.perf_counter() - t)"
)


@dataclass
class ColdImport:
    function: str
    baseline: str
    ms: float  # CPU time, best of N
    baseline_ms: float
    nopyc_ms: float
    baseline_nopyc_ms: float
    wall_ms: float
    baseline_wall_ms: float
    validated_baseline_ms: float  # the api baseline with Powertools validation on (pydantic)
    top: list[tuple[str, float]] = field(default_factory=list)
    first_request: FirstRequest | None = None  # the api (and, measured in the same run, the transfer worker)

    @property
    def ratio(self) -> float:
        return self.ms / self.baseline_ms

    @property
    def ratio_nopyc(self) -> float:
        return self.nopyc_ms / self.baseline_nopyc_ms


@dataclass
class FirstRequest:
    """CPU ms of import + one typical request or message in a fresh process, best of N, for the api, the
    transfer worker and their baselines (FIRST_REQUEST_TASKS)."""

    ms: dict[str, float]

    @property
    def ratio(self) -> float:
        return self.ms["api"] / self.ms["api_app"]

    @property
    def validated_ratio(self) -> float:
        return self.ms["api"] / self.ms["api_validated_app"]

    @property
    def invalid_ratio(self) -> float:
        """The api's first 422 ÷ the validating baseline's first (valid) request."""
        return self.ms["api_422"] / self.ms["api_validated_app"]

    @property
    def worker_ratio(self) -> float:
        return self.ms["transfer_worker"] / self.ms["worker_app"]


def _pip(*args: str) -> None:
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-deps", *args],
        check=True,
        capture_output=True,
    )


def _pins() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "constraints.txt").read_text(encoding="utf-8").splitlines():
        match = re.match(r"^([A-Za-z0-9_.\-]+)==(\S+)", line.strip())
        if match:
            pins[re.sub(r"[-_.]+", "-", match.group(1)).lower()] = match.group(2)
    return pins


def prepare() -> dict[str, Path]:
    """The runtime and the layer for this interpreter (cached by their pins), the layer twice: compiled
    as the build compiles it, and without bytecode; the sevbridge package is copied fresh every run."""
    requirements = ROOT / "layers/sevbridge/requirements.txt"
    pins = _pins()
    runtime_pins = [f"{name}=={pins[name]}" for name in RUNTIME_PACKAGES]
    key = hashlib.sha256((requirements.read_text() + " ".join(runtime_pins) + sys.version).encode()).hexdigest()[:12]
    base = WORK / key
    runtime, packages = base / "runtime", base / "layer-packages"
    if not (base / ".ready").exists():
        shutil.rmtree(base, ignore_errors=True)
        _pip("--target", str(runtime), *runtime_pins)
        _pip("--target", str(packages), "-r", str(requirements))
        subprocess.run([sys.executable, "-m", "compileall", "-q", "-j", "0", str(runtime)], check=True)
        (base / ".ready").touch()
    paths = {"runtime": runtime}
    for variant in ("layer-pyc", "layer-src"):
        target = base / variant
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(packages, target, ignore=shutil.ignore_patterns("__pycache__"))
        shutil.copytree(
            ROOT / "layers/sevbridge/sevbridge", target / "sevbridge", ignore=shutil.ignore_patterns("__pycache__")
        )
        paths[variant] = target
    subprocess.run(
        [
            sys.executable,
            "-m",
            "compileall",
            "-q",
            "-j",
            "0",
            "--invalidation-mode",
            "unchecked-hash",
            str(paths["layer-pyc"]),
        ],
        check=True,
    )
    for function in FUNCTIONS:
        paths[function] = _task(base, function, ROOT / "functions" / function / "app.py")
    for module in BASELINES:
        paths[module] = _task(base, module, ROOT / "benchmarks/baseline" / f"{module}.py")
    return paths


def _task(base: Path, name: str, source: Path) -> Path:
    task = base / "task" / name
    task.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, task / "app.py")
    return task


def _environment(task: Path) -> dict[str, str]:
    names = re.findall(r"^ {8}([A-Z][A-Z0-9_]+): ", (ROOT / "template.yaml").read_text(encoding="utf-8"), re.M)
    environment = {name: f"bench-{name.lower()}" for name in names}
    environment.update(
        {
            "PATH": os.environ.get("PATH", ""),
            "AWS_REGION": "eu-central-1",
            "AWS_DEFAULT_REGION": "eu-central-1",
            "AWS_ACCESS_KEY_ID": "bench",
            "AWS_SECRET_ACCESS_KEY": "bench",
            "AWS_LAMBDA_FUNCTION_NAME": "bench",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "512",
            "LAMBDA_TASK_ROOT": str(task),
            "POWERTOOLS_SERVICE_NAME": "sevbridge",
            "POWERTOOLS_METRICS_NAMESPACE": "sevbridge",
            "POWERTOOLS_LOG_LEVEL": "INFO",
            "SEVDESK_BASE_URL": "https://my.sevdesk.de/api/v1",
            "TOKEN_KEY_ID": "arn:aws:kms:eu-central-1:123456789012:key/bench",
        }
    )
    return environment


def _sys_path(paths: dict[str, Path], task: str, layer: str) -> str:
    return "|".join(str(p) for p in (paths[task], paths[layer], paths["runtime"]))


def _run(paths: dict[str, Path], task: str, layer: str, *flags: str) -> subprocess.CompletedProcess[str]:
    # -S: no site-packages of the dev environment; -B: the source-only layer stays without bytecode.
    return subprocess.run(
        [sys.executable, "-S", "-E", "-s", "-B", *flags, "-c", _MEASURE, _sys_path(paths, task, layer)],
        capture_output=True,
        text=True,
        env=_environment(paths[task]),
        check=True,
    )


def _timed_ms(paths: dict[str, Path], tasks: tuple[str, ...], layer: str, runs: int) -> dict[str, tuple[float, float]]:
    """Per task (CPU best of `runs`, wall median) in ms: neighbours on a shared machine only ever add time.
    The tasks take turns, run after run, so a function and its baseline see the same neighbours (measured
    one after the other, minutes apart, their ratio moved by ±0.2 with the machine's load)."""
    samples: dict[str, list[list[str]]] = defaultdict(list)
    for _ in range(runs):
        for task in tasks:
            samples[task].append(_run(paths, task, layer).stdout.split()[-2:])
    return {
        task: (
            min(float(cpu) * 1000 for cpu, _ in taken),
            statistics.median(float(wall) * 1000 for _, wall in taken),
        )
        for task, taken in samples.items()
    }


def contributors(paths: dict[str, Path], task: str, limit: int = 6) -> list[tuple[str, float]]:
    """Self time per top-level package from one `-X importtime` run with the compiled layer."""
    stderr = _run(paths, task, "layer-pyc", "-X", "importtime").stderr
    per_package: dict[str, float] = defaultdict(float)
    for line in stderr.splitlines():
        match = re.match(r"import time:\s+(\d+) \|\s+\d+ \|( *)(\S+)", line)
        if match:
            per_package[match.group(3).split(".")[0]] += int(match.group(1)) / 1000
    return sorted(per_package.items(), key=lambda item: -item[1])[:limit]


# The handler answers the request as in Lambda: a context with the invocation's remaining time.
_FIRST_REQUEST = """
import sys, json, time
sys.path[:0] = sys.argv[1].split('|')
event, remaining_ms = json.loads(sys.argv[2]), int(sys.argv[3])

class Context:
    function_name, function_version, memory_limit_in_mb = "bench", "$LATEST", 512
    invoked_function_arn = "arn:aws:lambda:eu-central-1:123456789012:function:bench"
    aws_request_id, log_group_name, log_stream_name = "c0ffee00-0000-4000-8000-000000000001", "bench", "bench"
    def get_remaining_time_in_millis(self): return remaining_ms

started = time.process_time()
import app
imported = time.process_time() - started
answer = app.lambda_handler(event, Context())
total = time.process_time() - started
# An API answer's status, or for an SQS batch "ok" when no record failed.
status = answer["statusCode"] if "statusCode" in answer else ("failed" if answer["batchItemFailures"] else "ok")
print(status, imported, total)
"""

_EXPECTED_STATUS = {
    "api": "202",
    "api_422": "422",
    "api_app": "200",
    "api_validated_app": "200",
    "transfer_worker": "ok",
    "worker_app": "ok",
}
BASELINE_TABLE = "bench-baseline"
# A fresh invocation's remaining time: the function's timeout in template.yaml (the api's 29 s otherwise).
_TIMEOUT_MS = {"transfer_worker": 180_000, "worker_app": 180_000}


@dataclass
class World:
    env: dict[str, str]  # what points a function's process at the moto server and the sandbox
    sandbox: Any  # sevdesk_sandbox.SandboxState
    account: Any  # the bench tenant's sandbox account
    transfer_queue: str  # its URL


@contextlib.contextmanager
def _world() -> Iterator[World]:
    """A moto server with the stack provisioned and the baseline's table, and the sevDesk sandbox."""
    import boto3

    from local_stack.aws import FAKE_CREDENTIALS, MotoService
    from local_stack.provision import provision
    from sevdesk_sandbox import SandboxState, serve

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's and the sandbox's request lines
    moto, state = MotoService("127.0.0.1", 0), SandboxState()
    sandbox = serve(state, port=0)
    url = moto.start()
    try:
        with mock.patch.dict(os.environ, {**FAKE_CREDENTIALS, "AWS_DEFAULT_REGION": "eu-central-1"}):
            stack = provision(endpoint_url=url, region="eu-central-1")
            boto3.client("dynamodb", endpoint_url=url, region_name="eu-central-1").create_table(
                TableName=BASELINE_TABLE,
                KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                BillingMode="PAY_PER_REQUEST",
            )
        account = state.create_account(name="Bench GmbH")
        env = {
            **stack.environment(),
            **FAKE_CREDENTIALS,
            "AWS_ENDPOINT_URL": url,
            "SEVDESK_BASE_URL": sandbox.url,
            "TABLE_NAME": BASELINE_TABLE,
            "SANDBOX_TOKEN": account.token,
        }
        yield World(env, state, account, stack.queues["TransferQueue"].url)
    finally:
        moto.stop()
        sandbox.shutdown()


def _api_event(name: str, replace: dict[str, str]) -> dict[str, Any]:
    text = (ROOT / "events" / name).read_text(encoding="utf-8")
    for old, new in replace.items():
        text = text.replace(old, new)
    event: dict[str, Any] = json.loads(text)
    return event


def _invoice_event(key: str, run: int) -> dict[str, Any]:
    """events/api-post-events.json, with a new event id and document per run: every run is a first
    request for a new invoice, never an idempotent replay."""
    event = _api_event("api-post-events.json", {"sbk_REPLACE_WITH_A_PLATFORM_KEY": key})
    body = json.loads(event["body"])
    body["id"], body["data"]["source_id"], body["data"]["number"] = f"bench-e{run}", f"bench-i{run}", f"B-{run}"
    event["body"] = json.dumps(body)
    return event


def _baseline_event(task: str) -> dict[str, Any]:
    event = _api_event("api-post-events.json", {})
    if task == "api_app":
        event.update(httpMethod="GET", path="/items/bench-1", body=None)
    else:
        event.update(path="/items", body=json.dumps({"name": "bench-1"}))
    return event


def _answer(paths: dict[str, Path], task: str, event: dict[str, Any], env: dict[str, str], expect: str) -> list[str]:
    """`task`'s handler answering `event` in a fresh Lambda-like process: [status, import s, total s]; an
    answer other than `expect` (a status code, or "ok" for a batch without failed records) raises."""
    code = _CODE_OF.get(task, task)
    out = subprocess.run(
        [
            sys.executable,
            "-S",
            "-E",
            "-s",
            "-B",
            "-c",
            _FIRST_REQUEST,
            _sys_path(paths, code, "layer-pyc"),
            json.dumps(event),
            str(_TIMEOUT_MS.get(code, 29_000)),
        ],
        capture_output=True,
        text=True,
        env={**_environment(paths[code]), **env},
        check=True,
    )
    answer = out.stdout.split()[-3:]
    if not answer:
        raise RuntimeError(f"{task}: no answer: {out.stdout[-500:]}")
    if answer[0] != expect:
        # The function's log lines (Powertools logs to stdout) say why.
        raise RuntimeError(f"{task} answered {answer[0]}, not {expect}:\n{out.stdout[-3000:]}")
    return answer


def _first(paths: dict[str, Path], task: str, event: dict[str, Any], env: dict[str, str]) -> tuple[float, float]:
    _, imported, total = _answer(paths, task, event, env, _EXPECTED_STATUS[task])
    return float(imported) * 1000, float(total) * 1000


def _platform_key(paths: dict[str, Path], env: dict[str, str]) -> str:
    """A platform and a connected tenant (school-42), set up by the api's own code in a throwaway process."""
    setup = (
        "import sys, json; sys.path[:0] = sys.argv[1].split('|'); "
        "from sevbridge import wiring; from sevbridge.domain.platforms import create_platform; "
        "_, key = create_platform(wiring.platform_store(), wiring.clock(), 'bench'); print(key)"
    )
    key = subprocess.run(
        [sys.executable, "-S", "-E", "-s", "-B", "-c", setup, _sys_path(paths, "api", "layer-pyc")],
        capture_output=True,
        text=True,
        env={**_environment(paths["api"]), **env},
        check=True,
    ).stdout.split()[-1]
    connect = _api_event(
        "api-put-connection.json",
        {"sbk_REPLACE_WITH_A_PLATFORM_KEY": key, "REPLACE_WITH_32_HEX_SEVDESK_TOKEN": env["SANDBOX_TOKEN"]},
    )
    _answer(paths, "api", connect, env, "201")  # the bench tenant is connected
    return key


def _invalid_invoice_event(key: str, run: int) -> dict[str, Any]:
    """An invoice event with a quantity that is no number: the api's 422 naming `data.positions.0.quantity`."""
    event = _invoice_event(key, run)
    body = json.loads(event["body"])
    body["id"] = f"bench-bad-e{run}"
    body["data"]["positions"][0]["quantity"] = "ten"
    event["body"] = json.dumps(body)
    return event


def _queued_transfers(world: World) -> dict[str, Any]:
    """The transfer messages the api queued, as the SQS event source hands them to the worker (taken off
    the queue: in Lambda the event source mapping deletes what the worker did not report failed)."""
    import boto3

    from local_stack.pollers import sqs_event

    sqs = boto3.client(
        "sqs", endpoint_url=world.env["AWS_ENDPOINT_URL"], region_name="eu-central-1", **_credentials(world)
    )
    messages = sqs.receive_message(
        QueueUrl=world.transfer_queue, MaxNumberOfMessages=10, AttributeNames=["All"], WaitTimeSeconds=1
    ).get("Messages", [])
    if not messages:
        raise RuntimeError("the api queued no transfer")
    for message in messages:
        sqs.delete_message(QueueUrl=world.transfer_queue, ReceiptHandle=message["ReceiptHandle"])
    arn = sqs.get_queue_attributes(QueueUrl=world.transfer_queue, AttributeNames=["QueueArn"])["Attributes"]
    return sqs_event(messages, queue_arn=arn["QueueArn"], region="eu-central-1")


def _credentials(world: World) -> dict[str, str]:
    return {
        "aws_access_key_id": world.env["AWS_ACCESS_KEY_ID"],
        "aws_secret_access_key": world.env["AWS_SECRET_ACCESS_KEY"],
    }


def _invoices_in_sevdesk(world: World) -> int:
    with world.sandbox.locked():
        return len(world.account.table("Invoice"))


def _worker_record(run: int) -> dict[str, Any]:
    return {
        "Records": [
            {
                "messageId": f"bench-m{run}",
                "receiptHandle": f"bench-r{run}",
                "body": json.dumps({"n": run}),
                "attributes": {"ApproximateReceiveCount": "1"},
                "messageAttributes": {},
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:eu-central-1:123456789012:bench",
                "awsRegion": "eu-central-1",
            }
        ]
    }


def _first_event(task: str, run: int, key: str, world: World) -> dict[str, Any]:
    if task == "api":
        return _invoice_event(key, run)
    if task == "api_422":
        return _invalid_invoice_event(key, run)
    if task == "transfer_worker":
        return _queued_transfers(world)  # the transfer the api queued in this run
    if task == "worker_app":
        return _worker_record(run)
    return _baseline_event(task)


def first_requests(paths: dict[str, Path], runs: int) -> FirstRequest:
    """Import + first request or message, best of `runs` fresh processes, for the api, the transfer worker
    and their baselines. Each run's api request queues a new invoice's transfer, which that run's transfer
    worker sends to the sandbox (checked: one more invoice there each run). The customer is known from a
    first, unmeasured event, so every measured message is "one sent invoice, known customer"."""
    with _world() as world:
        key = _platform_key(paths, world.env)
        _answer(paths, "api", _invoice_event(key, -1), world.env, "202")
        _answer(paths, "transfer_worker", _queued_transfers(world), world.env, "ok")
        best: dict[str, float] = {}
        for run in range(runs):
            for task in FIRST_REQUEST_TASKS:
                before = _invoices_in_sevdesk(world)
                event = _first_event(task, run, key, world)
                _, total = _first(paths, task, event, world.env)
                if task == "transfer_worker" and _invoices_in_sevdesk(world) != before + 1:
                    raise RuntimeError("the transfer worker's first message did not send its invoice to sevDesk")
                best[task] = min(best.get(task, total), total)
    return FirstRequest(ms=best)


def measure(runs: int = 7) -> list[ColdImport]:
    paths = prepare()
    for task in (*FUNCTIONS, *BASELINES):  # warm the page cache, not the interpreter
        _run(paths, task, "layer-pyc")
    timed = {layer: _timed_ms(paths, (*BASELINES, *FUNCTIONS), layer, runs) for layer in ("layer-pyc", "layer-src")}
    compiled, source = timed["layer-pyc"], timed["layer-src"]
    results = []
    for function in FUNCTIONS:
        module = BASELINE_OF.get(function, "worker_app")
        results.append(
            ColdImport(
                function=function,
                baseline=module,
                ms=compiled[function][0],
                baseline_ms=compiled[module][0],
                nopyc_ms=source[function][0],
                baseline_nopyc_ms=source[module][0],
                wall_ms=compiled[function][1],
                baseline_wall_ms=compiled[module][1],
                validated_baseline_ms=compiled["api_validated_app"][0],
                top=contributors(paths, function),
            )
        )
    api = next(result for result in results if result.function == "api")
    api.first_request = first_requests(paths, runs)
    return results


def main() -> None:
    if sys.argv[1:2] == ["first"]:  # only import + first request: python -m benchmarks.coldstart first [runs]
        first = first_requests(prepare(), int(sys.argv[2]) if len(sys.argv) > 2 else 7)
        print(", ".join(f"{task} {ms:.1f} ms" for task, ms in first.ms.items()))
        print(summary(first))
        return
    for result in measure(int(sys.argv[1]) if len(sys.argv) > 1 else 7):
        top = ", ".join(f"{name} {ms:.0f}" for name, ms in result.top)
        print(
            f"{result.function:20} {result.ms:7.1f} ms vs {result.baseline} {result.baseline_ms:7.1f} ms = "
            f"{result.ratio:.2f}x | no .pyc {result.nopyc_ms:7.1f} vs {result.baseline_nopyc_ms:7.1f} = "
            f"{result.ratio_nopyc:.2f}x | wall {result.wall_ms:7.1f} vs {result.baseline_wall_ms:7.1f} | {top}"
        )
        if result.first_request:
            print(summary(result.first_request))


def summary(first: FirstRequest) -> str:
    ms = first.ms
    return (
        f"import + first request: api {ms['api']:.1f} ms vs api_app {ms['api_app']:.1f} ms = {first.ratio:.2f}x, "
        f"vs api_validated_app {ms['api_validated_app']:.1f} ms = {first.validated_ratio:.2f}x; "
        f"api's first 422 {ms['api_422']:.1f} ms = {first.invalid_ratio:.2f}x api_validated_app; "
        f"import + first message: transfer_worker {ms['transfer_worker']:.1f} ms vs worker_app "
        f"{ms['worker_app']:.1f} ms = {first.worker_ratio:.2f}x"
    )


if __name__ == "__main__":
    main()
