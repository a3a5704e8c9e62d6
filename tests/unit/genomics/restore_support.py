"""Test support of the Glacier restore flow: object and request builders, fresh clients, and the restore
world in moto (the launch table, the restore table, the restore queue and its DLQ of
templates/genomics.yaml, an archive bucket and the alerts topic with a queue reading its notices).

Only the resources the restore flow touches are created (``deploy(only=...)``), which keeps a world
well under a second; the handlers run with their environments as the template resolves them. The code
under test gets fresh clients (so hooks and stubs registered on them end with the test).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import boto3
import botocore.loaders
import botocore.session
import pytest

from blueprints.genomics import wiring
from blueprints.genomics.adapters import SnsNotifier, SqsChunkQueue
from blueprints.genomics.records import Launch, from_item
from blueprints.genomics.registry import LaunchRegistry
from blueprints.genomics.restore import ObjectState
from blueprints.genomics.restore_flow import RestoreConfig, RestoreFlow
from blueprints.genomics.restore_s3 import RestoreS3
from blueprints.genomics.restore_store import META, RestoreStore, request_key
from blueprints.genomics.status import Status
from tests.support.cfn import REGION
from tests.support.handlers import load_handler
from tests.support.lambda_context import FakeLambdaContext
from tests.support.moto_stack import MotoStack, deploy
from tests.unit.genomics.builders import LAUNCH_ID, NOW, REQUEST_BUCKET, document, registered
from tests.unit.genomics.conftest import (
    GENOMICS_TEMPLATE,
    PHYSICAL_NAMES,
    STACK_NAME,
    Genomics,
    Network,
    client,
    shared_parameters,
    subscribe_queue,
)

ARCHIVE_BUCKET = "genomics-archive-example"  # the bucket of the sample chunk and completion events
ARCHIVE_PATH = f"s3://{ARCHIVE_BUCKET}/cohort7/"
RESTORE_KEY = f"restore/{LAUNCH_ID}.json"
RESOURCES = frozenset({"LaunchTable", "RestoreTable", "RestoreQueue", "RestoreDLQ"})
FUNCTIONS = {
    "index_restore_request": "IndexRestoreRequestFunction",
    "restore_objects": "RestoreObjectsFunction",
    "record_restore_completion": "RecordRestoreCompletionFunction",
    "reconcile_restores": "ReconcileRestoresFunction",
    "enable_bucket_events": "EnableBucketEventsFunction",
}


# --- builders ----------------------------------------------------------------------------------------


def archived(
    *,
    key: str = "cohort7/reads/S1.fastq.gz",
    storage_class: str = "GLACIER",
    size: int = 1024,
    bucket: str = ARCHIVE_BUCKET,
    version_id: str | None = None,
    archive_status: str | None = None,
    restore_in_progress: bool | None = None,
    restore_expiry: Any = None,
) -> ObjectState:
    """An object as listed (Flexible Retrieval, never restored, unless told otherwise)."""
    return ObjectState(
        bucket, key, version_id, size, storage_class, archive_status, restore_in_progress, restore_expiry
    )


def request_body(**fields: Any) -> bytes:
    """A restore request document for the archive path, with ``fields`` added or replaced."""
    document: dict[str, Any] = {"s3_urls": [ARCHIVE_PATH], **fields}
    return json.dumps(document).encode()


def chunk_body(*objects: ObjectState, request_id: str = LAUNCH_ID, tier: str = "Bulk", days: int = 7) -> str:
    """A restore queue message as the index step writes it."""
    return json.dumps(
        {
            "request_id": request_id,
            "tier": tier,
            "days": days,
            "objects": [
                {
                    "bucket": obj.bucket,
                    "key": obj.key,
                    "version_id": obj.version_id,
                    "storage_class": obj.storage_class,
                    "archive_status": obj.archive_status,
                }
                for obj in objects
            ],
        }
    )


# --- clients -----------------------------------------------------------------------------------------

_LOADER = botocore.loaders.create_loader()


@functools.cache
def _session() -> boto3.session.Session:
    core = botocore.session.get_session()
    core.register_component("data_loader", _LOADER)  # service models read once for the run
    return boto3.session.Session(botocore_session=core)


def fresh_client(service: str) -> Any:
    """A new client (stubs and hooks registered on it die with it), quick to create."""
    return _session().client(service, region_name=REGION)  # type: ignore[call-overload]


# --- the world ---------------------------------------------------------------------------------------


@dataclass
class RestoreWorld:
    stack: MotoStack
    genomics: Genomics  # the stack's readers (launch items, notices)
    monkeypatch: pytest.MonkeyPatch
    clients: dict[str, Any] = field(default_factory=dict)

    @property
    def table_name(self) -> str:
        return self.stack.ref("RestoreTable")

    @property
    def queue_url(self) -> str:
        return self.stack.ref("RestoreQueue")

    @property
    def topic_arn(self) -> str:
        return self.stack.resolver.parameters["AlertsTopicArn"]

    def client(self, service: str) -> Any:
        """The code's client of ``service`` in this test (fresh, then kept for the test)."""
        if service not in self.clients:
            self.clients[service] = fresh_client(service)
        return self.clients[service]

    def store(self) -> RestoreStore:
        return RestoreStore(self.table_name, client=self.client("dynamodb"))

    def registry(self) -> LaunchRegistry:
        return LaunchRegistry(self.stack.ref("LaunchTable"), client=self.client("dynamodb"))

    def flow(
        self,
        *,
        allow_partial: bool = False,
        now: Callable[[], datetime] = lambda: NOW,
        max_attempts: int = 3,
    ) -> RestoreFlow:
        """The flow as the composition root wires it, on this test's clients."""
        return RestoreFlow(
            self.store(),
            RestoreS3(self.client("s3")),
            self.registry(),
            SqsChunkQueue(self.queue_url, self.client("sqs")),
            SnsNotifier(self.topic_arn, self.client("sns")),
            RestoreConfig(allow_partial=allow_partial, max_attempts=max_attempts),
            now,
        )

    # --- given -----------------------------------------------------------------------------------
    def waiting_launch(self, launch_id: str = LAUNCH_ID, *, status: Status = Status.WAITING) -> None:
        """A launch on the archive path that the launcher sent to the restore flow (or left as ``status``)."""
        registry = self.registry()
        assert registry.create(
            registered(document(launch_id=launch_id, s3_data_path=ARCHIVE_PATH), restore_check=True)
        )
        path = {
            Status.REGISTERED: [],
            Status.WAITING: [Status.WAITING],
            Status.READY: [Status.WAITING, Status.READY],
        }
        previous = Status.REGISTERED
        for target in path[status]:
            moved = registry.transition(launch_id, attempt=1, sources={previous}, target=target, now=NOW)
            assert moved is not None
            previous = target

    def put_objects(
        self, keys: Iterable[str], storage_class: str = "GLACIER", body: bytes = b"ACGT" * 4
    ) -> list[str]:
        s3 = client("s3")
        written = []
        for key in keys:
            s3.put_object(Bucket=ARCHIVE_BUCKET, Key=key, Body=body, StorageClass=storage_class)
            written.append(key)
        return written

    def upload_request(self, body: bytes, key: str = RESTORE_KEY) -> dict[str, Any]:
        response: dict[str, Any] = client("s3").put_object(Bucket=REQUEST_BUCKET, Key=key, Body=body)
        return response

    # --- then ------------------------------------------------------------------------------------
    def messages(self) -> list[dict[str, Any]]:
        """Every chunk on the restore queue (received once: they stay invisible for the test)."""
        sqs = client("sqs")
        found: list[dict[str, Any]] = []
        while True:
            batch = sqs.receive_message(
                QueueUrl=self.queue_url, MaxNumberOfMessages=10, VisibilityTimeout=900
            ).get("Messages", [])
            if not batch:
                return found
            found += [json.loads(message["Body"]) for message in batch]

    def meta(self, request_id: str = LAUNCH_ID) -> dict[str, Any]:
        item = (
            client("dynamodb")
            .get_item(
                TableName=self.table_name,
                Key={"pk": {"S": request_key(request_id)}, "sk": {"S": META}},
                ConsistentRead=True,
            )
            .get("Item")
        )
        return from_item(item) if item else {}

    def rows(self, request_id: str = LAUNCH_ID) -> dict[str, dict[str, Any]]:
        """Every object row of a request, by object key."""
        found: dict[str, dict[str, Any]] = {}
        request: dict[str, Any] = {
            "TableName": self.table_name,
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :obj)",
            "ExpressionAttributeValues": {":pk": {"S": request_key(request_id)}, ":obj": {"S": "OBJ#"}},
        }
        while True:
            page = client("dynamodb").query(**request)
            for item in page["Items"]:
                row = from_item(item)
                found[row["key"]] = row
            if "LastEvaluatedKey" not in page:
                return found
            request["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def statuses(self, request_id: str = LAUNCH_ID) -> dict[str, str]:
        return {key: row["restore_status"] for key, row in self.rows(request_id).items()}

    def launch(self, launch_id: str = LAUNCH_ID) -> Launch:
        return self.genomics.launch(launch_id)

    def notices(self) -> list[dict[str, Any]]:
        return self.genomics.notices()

    # --- handlers --------------------------------------------------------------------------------
    def invoke(
        self, function: str, event: dict[str, Any], *, remaining_millis: int = 55_000, **overrides: str
    ) -> Any:
        """Invoke a restore handler in process with its template environment (plus ``overrides``)."""
        logical_id = FUNCTIONS[function]
        env = self.stack.function_env(logical_id)
        env.update(overrides)
        for name, value in env.items():
            self.monkeypatch.setenv(name, value)
        module = load_handler("genomics", function)
        module.SETTINGS.reset()
        wiring.reset()
        context = FakeLambdaContext(
            function_name=f"{STACK_NAME}-{logical_id}-1A2B3C4D5E6F", remaining_millis=remaining_millis
        )
        return module.lambda_handler(event, context)


def build_world(monkeypatch: pytest.MonkeyPatch) -> RestoreWorld:
    """The restore resources of the template in moto (call inside the ``aws`` fixture)."""
    parameters = {**shared_parameters(), "DataBucketArns": f"arn:aws:s3:::{ARCHIVE_BUCKET}"}
    stack = deploy(GENOMICS_TEMPLATE, parameters, names=PHYSICAL_NAMES, stack_name=STACK_NAME, only=RESOURCES)
    s3 = client("s3")
    s3.create_bucket(Bucket=ARCHIVE_BUCKET)
    s3.create_bucket(Bucket=REQUEST_BUCKET)
    notices = subscribe_queue(parameters["AlertsTopicArn"], "genomics-notices")
    genomics = Genomics(stack, Network("", "", ""), notices, "", monkeypatch)
    return RestoreWorld(stack, genomics, monkeypatch)


def row_values(
    obj: ObjectState, *, request_id: str = LAUNCH_ID, status: str = "PENDING", tier: str = "Bulk"
) -> dict[str, Any]:
    """An object row as the index step writes it."""
    values: dict[str, Any] = {
        "pk": request_key(request_id),
        "sk": f"OBJ#{obj.ref}",
        "object_ref": obj.ref,
        "bucket": obj.bucket,
        "key": obj.key,
        "storage_class": obj.storage_class,
        "restore_status": status,
        "tier": tier,
        "attempts": 0,
        "requested_at": NOW.isoformat(),
        "size": obj.size,
    }
    if obj.version_id:
        values["version_id"] = obj.version_id
    if obj.archive_status:
        values["archive_status"] = obj.archive_status
    return values


def page_size(dynamodb: Any, operation: str, limit: int) -> None:
    """Make every ``operation`` call of this client ask for ``limit`` items a page (real moto paging)."""

    def limited(params: dict[str, Any], **_: Any) -> None:
        params["Limit"] = limit

    dynamodb.meta.events.register(f"provide-client-params.dynamodb.{operation}", limited)
