"""Blueprints: shared runtime code of every blueprint (deployed as the shared Lambda layer)."""
