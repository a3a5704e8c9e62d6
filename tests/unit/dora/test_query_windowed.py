"""The API's bounded reads (windowed.py) give exactly the full-history metrics.

Random histories (seeded, reproducible) with rollbacks, redeploys, reverts, hotfixes, explicit, commit and
heuristic incident links, skewed commits and unresolved incidents are analysed twice for random windows:
once from every fact, once from what ``window_history`` reads; the metrics documents and the drill-down's
deployments must be equal. Then the DynamoDB reader is checked against the fact store (moto, from the
template): it reads the span only, and falls back to the whole history when the span cannot decide.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from blueprints.dora.benchmarks import edition
from blueprints.dora.calculate import Window, drilldown, metrics
from blueprints.dora.changes import Resolution
from blueprints.dora.history import AnalysisOptions, analyse
from blueprints.dora.model import ChangeSource, ChangesStatus, Deployment, Incident
from blueprints.dora.store import FactStore
from blueprints.dora.timeutil import Calendar
from blueprints.dora.windowed import HORIZON, StoreReader, span_of, window_history
from tests.unit.dora.builders import SERVICE, change, deployment, incident, oi, sha
from tests.unit.dora.conftest import DoraWorld

START = datetime(2024, 1, 1, tzinfo=UTC)
HOUR = timedelta(hours=1)


@dataclass
class ListReader:
    """A ``FactReader`` over lists, with the store's bounds, counting what it returns."""

    deployments: list[Deployment]
    incidents: list[Incident]
    full_reads: int = 0
    times_read: int = 0

    def deployments_between(self, service: str, start: datetime, end: datetime) -> list[Deployment]:
        return sorted((d for d in self.deployments if start <= d.deploy_time < end), key=lambda d: d.order)

    def deploy_times_between(self, service: str, start: datetime, end: datetime) -> list[datetime]:
        self.times_read += len(
            found := [d.deploy_time for d in self.deployments if start <= d.deploy_time < end]
        )
        return sorted(found)

    def first_from(self, service: str, moment: datetime) -> Deployment | None:
        later = sorted((d for d in self.deployments if d.deploy_time >= moment), key=lambda d: d.order)
        return later[0] if later else None

    def incidents_since(self, service: str, moment: datetime) -> list[Incident]:
        return [i for i in self.incidents if i.created >= moment]

    def has_execution(self, service: str, execution_id: str) -> bool:
        return any(d.execution_id == execution_id for d in self.deployments)

    def all_deployments(self, service: str) -> list[Deployment]:
        self.full_reads += 1
        return list(self.deployments)

    def all_incidents(self, service: str) -> list[Incident]:
        return list(self.incidents)


def random_history(rng: random.Random) -> tuple[list[Deployment], list[Incident]]:
    """Deployments at most 3 days apart; rollbacks to one of the 4 previous revisions; incidents within
    hours of a deployment, resolved within hours, some fixed by a hotfix naming them (the definitions'
    horizons, see windowed.py)."""
    deployments: list[Deployment] = []
    incidents: list[Incident] = []
    moment = START
    commits = 0
    rolled_back: list[str] = []  # commits brought again by the next forward deployment
    pending_hotfix: str | None = None
    for number in range(rng.randint(30, 140)):
        moment += timedelta(minutes=rng.randint(1, 3 * 24 * 60))
        execution = f"E{number:03d}"
        kind = rng.random()
        if kind < 0.12 and len(deployments) > 2:
            target = deployments[-rng.randint(2, min(4, len(deployments)))]
            rolled_back += [c.sha for d in deployments[-3:] for c in d.changes or ()]
            trigger = rng.choice(("ManualRollback", "AutomatedRollback"))
            deployments.append(
                deployment(execution, moment, target.sha, trigger_type=trigger, rollback=True, changes=())
            )
            continue
        if kind < 0.17 and deployments:
            deployments.append(deployment(execution, moment, deployments[-1].sha, changes=()))
            continue
        new = []
        for _ in range(rng.randint(1, 3)):
            commits += 1
            age = timedelta(minutes=rng.randint(-10, 3000))  # a few commits are "after" the deploy: skew
            new.append(change(sha(commits), moment - age))
        again = [change(c, moment - timedelta(hours=rng.randint(1, 50))) for c in rolled_back]
        rolled_back = []
        references = frozenset({pending_hotfix}) if pending_hotfix and rng.random() < 0.7 else frozenset()
        pending_hotfix = None
        deployments.append(
            deployment(
                execution,
                moment,
                new[-1].sha,
                changes=again + new,
                revert=rng.random() < 0.04,
                references=references,
            )
        )
        if rng.random() < 0.18:
            ops_item = oi(len(incidents) + 1)
            created = moment + timedelta(minutes=rng.randint(5, 600))
            link = rng.random()
            ref = execution if link < 0.35 else (new[-1].sha if link < 0.45 else None)
            end = created + timedelta(minutes=rng.randint(1, 900)) if rng.random() < 0.6 else None
            resolved = created + timedelta(minutes=rng.randint(1, 600)) if rng.random() < 0.3 else None
            incidents.append(
                incident(
                    ops_item,
                    created,
                    actual_start=created - timedelta(minutes=rng.randint(0, 60))
                    if rng.random() < 0.5
                    else None,
                    actual_end=end,
                    status="Resolved" if resolved else "Open",
                    resolved_time=resolved,
                    deployment_ref=ref,
                    qualifying=rng.random() < 0.9,
                )
            )
            if rng.random() < 0.3:
                pending_hotfix = ops_item
    return deployments, incidents


