"""Fixtures of the namespace integration tests."""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator

import pytest

from pmip6.lab.figure1 import Figure1Lab

_LAB_NUMBERS = itertools.count()


@pytest.fixture
def lab() -> Iterator[Figure1Lab]:
    """A fresh Figure-1 lab for one test, removed afterwards whatever happens."""
    with Figure1Lab(prefix=f"f1-{os.getpid()}-{next(_LAB_NUMBERS)}") as built:
        yield built


@pytest.fixture
def bare_lab() -> Iterator[Figure1Lab]:
    """A fresh Figure-1 lab whose access interfaces hold no IPv4 address (``access_router=False``): a MAG daemon
    adds the PBA's default router itself (RFC 5844 section 3.2.3.2)."""
    with Figure1Lab(prefix=f"f1-{os.getpid()}-{next(_LAB_NUMBERS)}", access_router=False) as built:
        yield built
