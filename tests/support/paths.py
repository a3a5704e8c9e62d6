"""Where things are in the repository."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
EVENTS = ROOT / "events"
FUNCTIONS = ROOT / "functions"
TEMPLATES = ROOT / "templates"
ROOT_TEMPLATE = ROOT / "template.yaml"
LAYER = ROOT / "layers" / "shared"
STATEMACHINES = ROOT / "statemachines"
