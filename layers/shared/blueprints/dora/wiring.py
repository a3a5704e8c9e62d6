"""Composition root: the DORA services from settings, adapters created once per container.

Each factory imports what its function needs when first called, so a handler pays the import cost of its
own service only (the ingest function never imports the query or recompute code, and so on).
"""

from __future__ import annotations

import functools
import re
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from blueprints.core.aws import client as aws_client
from blueprints.core.settings import csv_list

if TYPE_CHECKING:
    from blueprints.dora.accounts import AccountClients
    from blueprints.dora.backfill import Backfill
    from blueprints.dora.codepipeline import CodePipelineReader
    from blueprints.dora.history import AnalysisOptions
    from blueprints.dora.ingest import IncidentIngest, PipelineIngest
    from blueprints.dora.opscenter import OpsCenterReader
    from blueprints.dora.query import Query
    from blueprints.dora.queue import ChangeQueue
    from blueprints.dora.receive import WebhookReceiver
    from blueprints.dora.recompute import Recompute
    from blueprints.dora.resolver import ChangeResolver
    from blueprints.dora.secrets import SecretValues
    from blueprints.dora.settings import (
        AccountSettings,
        BackfillSettings,
        CalculateSettings,
        FactsSettings,
        IncidentSettings,
        IngestOpsItemSettings,
        IngestPipelineSettings,
        PipelineSettings,
        QuerySettings,
        ResolveSettings,
        WebhookSettings,
    )
    from blueprints.dora.store import FactStore


def now() -> datetime:
    return datetime.now(UTC)


@functools.cache
def _store(table_name: str) -> FactStore:
    from blueprints.dora.store import FactStore

    return FactStore(table_name)


@functools.cache
def _accounts(account_id: str, role_name: str) -> AccountClients:
    from blueprints.dora.accounts import AccountClients

    return AccountClients(account_id, role_name)


@functools.cache
def _queue(queue_url: str) -> ChangeQueue:
    from blueprints.dora.queue import ChangeQueue

    return ChangeQueue(queue_url)


@functools.cache
def _secrets() -> SecretValues:
    from blueprints.dora.secrets import SecretValues

    return SecretValues()


@functools.cache
def _pipelines(account_id: str, role_name: str) -> CodePipelineReader:
    from blueprints.dora.codepipeline import CodePipelineReader

    return CodePipelineReader(_accounts(account_id, role_name))


def _analysis(settings: FactsSettings) -> AnalysisOptions:
    from blueprints.dora.history import AnalysisOptions

    return AnalysisOptions(commit_time=settings.commit_time, lead_time_mode=settings.lead_time_mode)


def _region() -> str:
    return str(aws_client("dynamodb").meta.region_name)


def pipeline_ingest(settings: PipelineSettings) -> PipelineIngest:
    from blueprints.dora.emf import MetricsPublisher
    from blueprints.dora.ingest import PipelineIngest

    return PipelineIngest(
        store=_store(settings.facts_table_name),
        pipelines=_pipelines(settings.account_id, settings.cross_account_role_name),
        queue=_queue(settings.changes_queue_url),
        publisher=MetricsPublisher(now),
        policies=settings.policies(),
        now=now,
    )


def incident_ingest(settings: IncidentSettings) -> IncidentIngest:
    from blueprints.dora.emf import MetricsPublisher
    from blueprints.dora.ingest import IncidentFilter, IncidentIngest

    return IncidentIngest(
        store=_store(settings.facts_table_name),
        opscenter=_opscenter(settings),
        publisher=MetricsPublisher(now),
        filter=IncidentFilter(
            categories=frozenset(csv_list(settings.incident_categories)),
            severities=frozenset(csv_list(settings.incident_severities)),
            excluded_sources=frozenset(csv_list(settings.incident_excluded_sources)),
        ),
        now=now,
        analysis=_analysis(settings),
    )


def _opscenter(settings: AccountSettings) -> OpsCenterReader:
    from blueprints.dora.opscenter import OpsCenterReader

    return OpsCenterReader(_accounts(settings.account_id, settings.cross_account_role_name))


def ingest_pipeline(settings: IngestPipelineSettings) -> PipelineIngest:
    return pipeline_ingest(settings)


def ingest_opsitem(settings: IngestOpsItemSettings) -> IncidentIngest:
    return incident_ingest(settings)


def backfill(settings: BackfillSettings) -> Backfill:
    from blueprints.dora.backfill import Backfill

    return Backfill(
        pipelines=_pipelines(settings.account_id, settings.cross_account_role_name),
        opscenter=_opscenter(settings),
        ingest=pipeline_ingest(settings),
        incidents=incident_ingest(settings),
        policies=settings.policies(),
        own_account=settings.account_id,
        own_region=_region(),
    )


def resolver(settings: ResolveSettings, queue_url: str) -> ChangeResolver:
    from blueprints.dora.changes import ResolveOptions
    from blueprints.dora.emf import MetricsPublisher
    from blueprints.dora.github import GitHubClient
    from blueprints.dora.resolver import ChangeResolver

    secrets = _secrets()
    return ChangeResolver(
        store=_store(settings.facts_table_name),
        repository=GitHubClient(
            settings.github_api_url, lambda: secrets.get(settings.github_token_secret_arn)
        ),
        queue=_queue(queue_url),
        publisher=MetricsPublisher(now),
        options=ResolveOptions(
            first_deploy_samples=settings.first_deploy_samples,
            commit_time=settings.commit_time,
            lead_time_mode=settings.lead_time_mode,
        ),
        hotfix_branch=re.compile(settings.hotfix_branch_regex),
        now=now,
    )


def webhook(settings: WebhookSettings) -> WebhookReceiver:
    from blueprints.dora.receive import WebhookReceiver

    return WebhookReceiver(_store(settings.facts_table_name), _secrets(), settings.webhook_secret_arn, now)


def recompute(settings: CalculateSettings) -> Recompute:
    from blueprints.dora.benchmarks import edition
    from blueprints.dora.emf import MetricsPublisher
    from blueprints.dora.ingest import PendingSweep
    from blueprints.dora.recompute import Recompute
    from blueprints.dora.timeutil import Calendar

    store = _store(settings.facts_table_name)
    return Recompute(
        store=store,
        publisher=MetricsPublisher(now),
        calendar=Calendar(settings.report_time_zone),
        edition=edition(settings.benchmark_edition or None),
        overall_rule=settings.overall_tier_rule,
        analysis=_analysis(settings),
        now=now,
        sweep=PendingSweep(store, _queue(settings.changes_queue_url), now).sweep,
    )


def query(settings: QuerySettings) -> Query:
    from blueprints.dora.query import Query
    from blueprints.dora.timeutil import Calendar

    return Query(
        store=_store(settings.facts_table_name),
        calendar=Calendar(settings.report_time_zone),
        default_edition=settings.benchmark_edition,
        overall_rule=settings.overall_tier_rule,
        analysis=_analysis(settings),
        max_window_days=settings.max_window_days,
    )


def reset() -> None:
    """Forget the adapters (tests switch moto contexts)."""
    for factory in (_store, _accounts, _queue, _secrets, _pipelines):
        factory.cache_clear()
