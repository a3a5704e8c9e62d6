"""Command builders: one pure function per engine, ``(launch, context) -> LaunchPlan``.

A plan holds the artifacts to stage (written under the launch's artifacts prefix), the container command
and environment, and which task or job definition runs it (a definition per engine image: RunTask and
SubmitJob cannot override the image). Interpolated values are shell-quoted; user text never reaches a
shell unquoted. Snakemake's command line depends on its version (``SNAKEMAKE_VERSIONS``): 7.x runs
``--tibanna``; 8 removed it, so 8+ runs an executor plugin with the S3 storage plugin.

Where engines write: the workflow roles read the data buckets and the request bucket and write only the
results bucket. So the default storage (Snakemake) is the launch's output path, inputs are read from the
data path by name (``config['blueprints_data_path']``), and Nextflow's work directory is
``s3://<results>/.work/<launch_id>/`` (one per launch, the same for every attempt, so ``-resume`` finds
the previous attempt's tasks). Each attempt has its own working directory on the head node
(``/workspace/<launch_id>/a<attempt>``): launches sharing a ParallelCluster head node never mix files.
The deployment's job role for the jobs an engine submits reaches the head through its task or job
definition (``SNAKEMAKE_AWS_BATCH_JOB_ROLE``, ``BLUEPRINTS_JOB_ROLE_ARN``), not through the plan.
"""

from __future__ import annotations

import csv
import io
import json
import shlex
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from blueprints.genomics.config import describe
from blueprints.genomics.errors import InvalidLaunchConfigError
from blueprints.genomics.records import Launch

MAX_OVERRIDE_CHARS = 8192  # RunTask containerOverrides limit
WORKSPACE_ROOT = "/workspace"
WORK_PREFIX = ".work"  # Nextflow work directories in the results bucket; not a valid launch id
DATA_KEY = "blueprints_data_path"  # the Snakemake config key naming the input data root
JOB_ROLE_VARIABLE = "BLUEPRINTS_JOB_ROLE_ARN"  # set on the head definitions (templates/genomics.yaml)
# The tags of the Batch jobs an engine submits (the benchmarking collector finds and costs them by these)
LAUNCH_TAG = "genomics:launch_id"
ATTEMPT_TAG = "genomics:attempt"

# The tested version matrix: Snakemake release -> CLI dialect. Unknown versions are refused, not guessed.
SNAKEMAKE_VERSIONS: dict[str, Literal["tibanna", "plugins"]] = {
    "7.32.4": "tibanna",
    "8.30.0": "plugins",
    "9.6.2": "plugins",
}
DEFINITION_KEYS = ("snakemake7", "snakemake8", "nextflow", "container")


@dataclass(frozen=True)
class BuildContext:
    """What a builder needs besides the launch: where things go and the deployment's engine settings."""

    artifacts_uri: str  # s3://bucket/artifacts/launches/<id>/a<attempt>/
    output_uri: str
    sheet: bytes  # the configuration object's body
    sheet_name: str
    compute: str
    region: str
    batch_job_queue: str
    tibanna_step_function: str
    tibanna_plugin_enabled: bool
    default_versions: dict[str, str]
    container_commands: tuple[str, ...] = ()  # the programs a container launch may run; empty: any


@dataclass(frozen=True)
class LaunchPlan:
    definition: str  # a key of DEFINITION_KEYS
    engine_version: str
    command: list[str] = field(default_factory=list)
    environment: dict[str, str] = field(default_factory=dict)
    artifacts: dict[str, bytes] = field(default_factory=dict)
    state_machine_input: dict[str, Any] | None = None
    engine_job_queue: str = ""  # the Batch queue the engine submits its own jobs to (tagged engine_job_tags)


