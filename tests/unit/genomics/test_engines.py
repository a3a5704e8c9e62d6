"""Command builders: Snakemake per version dialect, Nextflow, container, regenie; compute rules; the
RunTask override limit; and the shell quoting of every interpolated value (property tests)."""

from __future__ import annotations

import json
import shlex
from dataclasses import replace
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from blueprints.genomics import engines
from blueprints.genomics.engines import LaunchPlan, build, compute_for, samples
from blueprints.genomics.errors import InvalidLaunchConfigError
from blueprints.genomics.records import Launch
from blueprints.genomics.status import Status
from tests.unit.genomics.builders import (
    ARTIFACTS_URI,
    DATA_PATH,
    LAUNCH_ID,
    RESULTS_BUCKET,
    context,
    document,
    launch,
)

QUEUE = "arn:aws:batch:us-east-1:123456789012:job-queue/genomics-dev"
OUTPUT = f"s3://{RESULTS_BUCKET}/{LAUNCH_ID}/"
WORKSPACE = f"/workspace/{LAUNCH_ID}/a1"
STAGE = [
    ["mkdir", "-p", WORKSPACE],
    ["aws", "s3", "cp", ARTIFACTS_URI, f"{WORKSPACE}/", "--recursive", "--only-show-errors"],
    ["cd", WORKSPACE],
]
DATA_CONFIG = ["--config", f"blueprints_data_path={DATA_PATH}"]
SHELL_SAFE = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_@%+=:,./- ")


def split_script(script: str) -> list[list[str]]:
    """The commands of an ``a && b && c`` script, each as its argv, failing on any unquoted shell
    syntax other than ``&&`` (so a value that escaped its quotes cannot go unnoticed)."""
    pieces: list[str] = []
    current: list[str] = []
    quote = ""
    index = 0
    while index < len(script):
        char = script[index]
        if quote:
            if quote == '"':  # shlex.quote puts only a single quote between double quotes
                assert char in "'\"", f"{char!r} between double quotes in {script!r}"
            if char == quote:
                quote = ""
        elif char in "'\"":
            quote = char
        elif script.startswith(" && ", index):
            pieces.append("".join(current))
            current = []
            index += 4
            continue
        else:
            assert char in SHELL_SAFE or char.isalnum(), f"unquoted {char!r} in {script!r}"
        current.append(char)
        index += 1
    assert not quote, f"unterminated quote in {script!r}"
    pieces.append("".join(current))
    return [shlex.split(piece) for piece in pieces]


def commands(plan: LaunchPlan) -> list[list[str]]:
    assert plan.command[:2] == ["sh", "-c"]
    assert len(plan.command) == 3
    return split_script(plan.command[2])


def snakemake_argv(plan: LaunchPlan) -> list[str]:
    return commands(plan)[-1]


def snakemake(version: str = "8.30.0", **parameters: Any) -> Launch:
    return launch(
        engine_version=version,
        config=document(parameters={"jobs": 20, **parameters}),
        status=Status.LAUNCHING,
    )


# --- Snakemake 7 (Tibanna) ---------------------------------------------------------------------------


def test_snakemake_7_runs_tibanna_with_its_step_function_and_remote_prefix() -> None:
    # Given a Snakemake 7.32.4 launch on Fargate
    # When its plan is built
    plan = build(snakemake("7.32.4"), context())

    # Then the head task stages the artifacts and runs snakemake --tibanna, exactly
    assert commands(plan)[:3] == STAGE
    assert snakemake_argv(plan) == [
        "snakemake",
        "--jobs",
        "20",
        "--retries",
        "3",
        *DATA_CONFIG,
        "--tibanna",
        "--tibanna-config",
        "spot_instance=true",
        "behavior_on_capacity_limit=retry_without_spot",
        f"--default-remote-prefix={RESULTS_BUCKET}/{LAUNCH_ID}",
    ]
    # and the unicorn is named in the environment, the v7 image's definition chosen
    assert plan.environment["TIBANNA_DEFAULT_STEP_FUNCTION_NAME"] == "tibanna_unicorn_genomics"
    assert (plan.definition, plan.engine_version) == ("snakemake7", "7.32.4")


