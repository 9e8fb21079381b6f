"""Reads template.yaml the way CloudFormation does, for the local stack and the template tests.

CloudFormation's short tags (`!Ref X`, `!GetAtt A.B`, `!Sub ...`) become their long JSON forms
(`{"Ref": "X"}`, `{"Fn::GetAtt": ["A", "B"]}`, ...), so callers only ever see plain dicts.
The helpers below answer the questions both callers ask: which functions exist (with Globals
applied), which events feed them, and which resources of a type there are.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_TEMPLATE = REPO_ROOT / "template.yaml"

# Tags whose long form is not "Fn::<Tag>".
_SPECIAL_TAGS = {"Ref": "Ref", "Condition": "Condition"}
_FN_TAGS = [
    *("And", "Base64", "Cidr", "Equals", "FindInMap", "GetAtt", "GetAZs", "If", "ImportValue", "Join"),
    *("Not", "Or", "Select", "Split", "Sub", "Transform", "Length", "ToJsonString"),
]


class CfnLoader(yaml.SafeLoader):
    """SafeLoader that also understands CloudFormation's short-form intrinsic functions."""


def _construct(tag_name: str) -> Any:
    key = _SPECIAL_TAGS.get(tag_name, f"Fn::{tag_name}")

    def construct(loader: CfnLoader, node: yaml.Node) -> dict[str, Any]:
        value: Any
        if isinstance(node, yaml.ScalarNode):
            value = loader.construct_scalar(node)
            if tag_name == "GetAtt":
                # `!GetAtt Resource.Attribute` is the only short form written as one dotted string.
                logical_id, _, attribute = str(value).partition(".")
                value = [logical_id, attribute]
        elif isinstance(node, yaml.SequenceNode):
            value = loader.construct_sequence(node, deep=True)
        else:
            value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
        return {key: value}

    return construct


for _tag in (*_SPECIAL_TAGS, *_FN_TAGS):
    CfnLoader.add_constructor(f"!{_tag}", _construct(_tag))


def load_template(path: Path = DEFAULT_TEMPLATE) -> dict[str, Any]:
    """The template as plain dicts; a fresh copy each call, so callers may change it freely."""
    stat = path.stat()
    return copy.deepcopy(_parsed(path.resolve(), stat.st_mtime_ns, stat.st_size))


@functools.lru_cache(maxsize=8)
def _parsed(path: Path, mtime_ns: int, size: int) -> dict[str, Any]:
    """Parsing takes most of a second and every moto world of the suite provisions the template:
    parse once per file version (the key includes mtime and size, so an edited template is read anew)."""
    with path.open(encoding="utf-8") as stream:
        loaded = yaml.load(stream, Loader=CfnLoader)  # CfnLoader is a SafeLoader
    if not isinstance(loaded, dict) or "Resources" not in loaded:
        raise ValueError(f"{path} is not a CloudFormation template (no Resources)")
    return loaded


def resources_of_type(template: dict[str, Any], resource_type: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """(logical id, properties) of every resource of `resource_type`, in template order."""
    for logical_id, resource in template["Resources"].items():
        if resource.get("Type") == resource_type:
            yield logical_id, resource.get("Properties") or {}


@dataclass(frozen=True)
class FunctionDefinition:
    """An AWS::Serverless::Function with Globals.Function applied, still unresolved (intrinsics kept)."""

    logical_id: str
    properties: dict[str, Any]

    @property
    def code_uri(self) -> str:
        return str(self.properties["CodeUri"])

    @property
    def handler(self) -> str:
        return str(self.properties["Handler"])

    @property
    def timeout(self) -> int:
        # SAM's default when neither the function nor Globals set one.
        return int(self.properties.get("Timeout", 3))

    @property
    def memory_size(self) -> int:
        return int(self.properties.get("MemorySize", 128))

    @property
    def environment(self) -> dict[str, Any]:
        env: dict[str, Any] = (self.properties.get("Environment") or {}).get("Variables") or {}
        return env

    @property
    def events(self) -> dict[str, dict[str, Any]]:
        events: dict[str, dict[str, Any]] = self.properties.get("Events") or {}
        return events

    def events_of_type(self, event_type: str) -> Iterator[tuple[str, dict[str, Any]]]:
        for name, event in self.events.items():
            if event.get("Type") == event_type:
                yield name, event.get("Properties") or {}


def functions(template: dict[str, Any]) -> list[FunctionDefinition]:
    """Every serverless function, with Globals.Function merged in like SAM does."""
    global_props: dict[str, Any] = (template.get("Globals") or {}).get("Function") or {}
    return [
        FunctionDefinition(logical_id, merge_globals(global_props, props))
        for logical_id, props in resources_of_type(template, "AWS::Serverless::Function")
    ]


def merge_globals(global_props: dict[str, Any], props: dict[str, Any]) -> dict[str, Any]:
    """SAM's rules, for the properties we use: maps merge (function wins), everything else is replaced.

    Lists such as Layers are *concatenated* by SAM; that matters little locally but is kept faithful.
    """
    merged = copy.deepcopy(global_props)
    for key, value in props.items():
        current = merged.get(key)
        if isinstance(current, dict) and isinstance(value, dict) and not _is_intrinsic(value):
            merged[key] = merge_globals(current, value)
        elif key == "Layers" and isinstance(current, list) and isinstance(value, list):
            merged[key] = current + value
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def _is_intrinsic(value: dict[str, Any]) -> bool:
    return len(value) == 1 and next(iter(value)) in {"Ref", "Condition"} | {f"Fn::{t}" for t in _FN_TAGS}
