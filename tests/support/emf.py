"""Read what Powertools printed: EMF metric documents and JSON log lines (captured stdout)."""

from __future__ import annotations

import json
from typing import Any


def json_lines(output: str) -> list[dict[str, Any]]:
    found = []
    for line in output.splitlines():
        line = line.strip()
        if line.startswith("{"):
            try:
                document = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(document, dict):
                found.append(document)
    return found


def metric_documents(output: str, name: str | None = None) -> list[dict[str, Any]]:
    """EMF documents (optionally only those that carry metric ``name``)."""
    documents = [doc for doc in json_lines(output) if "_aws" in doc]
    if name is None:
        return documents
    return [
        doc
        for doc in documents
        if any(
            metric["Name"] == name
            for block in doc["_aws"]["CloudWatchMetrics"]
            for metric in block["Metrics"]
        )
    ]


def dimensions(document: dict[str, Any]) -> dict[str, str]:
    """The dimension names and values of one EMF document."""
    names = {
        name
        for block in document["_aws"]["CloudWatchMetrics"]
        for group in block["Dimensions"]
        for name in group
    }
    return {name: str(document[name]) for name in names}


def log_lines(output: str, message: str | None = None) -> list[dict[str, Any]]:
    lines = [doc for doc in json_lines(output) if "_aws" not in doc and "level" in doc]
    return lines if message is None else [line for line in lines if line.get("message") == message]