def test_snakemake_7_command_has_no_trailing_dot_and_no_plugin_flags() -> None:
    plan = build(snakemake("7.32.4"), context())

    assert not plan.command[2].rstrip().endswith(".")
    assert all(part != "." for part in snakemake_argv(plan))
    assert not {"--executor", "--default-storage-provider", "--default-storage-prefix"} & set(
        snakemake_argv(plan)
    )


def test_snakemake_7_spot_settings_come_from_the_parameters() -> None:
    plan = build(snakemake("7.32.4", spot_instance=False, behavior_on_capacity_limit="fail"), context())

    assert "spot_instance=false" in snakemake_argv(plan)
    assert "behavior_on_capacity_limit=fail" in snakemake_argv(plan)


def test_retry_without_spot_needs_spot_instances() -> None:
    with pytest.raises(InvalidLaunchConfigError) as raised:
        build(snakemake("7.32.4", spot_instance=False), context())

    assert str(raised.value) == (
        "parameters.behavior_on_capacity_limit: retry_without_spot requires spot_instance=true"
    )


@pytest.mark.parametrize(
    ("version", "parameters", "field"),
    [("7.32.4", {}, "engine_version"), ("8.30.0", {"executor": "tibanna"}, "parameters.executor")],
)
def test_a_tibanna_launch_needs_the_deployments_step_function(
    version: str, parameters: dict[str, Any], field: str
) -> None:
    # Given a deployment without a Tibanna unicorn (TibannaStepFunction left empty)
    unconfigured = context(tibanna_step_function="", tibanna_plugin_enabled=True)

    # When a launch that runs on Tibanna is built, it is refused with the reason
    with pytest.raises(InvalidLaunchConfigError) as raised:
        build(snakemake(version, **parameters), unconfigured)
    assert str(raised.value) == f"{field}: no Tibanna step function is configured in this deployment"

    # while the same deployment runs Snakemake 7 on ParallelCluster (Slurm), which needs no unicorn
    assert "--slurm" in snakemake_argv(
        build(snakemake("7.32.4"), context(tibanna_step_function="", compute="parallelcluster"))
    )


# --- Snakemake 8+ (executor and storage plugins) -------------------------------------------------------


@pytest.mark.parametrize("version", ["8.30.0", "9.6.2"])
def test_snakemake_8_and_later_run_the_batch_executor_with_s3_storage(version: str) -> None:
    # Given a Snakemake 8+ launch
    plan = build(snakemake(version), context())

    # Then the command uses the AWS Batch executor plugin and the S3 storage plugin
    assert snakemake_argv(plan) == [
        "snakemake",
        "--jobs",
        "20",
        "--retries",
        "3",
        *DATA_CONFIG,
        "--executor",
        "aws-batch",
        "--aws-batch-region",
        "us-east-1",
        "--aws-batch-job-queue",
        QUEUE,
        "--default-storage-provider",
        "s3",
        "--default-storage-prefix",
        OUTPUT,
    ]
    # and the jobs the plugin submits are tagged with the launch and attempt
    assert plan.environment["SNAKEMAKE_AWS_BATCH_JOB_TAGS"] == (
        f"genomics:launch_id={LAUNCH_ID},genomics:attempt=1"
    )
    # and the plan names the queue they go to (the launch records it for costing them)
    assert plan.engine_job_queue == QUEUE
    # and nothing of the 7.x dialect
    assert "--tibanna" not in plan.command[2]
    assert "--default-remote-prefix" not in plan.command[2]
    assert "TIBANNA_DEFAULT_STEP_FUNCTION_NAME" not in plan.environment
    assert (plan.definition, plan.engine_version) == ("snakemake8", version)