def random_windows(rng: random.Random, deployments: list[Deployment]) -> list[Window]:
    """Five windows of 1 day to 4 months, anywhere over the history and a little past its ends."""
    last_day = deployments[-1].deploy_time.date()
    found = []
    for _ in range(5):
        first = START.date() + timedelta(days=rng.randint(-5, (last_day - START.date()).days + 5))
        found.append(Window(first, first + timedelta(days=rng.choice((0, 1, 6, 29, rng.randint(0, 120))))))
    return found


@pytest.mark.parametrize("seed", range(60))
def test_windowed_reads_give_the_full_history_metrics(seed: int) -> None:
    # Given a random history and five random windows over it (and past its ends)
    rng = random.Random(seed)  # noqa: S311 - reproducible test data
    deployments, incidents = random_history(rng)
    calendar = Calendar("America/Los_Angeles" if seed % 4 == 0 else "UTC")
    full = analyse(SERVICE, deployments, incidents)
    for window in random_windows(rng, deployments):
        reader = ListReader(deployments, incidents)

        # When the window's history is read with bounds
        facts = window_history(reader, SERVICE, window, calendar, AnalysisOptions())

        # Then the metrics (every edition) and the drill-down's deployments are the full history's
        for name in ("2019", "2021", "2023", "2024"):
            assert metrics(
                facts.history, window, calendar, edition(name), frequency_times=facts.frequency_times
            ) == metrics(full, window, calendar, edition(name))
        assert (
            drilldown(facts.history, window, calendar)["deployments"]
            == drilldown(full, window, calendar)["deployments"]
        )


def test_the_random_histories_exercise_every_rule() -> None:
    # Given the 60 random histories and their windows
    found = {"rollback": 0, "failed": 0, "recovered": 0, "hotfix": 0, "explicit": 0, "heuristic": 0}
    full_reads = 0
    for seed in range(60):
        rng = random.Random(seed)  # noqa: S311 - reproducible test data
        deployments, incidents = random_history(rng)
        for window in random_windows(rng, deployments):
            reader = ListReader(deployments, incidents)
            window_history(reader, SERVICE, window, Calendar(), AnalysisOptions())
            full_reads += reader.full_reads
        # When each is analysed
        history = analyse(SERVICE, deployments, incidents)
        views = history.deployments
        found["rollback"] += sum(1 for v in views if v.failure and v.failure.rolled_back_by)
        found["failed"] += sum(1 for v in views if v.failure)
        found["recovered"] += sum(1 for v in views if v.failure and v.failure.recovery_seconds is not None)
        for link in history.links:
            found[link.method] += 1
    # Then every kind of failure, link and recovery occurs (the comparison above is not vacuous), and the
    # windows were answered from their bounded reads, not from the whole-history fallback
    assert min(found.values()) >= 10, found
    assert full_reads <= 3


