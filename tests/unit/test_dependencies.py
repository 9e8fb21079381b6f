"""What ships in the Lambda layer is what the tests ran with."""

from __future__ import annotations

import importlib.metadata
import re
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement

pytestmark = pytest.mark.unit
ROOT = Path(__file__).resolve().parents[2]


def _pins(path: Path) -> dict[str, str]:
    pins = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        match = re.match(r"^([A-Za-z0-9_.\-]+)(?:\[[^\]]*\])?==([^\s;#]+)", line.strip())
        if match:
            pins[match.group(1).lower().replace("_", "-")] = match.group(2)
    return pins


def test_layer_requirements_are_pinned_to_the_tested_versions() -> None:
    layer = _pins(ROOT / "layers/sevbridge/requirements.txt")
    tested = _pins(ROOT / "constraints.txt")
    assert layer, "layer requirements must pin exact versions"
    mismatched = {name: (version, tested.get(name)) for name, version in layer.items() if tested.get(name) != version}
    assert not mismatched, f"layer pins differ from constraints.txt (layer, tested): {mismatched}"


# What the python3.12 Lambda runtime ships: the layer must never carry a second copy
# (issue 10 §4: aws-xray-sdk once pulled a 25 MB botocore into the layer).
RUNTIME_PROVIDED = {"boto3", "botocore", "s3transfer", "jmespath", "urllib3", "python-dateutil", "six"}
# Runtime packages the layer's packages depend on, reviewed: botocore (aws-xray-sdk), jmespath (Powertools).
# A new entry means a new dependency on the runtime's versions; review it before adding it here.
RUNTIME_RELIED_ON = {"botocore", "jmespath"}
LAMBDA_MARKERS = {
    "python_version": "3.12",
    "python_full_version": "3.12.1",
    "sys_platform": "linux",
    "platform_system": "Linux",
    "platform_machine": "aarch64",
    "platform_python_implementation": "CPython",
    "implementation_name": "cpython",
    "os_name": "posix",
    "extra": "",
}


def _normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _dependencies(package: str) -> set[str]:
    """The requirements of an installed package that apply on the Lambda runtime (no extras: the layer
    list names the packages an extra would pull, e.g. email-validator for pydantic[email])."""
    found = set()
    for line in importlib.metadata.requires(package) or []:
        requirement = Requirement(line)
        if requirement.marker is None or requirement.marker.evaluate(LAMBDA_MARKERS):
            found.add(_normalized(requirement.name))
    return found


def _closure(packages: set[str]) -> set[str]:
    seen: set[str] = set()
    todo = list(packages)
    while todo:
        package = todo.pop()
        if package in seen:
            continue
        seen.add(package)
        if package not in RUNTIME_PROVIDED:
            todo.extend(_dependencies(package))
    return seen


def test_layer_ships_nothing_the_runtime_provides() -> None:
    layer = set(_pins(ROOT / "layers/sevbridge/requirements.txt"))
    duplicated = layer & RUNTIME_PROVIDED
    assert not duplicated, f"the Lambda runtime already provides {sorted(duplicated)}; remove them from the layer"


def test_layer_list_is_the_complete_closure_because_it_is_installed_without_dependencies() -> None:
    layer = set(_pins(ROOT / "layers/sevbridge/requirements.txt"))
    closure = _closure(layer)
    missing = closure - layer - RUNTIME_PROVIDED
    assert not missing, f"dependencies of the layer's packages missing from its list (pip --no-deps): {sorted(missing)}"
    relied_on = closure & RUNTIME_PROVIDED
    assert relied_on <= RUNTIME_RELIED_ON, (
        f"the layer now depends on the runtime's {sorted(relied_on - RUNTIME_RELIED_ON)}: a dependency the runtime "
        "already provides; check the runtime's version satisfies it, then add it to RUNTIME_RELIED_ON"
    )


def test_layer_covers_what_the_package_needs_at_runtime() -> None:
    """pyproject's runtime dependencies (minus the operator CLI and local stack) are all in the layer."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    tooling = {"typer", "rich", "moto", "flask", "pyyaml"}
    needed: set[str] = set()
    for line in project["dependencies"]:
        requirement = Requirement(line)
        name = _normalized(requirement.name)
        if name not in tooling:
            needed |= {name} | {_normalized(d) for extra in requirement.extras for d in _extra(name, extra)}
    layer = set(_pins(ROOT / "layers/sevbridge/requirements.txt"))
    assert needed - RUNTIME_PROVIDED <= layer, sorted(needed - RUNTIME_PROVIDED - layer)


def _extra(package: str, extra: str) -> set[str]:
    names = set()
    for line in importlib.metadata.requires(package) or []:
        requirement = Requirement(line)
        marker = requirement.marker
        # Only what the extra adds: applies with it, not without it.
        if (
            marker is not None
            and marker.evaluate({**LAMBDA_MARKERS, "extra": extra})
            and not marker.evaluate(LAMBDA_MARKERS)
        ):
            names.add(requirement.name)
    return names


def test_the_layer_build_installs_without_dependencies_and_compiles_bytecode() -> None:
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    recipe = makefile.split("\nbuild-SevbridgeLayer:\n", 1)[1].split("\n\n", 1)[0]
    assert "--no-deps" in recipe and "-r requirements.txt" in recipe
    assert "--python-version 3.12" in recipe and "manylinux2014_aarch64" in makefile
    assert "compileall" in recipe and "--invalidation-mode unchecked-hash" in recipe