def test_the_batch_executor_needs_the_deployments_job_queue() -> None:
    # Given a deployment without a Batch job queue (no SubnetIds and no BatchJobQueueArn)
    unconfigured = context(batch_job_queue="")

    # When a Snakemake 8 launch on the default aws-batch executor is built, it is refused with the reason
    with pytest.raises(InvalidLaunchConfigError) as raised:
        build(snakemake("8.30.0"), unconfigured)
    assert str(raised.value) == (
        "parameters.executor: this deployment has no AWS Batch job queue for the jobs the engine submits "
        "(deploy with SubnetIds or BatchJobQueueArn)"
    )

    # while the engines that need no queue still build there
    assert "--tibanna" in snakemake_argv(build(snakemake("7.32.4"), unconfigured))
    on_cluster = replace(unconfigured, compute="parallelcluster")
    assert "slurm" in snakemake_argv(build(snakemake("8.30.0"), on_cluster))


def test_the_tibanna_executor_plugin_is_refused_unless_enabled() -> None:
    with pytest.raises(InvalidLaunchConfigError) as raised:
        build(snakemake("8.30.0", executor="tibanna"), context())

    assert str(raised.value) == (
        "parameters.executor: the Tibanna executor plugin is not enabled in this deployment"
    )


def test_the_enabled_tibanna_executor_plugin_names_the_step_function() -> None:
    plan = build(snakemake("9.6.2", executor="tibanna"), context(tibanna_plugin_enabled=True))

    argv = snakemake_argv(plan)
    assert argv[7:11] == ["--executor", "tibanna", "--tibanna-sfn", "tibanna_unicorn_genomics"]
    assert "--tibanna" not in argv
    assert argv[-4:] == ["--default-storage-provider", "s3", "--default-storage-prefix", OUTPUT]
    assert "SNAKEMAKE_AWS_BATCH_JOB_TAGS" not in plan.environment
    assert plan.engine_job_queue == ""


@pytest.mark.parametrize(
    ("version", "flags"),
    [("7.32.4", ["--use-conda"]), ("8.30.0", ["--software-deployment-method", "conda"])],
)
def test_conda_is_asked_for_in_each_dialect(version: str, flags: list[str]) -> None:
    plan = build(snakemake(version, use_conda=True), context())

    assert snakemake_argv(plan)[-len(flags) :] == flags


@pytest.mark.parametrize(("version", "flags"), [("7.32.4", ["--slurm"]), ("9.6.2", ["--executor", "slurm"])])
def test_parallelcluster_runs_the_slurm_flags_of_each_dialect(version: str, flags: list[str]) -> None:
    plan = build(snakemake(version), context(compute="parallelcluster"))

    argv = snakemake_argv(plan)
    assert argv == ["snakemake", "--jobs", "20", "--retries", "3", *DATA_CONFIG, *flags]
    assert "TIBANNA_DEFAULT_STEP_FUNCTION_NAME" not in plan.environment


def test_targets_come_last() -> None:
    plan = build(snakemake("8.30.0", targets=["qc/S1_fastqc.html", "all"]), context())

    assert snakemake_argv(plan)[-2:] == ["qc/S1_fastqc.html", "all"]


@pytest.mark.parametrize("version", ["8.0.0", "7.32", "10"])
def test_an_untested_snakemake_version_is_refused(version: str) -> None:
    with pytest.raises(InvalidLaunchConfigError) as raised:
        build(snakemake(version), context())

    assert str(raised.value) == (
        f"engine_version: Snakemake {version} is not in the tested versions (7.32.4, 8.30.0, 9.6.2)"
    )


def test_without_a_version_the_deployment_default_is_used() -> None:
    plan = build(snakemake(""), context(default_versions={"snakemake": "7.32.4"}))

    assert (plan.definition, plan.engine_version) == ("snakemake7", "7.32.4")


def test_without_any_version_the_launch_is_refused() -> None:
    with pytest.raises(InvalidLaunchConfigError, match=r"Snakemake \(none\) is not in the tested versions"):
        build(snakemake(""), context(default_versions={}))


