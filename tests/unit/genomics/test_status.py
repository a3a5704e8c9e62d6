"""The launch status model: ranks, the transition table every write obeys, and ``check_transition``."""

from __future__ import annotations

import itertools

import pytest

from blueprints.genomics.status import (
    LAUNCHABLE,
    RANK,
    TERMINAL,
    TRANSITIONS,
    InvalidTransitionError,
    Status,
    check_transition,
)

# The only edges that lower the rank: giving a claim back after a transient failure, and a retry.
BACKWARD = {
    (Status.LAUNCHING, Status.REGISTERED),
    (Status.LAUNCHING, Status.READY),
    (Status.LAUNCHING, Status.RETRY_REQUESTED),
    (Status.WAITING, Status.REGISTERED),
    (Status.WAITING, Status.RETRY_REQUESTED),  # a retry's restore claim given back
    (Status.FAILED, Status.RETRY_REQUESTED),
}
EDGES = {(source, target) for source, targets in TRANSITIONS.items() for target in targets}


def test_ranks_are_the_documented_ones() -> None:
    assert RANK == {
        Status.RETRY_REQUESTED: 5,
        Status.REGISTERED: 10,
        Status.WAITING: 20,
        Status.READY: 30,
        Status.LAUNCHING: 40,
        Status.RUNNING: 50,
        Status.COMPLETE: 90,
        Status.FAILED: 90,
    }


def test_every_status_has_a_row() -> None:
    assert set(TRANSITIONS) == set(Status)


def test_nothing_leaves_complete() -> None:
    assert TRANSITIONS[Status.COMPLETE] == frozenset()


def test_failed_only_moves_to_a_retry() -> None:
    assert TRANSITIONS[Status.FAILED] == frozenset({Status.RETRY_REQUESTED})


def test_a_retry_is_requested_only_from_failed_or_given_back_by_its_own_claim() -> None:
    # Given every edge into RETRY_REQUESTED
    sources = {source for source, target in EDGES if target is Status.RETRY_REQUESTED}

    # Then a user asks from FAILED; LAUNCHING and WAITING only return a retry's claim after a transient
    # failure
    assert sources == {Status.FAILED, Status.LAUNCHING, Status.WAITING}


def test_every_edge_moves_forward_except_releases_and_retries() -> None:
    backward = {(source, target) for source, target in EDGES if RANK[target] <= RANK[source]}

    assert backward == BACKWARD


def test_the_documented_walks_are_edges() -> None:
    walks = [
        [Status.REGISTERED, Status.LAUNCHING, Status.RUNNING, Status.COMPLETE],
        [Status.REGISTERED, Status.WAITING, Status.READY, Status.LAUNCHING, Status.RUNNING, Status.FAILED],
        [Status.FAILED, Status.RETRY_REQUESTED, Status.LAUNCHING, Status.FAILED],
        # a retry after a failed or expired restore checks the inputs again
        [Status.FAILED, Status.RETRY_REQUESTED, Status.WAITING, Status.READY, Status.LAUNCHING],
        [Status.REGISTERED, Status.LAUNCHING, Status.COMPLETE],  # a fast task: STOPPED before RUNNING
    ]
    for walk in walks:
        assert all((source, target) in EDGES for source, target in itertools.pairwise(walk)), walk


def test_terminal_and_launchable_sets() -> None:
    assert frozenset({Status.COMPLETE, Status.FAILED}) == TERMINAL
    assert frozenset({Status.REGISTERED, Status.READY, Status.RETRY_REQUESTED}) == LAUNCHABLE


@pytest.mark.parametrize(("source", "target"), list(itertools.product(Status, Status)))
def test_check_transition_agrees_with_the_table(source: Status, target: Status) -> None:
    if (source, target) in EDGES:
        check_transition(frozenset({source}), target)
    else:
        with pytest.raises(InvalidTransitionError, match=f"{source} -> {target} is not a transition"):
            check_transition(frozenset({source}), target)


def test_check_transition_names_every_source_that_cannot_move() -> None:
    # Given sources of which two may not move to RUNNING
    with pytest.raises(InvalidTransitionError) as raised:
        check_transition(frozenset({Status.LAUNCHING, Status.COMPLETE, Status.FAILED}), Status.RUNNING)

    # Then both are named, sorted, and the legal one is not
    assert str(raised.value) == "COMPLETE, FAILED -> RUNNING is not a transition"


def test_several_sources_that_may_all_move_pass() -> None:
    check_transition(frozenset({Status.LAUNCHING, Status.RUNNING}), Status.COMPLETE)
    check_transition(frozenset(LAUNCHABLE), Status.LAUNCHING)
