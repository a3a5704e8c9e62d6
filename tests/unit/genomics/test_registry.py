"""The DynamoDB registry adapter on the launch table built from templates/genomics.yaml (moto):
conditional creation, status transitions with their guards, fact updates, and the status index."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from blueprints.genomics.errors import LaunchConflictError
from blueprints.genomics.records import rejected_launch_item
from blueprints.genomics.registry import STATUS_INDEX, WORKFLOW_INDEX, LaunchRegistry
from blueprints.genomics.status import InvalidTransitionError, Status
from tests.support.botocore_hooks import Reply, Script, record_calls
from tests.support.cfn import REGION
from tests.unit.genomics.builders import LAUNCH_ID, NOW, at, document, registered, source


def plain(registry: LaunchRegistry, launch_id: str = LAUNCH_ID) -> dict[str, Any]:
    found = registry.get_plain(launch_id)
    assert found is not None
    return found


def launching(registry: LaunchRegistry, launch_id: str = LAUNCH_ID) -> None:
    """Create a launch and claim it (REGISTERED -> LAUNCHING)."""
    registry.create(registered(document(launch_id=launch_id)))
    claimed = registry.transition(
        launch_id, attempt=1, sources={Status.REGISTERED}, target=Status.LAUNCHING, now=at(1)
    )
    assert claimed is not None


# --- creation --------------------------------------------------------------------------------------


def test_a_new_launch_is_created_registered_with_its_rank_and_history(registry: LaunchRegistry) -> None:
    # Given a new launch request's item
    values = registered()

    # When it is created
    created = registry.create(values)

    # Then it is stored REGISTERED, ranked, at attempt 1, with its first history entry
    assert created is True
    item = plain(registry)
    assert (item["status"], item["status_rank"], item["attempt"]) == ("REGISTERED", 10, 1)
    assert item["status_history"] == [{"status": "REGISTERED", "at": NOW.isoformat(), "attempt": 1}]
    assert item["dedupe_key"] == source().dedupe_key
    assert item["config_source"] == source().as_map()


def test_the_same_request_delivered_again_is_a_duplicate(registry: LaunchRegistry) -> None:
    registry.create(registered())

    # When the same request (same source version) is created again, later
    again = registry.create(registered(now=at(5)))

    # Then it is a duplicate and the first item is untouched
    assert again is False
    assert plain(registry)["created_at"] == NOW.isoformat()


def test_the_same_id_from_another_request_is_a_conflict(registry: LaunchRegistry) -> None:
    registry.create(registered())

    with pytest.raises(LaunchConflictError) as raised:
        registry.create(registered(origin=source(version="v2"), now=at(5)))

    assert str(raised.value) == (f"launch id {LAUNCH_ID} is already registered from {source().dedupe_key}")
    assert plain(registry)["dedupe_key"] == source().dedupe_key


def test_other_put_errors_propagate(registry: LaunchRegistry) -> None:
    Script(registry.client, "PutItem", [Reply.error("InternalServerError", "boom", 500)])

    with pytest.raises(ClientError, match="InternalServerError"):
        registry.create(registered())


def rejection(version: str = "v1") -> dict[str, Any]:
    return rejected_launch_item(
        LAUNCH_ID,
        source=source(version=version),
        error_code="InvalidLaunchConfigError",
        error_message="workflow_type: Input should be 'snakemake', 'regenie', 'container' or 'nextflow'",
        now=NOW,
    )


def test_a_newer_version_of_a_rejected_object_is_inserted_anew(registry: LaunchRegistry) -> None:
    # Given a request rejected at registration
    registry.create(rejection())
    deletes = record_calls(registry.client, "DeleteItem")

    # When the same object's newer version is created under the id
    created = registry.create(registered(origin=source(version="v2"), now=at(5)))

    # Then the rejection was deleted (conditionally) and the new item put: an INSERT for the launcher
    assert created is True
    assert deletes[0]["ConditionExpression"] == (
        "#s = :failed AND #attempt = :one AND dedupe_key = :dedupe AND attribute_not_exists(workflow_type)"
    )
    item = plain(registry)
    assert (item["status"], item["dedupe_key"]) == ("REGISTERED", source(version="v2").dedupe_key)
    assert item["replaced_rejection"] == {
        "dedupe_key": source().dedupe_key,
        "error_code": "InvalidLaunchConfigError",
        "error_message": rejection()["error_message"],
        "created_at": NOW.isoformat(),
    }


def test_a_rejection_that_changed_meanwhile_is_not_replaced(registry: LaunchRegistry) -> None:
    # Given a rejection that another writer changes between the read and the delete
    registry.create(rejection())
    Script(registry.client, "DeleteItem", [Reply.error("ConditionalCheckFailedException", "changed")])

    # When a newer version is created, it is a conflict and the item stays
    with pytest.raises(LaunchConflictError):
        registry.create(registered(origin=source(version="v2"), now=at(5)))
    assert plain(registry)["status"] == "FAILED"


def test_other_delete_errors_propagate(registry: LaunchRegistry) -> None:
    registry.create(rejection())
    Script(registry.client, "DeleteItem", [Reply.error("InternalServerError", "boom", 500)])

    with pytest.raises(ClientError, match="InternalServerError"):
        registry.create(registered(origin=source(version="v2"), now=at(5)))


def test_unknown_launches_read_as_none(registry: LaunchRegistry) -> None:
    assert registry.get("nope") is None
    assert registry.get_plain("nope") is None


def test_the_default_client_is_the_shared_factorys() -> None:
    lazy = LaunchRegistry("genomics-launches")

    assert lazy.client.meta.service_model.service_name == "dynamodb"
    assert lazy.client is lazy.client


# --- transitions -----------------------------------------------------------------------------------


def test_a_transition_moves_the_status_and_appends_history(registry: LaunchRegistry) -> None:
    registry.create(registered())

    launch = registry.transition(
        LAUNCH_ID,
        attempt=1,
        sources={Status.REGISTERED},
        target=Status.LAUNCHING,
        now=at(1),
        set_values={"definition": "td"},
    )

    assert launch is not None
    assert (launch.status, launch.attempt, launch.updated_at) == (Status.LAUNCHING, 1, at(1).isoformat())
    item = plain(registry)
    assert (item["status_rank"], item["definition"]) == (40, "td")
    assert [entry["status"] for entry in item["status_history"]] == ["REGISTERED", "LAUNCHING"]
    assert "last_event_time" not in item


def test_a_transition_from_another_status_fails_its_condition(registry: LaunchRegistry) -> None:
    launching(registry)

    # When a second claimer expects REGISTERED
    again = registry.transition(
        LAUNCH_ID, attempt=1, sources={Status.REGISTERED}, target=Status.LAUNCHING, now=at(2)
    )

    # Then nothing changes
    assert again is None
    assert len(plain(registry)["status_history"]) == 2


def test_a_transition_of_another_attempt_fails_its_condition(registry: LaunchRegistry) -> None:
    launching(registry)

    moved = registry.transition(
        LAUNCH_ID, attempt=2, sources={Status.LAUNCHING}, target=Status.RUNNING, now=at(2)
    )

    assert moved is None
    assert plain(registry)["status"] == "LAUNCHING"


def test_a_transition_of_an_unknown_launch_fails_its_condition(registry: LaunchRegistry) -> None:
    assert (
        registry.transition("nope", attempt=1, sources={Status.LAUNCHING}, target=Status.RUNNING, now=NOW)
        is None
    )


def test_an_illegal_transition_is_refused_before_any_write(registry: LaunchRegistry) -> None:
    launching(registry)
    updates = record_calls(registry.client, "UpdateItem")

    with pytest.raises(InvalidTransitionError):
        registry.transition(LAUNCH_ID, attempt=1, sources={Status.COMPLETE}, target=Status.RUNNING, now=at(2))

    assert updates == []


def test_event_time_guards_order_and_is_recorded(registry: LaunchRegistry) -> None:
    # Given a launch that RUNNING reached with an event of 09:16:02
    launching(registry)
    running = registry.transition(
        LAUNCH_ID,
        attempt=1,
        sources={Status.LAUNCHING},
        target=Status.RUNNING,
        now=at(2),
        event_time="2026-11-30T09:16:02+00:00",
    )
    assert running is not None
    assert plain(registry)["last_event_time"] == "2026-11-30T09:16:02+00:00"

    # When an older event would end it, nothing changes
    stale = registry.transition(
        LAUNCH_ID,
        attempt=1,
        sources={Status.RUNNING},
        target=Status.COMPLETE,
        now=at(3),
        event_time="2026-11-30T09:16:01+00:00",
    )
    assert stale is None

    # But an event of the same time is applied, and its time is the history entry's
    same = registry.transition(
        LAUNCH_ID,
        attempt=1,
        sources={Status.RUNNING},
        target=Status.COMPLETE,
        now=at(4),
        event_time="2026-11-30T09:16:02+00:00",
    )
    assert same is not None
    assert plain(registry)["status_history"][-1] == {
        "status": "COMPLETE",
        "at": "2026-11-30T09:16:02+00:00",
        "attempt": 1,
    }


def test_next_attempt_starts_a_new_attempt_and_removes_the_old_facts(registry: LaunchRegistry) -> None:
    # Given a FAILED attempt with its facts, then a retry request
    launching(registry)
    registry.transition(
        LAUNCH_ID,
        attempt=1,
        sources={Status.LAUNCHING},
        target=Status.FAILED,
        now=at(2),
        set_values={"error_code": "OutOfMemoryError", "task_arn": "arn:task/1"},
    )
    registry.transition(
        LAUNCH_ID, attempt=1, sources={Status.FAILED}, target=Status.RETRY_REQUESTED, now=at(3)
    )

    # When the retry is claimed as attempt 2, removing the attempt's facts (one of which it sets anew)
    claimed = registry.transition(
        LAUNCH_ID,
        attempt=1,
        sources={Status.RETRY_REQUESTED},
        target=Status.LAUNCHING,
        now=at(4),
        next_attempt=2,
        set_values={"attempt_history": [{"attempt": 1}], "task_arn": "pending"},
        remove=("error_code", "task_arn", "never_set"),
    )

    # Then the item is attempt 2, without the removed facts, with the set ones, and a history entry
    assert claimed is not None
    assert claimed.attempt == 2
    item = plain(registry)
    assert "error_code" not in item
    assert (item["task_arn"], item["attempt_history"]) == ("pending", [{"attempt": 1}])
    assert item["status_history"][-1] == {"status": "LAUNCHING", "at": at(4).isoformat(), "attempt": 2}


def test_a_transition_may_name_several_sources(registry: LaunchRegistry) -> None:
    launching(registry)

    done = registry.transition(
        LAUNCH_ID, attempt=1, sources={Status.LAUNCHING, Status.RUNNING}, target=Status.COMPLETE, now=at(2)
    )

    assert done is not None
    assert done.status is Status.COMPLETE


def test_other_update_errors_propagate(registry: LaunchRegistry) -> None:
    launching(registry)
    Script(registry.client, "UpdateItem", [Reply.error("ProvisionedThroughputExceededException", "slow")])

    with pytest.raises(ClientError, match="ProvisionedThroughputExceededException"):
        registry.transition(
            LAUNCH_ID, attempt=1, sources={Status.LAUNCHING}, target=Status.RUNNING, now=at(2)
        )


# --- fact updates ----------------------------------------------------------------------------------


def test_update_records_facts_without_changing_the_status(registry: LaunchRegistry) -> None:
    launching(registry)

    updated = registry.update(
        LAUNCH_ID, attempt=1, status=Status.LAUNCHING, now=at(2), set_values={"input_size_bytes": 1536}
    )

    assert updated is not None
    item = plain(registry)
    assert (item["status"], item["input_size_bytes"], item["updated_at"]) == (
        "LAUNCHING",
        1536,
        at(2).isoformat(),
    )
    assert len(item["status_history"]) == 2


@pytest.mark.parametrize(
    ("status", "attempt"),
    [(Status.RUNNING, 1), (Status.LAUNCHING, 2), ({Status.RUNNING, Status.COMPLETE}, 1)],
)
def test_update_is_conditional_on_status_and_attempt(
    registry: LaunchRegistry, status: Status | set[Status], attempt: int
) -> None:
    launching(registry)

    assert registry.update(LAUNCH_ID, attempt=attempt, status=status, now=at(2), set_values={"x": 1}) is None
    assert "x" not in plain(registry)


def test_update_accepts_any_of_several_statuses(registry: LaunchRegistry) -> None:
    launching(registry)

    updated = registry.update(
        LAUNCH_ID, attempt=1, status=[Status.RUNNING, Status.LAUNCHING], now=at(2), set_values={"x": 1}
    )

    assert updated is not None


def test_only_if_absent_lets_the_first_writer_win(registry: LaunchRegistry) -> None:
    launching(registry)

    first = registry.update(
        LAUNCH_ID,
        attempt=1,
        status=Status.LAUNCHING,
        now=at(2),
        set_values={"runnable_since": "09:15"},
        only_if_absent=("runnable_since",),
    )
    second = registry.update(
        LAUNCH_ID,
        attempt=1,
        status=Status.LAUNCHING,
        now=at(3),
        set_values={"runnable_since": "09:30"},
        only_if_absent=("runnable_since",),
    )

    assert first is not None
    assert second is None
    assert plain(registry)["runnable_since"] == "09:15"


def test_sets_grow_by_union_and_unless_member_adds_once(registry: LaunchRegistry) -> None:
    launching(registry)

    registry.update(
        LAUNCH_ID, attempt=1, status=Status.LAUNCHING, now=at(2), add_to_sets={"batch_job_ids": {"job-1"}}
    )
    registry.update(
        LAUNCH_ID,
        attempt=1,
        status=Status.LAUNCHING,
        now=at(3),
        add_to_sets={"batch_job_ids": {"job-1", "job-2"}, "alerts": {"RUNNABLE_STUCK"}},
        unless_member=("alerts", "RUNNABLE_STUCK"),
    )
    again = registry.update(
        LAUNCH_ID,
        attempt=1,
        status=Status.LAUNCHING,
        now=at(4),
        add_to_sets={"alerts": {"RUNNABLE_STUCK"}},
        unless_member=("alerts", "RUNNABLE_STUCK"),
    )

    assert again is None
    launch = registry.get(LAUNCH_ID)
    assert launch is not None
    assert launch.batch_job_ids == ("job-1", "job-2")
    assert launch.alerts == frozenset({"RUNNABLE_STUCK"})
    assert launch.updated_at == at(3).isoformat()


# --- the status index ------------------------------------------------------------------------------


def seed(registry: LaunchRegistry, count: int, status: Status = Status.REGISTERED) -> list[str]:
    """``count`` launches updated one minute apart (launch-00 first); moved to ``status`` if asked."""
    ids = []
    for index in range(count):
        launch_id = f"launch-{index:02d}"
        registry.create(registered(document(launch_id=launch_id), now=at(index)))
        if status is Status.LAUNCHING:
            registry.transition(
                launch_id, attempt=1, sources={Status.REGISTERED}, target=status, now=at(index)
            )
        ids.append(launch_id)
    return ids


def test_by_status_lists_newest_first(registry: LaunchRegistry) -> None:
    seed(registry, 3)
    registry.create(registered(document(launch_id="other"), now=at(10)))
    registry.transition("other", attempt=1, sources={Status.REGISTERED}, target=Status.FAILED, now=at(10))

    page = registry.by_status(Status.REGISTERED)

    assert [item["launch_id"] for item in page.items] == ["launch-02", "launch-01", "launch-00"]
    assert page.next_token is None


def test_by_status_filters_on_updated_before(registry: LaunchRegistry) -> None:
    seed(registry, 4, Status.LAUNCHING)

    page = registry.by_status(Status.LAUNCHING, updated_before=at(2).isoformat())

    assert [item["launch_id"] for item in page.items] == ["launch-01", "launch-00"]


def test_by_status_pages_with_tokens_through_every_item(registry: LaunchRegistry) -> None:
    ids = seed(registry, 5)

    seen: list[str] = []
    tokens: list[str] = []
    start = None
    while True:
        page = registry.by_status(Status.REGISTERED, limit=2, start_key=start)
        seen += [item["launch_id"] for item in page.items]
        if page.next_token is None:
            break
        tokens.append(page.next_token)
        start = json.loads(page.next_token)

    assert seen == list(reversed(ids))
    assert len(tokens) >= 2
    assert set(json.loads(tokens[0])) == {"launch_id", "status", "updated_at"}


@pytest.mark.parametrize(("limit", "sent"), [(0, 1), (-5, 1), (7, 7), (1000, 100)])
def test_the_page_size_is_clamped(registry: LaunchRegistry, limit: int, sent: int) -> None:
    calls: list[dict[str, Any]] = []
    registry.client.meta.events.register(
        "provide-client-params.dynamodb.Query", lambda params, **_: calls.append(dict(params))
    )

    registry.by_status(Status.FAILED, limit=limit)

    assert calls[0]["Limit"] == sent
    assert calls[0]["IndexName"] == "status-updated_at"


def test_the_registry_uses_the_templates_table(registry: LaunchRegistry) -> None:
    table = boto3.client("dynamodb", region_name=REGION).describe_table(TableName=registry.table_name)[
        "Table"
    ]

    assert table["KeySchema"] == [{"AttributeName": "launch_id", "KeyType": "HASH"}]
    # the indexes the registry queries (other readers may add theirs)
    assert {STATUS_INDEX, WORKFLOW_INDEX} <= {index["IndexName"] for index in table["GlobalSecondaryIndexes"]}