@pytest.mark.parametrize(
    ("parameters", "reason"),
    [
        ({"jobs": 0}, "parameters: jobs: Input should be greater than or equal to 1"),
        ({"retries": 11}, "parameters: retries: Input should be less than or equal to 10"),
        ({"executor": "slurm"}, "parameters: executor: Input should be 'aws-batch' or 'tibanna'"),
        ({"template": "bwa"}, "parameters: template: Input should be 'fastqc'"),
        ({"cores": 4}, "parameters: cores: Extra inputs are not permitted"),
    ],
)
def test_snakemake_parameters_are_validated(parameters: dict[str, Any], reason: str) -> None:
    with pytest.raises(InvalidLaunchConfigError) as raised:
        build(snakemake("8.30.0", **parameters), context())

    assert str(raised.value) == reason


# --- the Snakefile: rendered from the sheet, or fetched ---------------------------------------------------


@pytest.mark.parametrize(
    ("version", "reads"),
    [
        ("7.32.4", "    input: S3.remote(DATA + 'reads/{sample}.fastq.gz')"),
        ("8.30.0", "    input: storage(DATA + 'reads/{sample}.fastq.gz')"),
    ],
)
def test_the_rendered_snakefile_reads_inputs_from_the_data_root(version: str, reads: str) -> None:
    # Given a launch without its own Snakefile
    # When its plan is built
    snakefile = build(snakemake(version), context()).artifacts["Snakefile"].decode()

    # Then the inputs are read from the data root named by --config (outputs go to the default prefix)
    assert reads in snakefile.splitlines()
    assert "DATA = config['blueprints_data_path'].rstrip('/') + '/'" in snakefile
    assert "    output: 'qc/{sample}_fastqc.html'" in snakefile.splitlines()
    # and the Snakefile is valid Python apart from the Snakemake rules
    compile(snakefile.split("rule all:")[0].replace('configfile: "config.yaml"', ""), "Snakefile", "exec")


def test_each_attempt_stages_into_its_own_workspace() -> None:
    # Given two attempts of one launch and another launch (all may share a ParallelCluster head node)
    first = commands(build(snakemake(), context(compute="parallelcluster")))
    second = commands(
        build(
            launch(engine_version="8.30.0", config=document(parameters={"jobs": 20}), attempt=2),
            context(compute="parallelcluster", artifacts_uri=ARTIFACTS_URI.replace("/a1/", "/a2/")),
        )
    )
    other = commands(
        build(
            launch(engine_version="8.30.0", config=document(launch_id="wf-other", parameters={"jobs": 20})),
            context(compute="parallelcluster"),
        )
    )

    # Then each works in its own directory
    assert [argv[-1] for argv in (first[2], second[2], other[2])] == [
        f"/workspace/{LAUNCH_ID}/a1",
        f"/workspace/{LAUNCH_ID}/a2",
        "/workspace/wf-other/a1",
    ]
    assert second[1][3:5] == [ARTIFACTS_URI.replace("/a1/", "/a2/"), f"/workspace/{LAUNCH_ID}/a2/"]


def test_without_a_snakefile_one_is_rendered_with_the_samples_in_config_yaml() -> None:
    plan = build(snakemake(), context())

    assert set(plan.artifacts) == {"Snakefile", "config.yaml"}
    assert json.loads(plan.artifacts["config.yaml"]) == {"samples": ["S1", "S2"]}
    snakefile = plan.artifacts["Snakefile"].decode()
    assert 'configfile: "config.yaml"' in snakefile
    assert "SAMPLES = config['samples']" in snakefile
    assert "S1" not in snakefile  # samples are data, never code
    assert [line for line in snakefile.splitlines() if line.startswith("rule ")] == [
        "rule all:",
        "rule fastqc:",
    ]


@pytest.mark.parametrize(
    ("sheet", "name"),
    [
        (b"sample\tfastq\nS1\ta.fq\n\t\nS2\tb.fq\n", "samples.tsv"),
        (b"sample,fastq\n S1 ,a.fq\nS2,b.fq\n", "samples.csv"),
        (b'{"samples": ["S1", "S2"]}', "samples.json"),
        (b'{"samples": [{"sample": "S1"}, {"sample": "S2"}]}', "sheet.json"),
        (b"samples:\n  - S1\n  - S2\n", "samples.yaml"),
    ],
)
def test_samples_are_read_from_csv_tsv_json_and_yaml_sheets(sheet: bytes, name: str) -> None:
    assert samples(sheet, name) == ["S1", "S2"]


