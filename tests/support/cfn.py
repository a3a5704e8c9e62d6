"""Resolve CloudFormation intrinsic functions in a template, the way a deploy would.

Tests build moto resources and function environments from the real templates. This resolver turns
``Ref``, ``Fn::GetAtt``, ``Fn::If``, ``Fn::Sub``, ``Fn::Select``, ``Fn::Split``, ``Fn::Join`` and the
condition functions into plain values, from parameter values and the physical ids of the resources
created so far. A reference to a resource that does not exist yet raises ``Unresolved``, so callers
can create resources in dependency order without declaring it by hand.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

ACCOUNT_ID = "123456789012"
REGION = "us-east-1"
PARTITION = "aws"

_SUB_VARIABLE = re.compile(r"\$\{(?P<name>[A-Za-z0-9_.:]+)\}")
_NO_VALUE = object()


class Unresolved(LookupError):  # noqa: N818 - it is a signal, not a failure
    """A reference to a resource (or attribute) that has not been created yet."""


class Resolver:
    def __init__(
        self,
        template: Mapping[str, Any],
        parameters: Mapping[str, str],
        *,
        stack_name: str = "blueprints-test",
    ) -> None:
        self.template = template
        self.stack_name = stack_name
        self.parameters = self._parameter_values(parameters)
        self.refs: dict[str, str] = {}
        self.attributes: dict[tuple[str, str], str] = {}

    def _parameter_values(self, given: Mapping[str, str]) -> dict[str, str]:
        declared: Mapping[str, Any] = self.template.get("Parameters", {})
        unknown = set(given) - set(declared)
        if unknown:
            raise KeyError(f"not parameters of the template: {sorted(unknown)}")
        values: dict[str, str] = {}
        for name, declaration in declared.items():
            if name in given:
                values[name] = str(given[name])
            elif "Default" in declaration:
                values[name] = str(declaration["Default"])
            else:
                raise KeyError(f"parameter {name} has no default and no value")
        return values

    def condition(self, name: str) -> bool:
        return bool(self.resolve(self.template["Conditions"][name]))

    def resolve(self, value: Any) -> Any:
        """Return ``value`` with every intrinsic function replaced by its value."""
        resolved = self._resolve(value)
        return None if resolved is _NO_VALUE else resolved

    def _resolve(self, value: Any) -> Any:
        if isinstance(value, Mapping):
            if len(value) == 1:
                (key, argument), *_ = value.items()
                handler = _FUNCTIONS.get(str(key))
                if handler is not None:
                    return handler(self, argument)
            out = {str(k): self._resolve(v) for k, v in value.items()}
            return {k: v for k, v in out.items() if v is not _NO_VALUE}
        if isinstance(value, list):
            return [item for item in (self._resolve(v) for v in value) if item is not _NO_VALUE]
        if isinstance(value, str):
            return str(value)  # drop the YAML node subclass
        return value

    def ref(self, name: str) -> Any:
        pseudo = {
            "AWS::AccountId": ACCOUNT_ID,
            "AWS::Region": REGION,
            "AWS::Partition": PARTITION,
            "AWS::StackName": self.stack_name,
            "AWS::URLSuffix": "amazonaws.com",
        }
        if name == "AWS::NoValue":
            return _NO_VALUE
        if name in pseudo:
            return pseudo[name]
        if name in self.parameters:
            return self.parameters[name]
        if name in self.refs:
            return self.refs[name]
        raise Unresolved(name)

    def get_att(self, logical_id: str, attribute: str) -> str:
        try:
            return self.attributes[(logical_id, attribute)]
        except KeyError:
            raise Unresolved(f"{logical_id}.{attribute}") from None


def _ref(resolver: Resolver, argument: Any) -> Any:
    return resolver.ref(str(argument))


def _get_att(resolver: Resolver, argument: Any) -> Any:
    if isinstance(argument, str):
        logical_id, attribute = argument.split(".", 1)
    else:
        logical_id, attribute = (str(part) for part in argument)
    return resolver.get_att(logical_id, attribute)


def _if(resolver: Resolver, argument: Any) -> Any:
    name, when_true, when_false = argument
    return resolver._resolve(when_true if resolver.condition(str(name)) else when_false)


def _equals(resolver: Resolver, argument: Any) -> bool:
    left, right = (resolver._resolve(part) for part in argument)
    return bool(str(left) == str(right))


def _not(resolver: Resolver, argument: Any) -> bool:
    return not resolver._resolve(argument[0])


def _and(resolver: Resolver, argument: Any) -> bool:
    return all(resolver._resolve(part) for part in argument)


def _or(resolver: Resolver, argument: Any) -> bool:
    return any(resolver._resolve(part) for part in argument)


def _condition(resolver: Resolver, argument: Any) -> bool:
    return resolver.condition(str(argument))


def _select(resolver: Resolver, argument: Any) -> Any:
    index, items = argument
    return resolver._resolve(items)[int(resolver._resolve(index))]


def _split(resolver: Resolver, argument: Any) -> list[str]:
    delimiter, source = argument
    return str(resolver._resolve(source)).split(str(delimiter))


def _join(resolver: Resolver, argument: Any) -> str:
    delimiter, items = argument
    return str(delimiter).join(str(item) for item in resolver._resolve(items))


def _sub(resolver: Resolver, argument: Any) -> str:
    if isinstance(argument, str):
        text, variables = argument, {}
    else:
        text, variables = str(argument[0]), {str(k): resolver._resolve(v) for k, v in argument[1].items()}

    def substitute(match: re.Match[str]) -> str:
        name = match["name"]
        if name in variables:
            return str(variables[name])
        if "." in name and not name.startswith("AWS::"):
            logical_id, attribute = name.split(".", 1)
            return resolver.get_att(logical_id, attribute)
        return str(resolver.ref(name))

    return _SUB_VARIABLE.sub(substitute, text)


_FUNCTIONS = {
    "Ref": _ref,
    "Fn::GetAtt": _get_att,
    "Fn::If": _if,
    "Fn::Equals": _equals,
    "Fn::Not": _not,
    "Fn::And": _and,
    "Fn::Or": _or,
    "Condition": _condition,
    "Fn::Select": _select,
    "Fn::Split": _split,
    "Fn::Join": _join,
    "Fn::Sub": _sub,
}
