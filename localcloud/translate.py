"""Translate SAM templates to plain CloudFormation, offline (aws-sam-translator, no AWS call).

Both checkov (``tools/sam_translate.py``) and the local cloud read this translation:

- local artefact paths are replaced the way ``sam package`` does: ``CodeUri`` and ``ContentUri`` become
  ``s3://local-artifacts/<path from the base folder>``, so the generated ``Code`` still names its folder
  and the deployer knows which folder to upload (and the runtime which folder to import from);
- a state machine's local ``DefinitionUri`` is read and inlined as ``Definition`` (checks see the ASL);
- a nested application's local ``Location`` is kept as the stack's ``TemplateURL`` (the deployer swaps it
  for the URL of the uploaded nested translation);
- managed policy names resolve from an offline map; parameters without a ``Default`` get placeholders
  (the translator resolves only a few properties with them; real values arrive at deploy time).
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
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

from localcloud import LocalCloudError

REGION = "us-east-1"
ACCOUNT = "123456789012"
ARTIFACT_BUCKET = "local-artifacts"
REPOSITORY = Path(__file__).resolve().parents[1]
NESTED_STACK = "AWS::CloudFormation::Stack"

# Placeholders for parameters without a Default, chosen by the end of the parameter's name.
PLACEHOLDERS: tuple[tuple[str, str], ...] = (
    ("LayerArn", f"arn:aws:lambda:{REGION}:{ACCOUNT}:layer:placeholder:1"),
    ("KeyArn", f"arn:aws:kms:{REGION}:{ACCOUNT}:key/00000000-0000-0000-0000-000000000000"),
    ("TopicArn", f"arn:aws:sns:{REGION}:{ACCOUNT}:placeholder"),
    ("QueueArn", f"arn:aws:sqs:{REGION}:{ACCOUNT}:placeholder"),
    ("BucketName", "placeholder-bucket"),
    ("Arn", f"arn:aws:iam::{ACCOUNT}:role/placeholder"),
)


class TranslationError(LocalCloudError):
    """A template that the SAM translator rejects, or that cannot be read."""


class OfflineManagedPolicies:
    """Stands in for samtranslator's ``ManagedPolicyLoader``: managed policy names to ARNs, no IAM call."""

    def __init__(self, partition: str = "aws") -> None:
        self._map = dict(get_bundled_managed_policy_map(partition) or {})

    def load(self) -> dict[str, str]:
        return self._map


def placeholder(name: str, declaration: Mapping[str, Any]) -> str:
    """A value for a parameter the template leaves without a Default."""
    if declaration.get("Type") == "Number":
        return str(declaration.get("MinValue", 1))
    return next((value for suffix, value in PLACEHOLDERS if name.endswith(suffix)), "placeholder")


def parameter_values(
    template: Mapping[str, Any], overrides: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """Overrides, else defaults where the template declares them, else placeholders.

    An override that names no parameter of the template is a ``TranslationError`` (a typo must not be
    silently ignored, as ``sam deploy --parameter-overrides`` would not ignore it either).
    """
    declared: Mapping[str, Any] = template.get("Parameters", {})
    unknown = sorted(set(overrides or {}) - set(declared))
    if unknown:
        raise TranslationError(f"not parameters of the template: {', '.join(unknown)}")
    values: dict[str, Any] = {"AWS::AccountId": ACCOUNT, "AWS::Region": REGION, "AWS::Partition": "aws"}
    for name, declaration in declared.items():
        if overrides and name in overrides:
            values[name] = overrides[name]
        elif "Default" in declaration:
            values[name] = declaration["Default"]
        else:
            values[name] = placeholder(name, declaration)
    return values


def artifact_key(path: Path, base: Path) -> str:
    """The S3 key of a local artefact: its path from ``base`` (from the file system root outside it)."""
    resolved = path.resolve()
    key = (
        resolved.relative_to(base) if resolved.is_relative_to(base) else resolved.relative_to(resolved.anchor)
    )
    return key.as_posix()


@dataclass
class _Localizer:
    template_dir: Path
    base: Path
    artifacts: dict[str, Path] = field(default_factory=dict)

    def uri(self, local: str) -> str:
        path = (self.template_dir / local).resolve()
        key = artifact_key(path, self.base)
        self.artifacts[key] = path
        return f"s3://{ARTIFACT_BUCKET}/{key}"

    def definition(self, local: str) -> Any:
        path = self.template_dir / local
        try:
            text = path.read_text()
        except OSError as exc:
            raise TranslationError(f"DefinitionUri {local}: {exc.strerror}") from exc
        return json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)