@pytest.mark.parametrize(
    ("sheet", "name", "reason"),
    [
        (b"id,fastq\nS1,a\n", "s.csv", "s.csv: the sample sheet needs a 'sample' column"),
        (b"", "s.csv", "s.csv: the sample sheet needs a 'sample' column"),
        (b"sample,fastq\n,a\n", "s.csv", "s.csv: the sample sheet lists no samples"),
        (b'{"samples": []}', "s.json", "s.json: the sample sheet lists no samples"),
        (b'{"launch_id": "x"}', "s.json", "s.json: no 'samples' list to render the Snakefile from"),
        (b"[1]", "s.json", "s.json: the document must be a mapping of fields"),
    ],
)
def test_sheets_without_samples_are_invalid(sheet: bytes, name: str, reason: str) -> None:
    with pytest.raises(InvalidLaunchConfigError) as raised:
        samples(sheet, name)

    assert str(raised.value) == reason


def test_a_sheet_without_samples_fails_the_build() -> None:
    with pytest.raises(InvalidLaunchConfigError, match="needs a 'sample' column"):
        build(snakemake(), context(sheet=b"id\nS1\n"))


@pytest.mark.parametrize(
    ("uri", "fetch"),
    [
        (
            "s3://genomics-data-example/wf/Snakefile",
            [["aws", "s3", "cp", "s3://genomics-data-example/wf/", ".", "--recursive", "--only-show-errors"]],
        ),
        (
            "s3://genomics-data-example/wf/qc.smk",
            [["aws", "s3", "cp", "s3://genomics-data-example/wf/qc.smk", "Snakefile", "--only-show-errors"]],
        ),
        (
            "s3://genomics-data-example/wf/qc.tar.gz",
            [
                [
                    "aws",
                    "s3",
                    "cp",
                    "s3://genomics-data-example/wf/qc.tar.gz",
                    "qc.tar.gz",
                    "--only-show-errors",
                ],
                ["tar", "-xzf", "qc.tar.gz"],
            ],
        ),
        (
            "s3://genomics-data-example/wf/qc.tgz",
            [
                ["aws", "s3", "cp", "s3://genomics-data-example/wf/qc.tgz", "qc.tgz", "--only-show-errors"],
                ["tar", "-xzf", "qc.tgz"],
            ],
        ),
        (
            "s3://genomics-data-example/wf/qc.zip",
            [
                ["aws", "s3", "cp", "s3://genomics-data-example/wf/qc.zip", "qc.zip", "--only-show-errors"],
                ["unzip", "-o", "-q", "qc.zip"],
            ],
        ),
    ],
)
def test_a_given_snakefile_is_fetched_as_is(uri: str, fetch: list[list[str]]) -> None:
    # Given a launch with its own Snakefile (and a sheet that could not render one)
    given_launch = launch(engine_version="8.30.0", config=document(snakefile_s3_uri=uri))

    # When its plan is built
    plan = build(given_launch, context(sheet=b"not a sheet"))

    # Then nothing is rendered; the head task fetches the Snakefile after staging
    assert plan.artifacts == {}
    assert commands(plan)[:-1] == [*STAGE, *fetch]


# --- environment ---------------------------------------------------------------------------------------


def test_the_environment_carries_the_launch_and_the_users_variables() -> None:
    plan = build(
        launch(engine_version="8.30.0", config=document(environment={"THREADS": "8"}), attempt=2),
        context(artifacts_uri=ARTIFACTS_URI.replace("/a1/", "/a2/")),
    )

    assert plan.environment == {
        "THREADS": "8",
        "BLUEPRINTS_LAUNCH_ID": LAUNCH_ID,
        "BLUEPRINTS_ATTEMPT": "2",
        "BLUEPRINTS_DATA_PATH": DATA_PATH,
        "BLUEPRINTS_CONFIG_URI": "s3://genomics-data-example/cohort7/samples.csv",
        "BLUEPRINTS_OUTPUT_PATH": OUTPUT,
        "BLUEPRINTS_ARTIFACTS_URI": ARTIFACTS_URI.replace("/a1/", "/a2/"),
        "SNAKEMAKE_AWS_BATCH_JOB_TAGS": f"genomics:launch_id={LAUNCH_ID},genomics:attempt=2",
    }


