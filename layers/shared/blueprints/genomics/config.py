"""The launch configuration: the published schema (``LaunchConfig``) and its parsing from JSON or YAML.

Three entry points end here: a config file under ``launches/``, a Snakefile bundle under ``snakefiles/``
(default settings), and ``POST /launches``. The required parameters (launch id, configuration path, data
path) fail with ``MissingRequiredParametersError``; every other violation with
``InvalidLaunchConfigError`` naming each field. The JSON Schema of ``LaunchConfig`` is committed at
``docs/blueprints/schemas/launch-config.schema.json`` (a test keeps it in step with this model).
"""

from __future__ import annotations

import json
import re
from pathlib import PurePosixPath
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from blueprints.genomics.errors import InvalidLaunchConfigError, MissingRequiredParametersError

LAUNCH_ID_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"
S3_URI_PATTERN = r"^s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](/.*)?$"
S3_OBJECT_PATTERN = r"^s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]/.+$"
ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")
RESERVED_ENV_PREFIXES = ("AWS_", "ECS_", "BLUEPRINTS_")
MAX_ENVIRONMENT = 50
MAX_ENVIRONMENT_CHARS = 4096
REQUIRED = ("launch_id", "config_s3_uri", "s3_data_path")
CONFIG_SUFFIXES = (".json", ".yaml", ".yml")
SNAKEFILE_SUFFIXES = (".smk", ".tar.gz", ".tgz", ".zip")
SNAKEFILE_NAMES = ("Snakefile", "snakefile")
SNAKEFILES_PREFIX = "snakefiles"
MAX_CONFIG_BYTES = 256 * 1024

WorkflowType = Literal["snakemake", "regenie", "container", "nextflow"]
ComputeService = Literal["fargate", "batch", "stepfunctions", "parallelcluster"]


class LaunchConfig(BaseModel):
    """A workflow launch request (docs/blueprints/genomics.md, "Launch configuration")."""

    model_config = ConfigDict(extra="forbid", frozen=True, title="Genomics launch configuration")

    launch_id: str = Field(pattern=LAUNCH_ID_PATTERN, description="Unique id of the launch.")
    workflow_type: WorkflowType = Field(description="Selects the command builder.")
    engine_version: str | None = Field(
        default=None,
        pattern=r"^[0-9]+(\.[0-9]+){0,2}$",
        description="Engine version; for Snakemake it selects the CLI dialect. Default: per engine.",
    )
    s3_data_path: str = Field(pattern=S3_URI_PATTERN, description="Input data root, s3://bucket/prefix/.")
    config_s3_uri: str = Field(
        pattern=S3_OBJECT_PATTERN, description="The workflow sheet (samples, parameters); may be this file."
    )
    compute_service: ComputeService | None = Field(default=None, description="Default: per engine.")
    snakefile_s3_uri: str | None = Field(default=None, pattern=S3_OBJECT_PATTERN)
    parameters: dict[str, Any] = Field(default_factory=dict, description="Engine parameters.")
    environment: dict[str, str] = Field(
        default_factory=dict, description="Extra container environment variables (names not AWS_/ECS_)."
    )
    output_s3_path: str | None = Field(default=None, pattern=S3_URI_PATTERN)
    restore_check: bool | None = Field(default=None, description="Restore archived inputs first.")
    requested_by: str | None = Field(default=None, max_length=256)

    @field_validator("environment")
    @classmethod
    def _environment(cls, value: dict[str, str]) -> dict[str, str]:
        if len(value) > MAX_ENVIRONMENT:
            raise ValueError(f"at most {MAX_ENVIRONMENT} variables")
        for name in value:
            if not ENV_NAME.fullmatch(name):  # not match(): "$" also matches before a final newline
                raise ValueError(f"{name!r} is not a valid variable name")
            if name.startswith(RESERVED_ENV_PREFIXES):
                raise ValueError(f"{name!r} uses a reserved prefix ({', '.join(RESERVED_ENV_PREFIXES)})")
        if sum(len(name) + len(text) for name, text in value.items()) > MAX_ENVIRONMENT_CHARS:
            raise ValueError(f"more than {MAX_ENVIRONMENT_CHARS} characters in all")
        return value


