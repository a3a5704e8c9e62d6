"""Read the SAM templates with a real CloudFormation-aware YAML loader (short-form tags included).

Tests build moto resources from these definitions (one source of truth for key schemas) and the
contract tests compare the code with the template's wiring.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cfnlint.decode import decode

from tests.support.paths import ROOT, ROOT_TEMPLATE, TEMPLATES

CODE_URI = re.compile(r"functions/(?P<blueprint>[a-z0-9_-]+)/(?P<function>[a-z0-9_]+)/?$")


@functools.cache
def load_template(path: Path) -> dict[str, Any]:
    template, matches = decode(str(path))
    if matches or template is None:
        raise ValueError(f"cannot parse {path}: {matches}")
    return dict(template)


def all_templates() -> list[Path]:
    return [ROOT_TEMPLATE, *sorted(TEMPLATES.glob("*.yaml"))]


@dataclass(frozen=True)
class FunctionDef:
    template: Path
    logical_id: str
    blueprint: str
    name: str  # folder name under functions/<blueprint>/
    properties: dict[str, Any]
    globals: dict[str, Any]

    @property
    def env_names(self) -> set[str]:
        names = set(self.globals.get("Environment", {}).get("Variables", {}))
        names |= set(self.properties.get("Environment", {}).get("Variables", {}))
        return names

    def env(self) -> dict[str, Any]:
        merged = dict(self.globals.get("Environment", {}).get("Variables", {}))
        merged.update(self.properties.get("Environment", {}).get("Variables", {}))
        return merged


def functions() -> list[FunctionDef]:
    """Every AWS::Serverless::Function of every nested template."""
    found = []
    for path in sorted(TEMPLATES.glob("*.yaml")):
        template = load_template(path)
        globals_ = template.get("Globals", {}).get("Function", {})
        for logical_id, resource in template.get("Resources", {}).items():
            if resource.get("Type") != "AWS::Serverless::Function":
                continue
            properties = resource.get("Properties", {})
            code_uri = (path.parent / properties["CodeUri"]).resolve().relative_to(ROOT).as_posix()
            match = CODE_URI.search(code_uri)
            if match is None:
                raise ValueError(f"{logical_id}: CodeUri {code_uri} is not functions/<blueprint>/<function>/")
            found.append(
                FunctionDef(path, logical_id, match["blueprint"], match["function"], properties, globals_)
            )
    return found


def resource(path: Path, logical_id: str) -> dict[str, Any]:
    found: dict[str, Any] = load_template(path)["Resources"][logical_id]
    return found


CUSTOM_RULES = ROOT / "checks" / "cfn-lint" / "custom_rules.txt"


def cfn_lint(path: Path, custom_rules: Path | None = CUSTOM_RULES) -> list[str]:
    """cfn-lint's findings on one template as ``RULE path: message`` (what ``make cfn-lint`` reports)."""
    from cfnlint.api import ManualArgs, lint_file  # the rule engine is heavy; only template tests pay for it

    config = ManualArgs(regions=["us-east-1"])
    if custom_rules is not None:
        config["custom_rules"] = str(custom_rules)
    return [
        f"{match.rule.id} {'/'.join(map(str, match.path))}: {match.message}"
        for match in lint_file(path, config=config)
    ]


def state_machines(paths: list[Path] | None = None) -> list[tuple[Path, str, dict[str, Any]]]:
    """(template, logical id, properties) of every AWS::Serverless::StateMachine, in template order."""
    found = []
    for path in all_templates() if paths is None else paths:
        for logical_id, resource in load_template(path).get("Resources", {}).items():
            if resource.get("Type") == "AWS::Serverless::StateMachine":
                found.append((path, logical_id, dict(resource.get("Properties", {}))))
    return found
