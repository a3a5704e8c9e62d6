"""The queue broker end to end on the local cloud."""