class _Parameters(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SnakemakeParameters(_Parameters):
    jobs: int = Field(default=50, ge=1, le=5000)
    retries: int = Field(default=3, ge=0, le=10)
    targets: list[str] = Field(default_factory=list, max_length=100)
    spot_instance: bool = True
    behavior_on_capacity_limit: Literal["fail", "wait_and_retry", "retry_without_spot"] = "retry_without_spot"
    use_conda: bool = False
    executor: Literal["aws-batch", "tibanna"] = "aws-batch"
    template: Literal["fastqc"] = "fastqc"


class NextflowParameters(_Parameters):
    pipeline: str = Field(pattern=r"^([A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+|s3://.+)$")
    revision: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_./-]{1,100}$")
    profile: str = Field(default="awsbatch", pattern=r"^[A-Za-z0-9_,-]{1,100}$")
    params: dict[str, Any] = Field(default_factory=dict)


class ContainerParameters(_Parameters):
    command: list[str] = Field(min_length=1, max_length=100)


class RegenieParameters(_Parameters):
    model_config = ConfigDict(extra="allow", frozen=True)  # the regenie pipeline validates its own input


def _parameters[ModelT: _Parameters](model: type[ModelT], values: dict[str, Any]) -> ModelT:
    try:
        return model.model_validate(values)
    except ValidationError as exc:
        raise InvalidLaunchConfigError(f"parameters: {describe(exc)}") from exc


def engine_job_tags(launch: Launch) -> dict[str, str]:
    """The tags every Batch job an engine submits for this attempt carries."""
    return {LAUNCH_TAG: launch.launch_id, ATTEMPT_TAG: str(launch.attempt)}


def _base_environment(launch: Launch, context: BuildContext) -> dict[str, str]:
    return {
        **launch.environment,
        "BLUEPRINTS_LAUNCH_ID": launch.launch_id,
        "BLUEPRINTS_ATTEMPT": str(launch.attempt),
        "BLUEPRINTS_DATA_PATH": launch.s3_data_path,
        "BLUEPRINTS_CONFIG_URI": launch.config_s3_uri,
        "BLUEPRINTS_OUTPUT_PATH": context.output_uri,
        "BLUEPRINTS_ARTIFACTS_URI": context.artifacts_uri,
    }


def _script(*commands: list[str]) -> list[str]:
    """One ``sh -c`` command running ``commands`` in order, each argument shell-quoted."""
    return ["sh", "-c", " && ".join(shlex.join(command) for command in commands)]


def workspace(launch: Launch) -> str:
    """The attempt's own working directory on the head (concurrent launches on one head node)."""
    return f"{WORKSPACE_ROOT}/{launch.launch_id}/a{launch.attempt}"


def _stage(launch: Launch, context: BuildContext) -> list[list[str]]:
    folder = workspace(launch)
    return [
        ["mkdir", "-p", folder],
        ["aws", "s3", "cp", context.artifacts_uri, f"{folder}/", "--recursive", "--only-show-errors"],
        ["cd", folder],
    ]


def _version(workflow: str, launch: Launch, context: BuildContext) -> str:
    return launch.engine_version or context.default_versions.get(workflow, "")


# -- Snakemake --------------------------------------------------------------------------------------


def samples(sheet: bytes, name: str) -> list[str]:
    """The sample names of a sheet: a CSV/TSV with a ``sample`` column, or a JSON/YAML ``samples`` list."""
    text = sheet.decode("utf-8", errors="replace")
    if name.endswith((".csv", ".tsv")):
        reader = csv.DictReader(io.StringIO(text), delimiter="\t" if name.endswith(".tsv") else ",")
        if not reader.fieldnames or "sample" not in reader.fieldnames:
            raise InvalidLaunchConfigError(f"{name}: the sample sheet needs a 'sample' column")
        found = [row["sample"].strip() for row in reader if (row.get("sample") or "").strip()]
    else:
        from blueprints.genomics.config import decode

        document = decode(sheet, name)
        listed = document.get("samples")
        if not isinstance(listed, list):
            raise InvalidLaunchConfigError(f"{name}: no 'samples' list to render the Snakefile from")
        found = [str(item.get("sample") if isinstance(item, dict) else item) for item in listed]
    if not found:
        raise InvalidLaunchConfigError(f"{name}: the sample sheet lists no samples")
    return found