# --- Nextflow, container, regenie ---------------------------------------------------------------------


def nextflow(attempt: int = 1, version: str = "24.10.4", **parameters: Any) -> Launch:
    values = {
        "pipeline": "nf-core/rnaseq",
        "revision": "3.14.0",
        "params": {"genome": "GRCh38"},
        **parameters,
    }
    return launch(
        attempt=attempt,
        engine_version=version,
        config=document(workflow_type="nextflow", parameters=values),
    )


def test_nextflow_runs_the_pipeline_with_params_file_and_work_dir() -> None:
    plan = build(nextflow(), context())

    assert commands(plan) == [
        *STAGE,
        [
            "nextflow",
            "run",
            "nf-core/rnaseq",
            "-profile",
            "awsbatch",
            "-c",
            "blueprints.config",
            "-r",
            "3.14.0",
            "-work-dir",
            f"s3://{RESULTS_BUCKET}/.work/{LAUNCH_ID}/",
            "-params-file",
            "params.json",
            "--outdir",
            OUTPUT,
        ],
    ]
    assert json.loads(plan.artifacts["params.json"]) == {"genome": "GRCh38"}
    assert plan.environment["NXF_VER"] == "24.10.4"
    assert (plan.definition, plan.engine_version) == ("nextflow", "24.10.4")


def test_nextflow_resumes_from_the_second_attempt_in_the_same_work_dir() -> None:
    first = snakemake_argv(build(nextflow(attempt=1), context()))
    second = snakemake_argv(build(nextflow(attempt=2), context()))

    assert "-resume" not in first
    assert second[-1] == "-resume"
    work = f"s3://{RESULTS_BUCKET}/.work/{LAUNCH_ID}/"
    assert first[first.index("-work-dir") + 1] == second[second.index("-work-dir") + 1] == work


def test_nextflow_writes_its_work_dir_in_the_bucket_of_the_output_path() -> None:
    argv = snakemake_argv(build(nextflow(), context(output_uri="s3://other-results/team/run7/")))

    assert argv[argv.index("-work-dir") + 1] == f"s3://other-results/.work/{LAUNCH_ID}/"


def test_nextflow_on_awsbatch_gets_the_deployments_queue_region_and_job_role() -> None:
    plan = build(nextflow(), context(batch_job_queue="arn:aws:batch:us-east-1:1:job-queue/it's"))

    assert plan.artifacts["blueprints.config"].decode().splitlines() == [
        "process.executor = 'awsbatch'",
        "process.queue = 'arn:aws:batch:us-east-1:1:job-queue/it\\'s'",
        f"process.resourceLabels = ['genomics:launch_id': '{LAUNCH_ID}', 'genomics:attempt': '1']",
        "aws.region = 'us-east-1'",
        "aws.batch.jobRole = System.getenv('BLUEPRINTS_JOB_ROLE_ARN')",
    ]


def test_nextflow_on_awsbatch_names_its_job_queue() -> None:
    assert build(nextflow(), context()).engine_job_queue == QUEUE


def test_nextflow_on_awsbatch_needs_a_job_queue() -> None:
    with pytest.raises(InvalidLaunchConfigError) as raised:
        build(nextflow(), context(batch_job_queue=""))

    assert str(raised.value).startswith("parameters.profile: this deployment has no AWS Batch job queue")


@pytest.mark.parametrize(
    ("profile", "compute"), [("docker", "fargate"), ("test,docker", "batch"), ("awsbatch", "parallelcluster")]
)
def test_nextflow_without_awsbatch_gets_no_batch_settings(profile: str, compute: str) -> None:
    plan = build(nextflow(profile=profile), context(batch_job_queue="", compute=compute))

    assert set(plan.artifacts) == {"params.json"}
    assert "-c" not in snakemake_argv(plan)
    assert plan.engine_job_queue == ""


