"""localcloud.cloud: parameter overrides, deploy guards and the optional event sources."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from types import SimpleNamespace

import pytest

import localcloud.cloud as cloud_module
import localcloud.deploy as deploy_module
from localcloud import LocalCloudError
from localcloud.cloud import LocalCloud
from localcloud.deploy import DeployedResource, DeployError
from tests.support.paths import ROOT_TEMPLATE
from tests.support.template import load_template
from tests.unit.localcloud.conftest import FIXTURE_APP


def test_parameter_overrides_switch_a_blueprint_off() -> None:
    toggles = [name for name in load_template(ROOT_TEMPLATE)["Parameters"] if name.startswith("Enable")]
    with LocalCloud(
        ROOT_TEMPLATE, parameter_overrides=dict.fromkeys(toggles, "false"), event_sources=False
    ) as cloud:
        deployment = cloud.deploy()

        assert [stack.path for stack in deployment.stacks] == [""]
        assert deployment.functions == {}
        assert "BrokerRequestQueueUrl" not in deployment.outputs()


def test_a_second_deploy_of_the_same_stack_and_an_invoke_before_any_deploy_are_refused() -> None:
    with LocalCloud(FIXTURE_APP, event_sources=False) as cloud:
        with pytest.raises(LocalCloudError, match="deploy before invoking"):
            cloud.invoke("EchoFunction", {})
        cloud.deploy()
        with pytest.raises(DeployError, match="stack blueprints exists already"):
            cloud.deploy()


def test_without_event_sources_pumping_says_why() -> None:
    with (
        LocalCloud(FIXTURE_APP, event_sources=False) as cloud,
        pytest.raises(LocalCloudError, match="switched off"),
    ):
        cloud.pump()


class FakeClock:
    def __init__(self) -> None:
        self.installed = False

    @contextlib.contextmanager
    def install(self) -> Iterator[FakeClock]:
        self.installed = True
        yield self


class FakeEventSources:
    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.calls: list[str] = []
        self.workers: list[object] = []

    @contextlib.contextmanager
    def install(self) -> Iterator[FakeEventSources]:
        self.calls.append("install")
        yield self

    def sync(self) -> None:
        self.calls.append("sync")

    def pump(self) -> int:
        self.calls.append("pump")
        return 2

    def run_until_idle(self, max_virtual_seconds: float) -> int:
        self.calls.append(f"run_until_idle {max_virtual_seconds:g}")
        return 3


def test_event_sources_are_installed_synced_after_deploy_and_driven_through_the_cloud(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    modules = (SimpleNamespace(VirtualClock=FakeClock), SimpleNamespace(EventSources=FakeEventSources))
    monkeypatch.setattr(cloud_module, "_event_sources_modules", lambda: modules)

    with LocalCloud(FIXTURE_APP) as cloud:
        cloud.deploy()
        invocations = cloud.pump() + cloud.run_until_idle(60)

    assert invocations == 5
    assert cloud.clock.installed
    assert cloud.sources.calls == ["install", "sync", "pump", "run_until_idle 60"]
    assert cloud.sources.workers == [cloud.stepfunctions]  # run_until_idle waits for executions too


def test_missing_event_sources_are_an_error_only_when_required(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cloud_module, "_event_sources_modules", lambda: None)

    with pytest.raises(LocalCloudError, match=r"localcloud\.sources is not installed"):
        LocalCloud(FIXTURE_APP, event_sources=True).start()
    with LocalCloud(FIXTURE_APP) as cloud, pytest.raises(LocalCloudError, match="not installed"):
        cloud.run_until_idle()


def test_resources_moto_cannot_create_are_reported_resolved_or_handed_to_a_registered_applier(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    applied: list[DeployedResource] = []
    with LocalCloud(FIXTURE_APP, event_sources=False) as cloud:
        reported = cloud.deploy().unsupported
        echo_arn = cloud.deployment.function("EchoFunction").arn  # type: ignore[union-attr]
    monkeypatch.setitem(deploy_module._APPLIERS, "AWS::Lambda::Url", lambda _, r: applied.append(r))
    with LocalCloud(FIXTURE_APP, event_sources=False) as cloud:
        deployment = cloud.deploy()

    assert [(r.path, r.type) for r in reported] == [("EchoUrl", "AWS::Lambda::Url")]
    assert reported[0].properties["TargetFunctionArn"] == echo_arn
    assert [r.path for r in applied] == ["EchoUrl"]
    assert deployment.unsupported == []
    assert "EchoUrl" in [r.path for r in deployment.applied]
