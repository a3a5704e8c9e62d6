"""The composition root: adapters built once per container, services rebuilt per invocation."""

from __future__ import annotations

from blueprints.broker import wiring
from blueprints.broker.failures import Invocation
from blueprints.broker.settings import DispatchSettings, RerunSettings
from tests.unit.broker.conftest import Broker

INVOCATION = Invocation("/aws/lambda/f", "stream", "request-1")


def test_adapters_are_shared_across_invocations(broker: Broker) -> None:
    settings = DispatchSettings.from_env(broker.stack.function_env("DispatchTaskFunction"))

    first = wiring.dispatcher(settings, INVOCATION)
    second = wiring.dispatcher(settings, Invocation("/aws/lambda/f", "stream", "request-2"))

    assert first is not second
    assert first.launcher is second.launcher  # the task definition cache survives invocations
    assert first.store is second.store
    assert first.queues is second.queues
    assert first.permanent.invocation.aws_request_id == "request-1"
    assert second.permanent.invocation.aws_request_id == "request-2"


def test_dispatcher_policy_comes_from_settings(broker: Broker) -> None:
    env = broker.stack.function_env("DispatchTaskFunction")
    env.update(
        DEFAULT_SUBNETS="subnet-0a, subnet-0b", NOTIFY_TOPIC_ALLOWLIST="arn:aws:sns:us-east-1:123456789012:t"
    )
    dispatcher = wiring.dispatcher(DispatchSettings.from_env(env), INVOCATION)

    assert dispatcher.policy.cluster_arn == broker.cluster_arn
    assert dispatcher.policy.default_subnets == ("subnet-0a", "subnet-0b")
    assert dispatcher.policy.notify_topic_allowlist == frozenset({"arn:aws:sns:us-east-1:123456789012:t"})
    assert (dispatcher.retry.retry_limit, dispatcher.retry.capacity_base_seconds) == (5, 60)
    assert dispatcher.redact.search("DB_PASSWORD") is not None


def test_the_rerunner_shares_the_store_and_queues(broker: Broker) -> None:
    dispatch = wiring.dispatcher(
        DispatchSettings.from_env(broker.stack.function_env("DispatchTaskFunction")), INVOCATION
    )
    rerunner = wiring.rerunner(
        RerunSettings.from_env(broker.stack.function_env("RerunOnEniTimeoutFunction")), INVOCATION
    )

    assert rerunner.store is dispatch.store
    assert rerunner.queues is dispatch.queues
    assert (rerunner.max_reruns, rerunner.delay_seconds) == (3, 60)


def test_reset_forgets_the_adapters(broker: Broker) -> None:
    settings = DispatchSettings.from_env(broker.stack.function_env("DispatchTaskFunction"))
    before = wiring.dispatcher(settings, INVOCATION).launcher

    wiring.reset()

    assert wiring.dispatcher(settings, INVOCATION).launcher is not before
