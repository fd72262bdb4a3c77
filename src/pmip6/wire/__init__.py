"""Bytes to typed messages and back. No state, no I/O (see docs/architecture.md)."""