def render_snakefile(template: Literal["fastqc"], dialect: Literal["tibanna", "plugins"]) -> bytes:
    """A Snakefile rendered from a shipped template (the parameter model admits only shipped ones); the
    samples reach it through config.yaml and the data root through ``--config``, never as code. Inputs
    are read from the data root (an S3 remote in 7.x, ``storage()`` in 8+); outputs are relative, so
    they land under the default prefix: the launch's output path."""
    del template  # one template so far: FastQC per sample
    if dialect == "tibanna":
        header = (
            b"from snakemake.remote.S3 import RemoteProvider as S3RemoteProvider\n\n"
            b"S3 = S3RemoteProvider()\n"
            b"DATA = config['blueprints_data_path'].rstrip('/') + '/'\n"
            b"DATA = DATA[len('s3://'):] if DATA.startswith('s3://') else DATA\n\n"
        )
        reads = b"S3.remote(DATA + 'reads/{sample}.fastq.gz')"
    else:
        header = b"DATA = config['blueprints_data_path'].rstrip('/') + '/'\n\n"
        reads = b"storage(DATA + 'reads/{sample}.fastq.gz')"
    return (
        b'configfile: "config.yaml"\n\n' + header + b"SAMPLES = config['samples']\n\n"
        b"rule all:\n"
        b"    input: expand('qc/{sample}_fastqc.html', sample=SAMPLES)\n\n"
        b"rule fastqc:\n"
        b"    input: " + reads + b"\n"
        b"    output: 'qc/{sample}_fastqc.html'\n"
        b"    retries: 2\n"
        b"    shell: 'fastqc {input} --outdir qc'\n"
    )


def _bucket_prefix(uri: str) -> str:
    return uri.removeprefix("s3://").rstrip("/")


def build_snakemake(launch: Launch, context: BuildContext) -> LaunchPlan:
    version = _version("snakemake", launch, context)
    dialect = SNAKEMAKE_VERSIONS.get(version)
    if dialect is None:
        raise InvalidLaunchConfigError(
            f"engine_version: Snakemake {version or '(none)'} is not in the tested versions "
            f"({', '.join(SNAKEMAKE_VERSIONS)})"
        )
    params = _parameters(SnakemakeParameters, launch.parameters)
    artifacts: dict[str, bytes] = {}
    queue = ""
    stage = _stage(launch, context)
    if launch.snakefile_s3_uri:
        stage += _fetch_snakefile(launch.snakefile_s3_uri)
    else:
        names = samples(context.sheet, context.sheet_name)
        artifacts["config.yaml"] = json.dumps({"samples": names}, indent=2).encode()  # JSON is YAML
        artifacts["Snakefile"] = render_snakefile(params.template, dialect)
    # --config takes every following word up to the next option: an engine option always follows it
    command = ["snakemake", "--jobs", str(params.jobs), "--retries", str(params.retries)]
    command += ["--config", f"{DATA_KEY}={launch.s3_data_path}"]
    environment = _base_environment(launch, context)
    if context.compute == "parallelcluster":
        command += ["--slurm"] if dialect == "tibanna" else ["--executor", "slurm"]
    elif dialect == "tibanna":
        command += [
            "--tibanna",
            "--tibanna-config",
            f"spot_instance={str(params.spot_instance).lower()}",
            f"behavior_on_capacity_limit={params.behavior_on_capacity_limit}",
            f"--default-remote-prefix={_bucket_prefix(context.output_uri)}",
        ]
        if params.behavior_on_capacity_limit == "retry_without_spot" and not params.spot_instance:
            raise InvalidLaunchConfigError(
                "parameters.behavior_on_capacity_limit: retry_without_spot requires spot_instance=true"
            )
        environment["TIBANNA_DEFAULT_STEP_FUNCTION_NAME"] = _tibanna(context, "engine_version")
    else:
        if params.executor == "tibanna":
            if not context.tibanna_plugin_enabled:
                raise InvalidLaunchConfigError(
                    "parameters.executor: the Tibanna executor plugin is not enabled in this deployment"
                )
            command += ["--executor", "tibanna", "--tibanna-sfn", _tibanna(context, "parameters.executor")]
        else:
            command += [
                "--executor",
                "aws-batch",
                "--aws-batch-region",
                context.region,
                "--aws-batch-job-queue",
                _job_queue(context, "parameters.executor"),
            ]
            # the jobs the plugin submits carry the launch's tags (cost attribution)
            environment["SNAKEMAKE_AWS_BATCH_JOB_TAGS"] = ",".join(
                f"{name}={value}" for name, value in engine_job_tags(launch).items()
            )
            queue = context.batch_job_queue
        command += ["--default-storage-provider", "s3", "--default-storage-prefix", context.output_uri]
    if params.use_conda:
        command += ["--use-conda"] if dialect == "tibanna" else ["--software-deployment-method", "conda"]
    command += params.targets
    definition = "snakemake7" if dialect == "tibanna" else "snakemake8"
    return LaunchPlan(
        definition, version, _script(*stage, command), environment, artifacts, engine_job_queue=queue
    )


