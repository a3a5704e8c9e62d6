"""Unit tests of the local cloud's event sources, clock and simulators (localcloud part B)."""
