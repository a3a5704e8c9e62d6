"""localcloud.cli: invoke and demo in-process (up and status are exercised by test_served)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import localcloud.cloud as cloud_module
from localcloud.cli import main
from tests.unit.localcloud.conftest import FIXTURE_APP

TEMPLATE = "-t", str(FIXTURE_APP)
QUEUE_ONLY = "Resources:\n  Jobs:\n    Type: AWS::SQS::Queue\n"


@pytest.fixture(autouse=True)
def _no_event_sources(monkeypatch: pytest.MonkeyPatch) -> None:
    """These tests are about the CLI alone, whatever localcloud.sources does."""
    monkeypatch.setattr(cloud_module, "_event_sources_modules", lambda: None)


def test_invoke_prints_the_result_and_the_logs_and_exit_codes_follow_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    event = tmp_path / "event.json"
    event.write_text('{"from": "file"}')

    assert main(["invoke", "EchoFunction", "-e", str(event), *TEMPLATE]) == 0
    out, err = capsys.readouterr()
    assert json.loads(out)["event"] == {"from": "file"}
    assert "echo says hello" in err.splitlines()

    assert (
        main(["invoke", "FailFunction", "-e", str(event), *TEMPLATE, "--parameter-overrides", "Greeting=hi"])
        == 1
    )
    assert json.loads(capsys.readouterr().out)["errorType"] == "ValueError"


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["invoke", "Nope", *TEMPLATE], "no function Nope (functions: CallerFunction, EchoFunction"),
        (["invoke", "EchoFunction", "-e", "missing.json", *TEMPLATE], "cannot read the event missing.json"),
        (["invoke", "EchoFunction", *TEMPLATE, "--parameter-overrides", "Greeting"], "Name=Value pairs"),
        (["invoke", "EchoFunction", "-t", "nowhere.yaml"], "no template nowhere.yaml"),
    ],
)
def test_bad_usage_exits_with_2_and_says_why(
    arguments: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(arguments) == 2
    assert message in capsys.readouterr().err


def test_demo_runs_each_scenario_on_a_freshly_deployed_cloud_and_sums_up(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "template.yaml").write_text(QUEUE_ONLY)
    demos = tmp_path / "demos"
    demos.mkdir()
    (demos / "good.py").write_text(
        "def run(cloud, out):\n"
        "    print('queues:', len(cloud.client('sqs').list_queues()['QueueUrls']), file=out)\n"
        "    return True\n"
    )
    (demos / "broken.py").write_text("def run(cloud, out):\n    raise RuntimeError('scenario crashed')\n")
    template = ["-t", str(tmp_path / "template.yaml")]

    assert main(["demo", *template]) == 1
    printed = capsys.readouterr().out
    assert "queues: 1" in printed
    assert "RuntimeError: scenario crashed" in printed
    assert "== demo good: passed" in printed
    assert "demos: 1 passed, 1 failed" in printed

    assert main(["demo", "good", *template]) == 0
    assert main(["demo", "broker", *template]) == 1
    assert "no demo scenarios for broker (available: broken, good)" in capsys.readouterr().out
