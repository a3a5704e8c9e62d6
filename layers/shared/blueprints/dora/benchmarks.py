"""Tiers from versioned benchmark editions (``data/benchmarks/<edition>.json``, one per DORA report).

Each file names its report, its source and its ``verification``: ``verified`` (every value checked against
the report), ``corroborated`` (every value agrees with a secondary source, not yet checked against the
report) or ``to verify`` (some values only transcribed); each metric has its own status, and an edition
is never more verified than its least verified metric. The default edition is the latest ``verified``
one, or while none is, the latest ``corroborated`` one; a ``to verify`` edition is used only on request.
A metric's tiers are bands (``min`` inclusive, ``max`` exclusive
unless ``max_inclusive``, or a single ``value``), and a value gets the tier of the band it lies in (the
best one when bands overlap). Thresholds are never assumed to be ordered (2024's change failure rates
are not): a value in no band gets the nearest band's tier, by log distance for durations and
frequencies and linear distance for rates. On a tie, a value beyond every tied band on the metric's
worse side gets the worst of them, otherwise the best. The overall tier is the lowest per-metric tier
(or the median one), over the metrics that have a tier.
"""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, cast

from blueprints.dora.errors import UnknownEditionError

DATA = Path(__file__).parent / "data" / "benchmarks"
METRICS = ("deployment_frequency", "lead_time", "change_failure_rate", "recovery_time")
VERIFICATION = ("verified", "corroborated", "to verify")  # strongest first


@dataclass(frozen=True)
class Band:
    low: float | None
    high: float | None
    high_inclusive: bool = False
    label: str = ""

    def contains(self, value: float) -> bool:
        if self.low is not None and value < self.low:
            return False
        if self.high is None:
            return True
        return value <= self.high if self.high_inclusive else value < self.high

    def distance(self, value: float, *, log: bool) -> float:
        side = self.side(value)
        if side == 0:
            return 0.0
        edge = cast(float, self.low if side < 0 else self.high)  # a bound exists on the side outside
        if log:
            return abs(math.log(max(value, 1e-9)) - math.log(max(edge, 1e-9)))
        return abs(value - edge)

    def side(self, value: float) -> int:
        """-1 when ``value`` is below the band, 1 above, 0 inside."""
        if self.contains(value):
            return 0
        return -1 if self.low is not None and value < self.low else 1


@dataclass(frozen=True)
class MetricBands:
    unit: str
    log_scale: bool
    better: Literal["lower", "higher"]
    status: str
    bands: tuple[tuple[str, Band], ...]  # best tier first

    def classify(self, value: float | None) -> str | None:
        if value is None:
            return None
        distances = [
            (band.distance(value, log=self.log_scale), rank) for rank, (_, band) in enumerate(self.bands)
        ]
        nearest = min(distance for distance, _ in distances)
        tied = [rank for distance, rank in distances if math.isclose(distance, nearest, abs_tol=1e-12)]
        sides = {self.bands[rank][1].side(value) for rank in tied}
        worse_side = 1 if self.better == "lower" else -1
        chosen = max(tied) if nearest > 0 and sides == {worse_side} else min(tied)
        return self.bands[chosen][0]


@dataclass(frozen=True)
class Edition:
    edition: str
    report: str
    source: str
    verification: str  # one of VERIFICATION
    tiers: tuple[str, ...]  # best first
    metrics: Mapping[str, MetricBands]

    @property
    def verified(self) -> bool:
        return self.verification == "verified"

    def classify(self, metric: str, value: float | None) -> str | None:
        return self.metrics[metric].classify(value)

    def overall(
        self, tiers: Mapping[str, str | None], rule: Literal["lowest", "median"] = "lowest"
    ) -> str | None:
        ranks = sorted(self.tiers.index(tier) for tier in tiers.values() if tier is not None)
        if not ranks:
            return None
        if rule == "median":
            return self.tiers[ranks[len(ranks) // 2]]
        return self.tiers[ranks[-1]]


def _band(raw: Mapping[str, object]) -> Band:
    def number(key: str) -> float | None:
        value = raw.get(key)
        return None if value is None else float(str(value))

    if "value" in raw:
        point = number("value")
        return Band(point, point, True, str(raw.get("label", "")))
    inclusive = bool(raw.get("max_inclusive", False))
    return Band(number("min"), number("max"), inclusive, str(raw.get("label", "")))


def _edition(document: Mapping[str, object]) -> Edition:
    tiers = tuple(str(tier) for tier in document["tiers"])  # type: ignore[attr-defined]
    metrics: dict[str, MetricBands] = {}
    for name, spec in dict(document["metrics"]).items():  # type: ignore[call-overload]
        bands = spec["bands"]
        missing = [tier for tier in tiers if tier not in bands]
        if missing or set(bands) - set(tiers):
            raise ValueError(f"edition {document['edition']}: {name} bands must name each tier once")
        metrics[str(name)] = MetricBands(
            unit=str(spec["unit"]),
            log_scale=spec["scale"] == "log",
            better="higher" if spec["better"] == "higher" else "lower",
            status=str(spec["status"]),
            bands=tuple((tier, _band(bands[tier])) for tier in tiers),
        )
    if set(metrics) != set(METRICS):
        raise ValueError(f"edition {document['edition']}: metrics must be {', '.join(METRICS)}")
    verification = str(document["verification"])
    statuses = [verification, *(metric.status for metric in metrics.values())]
    if any(status not in VERIFICATION for status in statuses):
        raise ValueError(f"edition {document['edition']}: a status must be one of {', '.join(VERIFICATION)}")
    weakest = max(VERIFICATION.index(status) for status in statuses[1:])
    if VERIFICATION.index(verification) < weakest:
        raise ValueError(
            f"edition {document['edition']}: {verification!r} but a metric is {VERIFICATION[weakest]!r}"
        )
    return Edition(
        edition=str(document["edition"]),
        report=str(document["report"]),
        source=str(document["source"]),
        verification=verification,
        tiers=tiers,
        metrics=metrics,
    )


@functools.cache
def editions() -> dict[str, Edition]:
    """Every shipped edition, by name (read once per container)."""
    found = {}
    for path in sorted(DATA.glob("*.json")):
        edition = _edition(json.loads(path.read_text()))
        if edition.edition != path.stem:
            raise ValueError(f"{path.name} declares edition {edition.edition}")
        found[edition.edition] = edition
    return found


def default_edition() -> Edition:
    """The latest ``verified`` edition, else the latest ``corroborated`` one (never a ``to verify`` one)."""
    shipped = editions()
    for level in VERIFICATION[:2]:
        found = [key for key, value in shipped.items() if value.verification == level]
        if found:
            return shipped[max(found)]
    raise UnknownEditionError("no verified or corroborated benchmark edition is shipped")


def edition(name: str | None = None) -> Edition:
    """The named edition, or the default one (``default_edition``)."""
    shipped = editions()
    if name is None:
        return default_edition()
    if name not in shipped:
        raise UnknownEditionError(f"unknown benchmark edition {name!r} (known: {', '.join(sorted(shipped))})")
    return shipped[name]
