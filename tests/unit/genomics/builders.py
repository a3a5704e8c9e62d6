"""Builders of genomics test values: launch configurations, registry items, stream records and
state-change events derived from the sample events under events/genomics/ (changed field by field)."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from blueprints.genomics.config import validate
from blueprints.genomics.engines import BuildContext, compute_for
from blueprints.genomics.records import Launch, Source, new_launch_item, to_attribute
from blueprints.genomics.status import Status
from tests.support.bodies import DELETE, changed
from tests.support.events import load_event

LAUNCH_ID = "wf-2024-0042"
REQUEST_BUCKET = "genomics-launch-requests-example"
RESULTS_BUCKET = "genomics-results-example"
DATA_BUCKET = "genomics-data-example"
DATA_PATH = f"s3://{DATA_BUCKET}/cohort7/"
SHEET_URI = f"s3://{DATA_BUCKET}/cohort7/samples.csv"
SHEET = b"sample,fastq\nS1,reads/S1.fastq.gz\nS2,reads/S2.fastq.gz\n"
NOW = datetime(2026, 11, 30, 9, 15, 3, tzinfo=UTC)
ARTIFACTS_URI = f"s3://{REQUEST_BUCKET}/artifacts/launches/{LAUNCH_ID}/a1/"

__all__ = ["DELETE", "changed"]


def at(minutes: float) -> datetime:
    """``minutes`` after NOW."""
    return NOW + timedelta(minutes=minutes)


def document(**changes: Any) -> dict[str, Any]:
    """The sample launch configuration (Snakemake on the cohort7 data) with top-level ``changes``
    (``DELETE`` removes a field)."""
    base: dict[str, Any] = {
        "launch_id": LAUNCH_ID,
        "workflow_type": "snakemake",
        "s3_data_path": DATA_PATH,
        "config_s3_uri": SHEET_URI,
        "parameters": {"jobs": 20},
    }
    for name, value in changes.items():
        if value is DELETE:
            base.pop(name, None)
        else:
            base[name] = value
    return base


def source(key: str = f"launches/{LAUNCH_ID}.json", version: str = "v1") -> Source:
    return Source("s3", REQUEST_BUCKET, key, version, "d41d8cd98f00b204e9800998ecf8427e")


def registered(
    config: Mapping[str, Any] | None = None,
    *,
    engine_version: str | None = None,
    restore_check: bool = False,
    origin: Source | None = None,
    now: datetime = NOW,
) -> dict[str, Any]:
    """The plain values of a REGISTERED item as registration stores them."""
    launch = validate(dict(config or document()))
    defaults = {"snakemake": "8.30.0", "nextflow": "24.10.4"}
    return new_launch_item(
        launch,
        source=origin or source(),
        compute_service=compute_for(launch.workflow_type, launch.compute_service),
        engine_version=engine_version or launch.engine_version or defaults.get(launch.workflow_type, ""),
        output_s3_path=launch.output_s3_path or f"s3://{RESULTS_BUCKET}/{launch.launch_id}/",
        restore_check=restore_check,
        now=now,
    )


def launch(status: Status = Status.LAUNCHING, attempt: int = 1, **values: Any) -> Launch:
    """A ``Launch`` read model (as the registry returns it) from a registered item."""
    plain = {**registered(values.pop("config", None)), "status": status.value, "attempt": attempt, **values}
    return Launch.from_plain(plain)


def context(**changes: Any) -> BuildContext:
    """What the launcher hands a builder, for the sample launch's first attempt."""
    values: dict[str, Any] = {
        "artifacts_uri": ARTIFACTS_URI,
        "output_uri": f"s3://{RESULTS_BUCKET}/{LAUNCH_ID}/",
        "sheet": SHEET,
        "sheet_name": "samples.csv",
        "compute": "fargate",
        "region": "us-east-1",
        "batch_job_queue": "arn:aws:batch:us-east-1:123456789012:job-queue/genomics-dev",
        "tibanna_step_function": "tibanna_unicorn_genomics",
        "tibanna_plugin_enabled": False,
        "default_versions": {"snakemake": "8.30.0", "nextflow": "24.10.4"},
    }
    values.update(changes)
    return BuildContext(**values)


# -- stream records ---------------------------------------------------------------------------------


def image(values: Mapping[str, Any]) -> dict[str, Any]:
    """Plain values as a stream image (DynamoDB attribute values)."""
    return {name: to_attribute(value) for name, value in values.items()}


def stream_record(
    new_image: Mapping[str, Any],
    old_image: Mapping[str, Any] | None = None,
    *,
    sequence: str = "111100000000012345678901",
) -> dict[str, Any]:
    """The sample launcher record carrying these images (already DynamoDB-typed): INSERT without an
    old image, MODIFY with one."""
    case = "new_launch" if old_image is None else "retry_requested"
    record: dict[str, Any] = copy.deepcopy(load_event("genomics", "launch_workflow", case)["Records"][0])
    record["eventName"] = "INSERT" if old_image is None else "MODIFY"
    record["dynamodb"]["NewImage"] = dict(new_image)
    record["dynamodb"]["Keys"] = {"launch_id": new_image["launch_id"]}
    record["dynamodb"]["SequenceNumber"] = sequence
    if old_image is None:
        record["dynamodb"].pop("OldImage", None)
    else:
        record["dynamodb"]["OldImage"] = dict(old_image)
    return record


def stream_event(*records: dict[str, Any]) -> dict[str, Any]:
    return {"Records": list(records)}


# -- state-change events ----------------------------------------------------------------------------


def ecs_event(case: str = "task_running", **changes: Any) -> dict[str, Any]:
    """An ECS Task State Change sample with ``{"detail.x": value}``-style changes (dots as ``__``)."""
    return changed(load_event("genomics", "track_ecs_task", case), _paths(changes))


def batch_event(case: str = "job_running", **changes: Any) -> dict[str, Any]:
    """A Batch Job State Change sample with changes (dots as ``__``)."""
    return changed(load_event("genomics", "track_batch_job", case), _paths(changes))


def _paths(changes: Mapping[str, Any]) -> dict[str, Any]:
    return {name.replace("__", "."): value for name, value in changes.items()}
