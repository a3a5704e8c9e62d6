"""Automated benchmarking: the cost and phase timings of each finished genomics launch
(docs/blueprints/benchmarking.md)."""
