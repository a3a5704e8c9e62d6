"""The dashboard in the template is the one built from the publishers' metric names."""

from __future__ import annotations

import json
import re

from blueprints.dora import emf
from blueprints.dora.dashboard import body, search, template_text
from tests.support.paths import TEMPLATES
from tests.support.template import load_template

SEARCHED = re.compile(r'MetricName=\\?"(?P<name>\w+)\\?"')


def template_body() -> dict[str, object]:
    dashboard = load_template(TEMPLATES / "dora.yaml")["Resources"]["DoraDashboard"]["Properties"]
    text = dashboard["DashboardBody"]["Fn::Sub"]
    loaded: dict[str, object] = json.loads(text)
    return loaded


def test_the_template_embeds_exactly_the_generated_body() -> None:
    assert template_body() == body("${AWS::Region}")
    assert json.loads(template_text()) == body("${AWS::Region}")


def test_every_widget_reads_a_published_metric_with_the_published_dimensions() -> None:
    # Given the metrics the functions publish (raw points and gauges)
    published = set(emf.RAW_METRICS) | set(emf.GAUGES)

    # When every metric a widget reads is collected
    read: set[str] = set()
    for widget in body("us-east-1")["widgets"]:
        for line in widget["properties"]["metrics"]:
            for part in line:
                if isinstance(part, dict) and "expression" in part:
                    read.update(match["name"] for match in SEARCHED.finditer(part["expression"]))
            if isinstance(line[0], str):
                namespace, name, dimension, value = line[:4]
                assert (namespace, dimension, value) == (emf.NAMESPACE, "service", emf.BLUEPRINT)
                read.add(name)

    # Then each is published, and the day/week/month widgets cover the four keys and rework
    assert read <= published
    assert {emf.DEPLOYMENTS, emf.LEAD_TIME, emf.FAILED, emf.RECOVERY, emf.REWORK} <= read


def test_search_expressions_use_the_per_service_dimension_set() -> None:
    assert search("Deployments", "Sum", 86400) == (
        "SEARCH('{Blueprints,service,Service} service=\"dora\" MetricName=\"Deployments\"', 'Sum', 86400)"
    )
