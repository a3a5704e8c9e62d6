"""Resolving the changes of a deployment (the change-resolution queue's consumer).

The previous deployment of the service is read at resolution time, so a deployment that arrived late
(inserted before this one) is taken into account when the ingest re-queues its successor. GitHub's rate
limit keeps the message away until the limit resets (SQS visibility, no sleeping); a commit GitHub does
not know fails the resolution for good (the deployment still counts; its changes are unknown).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from blueprints.core.observability import logger
from blueprints.dora.changes import (
    ChangeSources,
    CommitInfo,
    Comparison,
    PullRequestInfo,
    Resolution,
    ResolveOptions,
    resolve,
)
from blueprints.dora.detect import is_revert, references
from blueprints.dora.emf import MetricsPublisher
from blueprints.dora.errors import InvalidEventError, RateLimitedError, SourceNotFoundError
from blueprints.dora.model import ChangeSource, ChangesStatus, Deployment, Push
from blueprints.dora.ports import RepositorySource
from blueprints.dora.queue import ChangeQueue
from blueprints.dora.store import FactStore


@dataclass(frozen=True)
class Delivery:
    """One SQS message of the change-resolution queue."""

    message_id: str
    body: str
    receipt_handle: str
    queue_url: str


@dataclass(frozen=True)
class _Sources(ChangeSources):
    store: FactStore
    repository: RepositorySource

    def push_after(self, repo: str, sha: str) -> Push | None:
        return self.store.push_after(repo, sha)

    def compare(self, repo: str, base: str, head: str) -> Comparison:
        return self.repository.compare(repo, base, head)

    def commit(self, repo: str, sha: str) -> CommitInfo:
        return self.repository.commit(repo, sha)

    def pull_request_of(self, repo: str, sha: str) -> PullRequestInfo | None:
        return self.repository.pull_request_of(repo, sha)


def _target(body: str) -> tuple[str, str]:
    try:
        message = json.loads(body)
        return str(message["pipeline_arn"]), str(message["execution_id"])
    except (ValueError, KeyError, TypeError) as exc:
        raise InvalidEventError("a change-resolution message is {pipeline_arn, execution_id}") from exc


@dataclass
class ChangeResolver:
    store: FactStore
    repository: RepositorySource
    queue: ChangeQueue
    publisher: MetricsPublisher
    options: ResolveOptions
    hotfix_branch: re.Pattern[str]
    now: Callable[[], datetime]

    def handle(self, delivery: Delivery) -> str:
        pipeline_arn, execution_id = _target(delivery.body)
        deployment = self.store.get_deployment(pipeline_arn, execution_id)
        if deployment is None:
            logger.warning(
                "no such deployment", extra={"pipeline_arn": pipeline_arn, "execution_id": execution_id}
            )
            return "unknown"
        previous = self.store.previous_deployment(deployment)
        try:
            resolution = resolve(deployment, previous, _Sources(self.store, self.repository), self.options)
        except RateLimitedError as exc:
            wait = exc.retry_after_seconds or 60
            self.queue.hide(delivery.queue_url, delivery.receipt_handle, wait)
            logger.warning(
                "GitHub rate limit: retrying later", extra={"execution_id": execution_id, "seconds": wait}
            )
            raise
        except SourceNotFoundError as exc:
            resolution = Resolution(
                ChangesStatus.FAILED,
                ChangeSource.NONE,
                (),
                previous.execution_id if previous else None,
                previous is None,
                reason=str(exc),
            )
        first = self.store.save_resolution(deployment, resolution)
        self._head_facts(deployment, resolution)
        if first:
            self.publisher.lead_times(deployment, self._samples(deployment, resolution))
        self.store.mark_dirty(deployment.service, delivery.message_id, self.now())
        logger.info(
            "changes resolved",
            extra={
                "execution_id": execution_id,
                "status": resolution.status.value,
                "source": resolution.source.value,
                "changes": len(resolution.changes),
                "base": resolution.base,
                "reason": resolution.reason,
            },
        )
        return resolution.status.value

    def _head_facts(self, deployment: Deployment, resolution: Resolution) -> None:
        """References and revert flag from the head commit's message, and the incidents it names
        linked to this deployment (their service and hotfix reference), again on every resolution:
        a retry after a failure here completes the links."""
        message = deployment.head_message or resolution.head_message
        named = references(deployment.branch, message, self.hotfix_branch) if message else frozenset()
        new = named - deployment.references
        revert = is_revert(message)
        if new or (revert and not deployment.revert):
            self.store.set_head_facts(deployment, new, revert or deployment.revert)
        linked = sorted(named | deployment.references)
        if not linked:
            return
        from blueprints.dora.history import AnalysisOptions  # rare: imported only when needed
        from blueprints.dora.ingest import give_service

        for ops_item_id in linked:
            self.store.add_reference(ops_item_id, deployment)
            give_service(self.store, self.publisher, ops_item_id, deployment.service, AnalysisOptions())

    def _samples(self, deployment: Deployment, resolution: Resolution) -> list[float]:
        moments = [
            change.committer_time if self.options.commit_time == "committer" else change.author_time
            for change in resolution.changes
        ]
        return [(deployment.deploy_time - moment).total_seconds() for moment in moments if moment is not None]
