"""Pure parts: Pipes input templates and enrichment responses; Scheduler expressions in time zones."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from localcloud.sources.pipes import enriched_events, parsed_view, render_template
from localcloud.sources.schedule_expressions import Cron, UnsupportedScheduleError, parse_schedule
from localcloud.sources.scheduler import Every, OneTime, ZonedCron, next_in_zone, timing_of
from localcloud.sources.target_input import json_path

PARIS = ZoneInfo("Europe/Paris")
RECORD = {
    "eventName": "INSERT",
    "dynamodb": {"Keys": {"pk": {"S": 'a "quoted" key'}}, "NewImage": {"pk": {"S": "a"}, "n": {"N": "3"}}},
    "count": 3,
    "body": '{"id": "r1", "items": [1, 2]}',
}


def render(template: str, reserved: dict[str, Any] | None = None) -> str:
    view = parsed_view(RECORD)
    known = reserved or {}
    return render_template(
        template, lambda name: json_path(view, name) if name.startswith("$") else known.get(name)
    )


def utc(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()


def iso(moment: float | None) -> str:
    assert moment is not None
    return datetime.fromtimestamp(moment, UTC).strftime("%Y-%m-%d %H:%M")


# -- input templates -----------------------------------------------------------------------------------


def test_a_json_template_quotes_strings_inside_its_own_quotes_and_inserts_objects_raw() -> None:
    text = render('{"id": "<$.dynamodb.Keys.pk.S>", "image": <$.dynamodb.NewImage>, "n": <$.count>}')

    assert json.loads(text) == {
        "id": 'a "quoted" key',
        "image": {"pk": {"S": "a"}, "n": {"N": "3"}},
        "n": 3,
    }


def test_values_outside_quotes_stay_valid_json_and_inside_quotes_become_text() -> None:
    text = render('{"id": <$.dynamodb.Keys.pk.S>, "label": "n=<$.count>, image=<$.dynamodb.NewImage>"}')

    assert json.loads(text) == {
        "id": 'a "quoted" key',
        "label": 'n=3, image={"pk": {"S": "a"}, "n": {"N": "3"}}',
    }


def test_a_json_sqs_body_is_addressable_inside_and_reserved_variables_fill_in() -> None:
    text = render(
        '["<$.body.id>", <$.body.items>, "<aws.pipes.pipe-name>", <$.missing>]',
        {"aws.pipes.pipe-name": "p"},
    )

    assert json.loads(text) == ["r1", [1, 2], "p", None]


def test_a_text_template_inserts_strings_as_they_are() -> None:
    assert render("Hello, <$.dynamodb.Keys.pk.S> (<$.count>)<$.missing>") == 'Hello, a "quoted" key (3)'
    assert render("<$.dynamodb.NewImage>") == '{"pk": {"S": "a"}, "n": {"N": "3"}}'


def test_an_escaped_quote_in_the_template_does_not_end_its_string() -> None:
    assert json.loads(render('{"a": "say \\"<$.count>\\"", "b": <$.count>}')) == {"a": 'say "3"', "b": 3}


@pytest.mark.parametrize(
    ("payload", "events"),
    [
        (None, []),
        ("", []),
        ({}, []),
        ([], []),
        ([{"a": 1}, {"b": 2}], [{"a": 1}, {"b": 2}]),
        ({"a": 1}, [{"a": 1}]),
        ([{}], [{}]),
    ],
)
def test_an_enrichment_response_stands_for_these_events(payload: Any, events: list[Any]) -> None:
    assert enriched_events(payload) == events


# -- schedule expressions --------------------------------------------------------------------------------


def cron(expression: str) -> Cron:
    parsed = parse_schedule(expression)
    assert isinstance(parsed, Cron)
    return parsed


def test_a_cron_in_a_time_zone_follows_its_wall_clock_across_daylight_saving() -> None:
    nine = cron("cron(0 9 * * ? *)")

    assert iso(next_in_zone(nine, utc("2030-03-30 09:00"), PARIS)) == "2030-03-31 07:00"  # CEST from now on
    assert iso(next_in_zone(nine, utc("2030-03-29 12:00"), PARIS)) == "2030-03-30 08:00"  # CET


def test_a_wall_time_that_does_not_exist_is_skipped() -> None:
    half_past_two = cron("cron(30 2 * * ? *)")  # on 2030-03-31 Paris jumps from 02:00 to 03:00

    first = next_in_zone(half_past_two, utc("2030-03-29 12:00"), PARIS)
    second = next_in_zone(half_past_two, first or 0, PARIS)

    assert (iso(first), iso(second)) == ("2030-03-30 01:30", "2030-04-01 00:30")


def test_a_repeated_hour_fires_once() -> None:
    hourly = cron("cron(0 * * * ? *)")  # on 2030-10-27 Paris goes back from 03:00 CEST to 02:00 CET
    moments = []
    moment: float | None = utc("2030-10-26 23:30")
    for _ in range(4):
        moment = next_in_zone(hourly, moment or 0, PARIS)
        moments.append(iso(moment))

    assert moments == ["2030-10-27 00:00", "2030-10-27 02:00", "2030-10-27 03:00", "2030-10-27 04:00"]


def schedule(expression: str, **fields: Any) -> Any:
    values: dict[str, Any] = {"schedule_expression": expression, "schedule_expression_timezone": "UTC"}
    values.update({"start_date": None, "end_date": None} | fields)
    return SimpleNamespace(**values)


def test_timings_of_each_expression_kind() -> None:
    seen = utc("2030-01-01 10:07")

    at = timing_of(schedule("at(2030-01-02T09:30:00)", schedule_expression_timezone="Asia/Tokyo"), seen)
    rate = timing_of(schedule("rate(1 hour)"), seen)
    anchored = timing_of(schedule("rate(2 hours)", start_date=utc("2030-01-01 09:00")), seen)
    bounded = timing_of(schedule("cron(0 12 * * ? *)", end_date="2030-01-02T00:00:00Z"), seen)

    assert at == OneTime(utc("2030-01-02 00:30"))
    assert isinstance(rate, Every)
    assert (iso(rate.first(seen)), iso(rate.after(seen))) == ("2030-01-01 10:07", "2030-01-01 11:07")
    assert isinstance(anchored, Every)
    assert iso(anchored.first(seen)) == "2030-01-01 11:00"
    assert isinstance(bounded, ZonedCron)
    assert iso(bounded.first(seen)) == "2030-01-01 12:00"
    assert bounded.after(utc("2030-01-01 12:00")) is None


def test_a_start_date_on_a_matching_minute_is_an_occurrence() -> None:
    timing = timing_of(
        schedule("cron(0 9 * * ? *)", start_date=utc("2030-01-03 09:00")), utc("2030-01-01 00:00")
    )

    assert iso(timing.first(utc("2030-01-01 00:00"))) == "2030-01-03 09:00"


@pytest.mark.parametrize(
    ("expression", "zone"),
    [("rate(1 week)", "UTC"), ("at(tomorrow)", "UTC"), ("cron(0 9 * * ? *)", "Mars/Olympus")],
)
def test_what_cannot_be_scheduled_is_rejected(expression: str, zone: str) -> None:
    with pytest.raises(UnsupportedScheduleError):
        timing_of(schedule(expression, schedule_expression_timezone=zone), 0.0)
