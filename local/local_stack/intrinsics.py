"""Evaluates CloudFormation intrinsic functions against the local stack's resources.

Only what a deployed stack would know is answered: parameters (defaults or overrides), pseudo
parameters, conditions, and Ref/GetAtt of resources, which the caller supplies through
`ResourceLookup` (so looking up a resource can create it on demand, in dependency order).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

# Marks a value removed by `Ref: AWS::NoValue`; dropped from the enclosing dict or list.
NO_VALUE = object()

ResourceLookup = Callable[[str, str | None], str]
"""(logical id, attribute or None for Ref) -> value."""

_SUB_VARIABLE = re.compile(r"\$\{([^}!][^}]*)\}")


class TemplateError(ValueError):
    """The template uses something the local stack cannot evaluate."""


class Resolver:
    def __init__(
        self,
        template: dict[str, Any],
        *,
        parameters: dict[str, str],
        pseudo: dict[str, str],
        lookup: ResourceLookup,
    ) -> None:
        self._template = template
        self._parameters = _parameter_values(template, parameters)
        self._pseudo = pseudo
        self._lookup = lookup
        self._conditions: dict[str, bool] = {}

    def resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            items = [self.resolve(item) for item in value]
            return [item for item in items if item is not NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((key, argument),) = value.items()
            function = _FUNCTIONS.get(key)
            if function is not None:
                return function(self, argument)
        resolved = {key: self.resolve(item) for key, item in value.items()}
        return {key: item for key, item in resolved.items() if item is not NO_VALUE}

    def resolve_str(self, value: Any) -> str:
        resolved = self.resolve(value)
        if isinstance(resolved, bool):
            return "true" if resolved else "false"
        if not isinstance(resolved, str | int | float):
            raise TemplateError(f"expected a scalar, got {resolved!r}")
        return str(resolved)

    def condition(self, name: str) -> bool:
        if name not in self._conditions:
            definition = (self._template.get("Conditions") or {}).get(name)
            if definition is None:
                raise TemplateError(f"unknown condition {name}")
            self._conditions[name] = bool(self.resolve(definition))
        return self._conditions[name]

    # --- intrinsic functions -------------------------------------------------------------------

    def _ref(self, name: str) -> Any:
        if name == "AWS::NoValue":
            return NO_VALUE
        if name in self._pseudo:
            return self._pseudo[name]
        if name in self._parameters:
            return self._parameters[name]
        if name in self._template["Resources"]:
            return self._lookup(name, None)
        raise TemplateError(f"Ref to unknown name {name}")

    def _get_att(self, argument: Any) -> Any:
        logical_id, attribute = argument.split(".", 1) if isinstance(argument, str) else argument
        return self._lookup(str(logical_id), self.resolve_str(attribute))

    def _sub(self, argument: Any) -> str:
        text, variables = (argument, {}) if isinstance(argument, str) else argument
        values = {name: self.resolve_str(value) for name, value in variables.items()}

        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if name in values:
                return values[name]
            if "." in name and not name.startswith("AWS::"):
                logical_id, attribute = name.split(".", 1)
                return self.resolve_str({"Fn::GetAtt": [logical_id, attribute]})
            return self.resolve_str({"Ref": name})

        # `${!Literal}` is CloudFormation's escape for a literal `${Literal}`.
        return _SUB_VARIABLE.sub(replace, text).replace("${!", "${")

    def _if(self, argument: list[Any]) -> Any:
        name, when_true, when_false = argument
        return self.resolve(when_true if self.condition(name) else when_false)

    def _join(self, argument: list[Any]) -> str:
        delimiter, items = argument
        return str(delimiter).join(self.resolve_str(item) for item in self.resolve(items))

    def _select(self, argument: list[Any]) -> Any:
        index, items = argument
        return self.resolve(items)[int(self.resolve_str(index))]

    def _split(self, argument: list[Any]) -> list[str]:
        delimiter, text = argument
        return self.resolve_str(text).split(str(delimiter))

    def _find_in_map(self, argument: list[Any]) -> Any:
        map_name, top, second = (self.resolve_str(part) for part in argument)
        return self._template["Mappings"][map_name][top][second]

    def _equals(self, argument: list[Any]) -> bool:
        left, right = (self.resolve(part) for part in argument)
        return bool(left == right)

    def _not(self, argument: list[Any]) -> bool:
        return not self._truthy(argument[0])

    def _and(self, argument: list[Any]) -> bool:
        return all(self._truthy(part) for part in argument)

    def _or(self, argument: list[Any]) -> bool:
        return any(self._truthy(part) for part in argument)

    def _truthy(self, value: Any) -> bool:
        resolved = self.resolve(value)
        return resolved is True or resolved == "true"

    def _condition_ref(self, name: str) -> bool:
        return self.condition(name)


_FUNCTIONS: dict[str, Callable[[Resolver, Any], Any]] = {
    "Ref": Resolver._ref,
    "Fn::GetAtt": Resolver._get_att,
    "Fn::Sub": Resolver._sub,
    "Fn::If": Resolver._if,
    "Fn::Join": Resolver._join,
    "Fn::Select": Resolver._select,
    "Fn::Split": Resolver._split,
    "Fn::FindInMap": Resolver._find_in_map,
    "Fn::Equals": Resolver._equals,
    "Fn::Not": Resolver._not,
    "Fn::And": Resolver._and,
    "Fn::Or": Resolver._or,
    "Condition": Resolver._condition_ref,
}


def _parameter_values(template: dict[str, Any], overrides: dict[str, str]) -> dict[str, str]:
    declared: dict[str, dict[str, Any]] = template.get("Parameters") or {}
    unknown = set(overrides) - set(declared)
    if unknown:
        raise TemplateError(f"unknown template parameters: {', '.join(sorted(unknown))}")
    values: dict[str, str] = {}
    for name, spec in declared.items():
        if name in overrides:
            values[name] = overrides[name]
        elif "Default" in spec:
            values[name] = str(spec["Default"])
        else:
            raise TemplateError(f"template parameter {name} has no default; pass a value")
        allowed = [str(value) for value in spec.get("AllowedValues", [])]
        if allowed and values[name] not in allowed:
            raise TemplateError(f"template parameter {name} must be one of {', '.join(allowed)}")
    return values
