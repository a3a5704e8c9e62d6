"""DORA metrics for CodePipeline deployments (docs/blueprints/dora.md).

Facts (deployments, pushes, incidents) are stored idempotently; every metric is derived from the facts by
pure functions (``history``, ``calculate``), so the numbers never depend on the order events arrived in.
Import the submodule you need: this package imports nothing on purpose.
"""
