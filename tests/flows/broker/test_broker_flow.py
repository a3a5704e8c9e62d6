"""The broker end to end on the local cloud, from the real templates (spec: queue-broker, Acceptance).

Producers send real SQS messages (the sample events' bodies, pointed at the deployed cluster and the
user's network); the event sources deliver them on the virtual clock until nothing is left. The
scenarios themselves live in ``demos/broker.py`` (``localcloud demo broker`` narrates the same ones);
here every outcome is asserted: request records, tasks, dead letters, notices, queue depths and the
broker's deliveries from the runtime's call log.
"""

from __future__ import annotations

import hashlib

from demos.broker import (
    ENI_TIMEOUT,
    BrokerWorld,
    Delivery,
    batch_with_invalid,
    capacity_failure,
    duplicate_delivery,
    eni_timeout,
    invalid_requests,
    retry_limit,
    throttled_request,
    valid_request,
)

VALID = "cp-2024-11-25-plate7-site3"
MISSING_SUBNETS = "cp-2024-11-25-plate7-site5"
UNKNOWN_CONTAINER = "cp-2024-11-25-plate7-site6"
EXHAUSTED = "cp-2024-11-25-plate7-site7"
CROWDED = "cp-2024-11-25-plate7-site8"
LIFECYCLE = ["PROVISIONING", "PENDING", "RUNNING", "STOPPED"]


def attempts(deliveries: tuple[Delivery, ...]) -> list[tuple[int, bool]]:
    """(receive count, reported for retry) per delivery."""
    return [(delivery.attempt, delivery.retried) for delivery in deliveries]


def within(value: float, window: tuple[float, float]) -> bool:
    return window[0] <= value <= window[1]


def test_a_valid_request_starts_exactly_one_task_that_runs_to_completion(world: BrokerWorld) -> None:
    # Given the valid sample request
    # When a producer sends it and the event sources run until idle
    facts = valid_request(world)

    # Then one delivery started one task, recorded as SUBMITTED with its ARN, and the queue is empty
    request = facts.request(VALID)
    [task] = request.tasks
    assert attempts(request.deliveries) == [(1, False)]
    assert (request.status, request.recorded_task_arns) == ("SUBMITTED", frozenset({task.arn}))
    assert request.run_task_outcomes == ("started",)
    assert facts.queue_depth == (0, 0)
    # and the simulated task ran to a normal stop, its state changes on the default event bus
    assert (task.last_status, task.stop_code, task.exit_code) == ("STOPPED", "EssentialContainerExited", 0)
    assert [status for arn, status, _ in facts.task_events if arn == task.arn] == LIFECYCLE
    # and the ENI re-run rule did not fire for a normal stop
    assert facts.rerun_outcomes == ()
    assert (facts.broker_invocations, facts.notices, facts.dead_letters, facts.dlq_depth) == (1, (), (), 0)


def test_invalid_requests_get_a_notice_naming_the_field_and_a_dead_letter_and_start_nothing(
    world: BrokerWorld,
) -> None:
    # Given a request without subnets (awsvpc) and one naming a container the task definition lacks
    # When both are sent
    facts = invalid_requests(world)

    # Then each got exactly one notice, naming its field
    notices = {notice.request_id: notice for notice in facts.notices}
    assert len(facts.notices) == 2
    assert notices[MISSING_SUBNETS].fields == ("networkConfiguration.awsvpcConfiguration.subnets",)
    assert notices[UNKNOWN_CONTAINER].fields == ("overrides.containerOverrides[0].name",)
    for request_id, notice in notices.items():
        assert (notice.error_class, notice.error_code) == ("Invalid", "InvalidArguments")
        assert notice.attributes == {"error_class": "Invalid", "request_id": request_id}
        assert notice.subject == f"Blueprints broker Invalid: {request_id}"
    # and one dead letter each: the original body with the failure's attributes
    letters = {letter.request_id: letter for letter in facts.dead_letters}
    assert (len(facts.dead_letters), facts.dlq_depth) == (2, 2)
    for request_id in (MISSING_SUBNETS, UNKNOWN_CONTAINER):
        request = facts.request(request_id)
        assert letters[request_id].attributes == {
            "error_class": "Invalid",
            "error_code": "InvalidArguments",
            "attempt": "1",
        }
        assert letters[request_id].body == request.deliveries[0].body
        # and nothing was retried or started
        assert attempts(request.deliveries) == [(1, False)]
        assert (request.tasks, request.run_task_outcomes, request.status) == ((), (), "FAILED")
    assert facts.queue_depth == (0, 0)


