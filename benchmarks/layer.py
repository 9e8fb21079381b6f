"""Builds the layer exactly as `sam build` does (the Makefile's build-SevbridgeLayer target, arm64 wheels
for python3.12) into .local/bench/layer and reports its unzipped size and contents."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RUNTIME_MODULES = ("boto3", "botocore", "s3transfer", "jmespath", "urllib3", "dateutil", "six")
PY312_BIN = os.environ.get("PY312_BIN", "")  # make bench passes the Makefile's; else python3.12 from PATH


@dataclass
class BuiltLayer:
    bytes: int
    packages: int  # distributions (dist-info folders)
    runtime_packages: list[str]  # modules the runtime provides that the layer carries anyway
    sources: int
    missing_pyc: int  # .py files without a cpython-312 .pyc next to them


def build_layer(target: Path = ROOT / ".local" / "bench" / "layer") -> BuiltLayer:
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    with tempfile.TemporaryDirectory() as scratch:
        # sam build copies the layer's ContentUri to a scratch directory and runs make there.
        shutil.copytree(ROOT / "layers/sevbridge", scratch, dirs_exist_ok=True)
        python = str(Path(PY312_BIN) / "python3.12") if PY312_BIN and Path(PY312_BIN).is_dir() else "python3.12"
        subprocess.run(
            [
                "make",
                "-f",
                str(ROOT / "Makefile"),
                "build-SevbridgeLayer",
                f"ARTIFACTS_DIR={target}",
                f"LAYER_PYTHON={python}",
            ],
            cwd=scratch,
            check=True,
            capture_output=True,
        )
    return inspect(target / "python")


def inspect(python: Path) -> BuiltLayer:
    files = [f for f in python.rglob("*") if f.is_file()]
    sources = [f for f in files if f.suffix == ".py"]
    missing = [f for f in sources if not (f.parent / "__pycache__" / f"{f.stem}.cpython-312.pyc").exists()]
    return BuiltLayer(
        bytes=sum(f.stat().st_size for f in files),
        packages=len(list(python.glob("*.dist-info"))),
        runtime_packages=[m for m in RUNTIME_MODULES if (python / m).exists() or (python / f"{m}.py").exists()],
        sources=len(sources),
        missing_pyc=len(missing),
    )