def test_a_window_reads_only_its_span() -> None:
    # Given a deployment a day for a year
    deployments = [deployment(f"E{n:03d}", START + timedelta(days=n, hours=10), sha(n)) for n in range(366)]
    reader = ListReader(deployments, [])
    window = Window(date(2024, 6, 1), date(2024, 6, 30))
    read: list[Deployment] = []
    original = reader.deployments_between

    def recording(service: str, start: datetime, end: datetime) -> list[Deployment]:
        read.extend(original(service, start, end))
        return original(service, start, end)

    reader.deployments_between = recording  # type: ignore[method-assign]

    # When June is read
    window_history(reader, SERVICE, window, Calendar(), AnalysisOptions())

    # Then June and 30 days around it are read in full (90 deployments, not 366), and the deploy times only
    # of the rest of the 90 days up to June 30 (April 2 to May 1: 30)
    span = span_of(window, Calendar())
    assert (span.frequency_start, span.start, span.end) == (
        datetime(2024, 4, 2, tzinfo=UTC),
        datetime(2024, 6, 1, tzinfo=UTC) - HORIZON,
        datetime(2024, 7, 1, tzinfo=UTC) + HORIZON,
    )
    assert (len(read), reader.times_read, reader.full_reads) == (90, 30, 0)


def test_an_incident_naming_a_deployment_outside_the_span_reads_the_whole_history() -> None:
    # Given a deployment in January and one a day in June, and an incident in June naming January's
    deployments = [deployment("E-jan", START + timedelta(days=5), sha(900))] + [
        deployment(f"E{n:02d}", datetime(2024, 6, 1 + n, 10, tzinfo=UTC), sha(n)) for n in range(20)
    ]
    incidents = [incident(oi(1), datetime(2024, 6, 10, 12, tzinfo=UTC), deployment_ref="E-jan")]
    reader = ListReader(deployments, incidents)
    window = Window(date(2024, 6, 10), date(2024, 6, 10))

    # When June 10 is read
    windowed = window_history(reader, SERVICE, window, Calendar(), AnalysisOptions()).history

    # Then the whole history was read, and the incident fails January's deployment, not June 10's
    assert reader.full_reads == 1
    assert metrics(windowed, window, Calendar(), edition())["change_failure_rate"]["failed"] == 0


def test_an_incident_naming_an_execution_never_recorded_needs_no_whole_history() -> None:
    # Given one deployment a day in June and an incident on June 10 naming an execution id never recorded
    deployments = [
        deployment(f"E{n:02d}", datetime(2024, 6, 1 + n, 10, tzinfo=UTC), sha(n)) for n in range(20)
    ]
    typo = incident(oi(1), datetime(2024, 6, 10, 12, tzinfo=UTC), deployment_ref="0b1c2d3e-typo-4f5a")
    reader = ListReader(deployments, [typo])
    window = Window(date(2024, 6, 10), date(2024, 6, 10))

    # When June 10 is read
    facts = window_history(reader, SERVICE, window, Calendar(), AnalysisOptions())

    # Then the span answers, as the whole history does: the latest deployment before it is blamed
    found = metrics(facts.history, window, Calendar(), edition(), frequency_times=facts.frequency_times)
    assert found == metrics(analyse(SERVICE, deployments, [typo]), window, Calendar(), edition())
    assert (found["change_failure_rate"]["failed"], reader.full_reads) == (1, 0)


def test_a_rollback_to_a_revision_outside_the_span_reads_the_whole_history() -> None:
    # Given revision 900 deployed in January, one deployment a day in June, and a rollback to 900 on June 10
    deployments = [deployment("E-jan", START + timedelta(days=5), sha(900))] + [
        deployment(f"E{n:02d}", datetime(2024, 6, 1 + n, 10, tzinfo=UTC), sha(n)) for n in range(9)
    ]
    rollback = deployment("E-rb", datetime(2024, 6, 10, 12, tzinfo=UTC), sha(900), rollback=True)
    reader = ListReader([*deployments, rollback], [])
    window = Window(date(2024, 6, 1), date(2024, 6, 10))

    # When June 1-10 is read
    windowed = window_history(reader, SERVICE, window, Calendar(), AnalysisOptions()).history

    # Then the whole history was read: every June deployment before the rollback was rolled back
    assert reader.full_reads == 1
    assert metrics(windowed, window, Calendar(), edition())["change_failure_rate"]["failed"] == 9


