"""The launches read model and retry requests (the HTTP API's domain) on the template's tables (moto)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from blueprints.genomics import wiring
from blueprints.genomics.api import LaunchesApi, ListQuery, view
from blueprints.genomics.errors import InvalidLaunchConfigError, LaunchNotFoundError, RetryNotAllowedError
from blueprints.genomics.records import to_attribute
from blueprints.genomics.registry import LaunchRegistry
from blueprints.genomics.restore_store import META, request_key
from blueprints.genomics.settings import RestoreApiSettings
from blueprints.genomics.status import Status
from tests.support.events import load_event
from tests.unit.genomics.builders import LAUNCH_ID, NOW, at, document, registered
from tests.unit.genomics.conftest import Genomics, client


def api(genomics: Genomics) -> LaunchesApi:
    env = genomics.use_function("handle_launch_api")
    launches, _ = wiring.api(RestoreApiSettings.from_env(env))
    return launches


def failed_launch(registry: LaunchRegistry, launch_id: str = LAUNCH_ID, minute: float = 1) -> None:
    registry.create(registered(document(launch_id=launch_id), now=at(minute)))
    registry.transition(
        launch_id,
        attempt=1,
        sources={Status.REGISTERED},
        target=Status.FAILED,
        now=at(minute),
        set_values={"error_code": "OutOfMemoryError"},
    )


# --- the view ------------------------------------------------------------------------------------------


def test_the_view_shows_the_request_and_hides_bookkeeping() -> None:
    values = {**registered(), "status_rank": 10}

    shown = view(values)

    assert shown["request"] == json.loads(values["request_json"])
    assert not {"request_json", "dedupe_key", "status_rank"} & set(shown)
    assert shown["launch_id"] == LAUNCH_ID


def test_a_view_without_a_stored_request_has_none() -> None:
    assert "request" not in view({"launch_id": "rejected-1", "status": "FAILED"})


# --- list queries --------------------------------------------------------------------------------------


def test_a_list_query_needs_a_status_or_a_workflow_type() -> None:
    with pytest.raises(InvalidLaunchConfigError) as raised:
        ListQuery.parse({})

    assert str(raised.value) == (
        "status: required unless workflow_type is given (one of REGISTERED, WAITING, READY, LAUNCHING, "
        "RUNNING, COMPLETE, FAILED, RETRY_REQUESTED)"
    )


def test_a_list_query_by_workflow_type_with_or_without_a_status() -> None:
    assert ListQuery.parse({"workflow_type": "nextflow"}) == ListQuery(None, 50, None, "nextflow")
    assert ListQuery.parse({"workflow_type": "snakemake", "status": "FAILED", "limit": "5"}) == ListQuery(
        "FAILED", 5, None, "snakemake"
    )


@pytest.mark.parametrize(
    ("params", "reason"),
    [
        ({"status": "failed"}, "status: 'failed' is not one of"),
        ({"status": "FAILED", "limit": "ten"}, "limit: not an integer"),
        ({"status": "FAILED", "limit": "0"}, "limit: must be between 1 and 100"),
        ({"status": "FAILED", "limit": "101"}, "limit: must be between 1 and 100"),
        (
            {"workflow_type": "cromwell"},
            "workflow_type: 'cromwell' is not one of snakemake, nextflow, container, regenie",
        ),
        ({"workflow_type": "nextflow", "status": "done"}, "status: 'done' is not one of"),
    ],
)
def test_invalid_list_queries_are_refused(params: dict[str, str], reason: str) -> None:
    with pytest.raises(InvalidLaunchConfigError, match=reason):
        ListQuery.parse(params)


def test_a_list_query_defaults_to_50() -> None:
    assert ListQuery.parse({"status": "RUNNING"}) == ListQuery("RUNNING", 50, None)
    assert ListQuery.parse({"status": "FAILED", "limit": "2", "next_token": "t"}) == ListQuery(
        "FAILED", 2, "t"
    )


def test_listing_pages_through_the_launches_of_a_status(genomics_core: Genomics) -> None:
    # Given three FAILED launches and one that is not
    registry = genomics_core.registry()
    for index in range(3):
        failed_launch(registry, f"launch-{index}", minute=index)
    registry.create(registered(document(launch_id="other")))
    launches = api(genomics_core)

    # When they are listed two at a time
    first = launches.list(ListQuery("FAILED", 2, None))
    second = launches.list(ListQuery("FAILED", 2, first["next_token"]))

    # Then the FAILED ones come newest first, across pages
    ids = [item["launch_id"] for item in first["launches"] + second["launches"]]
    assert ids == ["launch-2", "launch-1", "launch-0"]
    assert first["next_token"] is not None
    assert second["next_token"] is None
    assert "request_json" not in first["launches"][0]


def nextflow_launch(registry: LaunchRegistry, launch_id: str, minute: float, *, failed: bool = False) -> None:
    config = document(
        launch_id=launch_id, workflow_type="nextflow", parameters={"pipeline": "nf-core/rnaseq"}
    )
    registry.create(registered(config, now=at(minute)))
    if failed:
        registry.transition(
            launch_id, attempt=1, sources={Status.REGISTERED}, target=Status.FAILED, now=at(minute + 30)
        )


def test_listing_pages_through_the_launches_of_a_workflow_type(genomics_core: Genomics) -> None:
    # Given three Nextflow launches and a Snakemake one
    registry = genomics_core.registry()
    for index in range(3):
        nextflow_launch(registry, f"nf-{index}", minute=index)
    registry.create(registered(document(launch_id="smk-1"), now=at(5)))
    launches = api(genomics_core)

    # When the Nextflow ones are listed two at a time
    first = launches.list(ListQuery(None, 2, None, "nextflow"))
    second = launches.list(ListQuery(None, 2, first["next_token"], "nextflow"))

    # Then they come newest first (by creation), across pages, and nothing else
    ids = [item["launch_id"] for item in first["launches"] + second["launches"]]
    assert ids == ["nf-2", "nf-1", "nf-0"]
    assert set(json.loads(first["next_token"])) == {"launch_id", "workflow_type", "created_at"}
    assert second["next_token"] is None


def test_a_workflow_type_listing_is_filtered_by_status(genomics_core: Genomics) -> None:
    # Given Nextflow launches, one of them FAILED, and a FAILED Snakemake launch
    registry = genomics_core.registry()
    nextflow_launch(registry, "nf-ok", minute=1)
    nextflow_launch(registry, "nf-failed", minute=2, failed=True)
    failed_launch(registry, "smk-failed", minute=3)

    # When the FAILED Nextflow launches are listed
    page = api(genomics_core).list(ListQuery("FAILED", 10, None, "nextflow"))

    # Then only that one comes back
    assert [item["launch_id"] for item in page["launches"]] == ["nf-failed"]
    assert page["next_token"] is None


@pytest.mark.parametrize(
    "token",
    [
        '{"launch_id": "x", "status": "FAILED", "updated_at": "2026"}',  # a status query's token
        '{"launch_id": "x", "workflow_type": "snakemake", "created_at": "2026"}',  # another type's
        '{"launch_id": "x", "workflow_type": "nextflow", "created_at": ""}',
    ],
)
def test_a_workflow_type_token_this_api_did_not_issue_is_refused(genomics_core: Genomics, token: str) -> None:
    with pytest.raises(InvalidLaunchConfigError, match=r"^next_token: not a token this API issued$"):
        api(genomics_core).list(ListQuery(None, 10, token, "nextflow"))


def test_get_launches_by_workflow_type_over_http(genomics_core: Genomics) -> None:
    # Given a Nextflow launch and a Snakemake one
    registry = genomics_core.registry()
    nextflow_launch(registry, "nf-1", minute=1)
    registry.create(registered(document(launch_id="smk-1"), now=at(2)))

    # When GET /launches?workflow_type=nextflow is called
    response = genomics_core.invoke(
        "handle_launch_api", load_event("genomics", "handle_launch_api", "list_by_workflow_type")
    )

    # Then the Nextflow launch is listed
    assert response["statusCode"] == 200
    body = json.loads(response["body"])
    assert [item["launch_id"] for item in body["launches"]] == ["nf-1"]
    assert body["next_token"] is None


@pytest.mark.parametrize(
    "token",
    [
        "not json",
        "[1, 2]",
        "42",
        '{"launch_id": "x"}',
        '{"launch_id": "x", "status": "FAILED", "updated_at": 5}',
        '{"launch_id": "", "status": "FAILED", "updated_at": "2026"}',
        '{"launch_id": "x", "status": "RUNNING", "updated_at": "2026"}',
        '{"launch_id": "x", "status": "FAILED", "updated_at": "2026", "extra": "y"}',
    ],
)
def test_a_token_this_api_did_not_issue_is_refused(genomics_core: Genomics, token: str) -> None:
    with pytest.raises(InvalidLaunchConfigError, match=r"^next_token: not a token this API issued$"):
        api(genomics_core).list(ListQuery("FAILED", 10, token))


def listed(launches: LaunchesApi, token: str) -> dict[str, Any] | InvalidLaunchConfigError:
    try:
        return launches.list(ListQuery("FAILED", 10, token))
    except InvalidLaunchConfigError as exc:
        return exc


TOKEN_VALUES = st.text(max_size=12) | st.integers() | st.none()
TOKENS = (
    st.text(max_size=80)
    | st.builds(json.dumps, st.dictionaries(st.text(max_size=12), TOKEN_VALUES, max_size=4))
    | st.builds(
        json.dumps,
        st.fixed_dictionaries(
            {
                "launch_id": TOKEN_VALUES,
                "status": st.sampled_from(["FAILED", "RUNNING"]),
                "updated_at": TOKEN_VALUES,
            }
        ),
    )
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(token=TOKENS)
def test_any_next_token_lists_or_is_refused(genomics_core: Genomics, token: str) -> None:
    # Given any next_token a caller might send (an issued one is a JSON object of the index keys)
    # When the list is asked for
    result = listed(api(genomics_core), token)

    # Then it answers, or refuses with the typed error; never anything else
    if isinstance(result, InvalidLaunchConfigError):
        assert str(result) == "next_token: not a token this API issued"
    else:
        assert result["launches"] == []


# --- get -----------------------------------------------------------------------------------------------


def test_get_shows_a_launch(genomics_core: Genomics) -> None:
    genomics_core.registry().create(registered())

    shown = api(genomics_core).get(LAUNCH_ID)

    assert (shown["launch_id"], shown["status"], shown["created_at"]) == (
        LAUNCH_ID,
        "REGISTERED",
        NOW.isoformat(),
    )
    assert "restore" not in shown


def test_get_of_an_unknown_launch_is_not_found(genomics_core: Genomics) -> None:
    with pytest.raises(LaunchNotFoundError, match="no launch nope"):
        api(genomics_core).get("nope")


def restore_meta(genomics: Genomics, **values: Any) -> None:
    item = {"pk": request_key(LAUNCH_ID), "sk": META, **values}
    client("dynamodb").put_item(
        TableName=genomics.stack.ref("RestoreTable"),
        Item={name: to_attribute(value) for name, value in item.items()},
    )


def test_get_of_a_waiting_launch_shows_the_restore_progress(genomics_core: Genomics) -> None:
    # Given a launch waiting for its restore, and the restore request's progress
    registry = genomics_core.registry()
    registry.create(registered(restore_check=True))
    registry.transition(
        LAUNCH_ID,
        attempt=1,
        sources={Status.REGISTERED},
        target=Status.WAITING,
        now=at(1),
        set_values={"restore_request_uri": "s3://requests/restore/wf-2024-0042.json"},
    )
    restore_meta(
        genomics_core,
        status="RESTORING",
        total=10,
        remaining=4,
        restored=6,
        unsupported=1,
        expired=2,
        attempt=1,
        tier="Bulk",
        internal="x",
        reconcile_cursor="row-7",
    )

    shown = api(genomics_core).get(LAUNCH_ID)

    # Then the progress counters are shown (objects the restore cannot handle and copies that expired
    # and were restored again included), the request's bookkeeping is not
    assert shown["restore"] == {
        "status": "RESTORING",
        "total": 10,
        "remaining": 4,
        "restored": 6,
        "unsupported": 1,
        "expired": 2,
        "attempt": 1,
        "tier": "Bulk",
    }


def test_a_waiting_launch_without_restore_progress_yet_shows_none(genomics_core: Genomics) -> None:
    registry = genomics_core.registry()
    registry.create(registered())
    registry.transition(
        LAUNCH_ID,
        attempt=1,
        sources={Status.REGISTERED},
        target=Status.WAITING,
        now=at(1),
        set_values={"restore_request_uri": "s3://requests/restore/wf-2024-0042.json"},
    )

    assert "restore" not in api(genomics_core).get(LAUNCH_ID)


# --- retry ---------------------------------------------------------------------------------------------


def test_a_failed_launch_can_be_retried(genomics_core: Genomics) -> None:
    failed_launch(genomics_core.registry())

    answer = api(genomics_core).retry(LAUNCH_ID)

    assert answer == {"launch_id": LAUNCH_ID, "status": "RETRY_REQUESTED", "attempt": 2}
    item = genomics_core.item(LAUNCH_ID)
    assert (item["status"], item["attempt"]) == ("RETRY_REQUESTED", 1)  # the launcher starts attempt 2


@pytest.mark.parametrize("status", [Status.REGISTERED, Status.COMPLETE])
def test_only_failed_launches_can_be_retried(genomics_core: Genomics, status: Status) -> None:
    registry = genomics_core.registry()
    registry.create(registered())
    if status is Status.COMPLETE:
        registry.transition(
            LAUNCH_ID, attempt=1, sources={Status.REGISTERED}, target=Status.LAUNCHING, now=at(1)
        )
        registry.transition(
            LAUNCH_ID, attempt=1, sources={Status.LAUNCHING}, target=Status.COMPLETE, now=at(2)
        )

    with pytest.raises(RetryNotAllowedError) as raised:
        api(genomics_core).retry(LAUNCH_ID)

    assert str(raised.value) == f"launch {LAUNCH_ID} is {status}; only FAILED launches can be retried"


def test_retrying_an_unknown_launch_is_not_found(genomics_core: Genomics) -> None:
    with pytest.raises(LaunchNotFoundError):
        api(genomics_core).retry("nope")


def test_a_retry_racing_another_is_refused(genomics_core: Genomics, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a FAILED launch read by two retry requests, of which the other was first
    registry = genomics_core.registry()
    failed_launch(registry)
    launches = api(genomics_core)
    stale = launches.registry.get(LAUNCH_ID)
    registry.transition(
        LAUNCH_ID, attempt=1, sources={Status.FAILED}, target=Status.RETRY_REQUESTED, now=at(2)
    )
    monkeypatch.setattr(launches.registry, "get", lambda launch_id: stale)

    with pytest.raises(RetryNotAllowedError, match="changed while the retry was requested"):
        launches.retry(LAUNCH_ID)