def test_a_throttled_run_task_is_retried_later_through_visibility(world: BrokerWorld) -> None:
    # Given a task definition whose first two RunTask calls are throttled (LOCALCLOUD_RUNTASK_THROTTLE=2)
    # When a request for it is sent
    facts = throttled_request(world)

    # Then the broker was invoked three times for it, the first two reporting it for retry
    request = facts.request()
    assert attempts(request.deliveries) == [(1, True), (2, True), (3, False)]
    assert facts.broker_invocations == 3
    assert request.run_task_outcomes == ("throttled", "throttled", "started")
    # and it came back after growing, jittered backoffs: the visibility the broker set, in virtual time
    first, second = request.gaps
    assert within(first, world.retry_gap(1)), (first, world.retry_gap(1))
    assert within(second, world.retry_gap(2)), (second, world.retry_gap(2))
    # and no invocation waited for it: each returned long before the message came back
    assert max(delivery.wall_seconds for delivery in request.deliveries) < min(request.gaps)
    # and one task was started in the end, with the token every attempt of this run shares
    [task] = request.tasks
    assert (request.status, request.recorded_task_arns) == ("SUBMITTED", frozenset({task.arn}))
    assert len(request.client_tokens) == 1
    assert request.last_error == "RetryableApi/ThrottlingException"
    assert (facts.notices, facts.dead_letters, facts.queue_depth) == ((), (), (0, 0))


def test_exhausting_the_retry_limit_dead_letters_the_request_once_with_the_root_cause(
    world: BrokerWorld,
) -> None:
    limit = int(world.dispatch_settings["RETRY_LIMIT"])
    # Given a task definition whose RunTask is throttled on every call
    # When a request for it is sent
    facts = retry_limit(world)

    # Then the broker retried it up to the limit with exponential backoff, and gave up on the next attempt
    request = facts.request(EXHAUSTED)
    assert attempts(request.deliveries) == [(n, True) for n in range(1, limit + 1)] + [(limit + 1, False)]
    for attempt, gap in enumerate(request.gaps, start=1):
        assert within(gap, world.retry_gap(attempt)), (attempt, gap, world.retry_gap(attempt))
    assert request.run_task_outcomes == ("throttled",) * limit  # no RunTask once over the limit
    # and the message is in the DLQ exactly once: the broker's copy, no redrive copy
    [letter] = facts.dead_letters
    assert facts.dlq_depth == 1
    assert letter.body == request.deliveries[0].body
    assert letter.attributes == {
        "error_class": "RetryLimitExceeded",
        "error_code": "ThrottlingException",
        "attempt": str(limit + 1),
    }
    # and one notice carries the root cause
    [notice] = facts.notices
    assert (notice.error_class, notice.error_code) == ("RetryLimitExceeded", "ThrottlingException")
    assert "ThrottlingException" in notice.message
    assert (request.status, request.last_error) == ("FAILED", "RetryLimitExceeded/ThrottlingException")
    assert (request.tasks, facts.queue_depth) == ((), (0, 0))


def test_a_capacity_failure_is_retried_with_the_larger_backoff(world: BrokerWorld) -> None:
    # Given a task definition whose first RunTask answers failures[] with the concurrency-limit reason
    # When a request for it is sent
    facts = capacity_failure(world)

    # Then it was retried once, after the capacity backoff, longer than any first API backoff
    request = facts.request(CROWDED)
    assert attempts(request.deliveries) == [(1, True), (2, False)]
    [gap] = request.gaps
    assert within(gap, world.retry_gap(1, capacity=True)), (gap, world.retry_gap(1, capacity=True))
    assert gap > world.retry_gap(1)[1]
    assert request.run_task_outcomes == ("failed", "started")
    assert request.last_error == "RetryableCapacity/ConcurrentTaskLimit"
    # and started its task on the second attempt
    [task] = request.tasks
    assert (request.status, request.recorded_task_arns) == ("SUBMITTED", frozenset({task.arn}))
    assert (facts.notices, facts.dead_letters) == ((), ())