def _job_queue(context: BuildContext, field: str) -> str:
    """The deployment's Batch queue; an engine that submits jobs cannot run without one."""
    if not context.batch_job_queue:
        raise InvalidLaunchConfigError(
            f"{field}: this deployment has no AWS Batch job queue for the jobs the engine submits "
            "(deploy with SubnetIds or BatchJobQueueArn)"
        )
    return context.batch_job_queue


def _tibanna(context: BuildContext, field: str) -> str:
    """The Tibanna unicorn's step function; a Tibanna launch without one could only fail in the task."""
    if not context.tibanna_step_function:
        raise InvalidLaunchConfigError(f"{field}: no Tibanna step function is configured in this deployment")
    return context.tibanna_step_function


def _fetch_snakefile(uri: str) -> list[list[str]]:
    name = PurePosixPath(uri).name
    if name in ("Snakefile", "snakefile"):  # a folder bundle: the whole folder
        folder = uri[: -len(name)]
        return [["aws", "s3", "cp", folder, ".", "--recursive", "--only-show-errors"]]
    fetch = ["aws", "s3", "cp", uri, name, "--only-show-errors"]
    if name.endswith((".tar.gz", ".tgz")):
        return [fetch, ["tar", "-xzf", name]]
    if name.endswith(".zip"):
        return [fetch, ["unzip", "-o", "-q", name]]
    return [["aws", "s3", "cp", uri, "Snakefile", "--only-show-errors"]]


# -- Nextflow, container, regenie -------------------------------------------------------------------


def work_dir(launch: Launch, context: BuildContext) -> str:
    """Nextflow's work directory: in the results bucket (the bucket of the output path), one per launch
    and the same for every attempt, so ``-resume`` reuses the tasks of the previous attempt."""
    bucket = _bucket_prefix(context.output_uri).split("/", 1)[0]
    return f"s3://{bucket}/{WORK_PREFIX}/{launch.launch_id}/"


def nextflow_config(launch: Launch, context: BuildContext) -> bytes:
    """The AWS Batch settings of the ``awsbatch`` profile: this deployment's queue and region, the
    job role the head's definition names (the role is a deployment fact, not a launch's), and the
    launch's tags on every job (``resourceLabels`` become AWS Batch job tags)."""
    queue = _job_queue(context, "parameters.profile")
    labels = ", ".join(
        f"{_groovy(name)}: {_groovy(value)}" for name, value in engine_job_tags(launch).items()
    )
    return (
        "process.executor = 'awsbatch'\n"
        f"process.queue = {_groovy(queue)}\n"
        f"process.resourceLabels = [{labels}]\n"
        f"aws.region = {_groovy(context.region)}\n"
        f"aws.batch.jobRole = System.getenv({_groovy(JOB_ROLE_VARIABLE)})\n"
    ).encode()