def test_the_store_reader_reads_the_span_from_the_indexes(dora: DoraWorld) -> None:
    # Given three deployments (May, June 10, August) with their changes, and incidents in April and June
    store = dora.store()
    times = [datetime(2024, 5, 1, 9, tzinfo=UTC), datetime(2024, 6, 10, 9, tzinfo=UTC)]
    times.append(datetime(2024, 8, 20, 9, tzinfo=UTC))
    for number, moment in enumerate(times):
        item = deployment(
            f"E{number}", moment, sha(number), changes=[change(sha(100 + number), moment - HOUR)]
        )
        store.put_deployment(item, "event", moment)
        store.save_resolution(
            item, Resolution(ChangesStatus.RESOLVED, ChangeSource.PUSHES, item.changes or (), None, False)
        )
    store.put_incident(incident(oi(1), datetime(2024, 4, 1, tzinfo=UTC)), "e1")
    store.put_incident(incident(oi(2), datetime(2024, 6, 10, 10, tzinfo=UTC)), "e2")
    reader = StoreReader(store)

    # When the reader is asked for June's bounds
    between = reader.deployments_between(SERVICE, times[0], times[2])
    following = reader.first_from(SERVICE, times[1] + HOUR)
    since = reader.incidents_since(SERVICE, datetime(2024, 5, 1, tzinfo=UTC))

    # Then it returns what lies within them, with the changes needed for lead time
    assert [d.execution_id for d in between] == ["E0", "E1"]
    assert reader.deploy_times_between(SERVICE, times[0], times[2]) == times[:2]
    assert between[1].changes == (change(sha(101), times[1] - HOUR),)
    assert following is not None
    assert following.execution_id == "E2"
    assert reader.first_from(SERVICE, times[2] + HOUR) is None
    assert [i.ops_item_id for i in since] == [oi(2)]
    assert [d.execution_id for d in reader.all_deployments(SERVICE)] == ["E0", "E1", "E2"]
    assert {i.ops_item_id for i in reader.all_incidents(SERVICE)} == {oi(1), oi(2)}
    store.point_execution(between[1])
    assert (reader.has_execution(SERVICE, "E1"), reader.has_execution("svc-b", "E1")) == (True, False)
    assert reader.has_execution(SERVICE, "E9") is False


def test_a_late_incident_without_link_after_the_last_deployment_is_blamed_on_it() -> None:
    # Given the last deployments on June 9 and 10, then nothing; an OpsItem 60 days later, no link
    deployments = [deployment(f"E{n}", datetime(2024, 6, 9 + n, 10, tzinfo=UTC), sha(n)) for n in range(2)]
    late = incident(oi(1), datetime(2024, 8, 9, 12, tzinfo=UTC))
    reader = ListReader(deployments, [late])
    window = Window(date(2024, 6, 10), date(2024, 6, 10))

    # When June 10 is read
    facts = window_history(reader, SERVICE, window, Calendar(), AnalysisOptions())

    # Then, as in the whole history, the latest deployment before it (June 10) failed, without a full read
    found = metrics(facts.history, window, Calendar(), edition(), frequency_times=facts.frequency_times)
    full = analyse(SERVICE, deployments, [late])
    assert found == metrics(full, window, Calendar(), edition())
    assert (found["change_failure_rate"]["failed"], reader.full_reads) == (1, 0)


class OnePerPage:
    """A DynamoDB client whose queries return one item a page (DynamoDB pages at 1 MB)."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.pages = 0

    def query(self, **request: Any) -> Any:
        self.pages += 1
        return self.client.query(**{"Limit": 1, **request})


def test_the_store_reader_follows_every_page(dora: DoraWorld) -> None:
    # Given three deployments and a client that pages one item at a time
    store = dora.store()
    for number in range(3):
        item = deployment(f"E{number}", datetime(2024, 6, 1 + number, 9, tzinfo=UTC), sha(number))
        store.put_deployment(item, "event", item.deploy_time)
    paging = OnePerPage(store.client)
    reader = StoreReader(FactStore(store.table_name, client=paging))  # type: ignore[arg-type]

    # When June is read
    found = reader.deployments_between(
        SERVICE, datetime(2024, 6, 1, tzinfo=UTC), datetime(2024, 7, 1, tzinfo=UTC)
    )

    # Then every page was followed
    assert [d.execution_id for d in found] == ["E0", "E1", "E2"]
    assert paging.pages == 3  # one page an item; the last carries no LastEvaluatedKey