def test_an_eni_timeout_reruns_the_stored_request_until_the_rerun_limit(world: BrokerWorld) -> None:
    reruns = int(world.rerun_settings["MAX_ENI_RERUNS"])
    delay = int(world.rerun_settings["RERUN_DELAY_SECONDS"])
    # Given a request whose tasks always stop on an ENI provisioning timeout (its container environment)
    # When it is sent
    facts = eni_timeout(world)

    # Then every stop was followed by a re-run of the stored original body, after a growing delay,
    request = facts.request()
    assert [delivery.rerun for delivery in request.deliveries] == [None, *map(str, range(1, reruns + 1))]
    assert {delivery.body for delivery in request.deliveries} == {request.deliveries[0].body}
    for rerun, gap in enumerate(request.gaps, start=1):  # the task's start failure, then the delay
        assert delay * rerun <= gap <= delay * rerun + 10, (rerun, gap)
    # dispatched with a new clientToken each time (§6: sha256 of request id and re-run number)
    assert request.client_tokens == tuple(
        hashlib.sha256(f"{request.request_id}:{rerun}".encode()).hexdigest()[:64]
        for rerun in range(reruns + 1)
    )
    assert len(request.tasks) == reruns + 1
    for task in request.tasks:
        assert (task.last_status, task.stop_code, task.stopped_reason) == (
            "STOPPED",
            "TaskFailedToStart",
            ENI_TIMEOUT,
        )
    # and the rule invoked the re-run function once per stop: re-runs, then the permanent path
    assert facts.rerun_outcomes == ("RERUN",) * reruns + ("FAILED",)
    [notice] = facts.notices
    assert (notice.error_class, notice.error_code) == ("EniTimeout", "EniProvisioningTimeout")
    [letter] = facts.dead_letters
    assert letter.attributes["error_class"] == "EniTimeout"
    assert letter.body == request.deliveries[0].body
    assert (request.status, request.reruns) == ("FAILED", reruns)
    assert (facts.broker_invocations, facts.queue_depth) == (reruns + 1, (0, 0))


def test_a_batch_of_ten_with_three_invalid_requests_starts_the_other_seven(world: BrokerWorld) -> None:
    invalid = {"cp-2024-11-25-plate8-site09", "cp-2024-11-25-plate8-site10"}  # + one body that is not JSON
    # Given ten requests sent together, three of them invalid
    # When they are delivered
    facts = batch_with_invalid(world)

    # Then one invocation got all ten and reported none for retry (the invalid ones are dead-lettered)
    assert (facts.batch_sizes, facts.reported_failures) == ((10,), 0)
    # and the seven valid requests started one task each, the invalid ones none
    started = {request_id: len(request.tasks) for request_id, request in facts.requests.items()}
    assert started == {request_id: 0 if request_id in invalid else 1 for request_id in facts.requests}
    assert sum(started.values()) == 7
    # and the three invalid ones are in the DLQ, each with a notice
    assert sorted(str(letter.request_id) for letter in facts.dead_letters) == sorted([*invalid, "None"])
    assert {letter.attributes["error_class"] for letter in facts.dead_letters} == {"Invalid"}
    assert facts.dlq_depth == 3
    assert len(facts.notices) == 3
    [not_json] = [notice for notice in facts.notices if notice.request_id.startswith("invalid:")]
    assert not_json.fields == ("body",)
    assert facts.queue_depth == (0, 0)


def test_the_same_request_delivered_twice_starts_one_task(world: BrokerWorld) -> None:
    # Given one request sent twice
    # When both copies are delivered
    facts = duplicate_delivery(world)

    # Then both deliveries completed, and only the first one called RunTask
    request = facts.request()
    assert attempts(request.deliveries) == [(1, False), (1, False)]
    assert request.run_task_outcomes == ("started",)
    [task] = request.tasks
    assert (request.status, request.recorded_task_arns) == ("SUBMITTED", frozenset({task.arn}))
    assert (facts.notices, facts.dead_letters) == ((), ())
