"""Cold import of every function, against a minimal Powertools + boto3 handler (benchmarks/baseline/), in
a Lambda-like process: a fresh interpreter whose path holds only the function's code (/var/task), the
layer exactly as `make build-SevbridgeLayer` installs it (/opt/python) and the runtime's boto3 and
botocore (/var/runtime) — none of the dev environment's extra packages (awscrt, moto, …) that would
change what boto3 imports. Tracing is on as in Lambda (Tracer patches boto3 and httpx at import).

Two ways, each the best of N fresh processes (CPU time; as timeit, the least disturbed run): with the
layer's bytecode precompiled (what the layer ships) and without any .pyc for the layer (what Lambda paid
before the layer was compiled: /opt is read-only, so every cold start compiled every module).
`python -X importtime` names the packages the import spends its time in.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import statistics
import subprocess
import sys
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / ".local" / "bench" / "coldstart"
FUNCTIONS = ("api", "transfer_worker", "import_worker", "import_scheduler", "webhook_dispatcher", "backfill")
BASELINE_OF = {"api": "api_app"}  # every other function is compared to the SQS worker baseline
BASELINES = ("api_app", "api_validated_app", "worker_app")
RUNTIME_PACKAGES = ("boto3", "botocore", "s3transfer", "jmespath", "urllib3", "python-dateutil", "six")
API_TARGET = 1.2

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

    @property
    def ratio(self) -> float:
        return self.ms / self.baseline_ms

    @property
    def ratio_nopyc(self) -> float:
        return self.nopyc_ms / self.baseline_nopyc_ms


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


def _timed_ms(paths: dict[str, Path], task: str, layer: str, runs: int) -> tuple[float, float]:
    """(CPU best of `runs`, wall median) in ms: neighbours on a shared machine only ever add time."""
    samples = [_run(paths, task, layer).stdout.split()[-2:] for _ in range(runs)]
    return (
        min(float(cpu) * 1000 for cpu, _ in samples),
        statistics.median(float(wall) * 1000 for _, wall in samples),
    )


def contributors(paths: dict[str, Path], task: str, limit: int = 6) -> list[tuple[str, float]]:
    """Self time per top-level package from one `-X importtime` run with the compiled layer."""
    stderr = _run(paths, task, "layer-pyc", "-X", "importtime").stderr
    per_package: dict[str, float] = defaultdict(float)
    for line in stderr.splitlines():
        match = re.match(r"import time:\s+(\d+) \|\s+\d+ \|( *)(\S+)", line)
        if match:
            per_package[match.group(3).split(".")[0]] += int(match.group(1)) / 1000
    return sorted(per_package.items(), key=lambda item: -item[1])[:limit]


def measure(runs: int = 7) -> list[ColdImport]:
    paths = prepare()
    for task in (*FUNCTIONS, *BASELINES):  # warm the page cache, not the interpreter
        _run(paths, task, "layer-pyc")
    baseline: dict[tuple[str, str], tuple[float, float]] = {}
    for module in BASELINES:
        for layer in ("layer-pyc", "layer-src"):
            baseline[module, layer] = _timed_ms(paths, module, layer, runs)
    results = []
    for function in FUNCTIONS:
        module = BASELINE_OF.get(function, "worker_app")
        compiled, source = (
            _timed_ms(paths, function, "layer-pyc", runs),
            _timed_ms(paths, function, "layer-src", runs),
        )
        results.append(
            ColdImport(
                function=function,
                baseline=module,
                ms=compiled[0],
                baseline_ms=baseline[module, "layer-pyc"][0],
                nopyc_ms=source[0],
                baseline_nopyc_ms=baseline[module, "layer-src"][0],
                wall_ms=compiled[1],
                baseline_wall_ms=baseline[module, "layer-pyc"][1],
                validated_baseline_ms=baseline["api_validated_app", "layer-pyc"][0],
                top=contributors(paths, function),
            )
        )
    return results


def main() -> None:
    for result in measure(int(sys.argv[1]) if len(sys.argv) > 1 else 7):
        top = ", ".join(f"{name} {ms:.0f}" for name, ms in result.top)
        print(
            f"{result.function:20} {result.ms:7.1f} ms vs {result.baseline} {result.baseline_ms:7.1f} ms = "
            f"{result.ratio:.2f}x | no .pyc {result.nopyc_ms:7.1f} vs {result.baseline_nopyc_ms:7.1f} = "
            f"{result.ratio_nopyc:.2f}x | wall {result.wall_ms:7.1f} vs {result.baseline_wall_ms:7.1f} | {top}"
        )


if __name__ == "__main__":
    main()