def _groovy(value: str) -> str:
    """A single-quoted Groovy string (no ``$`` interpolation)."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def build_nextflow(launch: Launch, context: BuildContext) -> LaunchPlan:
    params = _parameters(NextflowParameters, launch.parameters)
    version = _version("nextflow", launch, context)
    artifacts = {"params.json": json.dumps(params.params, indent=2, sort_keys=True).encode()}
    command = ["nextflow", "run", params.pipeline, "-profile", params.profile]
    queue = ""
    if "awsbatch" in params.profile.split(",") and context.compute != "parallelcluster":
        artifacts["blueprints.config"] = nextflow_config(launch, context)
        command += ["-c", "blueprints.config"]
        queue = context.batch_job_queue
    if params.revision:
        command += ["-r", params.revision]
    command += ["-work-dir", work_dir(launch, context), "-params-file", "params.json"]
    command += ["--outdir", context.output_uri]
    if launch.attempt > 1:
        command.append("-resume")
    environment = _base_environment(launch, context)
    if version:
        environment["NXF_VER"] = version
    script = _script(*_stage(launch, context), command)
    return LaunchPlan("nextflow", version, script, environment, artifacts, engine_job_queue=queue)


def build_container(launch: Launch, context: BuildContext) -> LaunchPlan:
    params = _parameters(ContainerParameters, launch.parameters)
    program = params.command[0]
    if context.container_commands and program not in context.container_commands:
        allowed = ", ".join(context.container_commands)
        raise InvalidLaunchConfigError(
            f"parameters.command: {program!r} is not a program this deployment allows ({allowed})"
        )
    return LaunchPlan("container", "", list(params.command), _base_environment(launch, context))


def build_regenie(launch: Launch, context: BuildContext) -> LaunchPlan:
    """The regenie engine interface: the input of the regenie state machine (regenie blueprint)."""
    params = _parameters(RegenieParameters, launch.parameters)
    payload = {
        "launch_id": launch.launch_id,
        "attempt": launch.attempt,
        "s3_data_path": launch.s3_data_path,
        "config_s3_uri": launch.config_s3_uri,
        "output_s3_path": context.output_uri,
        "parameters": params.model_dump(),
    }
    return LaunchPlan("regenie", _version("regenie", launch, context), state_machine_input=payload)


BUILDERS: dict[str, Callable[[Launch, BuildContext], LaunchPlan]] = {
    "snakemake": build_snakemake,
    "nextflow": build_nextflow,
    "container": build_container,
    "regenie": build_regenie,
}
COMPUTE: dict[str, tuple[str, ...]] = {  # workflow type -> allowed compute services, default first
    "snakemake": ("fargate", "batch", "parallelcluster"),
    "nextflow": ("fargate", "batch", "parallelcluster"),
    "container": ("fargate", "batch"),
    "regenie": ("stepfunctions",),
}


def compute_for(workflow_type: str, requested: str | None) -> str:
    allowed = COMPUTE[workflow_type]
    if requested is None:
        return allowed[0]
    if requested not in allowed:
        raise InvalidLaunchConfigError(
            f"compute_service: {workflow_type} runs on {', '.join(allowed)}, not {requested}"
        )
    return requested


def build(launch: Launch, context: BuildContext) -> LaunchPlan:
    plan = BUILDERS[launch.workflow_type](launch, context)
    size = sum(len(part) for part in plan.command) + sum(
        len(name) + len(value) for name, value in plan.environment.items()
    )
    if size > MAX_OVERRIDE_CHARS:
        raise InvalidLaunchConfigError(
            f"the command and environment take {size} characters; the container override limit is "
            f"{MAX_OVERRIDE_CHARS}"
        )
    return plan
