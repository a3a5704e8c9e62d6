"""Genomics workflow manager: launch registry, launcher, status tracking (docs/blueprints/genomics.md).

Import the submodule you need; this package imports nothing so that each handler pays only for its own.
"""
