"""End-to-end flows on the local cloud, from the real templates."""
