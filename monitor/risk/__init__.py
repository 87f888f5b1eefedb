"""Cascade projection engine (pure numpy, no I/O)."""
