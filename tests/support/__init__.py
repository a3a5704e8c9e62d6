"""Helpers shared by unit, flow and template tests (and by tools/bench.py)."""
