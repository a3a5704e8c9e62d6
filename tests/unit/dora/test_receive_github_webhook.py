"""receive_github_webhook: signed pushes are stored once; unsigned or wrongly signed calls store nothing."""

from __future__ import annotations

import json
from typing import Any

import pytest

from blueprints.dora.webhook import signature
from tests.support.events import load_event
from tests.unit.dora.conftest import WEBHOOK_SECRET, DoraWorld

AFTER = "3b2c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e"


def call(dora: DoraWorld, case: str) -> dict[str, Any]:
    result: dict[str, Any] = dora.invoke(
        "ReceiveGithubWebhookFunction", load_event("dora", "receive_github_webhook", case)
    )
    return result


@pytest.mark.parametrize("case", ["push_signed", "push_signed_base64"])
def test_a_signed_push_is_stored_once(dora: DoraWorld, case: str) -> None:
    # Given the sample push signed with the stack's secret (raw, or base64 with the header capitalised)
    # When GitHub delivers it twice
    first, again = call(dora, case), call(dora, case)

    # Then it is stored once, with its commits in order
    assert (first["statusCode"], json.loads(first["body"])) == (202, {"message": "stored", "after": AFTER})
    assert json.loads(again["body"])["message"] == "duplicate"
    push = dora.store().push_after("example-org/svc-a", AFTER)
    assert push is not None
    assert [commit.sha[:4] for commit in push.commits] == ["1f0c", "2a1b", "3b2c"]


@pytest.mark.parametrize("case", ["push_unsigned", "push_wrong_signature"])
def test_unsigned_or_wrongly_signed_calls_are_refused_and_store_nothing(dora: DoraWorld, case: str) -> None:
    result = call(dora, case)
    assert (result["statusCode"], json.loads(result["body"])) == (401, {"message": "Unauthorized"})
    assert dora.store().push_after("example-org/svc-a", AFTER) is None


def test_a_changed_body_with_the_original_signature_is_refused(dora: DoraWorld) -> None:
    event = load_event("dora", "receive_github_webhook", "push_signed")
    event["body"] = event["body"].replace("Parse the limiter", "Parse the limiter!")
    assert dora.invoke("ReceiveGithubWebhookFunction", event)["statusCode"] == 401


def test_ping_other_events_deletions_and_bad_bodies(dora: DoraWorld) -> None:
    assert call(dora, "ping_signed")["statusCode"] == 200

    def signed(body: str, kind: str) -> dict[str, Any]:
        event = load_event("dora", "receive_github_webhook", "push_signed")
        event["body"] = body
        event["headers"]["x-github-event"] = kind
        event["headers"]["x-hub-signature-256"] = signature(WEBHOOK_SECRET.encode(), body.encode())
        result: dict[str, Any] = dora.invoke("ReceiveGithubWebhookFunction", event)
        return result

    payload = json.loads(load_event("dora", "receive_github_webhook", "push_signed")["body"])
    assert signed("{}", "issues")["statusCode"] == 202
    assert json.loads(signed(json.dumps(payload | {"deleted": True}), "push")["body"]) == {
        "message": "ignored branch deletion"
    }
    assert signed("not json", "push")["statusCode"] == 400
    assert signed(json.dumps(payload | {"after": "zz"}), "push")["statusCode"] == 400