def decode(body: bytes, name: str) -> dict[str, Any]:
    """The document in ``body`` (JSON, or YAML for ``.yaml``/``.yml``) as a mapping."""
    if len(body) > MAX_CONFIG_BYTES:
        raise InvalidLaunchConfigError(f"{name}: larger than {MAX_CONFIG_BYTES} bytes")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidLaunchConfigError(f"{name}: not UTF-8 text ({exc.reason} at byte {exc.start})") from exc
    if name.endswith((".yaml", ".yml")):
        import yaml  # only YAML uploads pay for it

        try:
            document = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise InvalidLaunchConfigError(f"{name}: not valid YAML ({_one_line(exc)})") from exc
    else:
        try:
            document = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InvalidLaunchConfigError(
                f"{name}: not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})"
            ) from exc
    if not isinstance(document, dict):
        raise InvalidLaunchConfigError(f"{name}: the document must be a mapping of fields")
    return document


def validate(document: dict[str, Any]) -> LaunchConfig:
    """Validate a decoded document; the required parameters are checked first."""
    missing = [name for name in REQUIRED if document.get(name) in (None, "")]
    if missing:
        raise MissingRequiredParametersError(f"missing required parameters: {', '.join(missing)}")
    try:
        return LaunchConfig.model_validate(document)
    except ValidationError as exc:
        raise InvalidLaunchConfigError(describe(exc)) from exc


def describe(exc: ValidationError) -> str:
    """One line naming every invalid field, e.g. ``workflow_type: Input should be ...``."""
    problems = []
    for error in exc.errors(include_url=False):
        where = ".".join(str(part) for part in error["loc"]) or "document"
        problems.append(f"{where}: {error['msg']}")
    return "; ".join(problems)


def valid_launch_id(text: str) -> bool:
    return re.fullmatch(LAUNCH_ID_PATTERN, text) is not None  # "$" alone admits a final "\n"


def _without_suffix(name: str, suffixes: tuple[str, ...]) -> str | None:
    for suffix in suffixes:
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return None


def launch_id_from_key(key: str) -> str | None:
    """The launch id a key names, when it is a valid id: the file stem of a configuration
    (``launches/<id>.json|.yaml|.yml``; only the file name counts) or the id of a Snakefile bundle
    (``is_snakefile_bundle``). None for anything else, e.g. a file inside a bundle's folder."""
    path = PurePosixPath(key)
    if key.startswith(f"{SNAKEFILES_PREFIX}/"):
        if not is_snakefile_bundle(key):
            return None
        stem = (
            path.parent.name
            if path.name in SNAKEFILE_NAMES
            else _without_suffix(path.name, SNAKEFILE_SUFFIXES)
        )
    else:
        stem = _without_suffix(path.name, CONFIG_SUFFIXES)
    return stem if stem is not None and valid_launch_id(stem) else None


def is_snakefile_bundle(key: str) -> bool:
    """A ``snakefiles/`` upload that starts a launch. Exactly two shapes are bundles:

    - an archive directly under the prefix: ``snakefiles/<id>.smk``, ``.tar.gz``, ``.tgz`` or ``.zip``;
    - a folder's Snakefile: ``snakefiles/<id>/Snakefile`` (or ``snakefile``), one level down.

    Everything else (a sheet or ``rules/common.smk`` inside a bundle's folder, a deeper Snakefile, a
    Snakefile directly under the prefix) is part of a bundle or nothing, and starts no launch."""
    parts = key.split("/")
    if len(parts) < 2 or parts[0] != SNAKEFILES_PREFIX:
        return False
    if len(parts) == 2:
        return parts[1].endswith(SNAKEFILE_SUFFIXES)
    return len(parts) == 3 and parts[1] != "" and parts[2] in SNAKEFILE_NAMES


def snakefile_defaults(launch_id: str, bucket: str, key: str) -> dict[str, Any]:
    """The configuration of a Snakefile-only launch (seed Part 2): default settings, the bundle's
    folder as the data root, the bundle itself as Snakefile and configuration."""
    uri = f"s3://{bucket}/{key}"
    path = PurePosixPath(key)
    # A folder bundle's data root is its folder; an archive (.smk, .tar.gz, .zip) is its own data root.
    data = f"s3://{bucket}/{path.parent}/" if path.name in SNAKEFILE_NAMES else uri
    return {
        "launch_id": launch_id,
        "workflow_type": "snakemake",
        "s3_data_path": data,
        "config_s3_uri": uri,
        "snakefile_s3_uri": uri,
    }


def json_schema() -> dict[str, Any]:
    """The published JSON Schema of a launch configuration."""
    schema = LaunchConfig.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["required"] = sorted(schema.get("required", []))
    return schema


def _one_line(exc: Exception) -> str:
    return " ".join(str(exc).split())
