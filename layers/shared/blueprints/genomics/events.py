"""Parser models of the events the genomics blueprint consumes (parsed at the edge, in the handlers)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from aws_lambda_powertools.utilities.parser.models import EventBridgeModel
from pydantic import BaseModel, ConfigDict, Field, RootModel

BATCH_LOG_GROUP = "/aws/batch/job"  # where AWS Batch writes job logs (the events' logStreamName)


class _Lenient(BaseModel):
    model_config = ConfigDict(extra="ignore")


# Event times in epoch milliseconds, refused outside what a datetime can hold (year 1970 to 9999), so a
# malformed event fails validation at the edge instead of overflowing later.
EpochMillis = Annotated[int, Field(ge=0, le=253_402_300_799_999)]


class EcsContainer(_Lenient):
    name: str = ""
    exitCode: int | None = None
    reason: str = ""


class EcsAttribute(_Lenient):
    name: str
    value: str = ""


class EcsTaskDetail(_Lenient):
    taskArn: str
    clusterArn: str
    lastStatus: str
    startedBy: str = ""
    stopCode: str = ""
    stoppedReason: str = ""
    containers: list[EcsContainer] = Field(default_factory=list)
    cpu: str = ""
    memory: str = ""
    launchType: str = ""
    capacityProviderName: str = ""
    availabilityZone: str = ""
    updatedAt: str = ""
    startedAt: str = ""
    stoppedAt: str = ""
    attributes: list[EcsAttribute] = Field(default_factory=list)
    ephemeralStorage: dict[str, Any] = Field(default_factory=dict)


class EcsTaskStateChangeEvent(EventBridgeModel):
    detail: EcsTaskDetail


class BatchContainer(_Lenient):
    exitCode: int | None = None
    reason: str = ""
    logStreamName: str = ""
    containerInstanceArn: str = ""
    taskArn: str = ""


class BatchAttempt(_Lenient):
    container: BatchContainer = Field(default_factory=BatchContainer)
    startedAt: EpochMillis | None = None
    stoppedAt: EpochMillis | None = None
    statusReason: str = ""


class BatchJobDetail(_Lenient):
    jobId: str
    jobName: str
    jobQueue: str = ""
    status: str
    statusReason: str = ""
    attempts: list[BatchAttempt] = Field(default_factory=list)
    container: BatchContainer = Field(default_factory=BatchContainer)
    createdAt: EpochMillis | None = None
    startedAt: EpochMillis | None = None
    stoppedAt: EpochMillis | None = None


class BatchJobStateChangeEvent(EventBridgeModel):
    detail: BatchJobDetail


class SsmCommandDetail(_Lenient):
    """ "EC2 Command Invocation Status-change Notification" (per instance) or "EC2 Command Status-change
    Notification" (per command): status Pending, InProgress, Delayed, Success, Failed, TimedOut,
    Cancelling, Cancelled (and for a command: Undeliverable, Terminated)."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    command_id: str = Field(alias="command-id")
    status: str
    instance_id: str = Field(default="", alias="instance-id")
    document_name: str = Field(default="", alias="document-name")
    requested_date_time: str = Field(default="", alias="requested-date-time")


class SsmCommandEvent(EventBridgeModel):
    source: Literal["aws.ssm"]
    detail: SsmCommandDetail


class SfnExecutionDetail(_Lenient):
    """ "Step Functions Execution Status Change": status RUNNING, SUCCEEDED, FAILED, TIMED_OUT, ABORTED,
    PENDING_REDRIVE; times in epoch milliseconds."""

    executionArn: str
    stateMachineArn: str = ""
    name: str = ""
    status: str
    startDate: EpochMillis | None = None
    stopDate: EpochMillis | None = None
    error: str | None = None
    cause: str | None = None


class SfnExecutionEvent(EventBridgeModel):
    source: Literal["aws.states"]
    detail: SfnExecutionDetail


class RemoteRunEvent(
    RootModel[Annotated[SsmCommandEvent | SfnExecutionEvent, Field(discriminator="source")]]
):
    """What the remote-run tracker receives: a head-node command or a pipeline execution (by source)."""


class ScheduledCheck(_Lenient):
    """The Scheduler's input: ``{"scheduled_time": "<aws.scheduler.scheduled-time>"}``."""

    scheduled_time: str


class RestoredObject(_Lenient):
    key: str
    size: int | None = None
    version_id: str | None = Field(default=None, alias="version-id")


class RestoreBucket(_Lenient):
    name: str


class RestoreCompletedDetail(_Lenient):
    bucket: RestoreBucket
    object: RestoredObject
    restore_expiry_time: str | None = Field(default=None, alias="restore-expiry-time")
    source_storage_class: str | None = Field(default=None, alias="source-storage-class")


class RestoreCompletedEvent(EventBridgeModel):
    """S3 "Object Restore Completed" on EventBridge (keys arrive unencoded; no version id means "null")."""

    detail: RestoreCompletedDetail
