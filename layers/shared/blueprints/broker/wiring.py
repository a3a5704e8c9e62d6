"""Composition root: builds the broker's services from settings, adapters created once per container."""

from __future__ import annotations

import functools
import re

from blueprints.broker.adapters import EcsLauncher, SnsNotifier, SqsQueues
from blueprints.broker.dispatcher import Dispatcher, RetryPolicy
from blueprints.broker.failures import Invocation
from blueprints.broker.records import RequestStore
from blueprints.broker.request import BrokerPolicy
from blueprints.broker.rerun import Rerunner
from blueprints.broker.settings import DispatchSettings, RerunSettings
from blueprints.core.settings import csv_list


@functools.cache
def _launcher() -> EcsLauncher:
    return EcsLauncher()


@functools.cache
def _store(table_name: str, ttl_days: int) -> RequestStore:
    return RequestStore(table_name, ttl_days)


@functools.cache
def _queues(dead_letter_queue_url: str) -> SqsQueues:
    return SqsQueues(dead_letter_queue_url)


@functools.cache
def _notifier(topic_arn: str) -> SnsNotifier:
    return SnsNotifier(topic_arn)


def dispatcher(settings: DispatchSettings, invocation: Invocation) -> Dispatcher:
    return Dispatcher(
        policy=BrokerPolicy(
            cluster_arn=settings.cluster_arn,
            task_definition_prefix=settings.task_definition_prefix,
            notify_topic_allowlist=frozenset(csv_list(settings.notify_topic_allowlist)),
            default_subnets=csv_list(settings.default_subnets),
            default_security_groups=csv_list(settings.default_security_groups),
            default_assign_public_ip=settings.default_assign_public_ip,
        ),
        retry=RetryPolicy(
            retry_limit=settings.retry_limit,
            api_base_seconds=settings.api_backoff_base_seconds,
            capacity_base_seconds=settings.capacity_backoff_base_seconds,
            max_backoff_seconds=settings.max_backoff_seconds,
        ),
        launcher=_launcher(),
        store=_store(settings.requests_table_name, settings.record_ttl_days),
        queues=_queues(settings.dead_letter_queue_url),
        notifier=_notifier(settings.failure_topic_arn),
        invocation=invocation,
        redact=re.compile(settings.redact_env_pattern),
        propagate_tags=settings.propagate_tags,
    )


def rerunner(settings: RerunSettings, invocation: Invocation) -> Rerunner:
    return Rerunner(
        store=_store(settings.requests_table_name, settings.record_ttl_days),
        queues=_queues(settings.dead_letter_queue_url),
        notifier=_notifier(settings.failure_topic_arn),
        invocation=invocation,
        request_queue_url=settings.request_queue_url,
        max_reruns=settings.max_eni_reruns,
        delay_seconds=settings.rerun_delay_seconds,
    )


def reset() -> None:
    """Forget the adapters (tests switch moto contexts)."""
    for factory in (_launcher, _store, _queues, _notifier):
        factory.cache_clear()
