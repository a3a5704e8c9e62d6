"""Parser models of the events the broker consumes (parsed at the edge, in the handlers)."""

from __future__ import annotations

from aws_lambda_powertools.utilities.parser.models import EventBridgeModel
from pydantic import BaseModel, ConfigDict

from blueprints.broker.rerun import TaskStopped


class EcsTaskStateDetail(BaseModel):
    model_config = ConfigDict(extra="ignore")

    taskArn: str
    clusterArn: str
    lastStatus: str
    startedBy: str = ""
    stoppedReason: str = ""
    stopCode: str = ""


class EcsTaskStateChangeEvent(EventBridgeModel):
    detail: EcsTaskStateDetail

    def task_stopped(self) -> TaskStopped:
        return TaskStopped(
            event_id=self.id,
            task_arn=self.detail.taskArn,
            started_by=self.detail.startedBy,
            stopped_reason=self.detail.stoppedReason,
        )