def test_nextflow_without_revision_or_version() -> None:
    plan = build(nextflow(version="", revision=None), context(default_versions={}))

    assert "-r" not in snakemake_argv(plan)
    assert "NXF_VER" not in plan.environment
    assert plan.engine_version == ""


def test_nextflow_takes_the_default_version() -> None:
    plan = build(nextflow(version=""), context(default_versions={"nextflow": "23.10.1"}))

    assert plan.environment["NXF_VER"] == "23.10.1"


@pytest.mark.parametrize(
    ("parameters", "field"),
    [
        ({"pipeline": "rnaseq"}, "pipeline"),
        ({"pipeline": "nf-core/rnaseq; rm -rf /"}, "pipeline"),
        ({"revision": "3.14 0"}, "revision"),
        ({"profile": "aws batch"}, "profile"),
    ],
)
def test_nextflow_parameters_are_validated(parameters: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidLaunchConfigError, match=f"^parameters: {field}: "):
        build(nextflow(**parameters), context())


def test_a_container_runs_its_command_as_given() -> None:
    given_launch = launch(
        config=document(workflow_type="container", parameters={"command": ["run-qc", "--in", DATA_PATH]})
    )

    plan = build(given_launch, context())

    assert plan.command == ["run-qc", "--in", DATA_PATH]
    assert (plan.definition, plan.engine_version, plan.artifacts) == ("container", "", {})
    assert plan.environment["BLUEPRINTS_LAUNCH_ID"] == LAUNCH_ID


def test_a_container_runs_only_programs_the_deployment_allows() -> None:
    # Given a deployment that allows two programs for plain container launches
    allowed = context(container_commands=("run-qc", "/opt/bin/align.sh"))
    listed = launch(config=document(workflow_type="container", parameters={"command": ["run-qc", "-v"]}))
    unlisted = launch(config=document(workflow_type="container", parameters={"command": ["sh", "-c", "id"]}))
    lookalike = launch(config=document(workflow_type="container", parameters={"command": ["/home/run-qc"]}))

    # When each is built, Then a listed program runs, and any other (by exact first word) is refused
    assert build(listed, allowed).command == ["run-qc", "-v"]
    for refused, program in ((unlisted, "'sh'"), (lookalike, "'/home/run-qc'")):
        with pytest.raises(InvalidLaunchConfigError) as raised:
            build(refused, allowed)
        assert str(raised.value) == (
            f"parameters.command: {program} is not a program this deployment allows"
            " (run-qc, /opt/bin/align.sh)"
        )


@pytest.mark.parametrize("parameters", [{}, {"command": []}, {"command": ["x"], "image": "other"}])
def test_a_container_needs_a_command_and_nothing_else(parameters: dict[str, Any]) -> None:
    given_launch = launch(config=document(workflow_type="container", parameters=parameters))

    with pytest.raises(InvalidLaunchConfigError, match=r"^parameters: "):
        build(given_launch, context())


def test_regenie_builds_the_state_machine_input() -> None:
    given_launch = launch(
        attempt=2,
        config=document(
            workflow_type="regenie", parameters={"phenotypes": ["bmi"], "step1": {"bsize": 1000}}
        ),
    )

    plan = build(given_launch, context())

    assert plan.state_machine_input == {
        "launch_id": LAUNCH_ID,
        "attempt": 2,
        "s3_data_path": DATA_PATH,
        "config_s3_uri": "s3://genomics-data-example/cohort7/samples.csv",
        "output_s3_path": OUTPUT,
        "parameters": {"phenotypes": ["bmi"], "step1": {"bsize": 1000}},
    }
    assert (plan.definition, plan.command, plan.environment) == ("regenie", [], {})


# --- compute rules and the override limit -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("workflow", "default"),
    [
        ("snakemake", "fargate"),
        ("nextflow", "fargate"),
        ("container", "fargate"),
        ("regenie", "stepfunctions"),
    ],
)
def test_each_engine_has_a_default_compute(workflow: str, default: str) -> None:
    assert compute_for(workflow, None) == default


