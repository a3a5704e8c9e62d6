"""What an EventBridge target receives: the full event, ``Input``, ``InputPath`` or ``InputTransformer``.

moto builds SQS/log target payloads from a default template that drops ``account`` and ignores
``Input``/``InputPath``; AWS sends the whole event (``account`` and an ISO ``time`` included) unless the
target says otherwise. The result is kept as text because that is what AWS delivers: a transformer
template may produce plain text (``"<source> happened"``), which an SQS body or SNS message carries
verbatim.
"""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from typing import Any

from jsonpath_ng.ext.parser import parse

from localcloud.clock import isoformat

_EVENT_KEYS = ("version", "id", "detail-type", "source", "account", "time", "region", "resources", "detail")


def event_time(value: Any) -> str:
    """moto keeps ``time`` as epoch seconds (or whatever PutEvents gave); events carry ISO 8601."""
    if isinstance(value, datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=UTC)
        return isoformat(moment.timestamp())
    try:
        return isoformat(float(value))
    except (TypeError, ValueError):
        return str(value)


def full_event(original: dict[str, Any]) -> dict[str, Any]:
    """The event as AWS delivers it to a target, keys in AWS order, without moto's ``ingestion-time``."""
    event = {key: copy.deepcopy(original[key]) for key in _EVENT_KEYS if key in original}
    event.update({key: copy.deepcopy(value) for key, value in original.items() if key not in event})
    event.pop("ingestion-time", None)
    if "time" in event:
        event["time"] = event_time(event["time"])
    return event


def json_path(document: Any, path: str) -> Any:
    """The value at a JSONPath (``$.detail.items[0]``), or None when nothing matches."""
    matches = parse(path).find(document)
    return matches[0].value if matches else None


def render_template(template: str, values: dict[str, Any]) -> str:
    """Substitute ``<name>`` placeholders as EventBridge does.

    In a JSON template a string value is inserted escaped (it is expected inside quotes); in a plain
    text template it is inserted as is. Other values are inserted as JSON.
    """
    json_template = template.lstrip().startswith(("{", "[", '"'))
    for name, value in values.items():
        if isinstance(value, str):
            text = json.dumps(value)[1:-1] if json_template else value
        else:
            text = json.dumps(value)
        template = template.replace(f"<{name}>", text)
    return template


def target_input(target: dict[str, Any], event: dict[str, Any], rule_arn: str, rule_name: str) -> str:
    """The text AWS sends to ``target`` for ``event`` (already in its delivered shape)."""
    if target.get("Input") is not None:
        return str(target["Input"])
    if target.get("InputPath"):
        return json.dumps(json_path(event, target["InputPath"]))
    transformer = target.get("InputTransformer")
    if not transformer:
        return json.dumps(event)
    values = {name: json_path(event, path) for name, path in (transformer.get("InputPathsMap") or {}).items()}
    values.update(
        {
            "aws.events.rule-arn": rule_arn,
            "aws.events.rule-name": rule_name,
            "aws.events.event.ingestion-time": event.get("time"),
            "aws.events.event": event,
            "aws.events.event.json": event,
        }
    )
    return render_template(str(transformer["InputTemplate"]), values)
