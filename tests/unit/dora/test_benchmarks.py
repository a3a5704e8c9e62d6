"""Tiers from the versioned benchmark editions (spec §5; test case 4)."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from blueprints.dora import benchmarks
from blueprints.dora.benchmarks import (
    DATA,
    METRICS,
    Band,
    MetricBands,
    _edition,
    default_edition,
    edition,
    editions,
)
from blueprints.dora.errors import UnknownEditionError

HOUR = 3600.0
DAY = 24 * HOUR


def test_every_edition_ships_with_the_layer_and_names_its_source_and_verification() -> None:
    # Given the layer's data folder (shipped with the blueprints package)
    files = sorted(path.name for path in DATA.glob("*.json"))

    # Then the four editions load, each with all four metrics, tiers and per-metric status
    assert files == ["2019.json", "2021.json", "2023.json", "2024.json"]
    for name, loaded in editions().items():
        assert loaded.tiers == ("elite", "high", "medium", "low")
        assert set(loaded.metrics) == set(METRICS)
        assert loaded.source
        assert all(metric.status in {"corroborated", "to verify"} for metric in loaded.metrics.values()), name
        assert "verified" not in json.loads((DATA / f"{name}.json").read_text())  # the old boolean is gone


def test_each_edition_records_its_verification_honestly() -> None:
    # Given the shipped editions
    found = {name: value.verification for name, value in editions().items()}
    # Then none claims "verified" (no value was checked against a report); 2019 and 2021 are corroborated
    # (as the specification says), 2023 and 2024 have values to verify
    assert found == {"2019": "corroborated", "2021": "corroborated", "2023": "to verify", "2024": "to verify"}
    assert [name for name, value in editions().items() if value.verified] == []


def test_the_default_is_the_latest_verified_else_the_latest_corroborated_edition(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given no verified edition: the latest corroborated one (2021), never a "to verify" one (2024)
    assert edition().edition == default_edition().edition == "2021"
    # Given 2019 checked against its report ("verified"): it is the default, the latest verified one
    shipped = dict(editions())
    shipped["2019"] = replace(shipped["2019"], verification="verified")
    monkeypatch.setattr(benchmarks, "editions", lambda: shipped)
    assert edition().edition == "2019"
    # Given only editions to verify: no default
    only = {name: replace(value, verification="to verify") for name, value in shipped.items()}
    monkeypatch.setattr(benchmarks, "editions", lambda: only)
    with pytest.raises(UnknownEditionError, match="no verified or corroborated"):
        edition()


def test_an_edition_is_named_whatever_its_verification() -> None:
    assert edition("2024").edition == "2024"
    with pytest.raises(UnknownEditionError, match="2022"):
        edition("2022")


@pytest.mark.parametrize("name", ["2019", "2023", "2024"])
def test_a_two_hour_median_is_elite_where_a_34_hour_mean_is_high(name: str) -> None:
    # Given lead times of 1 h, 2 h and 100 h (case 4): median 2 h, mean 34.33 h, "<1 day" elite threshold
    chosen = edition(name)
    # Then the median classifies elite and the mean would have been high
    assert chosen.classify("lead_time", 2 * HOUR) == "elite"
    assert chosen.classify("lead_time", 34.33 * HOUR) == "high"


def test_non_monotone_change_failure_rates_classify_per_band() -> None:
    # Given 2024, where medium (10 %) is better than high (20 %)
    cfr = edition("2024").metrics["change_failure_rate"]
    # Then each rate goes to the nearest cluster, never assuming ordered thresholds
    assert [cfr.classify(rate) for rate in (0.0, 0.05, 0.09, 0.16, 0.22, 0.35, 0.9)] == [
        "elite",
        "elite",
        "medium",
        "high",
        "high",
        "low",
        "low",
    ]


def test_overlapping_bands_give_the_best_tier_and_values_beyond_all_bands_the_worst() -> None:
    cfr_2019 = edition("2019").metrics["change_failure_rate"]
    cfr_2021 = edition("2021").metrics["change_failure_rate"]
    assert cfr_2019.classify(0.10) == "elite"  # 0-15 % for elite, high and medium
    assert cfr_2021.classify(0.50) == "low"  # beyond 16-30 %, shared by high, medium and low
    assert cfr_2021.classify(0.155) == "elite"  # the gap between 15 % and 16 %: benefit of the doubt
    assert cfr_2021.classify(None) is None


def test_frequencies_and_durations_use_log_distance_outside_the_bands() -> None:
    df_2021 = edition("2021").metrics["deployment_frequency"]
    assert [df_2021.classify(per_week) for per_week in (14, 0.5, 0.1, 0.0)] == [
        "elite",
        "high",
        "medium",
        "low",
    ]
    recovery_2019 = edition("2019").metrics["recovery_time"]
    # 1.5 days lies beyond high's and medium's shared "<1 day" (the worse of the two), 3 days nearer a week
    assert [recovery_2019.classify(days * DAY) for days in (1.5, 3, 10)] == ["medium", "low", "low"]


def test_the_overall_tier_is_the_lowest_or_the_median_tier() -> None:
    chosen = edition("2021")
    tiers = {
        "deployment_frequency": "elite",
        "lead_time": "high",
        "change_failure_rate": "low",
        "recovery_time": None,
    }
    assert chosen.overall(tiers) == "low"
    assert chosen.overall(tiers, "median") == "high"
    assert chosen.overall(dict.fromkeys(METRICS)) is None


def test_bands_and_files_are_validated() -> None:
    band = Band(1.0, 2.0)
    assert (band.contains(1.0), band.contains(2.0), Band(1.0, 2.0, True).contains(2.0)) == (True, False, True)
    assert (band.side(0.5), band.side(1.5), band.side(3.0)) == (-1, 0, 1)
    point = MetricBands("ratio", False, "lower", "to verify", (("elite", Band(0.05, 0.05, True)),))
    assert point.classify(0.3) == "elite"
    document = json.loads((DATA / "2021.json").read_text())
    del document["metrics"]["lead_time"]["bands"]["low"]
    with pytest.raises(ValueError, match="each tier"):
        _edition(document)
    document = json.loads((DATA / "2021.json").read_text())
    del document["metrics"]["lead_time"]
    with pytest.raises(ValueError, match="metrics must be"):
        _edition(document)
    document = json.loads((DATA / "2021.json").read_text())
    document["verification"] = "checked"
    with pytest.raises(ValueError, match="one of verified, corroborated, to verify"):
        _edition(document)
    document = json.loads((DATA / "2023.json").read_text())
    document["verification"] = "corroborated"  # but its frequency and lead time are "to verify"
    with pytest.raises(ValueError, match="'corroborated' but a metric is 'to verify'"):
        _edition(document)


def test_a_file_must_declare_its_own_edition(
    tmp_path: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "benchmarks"  # type: ignore[operator]
    folder.mkdir()
    (folder / "2030.json").write_text((DATA / "2021.json").read_text())
    monkeypatch.setattr(benchmarks, "DATA", folder)
    editions.cache_clear()
    try:
        with pytest.raises(ValueError, match="declares edition 2021"):
            editions()
    finally:
        editions.cache_clear()