@pytest.mark.parametrize(
    ("workflow", "requested"),
    [("snakemake", "batch"), ("snakemake", "parallelcluster"), ("nextflow", "batch"), ("container", "batch")],
)
def test_allowed_compute_is_kept(workflow: str, requested: str) -> None:
    assert compute_for(workflow, requested) == requested


@pytest.mark.parametrize(
    ("workflow", "requested", "allowed"),
    [
        ("regenie", "fargate", "stepfunctions"),
        ("container", "parallelcluster", "fargate, batch"),
        ("snakemake", "stepfunctions", "fargate, batch, parallelcluster"),
    ],
)
def test_other_compute_is_refused(workflow: str, requested: str, allowed: str) -> None:
    with pytest.raises(InvalidLaunchConfigError) as raised:
        compute_for(workflow, requested)

    assert str(raised.value) == f"compute_service: {workflow} runs on {allowed}, not {requested}"


def container_with(argument_length: int) -> Launch:
    return launch(config=document(workflow_type="container", parameters={"command": ["x" * argument_length]}))


def test_the_override_limit_is_8192_characters_of_command_and_environment() -> None:
    # Given the size of a container plan apart from its one argument
    base = build(container_with(1), context())
    overhead = sum(len(name) + len(value) for name, value in base.environment.items())
    fitting = engines.MAX_OVERRIDE_CHARS - overhead

    # When the argument fills the limit exactly, the plan is built
    assert len(build(container_with(fitting), context()).command[0]) == fitting

    # And one character more is refused, with the sizes
    with pytest.raises(InvalidLaunchConfigError) as raised:
        build(container_with(fitting + 1), context())
    assert str(raised.value) == (
        "the command and environment take 8193 characters; the container override limit is 8192"
    )


# --- property: interpolated values never leave their quotes ------------------------------------------------

ANY_TEXT = st.text(
    st.characters(exclude_characters="\x00", categories=("L", "M", "N", "P", "S", "Z", "Cc", "Cf")),
    max_size=40,
)


@settings(max_examples=150, deadline=None)
@given(
    targets=st.lists(ANY_TEXT, max_size=5),
    prefix=ANY_TEXT,
    version=st.sampled_from(["7.32.4", "8.30.0"]),
)
def test_targets_and_data_paths_never_break_out_of_quoting(
    targets: list[str], prefix: str, version: str
) -> None:
    # Given a launch whose targets and data path hold arbitrary text
    data_path = f"s3://genomics-data-example/{prefix}"
    given_launch = launch(
        engine_version=version,
        config=document(parameters={"targets": targets}),
        s3_data_path=data_path,
    )

    # When its plan is built
    plan = build(given_launch, context())

    # Then the script splits into exactly the intended commands, the values intact
    parsed = commands(plan)
    assert parsed[:3] == STAGE
    assert len(parsed) == 4
    argv = parsed[3]
    assert argv[len(argv) - len(targets) :] == targets
    if version == "7.32.4":
        assert f"--default-remote-prefix={RESULTS_BUCKET}/{LAUNCH_ID}" in argv
    else:
        assert argv[argv.index("--default-storage-prefix") + 1] == OUTPUT
    assert argv[5:7] == ["--config", f"blueprints_data_path={data_path}"]


@settings(max_examples=100, deadline=None)
@given(
    key=ANY_TEXT.filter(lambda text: text.strip("/") != ""), suffix=st.sampled_from(["", ".tar.gz", ".zip"])
)
def test_a_snakefile_uri_never_breaks_out_of_quoting(key: str, suffix: str) -> None:
    uri = f"s3://genomics-data-example/{key}{suffix}"
    given_launch = launch(engine_version="8.30.0", snakefile_s3_uri=uri)

    parsed = commands(build(given_launch, context()))

    fetched = [argv for argv in parsed if argv[:3] == ["aws", "s3", "cp"] and argv[3] != ARTIFACTS_URI]
    assert len(fetched) == 1
    assert uri.startswith(fetched[0][3])
