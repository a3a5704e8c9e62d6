"""Registration of launch requests (config uploads, Snakefile bundles, POST /launches) into the launch
table built from the template, with the register function's template settings and SNS notices."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest
from moto.events.models import EventPattern
from moto.events.utils import EventMessageType

from blueprints.genomics import wiring
from blueprints.genomics.errors import (
    InvalidLaunchConfigError,
    LaunchConflictError,
    MissingRequiredParametersError,
)
from blueprints.genomics.records import Source
from blueprints.genomics.registration import Registered, Registrar, Result
from blueprints.genomics.settings import RegisterSettings
from blueprints.genomics.status import Status
from tests.support.paths import TEMPLATES
from tests.support.template import load_template
from tests.unit.genomics.builders import (
    DATA_PATH,
    DELETE,
    LAUNCH_ID,
    NOW,
    REQUEST_BUCKET,
    RESULTS_BUCKET,
    SHEET_URI,
    at,
    document,
    source,
)
from tests.unit.genomics.conftest import Genomics

CALLER = "arn:aws:sts::123456789012:assumed-role/Scientist/scientist"


def registrar(genomics: Genomics, **overrides: str) -> Registrar:
    env = genomics.use_function("register_launch", **overrides)
    return wiring.registrar(RegisterSettings.from_env(env))


def upload(
    genomics: Genomics,
    body: dict[str, Any] | bytes,
    key: str = f"launches/{LAUNCH_ID}.json",
    version: str = "v1",
    **overrides: str,
) -> Result:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    return registrar(genomics, **overrides).register_upload(source(key, version), lambda: data, NOW)


def rejected_id(origin: Source) -> str:
    return f"rejected-{hashlib.sha256(origin.dedupe_key.encode()).hexdigest()[:16]}"


# --- config uploads --------------------------------------------------------------------------------


def test_an_uploaded_json_config_registers_one_launch_with_defaults(genomics_core: Genomics) -> None:
    # Given the sample configuration uploaded as launches/<id>.json
    env = genomics_core.use_function("register_launch")

    # When it is registered
    result = upload(genomics_core, document())

    # Then one REGISTERED item carries the request and the deployment's defaults
    assert result == Result(Registered.CREATED, LAUNCH_ID)
    item = genomics_core.item(LAUNCH_ID)
    assert (item["status"], item["attempt"], item["workflow_type"]) == ("REGISTERED", 1, "snakemake")
    assert (item["compute_service"], item["engine_version"]) == ("fargate", env["DEFAULT_SNAKEMAKE_VERSION"])
    assert item["output_s3_path"] == f"s3://{RESULTS_BUCKET}/{LAUNCH_ID}/"
    assert item["restore_check"] is (env["RESTORE_CHECK_DEFAULT"] == "true")
    assert (item["s3_data_path"], item["config_s3_uri"]) == (DATA_PATH, SHEET_URI)
    assert item["config_source"] == {
        "kind": "s3",
        "bucket": REQUEST_BUCKET,
        "key": f"launches/{LAUNCH_ID}.json",
        "version_id": "v1",
        "etag": "d41d8cd98f00b204e9800998ecf8427e",
    }
    assert json.loads(item["request_json"]) == {**document(), "environment": {}}
    assert item["created_at"] == item["updated_at"] == NOW.isoformat()
    assert "requested_by" not in item
    assert genomics_core.notices() == []


def test_an_uploaded_yaml_config_registers_too(genomics_core: Genomics) -> None:
    body = (
        f"launch_id: {LAUNCH_ID}\nworkflow_type: nextflow\ns3_data_path: {DATA_PATH}\n"
        f"config_s3_uri: {SHEET_URI}\ncompute_service: batch\nparameters:\n  pipeline: nf-core/rnaseq\n"
    ).encode()
    env = genomics_core.use_function("register_launch")

    result = upload(genomics_core, body, key=f"launches/{LAUNCH_ID}.yaml")

    assert result.outcome is Registered.CREATED
    item = genomics_core.item(LAUNCH_ID)
    assert (item["workflow_type"], item["compute_service"]) == ("nextflow", "batch")
    assert item["engine_version"] == env["DEFAULT_NEXTFLOW_VERSION"]


def test_explicit_settings_win_over_defaults(genomics_core: Genomics) -> None:
    config = document(
        engine_version="7.32.4",
        output_s3_path="s3://genomics-results-example/custom/",
        restore_check=False,
        requested_by="pipeline-bot",
        snakefile_s3_uri="s3://genomics-data-example/wf/Snakefile",
    )

    upload(genomics_core, config)

    item = genomics_core.item(LAUNCH_ID)
    assert (item["engine_version"], item["output_s3_path"]) == (
        "7.32.4",
        "s3://genomics-results-example/custom/",
    )
    assert (item["restore_check"], item["requested_by"]) == (False, "pipeline-bot")
    assert item["snakefile_s3_uri"] == "s3://genomics-data-example/wf/Snakefile"


def test_the_file_stem_is_the_launch_id_when_the_config_has_none(genomics_core: Genomics) -> None:
    result = upload(genomics_core, document(launch_id=DELETE), key="launches/team-a/qc-7.json")

    assert result == Result(Registered.CREATED, "qc-7")
    assert genomics_core.item("qc-7")["status"] == "REGISTERED"


def test_a_duplicate_delivery_of_the_same_upload_registers_once(genomics_core: Genomics) -> None:
    first = upload(genomics_core, document())
    again = upload(genomics_core, document())

    assert (first.outcome, again.outcome) == (Registered.CREATED, Registered.DUPLICATE)
    assert len(genomics_core.items()) == 1
    assert genomics_core.notices() == []


def test_the_same_id_from_another_upload_is_rejected_with_a_notice(genomics_core: Genomics) -> None:
    # Given a launch registered from the first version of the upload
    upload(genomics_core, document())

    # When another upload (a new version) names the same launch id
    result = upload(genomics_core, document(parameters={"jobs": 99}), version="v2")

    # Then it is rejected and announced, and the first launch is untouched
    assert (result.outcome, result.launch_id, result.error_code) == (
        Registered.REJECTED,
        LAUNCH_ID,
        "LaunchConflictError",
    )
    item = genomics_core.item(LAUNCH_ID)
    assert (item["status"], item["config_source"]["version_id"]) == ("REGISTERED", "v1")
    assert json.loads(item["request_json"])["parameters"] == {"jobs": 20}
    [notice] = genomics_core.notices()
    assert notice["subject"] == f"Blueprints genomics launch rejected: {LAUNCH_ID}"
    assert notice["message"]["error_code"] == "LaunchConflictError"
    assert notice["message"]["source"]["version_id"] == "v2"


# --- invalid requests are recorded FAILED ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "code", "message"),
    [
        (
            {"workflow_type": "cromwell"},
            "InvalidLaunchConfigError",
            "workflow_type: Input should be 'snakemake', 'regenie', 'container' or 'nextflow'",
        ),
        (
            {"config_s3_uri": DELETE},
            "MissingRequiredParametersError",
            "missing required parameters: config_s3_uri",
        ),
        (
            {"workflow_type": "regenie", "compute_service": "fargate"},
            "InvalidLaunchConfigError",
            "compute_service: regenie runs on stepfunctions, not fargate",
        ),
    ],
)
def test_an_invalid_config_is_recorded_failed_with_the_reason_and_announced(
    genomics_core: Genomics, changes: dict[str, Any], code: str, message: str
) -> None:
    result = upload(genomics_core, document(**changes))

    assert result == Result(Registered.REJECTED, LAUNCH_ID, code, message)
    item = genomics_core.item(LAUNCH_ID)
    assert (item["status"], item["error_code"], item["error_message"]) == ("FAILED", code, message)
    assert item["status_history"] == [{"status": "FAILED", "at": NOW.isoformat(), "attempt": 1}]
    [notice] = genomics_core.notices()
    assert notice["message"] == {
        "launch_id": LAUNCH_ID,
        "error_code": code,
        "error_message": message,
        "source": source().as_map(),
    }
    assert notice["attributes"] == {"blueprint": "genomics"}


def test_an_undecodable_upload_is_recorded_under_its_file_stem(genomics_core: Genomics) -> None:
    result = upload(genomics_core, b'{"launch_id": "wf-2024-0042",')

    assert (result.outcome, result.launch_id) == (Registered.REJECTED, LAUNCH_ID)
    assert result.error_message == (
        f"launches/{LAUNCH_ID}.json: not valid JSON (Expecting property name enclosed in double quotes "
        "at line 1 column 30)"
    )
    assert genomics_core.item(LAUNCH_ID)["error_code"] == "InvalidLaunchConfigError"


def test_a_config_that_vanished_before_it_was_read_is_recorded_failed(genomics_core: Genomics) -> None:
    def vanished() -> bytes:
        raise MissingRequiredParametersError(
            f"configuration s3://{REQUEST_BUCKET}/x cannot be read (NoSuchKey)"
        )

    result = registrar(genomics_core).register_upload(source(), vanished, NOW)

    assert (result.outcome, result.error_code) == (Registered.REJECTED, "MissingRequiredParametersError")


def test_a_request_without_any_launch_id_is_recorded_under_a_hash_and_announced(
    genomics_core: Genomics,
) -> None:
    # Given an upload whose name is no launch id and whose document has none
    key = "launches/my config.json"

    # When it is registered (twice: a duplicate delivery)
    results = [upload(genomics_core, document(launch_id=DELETE), key=key) for _ in range(2)]

    # Then one FAILED item under rejected-<hash of the source> records it, and one notice says why
    expected = rejected_id(source(key))
    assert [result.launch_id for result in results] == [expected, expected]
    item = genomics_core.item(expected)
    assert (item["status"], item["error_code"]) == ("FAILED", "MissingRequiredParametersError")
    assert item["config_source"]["key"] == key
    [notice] = genomics_core.notices()
    assert notice["message"]["launch_id"] == expected


def test_a_launch_id_that_is_not_valid_is_not_used_as_a_key(genomics_core: Genomics) -> None:
    result = upload(genomics_core, document(launch_id="bad id!"))

    assert result.launch_id == rejected_id(source())
    assert result.error_message.startswith("launch_id: String should match pattern")


@pytest.mark.parametrize(
    "key",
    ["launches/README.md", "launches/wf-2024-0044.txt", "launches/team/samples.csv", "launches/x.json.bak"],
)
def test_a_non_config_file_under_launches_is_ignored_without_a_notice(
    genomics_core: Genomics, key: str
) -> None:
    # Given a file under launches/ that is not a .json, .yaml or .yml configuration
    def unread() -> bytes:
        raise AssertionError("a file that is not a configuration is not read")

    # When its upload reaches registration (the rule's suffix filter would not even deliver it)
    result = registrar(genomics_core).register_upload(source(key), unread, NOW)

    # Then it is skipped: no item, nobody paged
    assert result == Result(Registered.SKIPPED, "")
    assert genomics_core.items() == []
    assert genomics_core.notices() == []


@pytest.mark.parametrize(
    ("key", "delivered"),
    [
        ("launches/wf-1.json", True),
        ("launches/wf-1.yaml", True),
        ("launches/team/wf-1.yml", True),
        ("snakefiles/qc-7.zip", True),
        ("snakefiles/qc-7/Snakefile", True),
        ("launches/README.md", False),
        ("launches/wf-1.json.bak", False),
        ("launches/wf-1.JSON", False),
        ("artifacts/launches/wf-1/a1/params.json", False),
        ("restore/wf-1.json", False),
    ],
)
def test_the_upload_rule_delivers_configurations_and_snakefile_uploads_only(
    key: str, delivered: bool
) -> None:
    # Given the register function's EventBridge rule as the template declares it
    pattern = upload_rule_pattern()
    event: EventMessageType = {
        "source": "aws.s3",
        "detail-type": "Object Created",
        "detail": {"bucket": {"name": REQUEST_BUCKET}, "object": {"key": key}},
    }

    # Then only configuration files under launches/ and uploads under snakefiles/ reach the function
    assert EventPattern.load(json.dumps(pattern)).matches_event(event) is delivered


def upload_rule_pattern() -> dict[str, Any]:
    function = load_template(TEMPLATES / "genomics.yaml")["Resources"]["RegisterLaunchFunction"]
    pattern: dict[str, Any] = function["Properties"]["Events"]["LaunchRequests"]["Properties"]["Pattern"]
    assert pattern["detail"]["bucket"]["name"] == [{"Ref": "LaunchRequestBucket"}]
    return {**pattern, "detail": {**pattern["detail"], "bucket": {"name": [REQUEST_BUCKET]}}}


def test_restore_checking_is_refused_where_restore_is_not_deployed(genomics_core: Genomics) -> None:
    result = upload(genomics_core, document(restore_check=True), RESTORE_ENABLED="false")

    assert (result.outcome, result.error_message) == (
        Registered.REJECTED,
        "restore_check: the Glacier restore blueprint is not deployed",
    )


def test_without_restore_deployed_no_launch_checks_by_default(genomics_core: Genomics) -> None:
    # Given a deployment without the restore flow, whose default would check
    upload(genomics_core, document(), RESTORE_ENABLED="false", RESTORE_CHECK_DEFAULT="true")

    # Then a launch that does not ask is not sent to a restore flow that does not exist
    assert genomics_core.item(LAUNCH_ID)["restore_check"] is False


@pytest.mark.parametrize(("default", "expected"), [("true", True), ("false", False)])
def test_with_restore_deployed_the_default_decides(
    genomics_core: Genomics, default: str, expected: bool
) -> None:
    upload(genomics_core, document(), RESTORE_ENABLED="true", RESTORE_CHECK_DEFAULT=default)

    assert genomics_core.item(LAUNCH_ID)["restore_check"] is expected


# --- Snakefile bundles -----------------------------------------------------------------------------------


def test_a_snakefile_bundle_registers_with_default_settings_without_reading(genomics_core: Genomics) -> None:
    key = "snakefiles/qc-cohort7/Snakefile"

    def unread() -> bytes:
        raise AssertionError("a Snakefile bundle is not read at registration")

    result = registrar(genomics_core).register_upload(source(key), unread, NOW)

    assert result == Result(Registered.CREATED, "qc-cohort7")
    item = genomics_core.item("qc-cohort7")
    assert (item["workflow_type"], item["compute_service"], item["status"]) == (
        "snakemake",
        "fargate",
        "REGISTERED",
    )
    assert item["s3_data_path"] == f"s3://{REQUEST_BUCKET}/snakefiles/qc-cohort7/"
    assert item["snakefile_s3_uri"] == item["config_s3_uri"] == f"s3://{REQUEST_BUCKET}/{key}"


@pytest.mark.parametrize(
    "key",
    [
        "snakefiles/qc-cohort7/samples.csv",
        "snakefiles/qc-cohort7/rules/common.smk",
        "snakefiles/qc-cohort7/common.smk",
        "snakefiles/qc-cohort7/workflow/Snakefile",
        "snakefiles/qc-cohort7/envs/tools.zip",
        "snakefiles/Snakefile",
    ],
)
def test_files_of_a_bundle_and_other_shapes_are_skipped(genomics_core: Genomics, key: str) -> None:
    # Given a file under snakefiles/ that is not a bundle (only snakefiles/<id>.smk|.tar.gz|.tgz|.zip
    # and snakefiles/<id>/Snakefile are)
    # When it is uploaded
    result = upload(genomics_core, b"sample\nS1\n", key=key)

    # Then no launch is registered or rejected, and nobody is paged

    assert result == Result(Registered.SKIPPED, "")
    assert genomics_core.items() == []
    assert genomics_core.notices() == []


def test_a_bundle_without_a_valid_id_is_rejected(genomics_core: Genomics) -> None:
    key = "snakefiles/qc cohort7/Snakefile"

    result = upload(genomics_core, b"", key=key)

    assert (result.outcome, result.launch_id) == (Registered.REJECTED, rejected_id(source(key)))
    assert result.error_message == f"{key}: no valid launch id in the path"


# --- API requests ------------------------------------------------------------------------------------------


def test_an_api_request_is_registered_for_the_caller(genomics_core: Genomics) -> None:
    result = registrar(genomics_core).register_request(document(requested_by="someone-else"), CALLER, NOW)

    assert result == Result(Registered.CREATED, LAUNCH_ID)
    item = genomics_core.item(LAUNCH_ID)
    assert item["requested_by"] == CALLER
    assert item["config_source"]["kind"] == "api"
    assert len(item["config_source"]["request_id"]) == 32


def test_an_identical_api_resubmission_is_a_duplicate(genomics_core: Genomics) -> None:
    api = registrar(genomics_core)

    outcomes = [api.register_request(document(), CALLER).outcome for _ in range(2)]

    assert outcomes == [Registered.CREATED, Registered.DUPLICATE]


def test_an_invalid_api_request_is_refused_not_recorded(genomics_core: Genomics) -> None:
    with pytest.raises(InvalidLaunchConfigError, match=r"^workflow_type: "):
        registrar(genomics_core).register_request(document(workflow_type="cromwell"), CALLER)

    assert genomics_core.items() == []
    assert genomics_core.notices() == []


def test_an_api_request_for_a_taken_id_is_a_conflict(genomics_core: Genomics) -> None:
    api = registrar(genomics_core)
    api.register_request(document(), CALLER)

    with pytest.raises(LaunchConflictError):
        api.register_request(document(parameters={"jobs": 5}), CALLER)


def test_a_batch_launch_id_must_start_as_a_batch_job_name_does(genomics_core: Genomics) -> None:
    # Given a Batch launch whose id starts with an underscore (a valid launch id, an invalid job name)
    body = document(launch_id="_nightly-7", compute_service="batch", workflow_type="container")
    body["parameters"] = {"command": ["echo", "hi"]}

    # When it is uploaded
    result = upload(genomics_core, body, key="launches/_nightly-7.json")

    # Then it is recorded FAILED with the reason, instead of failing later at SubmitJob
    assert (result.outcome, result.error_code) == (Registered.REJECTED, "InvalidLaunchConfigError")
    item = genomics_core.item("_nightly-7")
    assert (item["status"], item["error_code"]) == ("FAILED", "InvalidLaunchConfigError")
    assert "must start with a letter or digit" in item["error_message"]


# --- a fixed upload replaces its rejected version -------------------------------------------------------


def upload_at(genomics: Genomics, body: dict[str, Any], version: str, minute: float, key: str = "") -> Result:
    data = json.dumps(body).encode()
    origin = source(key or f"launches/{LAUNCH_ID}.json", version)
    return registrar(genomics).register_upload(origin, lambda: data, at(minute))


def test_a_fixed_upload_replaces_the_version_never_launched(genomics_core: Genomics) -> None:
    # Given launches/<id>.json rejected at registration (no workflow type: it never launched)
    first = upload_at(genomics_core, document(workflow_type="cromwell"), "v1", minute=0)
    assert (first.outcome, genomics_core.item(LAUNCH_ID)["status"]) == (Registered.REJECTED, "FAILED")

    # When the scientist uploads the fixed file under the same key (a newer version)
    fixed = upload_at(genomics_core, document(), "v2", minute=5)

    # Then the fixed request is registered under the id, a new item (attempt 1, REGISTERED)
    assert fixed == Result(Registered.CREATED, LAUNCH_ID)
    item = genomics_core.item(LAUNCH_ID)
    assert (item["status"], item["attempt"], item["workflow_type"]) == ("REGISTERED", 1, "snakemake")
    assert item["config_source"]["version_id"] == "v2"
    assert [entry["status"] for entry in item["status_history"]] == ["REGISTERED"]
    # and the rejection it replaced is kept for the record; only the rejection paged anyone
    assert item["replaced_rejection"]["dedupe_key"] == source(version="v1").dedupe_key
    assert item["replaced_rejection"]["error_code"] == "InvalidLaunchConfigError"
    assert len(genomics_core.notices()) == 1


def test_the_rejected_version_delivered_late_leaves_the_fixed_launch(genomics_core: Genomics) -> None:
    # Given a rejected version replaced by its fixed version
    upload_at(genomics_core, document(workflow_type="cromwell"), "v1", minute=0)
    upload_at(genomics_core, document(), "v2", minute=5)

    # When the rejected version's event is delivered again
    late = upload_at(genomics_core, document(workflow_type="cromwell"), "v1", minute=0)

    # Then it is refused and the fixed launch stays
    assert (late.outcome, late.launch_id) == (Registered.REJECTED, LAUNCH_ID)
    assert genomics_core.item(LAUNCH_ID)["config_source"]["version_id"] == "v2"


def failed_after_launch(genomics: Genomics) -> None:
    upload_at(genomics, document(), "v1", minute=0)
    genomics.registry().transition(
        LAUNCH_ID, attempt=1, sources={Status.REGISTERED}, target=Status.FAILED, now=at(1)
    )


@pytest.mark.parametrize(
    ("given", "key", "minute"),
    [
        ("launched", "", 5),  # FAILED after it was registered: a launch with a history keeps its id
        ("rejected", "launches/team/wf-2024-0042.json", 5),  # another object naming the same id
        ("rejected", "", -5),  # an upload older than the rejection
        ("retried", "", 5),  # a rejection retried by hand is no longer "never launched"
    ],
)
def test_only_a_newer_upload_of_the_same_object_replaces_a_rejection(
    genomics_core: Genomics, given: str, key: str, minute: float
) -> None:
    # Given a FAILED item under the id that is not (or not only) a rejection of this object
    if given == "launched":
        failed_after_launch(genomics_core)
    else:
        upload_at(genomics_core, document(workflow_type="cromwell"), "v1", minute=0)
    if given == "retried":
        genomics_core.registry().transition(
            LAUNCH_ID,
            attempt=1,
            sources={Status.FAILED},
            target=Status.RETRY_REQUESTED,
            now=at(1),
        )
    before = genomics_core.item(LAUNCH_ID)

    # When a valid upload names the id
    result = upload_at(genomics_core, document(), "v2", minute=minute, key=key)

    # Then it is refused as a conflict and the item is untouched
    assert (result.outcome, result.error_code) == (Registered.REJECTED, "LaunchConflictError")
    assert genomics_core.item(LAUNCH_ID) == before
