"""Settings and fixtures for the whole suite."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, settings

from pmip6.dataplane.netns import inside
from pmip6.lab.namespaces import NamespaceSet, namespaces_available

# Hypothesis' default 200 ms deadline and its too_slow health check measure wall-clock time, which a loaded CI host
# stretches: a property test fails by its examples, never by how long a descheduled one took.
settings.register_profile("pmip6", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("pmip6")


@pytest.fixture
def private_loopback() -> Iterator[None]:
    """Run the test in a network namespace of its own (only ``lo``, up: ``127.0.0.1`` and ``::1``) when namespaces
    can be used, else where it is. A raw socket of the Mobility Header (RFC 6275 6.1.1) or GRE has no port: on the
    host's ``::1`` it also receives what daemons of any other run there (another suite, a soak) send, and theirs
    this test's, which they answer (a foreign PBA rejected an attach, a foreign MAG refused a global BRI)."""
    if namespaces_available() is not None:
        yield
        return
    with NamespaceSet(f"privlo{os.getpid()}") as spaces:
        spaces.create("lo")
        with inside(spaces.ns("lo")):
            yield
