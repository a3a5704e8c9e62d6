"""Translate SAM templates to plain CloudFormation JSON, offline.

    python -m tools.sam_translate --out build/translated template.yaml templates/broker.yaml

checkov reads the translation to see what SAM generates (roles, event source mappings, rules). The
translation needs no AWS account and makes no AWS call:

- local artefact paths are replaced the way ``sam validate`` does: ``CodeUri`` and ``ContentUri`` become
  ``s3://local-artifacts/<path from the repository root>``, so the generated ``Code`` still names its folder;
- a state machine's local ``DefinitionUri`` is read and inlined as ``Definition`` (checks see the ASL);
- a nested application's local ``Location`` is kept (it becomes the stack's ``TemplateURL``);
- managed policy names resolve from an offline map; parameters without a ``Default`` get placeholders.

The output is for analysis and the local cloud, never for deployment (``sam deploy`` packages for real).
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import boto3
import yaml
from samtranslator.internal.managed_policies import get_bundled_managed_policy_map
from samtranslator.metrics.method_decorator import MetricsMethodWrapperSingleton
from samtranslator.model.exceptions import InvalidDocumentException
from samtranslator.parser.parser import Parser
from samtranslator.translator.translator import Translator
from samtranslator.yaml_helper import yaml_parse

REGION = "us-east-1"
ACCOUNT = "123456789012"
ARTIFACT_BUCKET = "local-artifacts"
REPOSITORY = Path(__file__).resolve().parents[1]

# Placeholders for parameters without a Default, chosen by the end of the parameter's name.
PLACEHOLDERS: tuple[tuple[str, str], ...] = (
    ("LayerArn", f"arn:aws:lambda:{REGION}:{ACCOUNT}:layer:placeholder:1"),
    ("KeyArn", f"arn:aws:kms:{REGION}:{ACCOUNT}:key/00000000-0000-0000-0000-000000000000"),
    ("TopicArn", f"arn:aws:sns:{REGION}:{ACCOUNT}:placeholder"),
    ("QueueArn", f"arn:aws:sqs:{REGION}:{ACCOUNT}:placeholder"),
    ("BucketName", "placeholder-bucket"),
    ("Arn", f"arn:aws:iam::{ACCOUNT}:role/placeholder"),
)


class TranslationError(Exception):
    """A template that the SAM translator rejects, or that cannot be read."""


class OfflineManagedPolicies:
    """Stands in for samtranslator's ``ManagedPolicyLoader``: managed policy names to ARNs, no IAM call."""

    def __init__(self, partition: str = "aws") -> None:
        self._map = dict(get_bundled_managed_policy_map(partition) or {})

    def load(self) -> dict[str, str]:
        return self._map


def placeholder(name: str, declaration: dict[str, Any]) -> str:
    """A value for a parameter the template leaves without a Default."""
    if declaration.get("Type") == "Number":
        return str(declaration.get("MinValue", 1))
    return next((value for suffix, value in PLACEHOLDERS if name.endswith(suffix)), "placeholder")


def parameter_values(template: dict[str, Any]) -> dict[str, Any]:
    """Defaults where the template declares them, placeholders elsewhere."""
    values: dict[str, Any] = {"AWS::AccountId": ACCOUNT, "AWS::Region": REGION, "AWS::Partition": "aws"}
    for name, declaration in template.get("Parameters", {}).items():
        values[name] = declaration["Default"] if "Default" in declaration else placeholder(name, declaration)
    return values


def _artifact_uri(template_dir: Path, local: str) -> str:
    path = (template_dir / local).resolve()
    key = path.relative_to(REPOSITORY) if path.is_relative_to(REPOSITORY) else path.relative_to(path.anchor)
    return f"s3://{ARTIFACT_BUCKET}/{key.as_posix()}"


def _load_definition(template_dir: Path, local: str) -> Any:
    path = template_dir / local
    try:
        text = path.read_text()
    except OSError as exc:
        raise TranslationError(f"DefinitionUri {local}: {exc.strerror}") from exc
    return json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)


def localize(template: dict[str, Any], template_dir: Path) -> dict[str, Any]:
    """A copy of the template with local paths replaced or inlined (see the module docstring)."""
    localized = copy.deepcopy(template)
    function_globals = localized.get("Globals", {}).get("Function", {})
    if isinstance(function_globals.get("CodeUri"), str):
        function_globals["CodeUri"] = _artifact_uri(template_dir, function_globals["CodeUri"])
    for resource in localized.get("Resources", {}).values():
        properties = resource.get("Properties", {})
        kind = resource.get("Type")
        for key in ("CodeUri", "ContentUri"):
            value = properties.get(key)
            if isinstance(value, str) and not value.startswith("s3://"):
                properties[key] = _artifact_uri(template_dir, value)
        uri = properties.get("DefinitionUri")
        if isinstance(uri, str) and not uri.startswith("s3://"):
            if kind == "AWS::Serverless::StateMachine":
                properties["Definition"] = _load_definition(template_dir, properties.pop("DefinitionUri"))
            else:
                properties["DefinitionUri"] = _artifact_uri(template_dir, uri)
    return localized


def translate(path: Path) -> dict[str, Any]:
    """The plain CloudFormation of one SAM template; ``TranslationError`` says why when there is none."""
    try:
        template = yaml_parse(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise TranslationError(f"{path}: cannot read: {exc}") from exc
    if not isinstance(template, dict):
        raise TranslationError(f"{path}: not a template")
    localized = localize(template, path.parent)
    translator = Translator(None, Parser(), boto_session=boto3.session.Session(region_name=REGION))
    policies = OfflineManagedPolicies()
    try:
        translated: dict[str, Any] = translator.translate(
            localized,
            parameter_values=parameter_values(localized),
            passthrough_metadata=True,  # checkov skips with reasons travel to the generated resources
            get_managed_policy_map=policies.load,
        )
    except InvalidDocumentException as exc:
        causes = "\n".join(f"  - {cause.message}" for cause in exc.causes)
        raise TranslationError(f"{path}: the SAM translator rejected the template:\n{causes}") from exc
    finally:
        MetricsMethodWrapperSingleton.get_instance().publish()  # a no-op publisher; silences its warning
    return translated


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0] if __doc__ else None)
    parser.add_argument(
        "--out", type=Path, required=True, help="directory of <template-stem>.json (stale .json files go)"
    )
    parser.add_argument("templates", type=Path, nargs="+")
    args = parser.parse_args(argv)
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    stems = [path.stem for path in args.templates]
    if len(set(stems)) != len(stems):
        print(f"sam_translate: template names must be unique: {stems}", file=sys.stderr)
        return 2
    for stale in sorted(set(out.glob("*.json")) - {out / f"{stem}.json" for stem in stems}):
        stale.unlink()  # a removed template must not linger for checkov -d
    failed = 0
    for path in args.templates:
        target = out / f"{path.stem}.json"
        try:
            translated = translate(path)
        except TranslationError as exc:
            print(f"sam_translate: {exc}", file=sys.stderr)
            target.unlink(missing_ok=True)  # no stale translation of a template that no longer translates
            failed += 1
            continue
        target.write_text(json.dumps(translated, indent=2, sort_keys=False) + "\n")
        print(f"sam_translate: {path} -> {target}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
