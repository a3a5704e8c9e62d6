"""Building blocks shared by every blueprint.

Import the submodule you need (``blueprints.core.aws``, ``blueprints.core.settings``...): this package
imports nothing on purpose, so that a handler only pays the cold-start cost of what it uses.
"""
