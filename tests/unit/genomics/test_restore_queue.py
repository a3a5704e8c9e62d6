"""The restore queue adapter (SqsChunkQueue): chunks sent ten a call on the template's queue (moto),
entries SQS reports as failed sent again at once, and a chunk that cannot be queued raised for a retry."""

from __future__ import annotations

import pytest
from botocore.stub import Stubber

from blueprints.genomics.adapters import SqsChunkQueue
from blueprints.genomics.restore_s3 import RestoreThrottledError
from tests.support.botocore_hooks import record_calls
from tests.unit.genomics.restore_support import RestoreWorld, build_world, fresh_client

QUEUE_URL = "https://sqs.us-east-1.amazonaws.com/123456789012/genomics-restore"


@pytest.fixture
def world(aws: None, monkeypatch: pytest.MonkeyPatch) -> RestoreWorld:
    return build_world(monkeypatch)


def test_chunks_are_sent_ten_a_call(world: RestoreWorld) -> None:
    sqs = world.client("sqs")
    sends = record_calls(sqs, "SendMessageBatch")
    bodies = [f'{{"chunk": {n}}}' for n in range(25)]

    calls = SqsChunkQueue(world.queue_url, sqs).send(bodies)

    assert calls == 3
    assert [len(call["Entries"]) for call in sends] == [10, 10, 5]
    assert sorted(message["chunk"] for message in world.messages()) == list(range(25))


def test_nothing_to_send_makes_no_call() -> None:
    with Stubber(fresh_client("sqs")) as stub:
        assert SqsChunkQueue(QUEUE_URL, stub.client).send([]) == 0


def test_failed_entries_are_sent_again_at_once() -> None:
    # Given SQS fails one entry of three once
    sqs = fresh_client("sqs")
    entries = [{"Id": str(n), "MessageBody": f"chunk {n}"} for n in range(3)]
    with Stubber(sqs) as stub:
        stub.add_response(
            "send_message_batch",
            {
                "Successful": [
                    {"Id": "0", "MessageId": "m0", "MD5OfMessageBody": "x"},
                    {"Id": "2", "MessageId": "m2", "MD5OfMessageBody": "x"},
                ],
                "Failed": [{"Id": "1", "SenderFault": False, "Code": "InternalError"}],
            },
            {"QueueUrl": QUEUE_URL, "Entries": entries},
        )
        stub.add_response(
            "send_message_batch",
            {"Successful": [{"Id": "1", "MessageId": "m1", "MD5OfMessageBody": "x"}], "Failed": []},
            {"QueueUrl": QUEUE_URL, "Entries": entries[1:2]},
        )

        # When the chunks are sent
        calls = SqsChunkQueue(QUEUE_URL, sqs).send([entry["MessageBody"] for entry in entries])

        # Then only the failed entry went again
        stub.assert_no_pending_responses()
    assert calls == 2


def test_an_entry_failing_three_times_raises_for_a_retry() -> None:
    sqs = fresh_client("sqs")
    with Stubber(sqs) as stub:
        for _ in range(3):
            stub.add_response(
                "send_message_batch",
                {"Successful": [], "Failed": [{"Id": "0", "SenderFault": False, "Code": "InternalError"}]},
            )

        with pytest.raises(RestoreThrottledError, match="1 restore chunks could not be queued"):
            SqsChunkQueue(QUEUE_URL, sqs).send(["chunk 0"])

        stub.assert_no_pending_responses()
