"""Backfill from CodePipeline history (and OpsCenter): the same facts live ingestion would have stored.

For each pipeline, ListPipelineExecutions (newest first, stopping before ``since``), then the live
definition of a deployment:

- a pipeline with the production stage deployed when that stage succeeded in the execution, whatever the
  execution's status afterwards (a later stage may have failed, been stopped or still be running: live
  ingestion counts the stage's SUCCEEDED event all the same), at that stage's success: the last
  ``lastUpdateTime`` of the stage's actions (latest attempt of each) from ListActionExecutions;
- a pipeline without it when the execution succeeded on the release branch, at the execution's
  ``lastUpdateTime`` (ListPipelineExecutions; GetPipelineExecution does not return it).

Live ingestion takes the ``time`` of the stage's (or execution's) SUCCEEDED event instead, which no API
returns afterwards; both mark the same completion, but the recorded times may differ slightly, so a
backfilled deployment can sit a little earlier or later than live ingestion would have put it (a day
boundary falling between the two is the only way a window's counts can differ). Executions of pipelines
with the production stage each cost a GetPipelineExecution and a ListActionExecutions, whatever their
status. Deployments go through ``PipelineIngest.record`` (idempotent on the execution id), so a backfill
over history that events already covered changes nothing, and the change resolution and recompute follow
as for live events. OpsItems created since ``since`` are ingested like their events.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from blueprints.core.observability import logger
from blueprints.dora.detect import Ignored, Policies, TriggerFacts, detect
from blueprints.dora.errors import InvalidEventError
from blueprints.dora.ingest import IncidentIngest, PipelineIngest
from blueprints.dora.model import Deployment
from blueprints.dora.ports import IncidentSource, PipelineSource
from blueprints.dora.timeutil import Calendar

SUCCEEDED_STATUS = "Succeeded"


class BackfillRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    pipelines: list[str] = Field(min_length=1, max_length=100)
    account: str = Field("", pattern=r"^(\d{12})?$")
    region: str = ""
    since: date
    until: date
    incidents: bool = True


def parse_request(payload: Any) -> BackfillRequest:
    try:
        request = BackfillRequest.model_validate(payload)
    except ValidationError as exc:
        raise InvalidEventError(f"invalid backfill request: {exc.errors(include_url=False)}") from exc
    if request.until < request.since:
        raise InvalidEventError("invalid backfill request: until is before since")
    return request


@dataclass
class Backfill:
    pipelines: PipelineSource
    opscenter: IncidentSource
    ingest: PipelineIngest
    incidents: IncidentIngest
    policies: Policies
    own_account: str
    own_region: str

    def run(self, request: BackfillRequest) -> dict[str, Any]:
        account = request.account or self.own_account
        region = request.region or self.own_region
        start, end = Calendar().bounds(request.since, request.until)
        counts = {"executions": 0, "recorded": 0, "duplicate": 0, "ignored": 0, "incidents": 0}
        for name in request.pipelines:
            for outcome in self._pipeline(account, region, name, start, end):
                counts["executions"] += 1
                counts[outcome] += 1
        if request.incidents:
            for ops_item_id in self.opscenter.created_since(account, region, start):
                self.incidents.ingest(account, region, ops_item_id, f"backfill:{ops_item_id}")
                counts["incidents"] += 1
        logger.info("backfill done", extra=counts)
        return counts

    def _pipeline(self, account: str, region: str, name: str, start: datetime, end: datetime) -> list[str]:
        if not self.policies.tracks(name):
            return []
        definition = self.pipelines.definition(account, region, name)
        policy = self.policies.for_service(name)
        partition = "aws-cn" if region.startswith("cn-") else "aws"
        pipeline_arn = f"arn:{partition}:codepipeline:{region}:{account}:{name}"
        outcomes = []
        for summary in self.pipelines.executions(account, region, name):
            if summary.start_time is not None and summary.start_time >= end:
                continue
            if summary.last_update_time is not None and summary.last_update_time < start:
                break  # newest first: everything after this is older
            has_prod_stage = policy.prod_stage in definition.stages
            if not has_prod_stage and summary.status != SUCCEEDED_STATUS:
                outcomes.append("ignored")  # without the stage, only a succeeded execution deploys
                continue
            details = self.pipelines.execution(account, region, name, summary.execution_id)
            if has_prod_stage:  # whatever the execution's status: a later stage may fail or still run
                deploy_time = details.stage_succeeded_at.get(policy.prod_stage)
            else:  # GetPipelineExecution has no lastUpdateTime: ListPipelineExecutions' summary has it
                deploy_time = details.last_update_time or summary.last_update_time
            if deploy_time is None or not start <= deploy_time < end:
                outcomes.append("ignored")
                continue
            found: Deployment | Ignored = detect(
                pipeline_arn=pipeline_arn,
                account=account,
                region=region,
                deploy_time=deploy_time,
                definition=definition,
                execution=details,
                trigger=TriggerFacts(),
                policy=policy,
            )
            if isinstance(found, Ignored):
                outcomes.append("ignored")
                continue
            outcomes.append(self.ingest.record(found, f"backfill:{summary.execution_id}"))
        return outcomes
