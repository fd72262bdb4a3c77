"""Fuzz targets, seed corpus, fault injection and load generation for pmip6 (docs/reliability.md)."""
