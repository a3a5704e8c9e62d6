"""Parsing what the blueprint receives: the documented shapes parse, anything else is InvalidEventError."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from blueprints.dora.errors import InvalidEventError
from blueprints.dora.events import parse_opsitem_event, parse_pipeline_event, parse_push
from tests.support.events import load_event
from tests.support.paths import EVENTS

PIPELINE_CASES = [
    "pipeline_succeeded",
    "pipeline_succeeded_with_trigger",
    "pipeline_started_manual",
    "pipeline_failed",
    "pipeline_resumed",
    "pipeline_superseded",
    "stage_succeeded_prod",
    "stage_failed_prod",
]
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=20,
)


def push_payload() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((EVENTS / "dora" / "github" / "push_payload.json").read_text())
    return loaded


@pytest.mark.parametrize("case", PIPELINE_CASES)
def test_every_documented_pipeline_event_parses(case: str) -> None:
    # Given a documented CodePipeline event
    raw = load_event("dora", "ingest_pipeline_event", case)

    # When it is parsed
    event = parse_pipeline_event(raw)

    # Then its execution, state and time are the event's, the time in UTC
    assert event.detail.execution_id == raw["detail"]["execution-id"]
    assert event.detail.state == raw["detail"]["state"]
    assert event.time.tzinfo == UTC
    assert event.pipeline_arn == "arn:aws:codepipeline:us-east-1:123456789012:svc-a"
    assert event.is_stage == case.startswith("stage_")


def test_the_codestar_trigger_block_is_read_and_the_documented_success_has_none() -> None:
    with_trigger = parse_pipeline_event(
        load_event("dora", "ingest_pipeline_event", "pipeline_succeeded_with_trigger")
    )
    without = parse_pipeline_event(load_event("dora", "ingest_pipeline_event", "pipeline_succeeded"))

    trigger = with_trigger.detail.execution_trigger
    assert trigger is not None
    assert (trigger.trigger_type, trigger.branch_name, trigger.full_repository_name) == (
        "WebhookV2",
        "main",
        "example-org/svc-a",
    )
    assert trigger.commit_id == "3b2c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e"
    assert without.detail.execution_trigger is None


def test_a_pipeline_arn_is_built_from_the_envelope_when_resources_do_not_name_it() -> None:
    raw = load_event("dora", "ingest_pipeline_event", "stage_succeeded_prod")
    raw["resources"] = []
    raw["region"] = "cn-north-1"
    assert parse_pipeline_event(raw).pipeline_arn == "arn:aws-cn:codepipeline:cn-north-1:123456789012:svc-a"


@pytest.mark.parametrize(
    ("path", "value", "field"),
    [
        (("detail", "execution-id"), "", "detail.execution-id"),
        (("time",), "2024-03-11T14:00:00", "time"),
        (("source",), "aws.codebuild", "source"),
        (("detail-type",), "CodePipeline Action Execution State Change", "detail-type"),
    ],
)
def test_a_malformed_pipeline_event_names_its_field(path: tuple[str, ...], value: object, field: str) -> None:
    raw = copy.deepcopy(load_event("dora", "ingest_pipeline_event", "stage_succeeded_prod"))
    node = raw
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    with pytest.raises(InvalidEventError, match=field):
        parse_pipeline_event(raw)


def test_opsitem_events_parse_and_take_the_id_from_resources_when_the_detail_lacks_it() -> None:
    created = parse_opsitem_event(load_event("dora", "ingest_opsitem_event", "opsitem_create"))
    raw = load_event("dora", "ingest_opsitem_event", "opsitem_update_resolved")
    del raw["detail"]["ops-item-id"]
    updated = parse_opsitem_event(raw)

    assert (created.ops_item_id, created.detail_type, created.detail.status) == (
        "oi-4f1a2b3c4d5e",
        "OpsItem Create",
        "Open",
    )
    assert (updated.ops_item_id, updated.detail.status) == ("oi-4f1a2b3c4d5e", "Resolved")


def test_an_opsitem_event_without_a_valid_id_is_refused() -> None:
    raw = load_event("dora", "ingest_opsitem_event", "opsitem_create")
    raw["detail"]["ops-item-id"] = "oi-nothex"
    raw["resources"] = []
    with pytest.raises(InvalidEventError, match="ops-item-id"):
        parse_opsitem_event(raw)


def test_a_push_keeps_its_commits_in_order_with_their_offsets_normalised() -> None:
    # Given the sample push: commits stamped +01:00, -04:00 and Z
    push = parse_push(push_payload()).push()

    # Then the times are the same instants in UTC, oldest first, and the push is walkable
    assert [commit.timestamp for commit in push.commits] == [
        datetime(2024, 3, 11, 9, tzinfo=UTC),
        datetime(2024, 3, 11, 11, tzinfo=UTC),
        datetime(2024, 3, 11, 13, tzinfo=UTC),
    ]
    assert (push.repo, push.ref, push.walkable) == ("example-org/svc-a", "refs/heads/main", True)


def test_forced_new_branch_and_capped_pushes_are_not_walkable() -> None:
    forced = push_payload() | {"forced": True}
    created = push_payload() | {"before": "0" * 40}
    capped = push_payload()
    capped["commits"] = capped["commits"] * 683  # 2049 entries: GitHub stops listing at 2048
    assert parse_push(forced).push().walkable is False
    assert parse_push(created).push().walkable is False
    assert parse_push(capped).push().truncated is True


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"after": "not-a-sha"}, "after"),
        ({"repository": {"full_name": "org/app/extra"}}, "repository.full_name"),
        (
            {
                "commits": [
                    {"id": "1f0c7d2e3a4b5c6d7e8f90a1b2c3d4e5f6a7b8c9", "timestamp": "2024-03-11T10:00:00"}
                ]
            },
            "timestamp",
        ),
    ],
)
def test_a_malformed_push_names_its_field(change: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidEventError, match=field):
        parse_push(push_payload() | change)


@given(json_values)
def test_any_json_is_either_a_pipeline_event_or_refused_with_a_typed_error(payload: Any) -> None:
    try:
        event = parse_pipeline_event(payload)
    except InvalidEventError:
        return
    assert event.detail.execution_id


@given(json_values)
def test_any_json_is_either_an_opsitem_event_or_refused_with_a_typed_error(payload: Any) -> None:
    try:
        event = parse_opsitem_event(payload)
    except InvalidEventError:
        return
    assert event.ops_item_id.startswith("oi-")


@given(
    st.dictionaries(
        st.sampled_from(["ref", "before", "after", "repository", "commits", "forced"]), json_values
    )
)
def test_any_json_is_either_a_push_or_refused_with_a_typed_error(changes: dict[str, Any]) -> None:
    try:
        push = parse_push(push_payload() | changes).push()
    except InvalidEventError:
        return
    assert all(commit.timestamp.tzinfo == UTC for commit in push.commits)


@given(
    st.datetimes(min_value=datetime(2015, 1, 1), max_value=datetime(2035, 1, 1), timezones=st.just(UTC)),
    st.integers(min_value=-720, max_value=840),
)
def test_commit_times_with_any_offset_are_the_same_instant(instant: datetime, minutes: int) -> None:
    from datetime import timedelta, timezone

    payload = push_payload()
    payload["commits"][0]["timestamp"] = instant.astimezone(timezone(timedelta(minutes=minutes))).isoformat()
    assert parse_push(payload).push().commits[0].timestamp == instant
