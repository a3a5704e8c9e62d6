"""Developer tools run by the Makefile (template translation, ASL checks, benchmarks)."""
