"""What the facts mean, whatever order they came in (spec §13 cases at the domain level)."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from blueprints.dora.history import AnalysisOptions, analyse, link_incident, rolled_back
from blueprints.dora.model import Deployment, Incident
from tests.unit.dora.builders import HOUR, SERVICE, at, change, deployment, incident, oi, sha


def views_by_id(deployments: list[Deployment], incidents: list[Incident] = []) -> dict[str, object]:  # noqa: B006
    history = analyse(SERVICE, deployments, incidents)
    return {view.deployment.execution_id: view for view in history.deployments}


def test_one_sample_per_change_measured_to_the_deploy_time() -> None:
    # Given commits at 09:00, 11:00 and 13:00 deployed at 14:00 after an earlier deployment (case 3)
    changes = [change(sha(1), at("09:00")), change(sha(2), at("11:00")), change(sha(3), at("13:00"))]
    history = analyse(
        SERVICE,
        [deployment("E0", at("08:00"), sha(0)), deployment("E1", at("14:00"), sha(3), changes=changes)],
        [],
    )

    # Then the samples are 5 h, 3 h and 1 h
    assert sorted(history.deployments[1].lead_samples) == [HOUR, 3 * HOUR, 5 * HOUR]


def test_pr_mode_gives_one_sample_per_pull_request_from_its_first_commit() -> None:
    # Given a PR with commits c1 (Mon 09:00) and c2 (Mon 15:00), squash-merged as c3 (Tue 10:00) (case 12)
    squash = change(sha(3), at("+1 10:00"), pr_number=12, pr_first_commit_time=at("09:00"))
    deployments = [
        deployment("E0", at("08:00"), sha(0)),
        deployment("E1", at("+1 11:00"), sha(3), changes=[squash]),
    ]

    commit_mode = analyse(SERVICE, deployments, [])
    pr_mode = analyse(SERVICE, deployments, [], AnalysisOptions(lead_time_mode="pr"))

    # Then commit mode measures c3 only (1 h), PR mode the PR from its first commit (26 h)
    assert commit_mode.deployments[1].lead_samples == (HOUR,)
    assert pr_mode.deployments[1].lead_samples == (26 * HOUR,)


def test_committer_time_is_used_when_configured() -> None:
    moved = change(sha(3), at("09:00"), at("13:00"))
    deployments = [
        deployment("E0", at("08:00"), sha(0)),
        deployment("E1", at("14:00"), sha(3), changes=[moved]),
    ]
    assert analyse(SERVICE, deployments, [], AnalysisOptions(commit_time="committer")).deployments[
        1
    ].lead_samples == (HOUR,)


def test_a_commit_after_the_deploy_is_skewed_not_zero_and_not_negative() -> None:
    # Given a commit stamped 5 minutes after the deploy (case 15) and one at the deploy time itself
    changes = [change(sha(1), at("14:05")), change(sha(2), at("14:00")), change(sha(3), at("13:00"))]
    view = analyse(
        SERVICE,
        [deployment("E0", at("08:00"), sha(0)), deployment("E1", at("14:00"), sha(3), changes=changes)],
        [],
    ).deployments[1]

    # Then only the positive sample is kept and the other two are counted as skewed
    assert (view.lead_samples, view.skewed) == ((HOUR,), 2)


def test_a_commit_counts_for_the_first_deployment_that_brought_it() -> None:
    # Given D1 (A), D2 (B, bad), a rollback to A, then D3 (C) whose compare against A includes B again
    b, c = change(sha(2), at("09:00")), change(sha(3), at("12:00"))
    deployments = [
        deployment("D1", at("08:00"), sha(1)),
        deployment("D2", at("10:00"), sha(2), changes=[b]),
        deployment("R1", at("10:30"), sha(1), rollback=True),
        deployment("D3", at("13:00"), sha(3), changes=[b, c]),
    ]
    views = analyse(SERVICE, deployments, []).deployments

    # Then B's lead time is measured once, at D2
    assert [view.lead_samples for view in views] == [(), (HOUR,), (), (HOUR,)]


def test_an_incident_linked_explicitly_fails_its_deployment_and_recovers_at_resolution() -> None:
    # Given D1 09:00, D2 12:00 and oi-1 created 12:30 naming D2, resolved 14:00 (case 8)
    deployments = [deployment("D1", at("09:00"), sha(1)), deployment("D2", at("12:00"), sha(2))]
    resolved = incident(oi(1), at("12:30"), deployment_ref="D2", status="Resolved", actual_end=at("14:00"))

    history = analyse(SERVICE, deployments, [resolved])

    # Then D2 failed, D1 did not, and the recovery sample is 1.5 h from the incident's creation
    d1, d2 = history.deployments
    assert (d1.failure, d2.failure is not None) == (None, True)
    assert d2.failure is not None
    assert (d2.failure.recovery_seconds, d2.failure.recovery_kind) == (1.5 * HOUR, "resolved")
    assert [(link.execution_id, link.method, link.confidence) for link in history.links] == [
        ("D2", "explicit", "high")
    ]


def test_the_heuristic_picks_the_latest_deployment_before_the_incident() -> None:
    deployments = [deployment("D1", at("09:00"), sha(1)), deployment("D2", at("12:00"), sha(2))]
    link = link_incident(incident(oi(1), at("12:30")), deployments)
    assert link is not None
    assert (link.execution_id, link.method, link.confidence) == ("D2", "heuristic", "low")
    assert link_incident(incident(oi(1), at("08:30")), deployments) is None


def test_an_explicit_link_may_name_a_commit() -> None:
    deployments = [
        deployment("D1", at("09:00"), sha(1)),
        deployment("D2", at("12:00"), sha(2)),
        deployment("D3", at("15:00"), sha(2)),
    ]
    named = link_incident(incident(oi(1), at("12:30"), deployment_ref=sha(2)), deployments)
    early = link_incident(incident(oi(1), at("10:30"), deployment_ref=sha(2)), deployments)
    unknown = link_incident(incident(oi(1), at("12:30"), deployment_ref="E404"), deployments)
    assert named is not None
    assert named.execution_id == "D2"
    assert early is not None
    assert early.execution_id == "D2"
    assert unknown is not None
    assert (unknown.execution_id, unknown.method) == ("D2", "heuristic")


def test_resolution_time_without_actual_end_is_the_resolving_update() -> None:
    deployments = [deployment("D1", at("09:00"), sha(1))]
    item = incident(oi(1), at("10:00"), status="Resolved", resolved_time=at("11:00"))
    reopened = replace(item, status="Open")
    [view] = analyse(SERVICE, deployments, [item]).deployments
    [open_view] = analyse(SERVICE, deployments, [reopened]).deployments
    assert view.failure is not None
    assert view.failure.recovery_seconds == HOUR
    assert open_view.failure is not None
    assert open_view.failure.recovered_at is None


def test_unrelated_incidents_change_nothing() -> None:
    # Given an AWS Health OpsItem that does not qualify, and one of another service (case 9)
    deployments = [deployment("D1", at("09:00"), sha(1))]
    health = incident(oi(1), at("10:00"), source="aws.health", qualifying=False)
    other = incident(oi(2), at("10:00"), service="svc-b")
    history = analyse(SERVICE, deployments, [health, other])
    assert (history.deployments[0].failure, history.links, history.unlinked) == (None, (), ())


def test_an_opsitem_logged_after_the_hotfix_uses_its_actual_start() -> None:
    # Given D0 07:00, a hotfix deploy at 10:00 naming oi-1, and oi-1 created 11:00 with
    # ActualStartTime 08:00 (case 10)
    deployments = [
        deployment("D0", at("07:00"), sha(1)),
        deployment("H1", at("10:00"), sha(2), references=frozenset({oi(1)})),
    ]
    with_start = incident(oi(1), at("11:00"), actual_start=at("08:00"))
    created_only = incident(oi(1), at("11:00"))

    late = analyse(SERVICE, deployments, [with_start])
    flagged = analyse(SERVICE, deployments, [created_only])

    # Then D0 failed, recovered by the hotfix after 2 h; the hotfix is rework
    d0, h1 = late.deployments
    assert d0.failure is not None
    assert (d0.failure.recovery_seconds, d0.failure.recovery_kind) == (2 * HOUR, "hotfix")
    assert [(link.execution_id, link.method) for link in late.links] == [("D0", "hotfix")]
    assert (h1.failure, h1.rework) == (None, "hotfix")
    # and with CreatedTime only the negative duration is flagged and excluded
    flagged_failure = flagged.deployments[0].failure
    assert flagged_failure is not None
    assert (flagged_failure.skewed, flagged_failure.recovery_seconds) == (True, None)


def test_a_hotfix_with_no_earlier_deployment_links_nothing() -> None:
    deployments = [deployment("H1", at("10:00"), sha(2), references=frozenset({oi(1)}))]
    assert link_incident(incident(oi(1), at("11:00")), deployments) is None


def test_a_rollback_fails_what_it_undoes_and_recovers_it() -> None:
    # Given D1 (A), D2 (B), D3 (C), then a rollback to A
    deployments = [
        deployment("D1", at("08:00"), sha(1)),
        deployment("D2", at("09:00"), sha(2)),
        deployment("D3", at("10:00"), sha(3)),
        deployment("R1", at("11:00"), sha(1), rollback=True, trigger_type="ManualRollback"),
    ]
    views = {view.deployment.execution_id: view for view in analyse(SERVICE, deployments, []).deployments}

    # Then D2 and D3 failed and recovered at the rollback's success; the rollback itself is rework
    for execution_id, hours in (("D2", 2), ("D3", 1)):
        failure = views[execution_id].failure
        assert failure is not None
        assert (failure.rolled_back_by, failure.recovery_seconds, failure.recovery_kind) == (
            "R1",
            hours * HOUR,
            "rollback",
        )
    assert (views["D1"].failure, views["R1"].failure, views["R1"].rework) == (None, None, "rollback")


def test_a_rollback_to_an_unknown_revision_undoes_the_deployment_before_it() -> None:
    deployments = [deployment("D1", at("08:00"), sha(1)), deployment("D2", at("09:00"), sha(2))]
    rollback = deployment("R1", at("10:00"), sha(9), rollback=True)
    assert [d.execution_id for d in rolled_back(rollback, deployments)] == ["D2"]
    assert rolled_back(rollback, []) == []


def test_an_incident_on_a_rolled_back_deployment_recovers_at_the_earliest_remedy() -> None:
    deployments = [
        deployment("D1", at("08:00"), sha(1)),
        deployment("D2", at("09:00"), sha(2)),
        deployment("R1", at("11:00"), sha(1), rollback=True),
    ]
    item = incident(oi(1), at("09:30"), deployment_ref="D2", status="Resolved", actual_end=at("12:00"))
    failure = analyse(SERVICE, deployments, [item]).deployments[1].failure
    assert failure is not None
    assert (failure.start, failure.recovered_at, failure.recovery_kind) == (
        at("09:30"),
        at("11:00"),
        "rollback",
    )


def test_two_incidents_recover_when_both_have() -> None:
    deployments = [deployment("D1", at("08:00"), sha(1))]
    first = incident(oi(1), at("09:00"), status="Resolved", actual_end=at("10:00"))
    second = incident(oi(2), at("09:30"))
    open_failure = analyse(SERVICE, deployments, [first, second]).deployments[0].failure
    closed = (
        analyse(SERVICE, deployments, [first, replace(second, actual_end=at("12:00"))]).deployments[0].failure
    )
    assert open_failure is not None
    assert open_failure.recovered_at is None
    assert closed is not None
    assert (closed.start, closed.recovery_seconds) == (at("09:00"), 3 * HOUR)


def test_reverts_and_hotfixes_naming_an_incident_are_rework() -> None:
    deployments = [
        deployment("D1", at("08:00"), sha(1)),
        deployment("V1", at("09:00"), sha(2), revert=True),
        deployment("H1", at("10:00"), sha(3), references=frozenset({oi(7)})),
        deployment("H2", at("11:00"), sha(4), references=frozenset({oi(8)})),  # no such incident
    ]
    views = analyse(SERVICE, deployments, [incident(oi(7), at("09:30"))]).deployments
    assert [view.rework for view in views] == [None, "revert", "hotfix", None]


DEPLOYMENTS = [
    deployment("D1", at("08:00"), sha(1)),
    deployment("D2", at("09:00"), sha(2), changes=[change(sha(2), at("08:30"))]),
    deployment("D3", at("10:00"), sha(3), changes=[change(sha(3), at("09:00"))]),
    deployment("R1", at("11:00"), sha(2), rollback=True),
    deployment(
        "H1", at("12:00"), sha(4), references=frozenset({oi(2)}), changes=[change(sha(4), at("11:30"))]
    ),
    deployment("D4", at("+1 09:00"), sha(5), changes=[change(sha(5), at("+1 08:00"))]),
    deployment("X1", at("10:00"), sha(6), service="svc-b"),
]
INCIDENTS = [
    incident(oi(1), at("09:15"), deployment_ref="D2", status="Resolved", actual_end=at("09:45")),
    incident(oi(2), at("11:40"), actual_start=at("11:20")),
    incident(oi(3), at("+1 09:30"), status="Resolved", resolved_time=at("+1 10:00")),
    incident(oi(4), at("10:05"), qualifying=False),
]


@settings(max_examples=60, deadline=None)
@given(st.permutations(DEPLOYMENTS), st.permutations(INCIDENTS))
def test_the_analysis_does_not_depend_on_the_order_of_the_facts(
    deployments: list[Deployment], incidents: list[Incident]
) -> None:
    # Given the same facts in any order (cases 6 and 11: late or out-of-order arrivals)
    # Then the analysis is the same as in time order
    assert analyse(SERVICE, deployments, incidents) == analyse(SERVICE, DEPLOYMENTS, INCIDENTS)


def test_duplicate_facts_count_once() -> None:
    # Given the same deployment stored twice (a duplicate delivery, case 1)
    history = analyse(SERVICE, DEPLOYMENTS + DEPLOYMENTS[:2], INCIDENTS)
    assert len(history.deployments) == len(DEPLOYMENTS) - 1


@pytest.mark.parametrize("hours", [1, 30])
def test_between_selects_by_deploy_time(hours: float) -> None:
    from datetime import timedelta

    history = analyse(SERVICE, DEPLOYMENTS, INCIDENTS)
    start = at("08:30")
    found = [view.deployment.execution_id for view in history.between(start, start + timedelta(hours=hours))]
    assert found == (["D2"] if hours == 1 else ["D2", "D3", "R1", "H1", "D4"])