def localize(
    template: Mapping[str, Any], template_dir: Path, base: Path = REPOSITORY
) -> tuple[dict[str, Any], dict[str, Path]]:
    """A copy of the template with local paths replaced or inlined, and its artefacts (key → path)."""
    localizer = _Localizer(template_dir, base.resolve())
    localized = copy.deepcopy(dict(template))
    function_globals = localized.get("Globals", {}).get("Function", {})
    if isinstance(function_globals.get("CodeUri"), str):
        function_globals["CodeUri"] = localizer.uri(function_globals["CodeUri"])
    for resource in localized.get("Resources", {}).values():
        properties = resource.get("Properties", {})
        kind = resource.get("Type")
        for key in ("CodeUri", "ContentUri"):
            value = properties.get(key)
            if isinstance(value, str) and not value.startswith("s3://"):
                properties[key] = localizer.uri(value)
        uri = properties.get("DefinitionUri")
        if isinstance(uri, str) and not uri.startswith("s3://"):
            if kind == "AWS::Serverless::StateMachine":
                properties["Definition"] = localizer.definition(properties.pop("DefinitionUri"))
            else:
                properties["DefinitionUri"] = localizer.uri(uri)
    return localized, localizer.artifacts


def _read(path: Path) -> dict[str, Any]:
    try:
        template = yaml_parse(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise TranslationError(f"{path}: cannot read: {exc}") from exc
    if not isinstance(template, dict):
        raise TranslationError(f"{path}: not a template")
    return template


def _translate(
    path: Path, overrides: Mapping[str, str] | None, base: Path
) -> tuple[dict[str, Any], dict[str, Path]]:
    localized, artifacts = localize(_read(path), path.parent, base)
    translator = Translator(None, Parser(), boto_session=boto3.session.Session(region_name=REGION))
    policies = OfflineManagedPolicies()
    try:
        translated: dict[str, Any] = translator.translate(
            localized,
            parameter_values=parameter_values(localized, overrides),
            passthrough_metadata=True,  # checkov skips with reasons travel to the generated resources
            get_managed_policy_map=policies.load,
        )
    except InvalidDocumentException as exc:
        causes = "\n".join(f"  - {cause.message}" for cause in exc.causes)
        raise TranslationError(f"{path}: the SAM translator rejected the template:\n{causes}") from exc
    finally:
        MetricsMethodWrapperSingleton.get_instance().publish()  # a no-op publisher; silences its warning
    return translated, artifacts


def translate(
    path: Path, overrides: Mapping[str, str] | None = None, base: Path = REPOSITORY
) -> dict[str, Any]:
    """The plain CloudFormation of one SAM template; ``TranslationError`` says why when there is none."""
    return _translate(path, overrides, base)[0]


@dataclass(frozen=True)
class TranslatedTemplate:
    """One translated template and, by the logical id of each nested stack, its translated child."""

    path: Path
    template: dict[str, Any]
    nested: dict[str, TranslatedTemplate]

    def walk(self, prefix: str = "") -> list[tuple[str, TranslatedTemplate]]:
        """This template and its descendants with their stack paths ("", "Broker", "Broker/Sub")."""
        found = [(prefix, self)]
        for logical_id, child in self.nested.items():
            found += child.walk(f"{prefix}/{logical_id}" if prefix else logical_id)
        return found


@dataclass(frozen=True)
class Application:
    """The root template with its nested templates, and every local artefact they name (S3 key → path)."""

    root: TranslatedTemplate
    artifacts: dict[str, Path]
    base: Path


def _nested_locations(template: Mapping[str, Any]) -> dict[str, str]:
    return {
        str(logical_id): str(resource["Properties"]["TemplateURL"])
        for logical_id, resource in template.get("Resources", {}).items()
        if resource.get("Type") == NESTED_STACK
        and isinstance(resource.get("Properties", {}).get("TemplateURL"), str)
        and "://" not in resource["Properties"]["TemplateURL"]
    }


def translate_application(
    root: Path, overrides: Mapping[str, str] | None = None, base: Path | None = None
) -> Application:
    """Translate ``root`` and, recursively, every nested application whose ``Location`` is a local file.

    ``overrides`` apply to the root template only: nested templates receive their values from the parent
    stack at deploy time, as in CloudFormation. ``base`` (default: the root template's folder) is where
    artefact keys start.
    """
    base = (base or root.parent).resolve()
    artifacts: dict[str, Path] = {}

    def load(path: Path, values: Mapping[str, str] | None, seen: tuple[Path, ...]) -> TranslatedTemplate:
        if path.resolve() in seen:
            raise TranslationError(f"{path}: nested applications form a cycle")
        template, found = _translate(path, values, base)
        artifacts.update(found)
        nested = {
            logical_id: load((path.parent / location), None, (*seen, path.resolve()))
            for logical_id, location in _nested_locations(template).items()
        }
        return TranslatedTemplate(path, template, nested)

    return Application(load(root, overrides, ()), artifacts, base)
