"""Forwarding by GRE key: pure tables plus one thin I/O pump."""
