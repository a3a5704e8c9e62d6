"""The bench's genomics fixtures: each sample event's warm row measures the path its name describes."""

from __future__ import annotations

from tests.support.template import functions
from tools.bench import WarmResults, warm_runs

MEASURED = (
    "TrackEcsTaskFunction",
    "TrackRemoteRunFunction",
    "LaunchWorkflowFunction",
    "HandleLaunchApiFunction",
    "RecordRestoreCompletionFunction",
    "ReconcileRestoresFunction",
    "EnableBucketEventsFunction",
)


def _warm() -> WarmResults:
    selected = [function for function in functions() if function.logical_id in MEASURED]
    return warm_runs(selected, 1)


def test_genomics_sample_events_reach_their_paths_and_a_redelivery_the_duplicate_path() -> None:
    # Given the genomics functions whose sample events name launches, restores and buckets
    # When the bench seeds what each event names and invokes it, then delivers it again
    warm = _warm()

    # Then the first delivery takes the path the event's name describes
    assert warm.errors == {}
    outcomes = {(row.function, row.case): dict(row.outcomes) for row in warm.rows}
    assert outcomes[("TrackEcsTaskFunction", "task_succeeded")] == {"outcome applied": 1}
    assert outcomes[("TrackEcsTaskFunction", "foreign_task")] == {"outcome foreign": 1}
    assert outcomes[("TrackRemoteRunFunction", "command_succeeded")] == {"outcome applied": 1}
    assert outcomes[("RecordRestoreCompletionFunction", "object_restored")] == {"resolved 1": 1}
    assert outcomes[("RecordRestoreCompletionFunction", "restore_expired")] == {"reopened 1": 1}
    calls = {(call.function, call.case, call.delivery): call for call in warm.calls}
    for case in ("new_launch", "ready_after_restore", "retry_requested"):
        assert calls[("LaunchWorkflowFunction", case, "first")].counts["ecs.RunTask"] == 1
        # and the same record again loses the claim: no second task
        assert calls[("LaunchWorkflowFunction", case, "again")].counts["ecs.RunTask"] == 0
    api = {key[1:]: call.outcome[:18] for key, call in calls.items() if key[0] == "HandleLaunchApiFunction"}
    assert api[("get_launch", "first")] == '{"statusCode": 200'
    assert api[("retry_launch", "first")] == '{"statusCode": 202'
    assert api[("retry_launch", "again")] == '{"statusCode": 409'
    assert calls[("TrackEcsTaskFunction", "task_succeeded", "again")].outcome == "outcome ignored"
    assert calls[("RecordRestoreCompletionFunction", "object_restored", "again")].outcome == "resolved 0"
    assert calls[("ReconcileRestoresFunction", "scheduled_check", "first")].counts["s3.HeadObject"] == 2
    enabled = calls[("EnableBucketEventsFunction", "data_buckets", "again")]
    assert enabled.counts["s3.PutBucketNotificationConfiguration"] == 0
