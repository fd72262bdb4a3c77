"""Settings and fixtures for the whole suite."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from hypothesis import HealthCheck, settings

from pmip6.dataplane.netns import inside
from pmip6.lab.namespaces import NamespaceSet, namespaces_available
from pmip6.runtime.eventlog import _HumanFormatter, _JsonFormatter

# Hypothesis' default 200 ms deadline and its too_slow health check measure wall-clock time, which a loaded CI host
# stretches: a property test fails by its examples, never by how long a descheduled one took.
settings.register_profile("pmip6", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("pmip6")


@pytest.fixture(autouse=True)
def _daemon_logging_undone() -> Iterator[None]:
    """Undo what a test running pmip6's CLI in this process (``main([...])``) did to logging: ``configure_logging``
    points the root logger at the ``sys.stderr`` of that test, which pytest's capture closes after it, so every record
    of a later test on the same worker printed a "Logging error" traceback instead (a test logging 1,500 bindings then
    took 5 s instead of 1, and more than its 10 s under load)."""
    root = logging.getLogger()
    level = root.level
    yield
    for handler in [handler for handler in root.handlers
                    if isinstance(handler.formatter, (_HumanFormatter, _JsonFormatter))]:
        root.removeHandler(handler)
    root.setLevel(level)


@contextmanager
def _own_loopback(prefix: str) -> Iterator[None]:
    """The calling thread (and the threads and processes it starts) in a new network namespace ``<prefix>-lo`` with
    only ``lo``, up, while the block runs, when namespaces can be used; else where it is."""
    if namespaces_available() is not None:
        yield
        return
    with NamespaceSet(prefix) as spaces:
        spaces.create("lo")
        with inside(spaces.ns("lo")):
            yield


@pytest.fixture
def private_loopback() -> Iterator[None]:
    """Run the test in a network namespace of its own (only ``lo``, up: ``127.0.0.1`` and ``::1``) when namespaces
    can be used, else where it is. A raw socket of the Mobility Header (RFC 6275 6.1.1) or GRE has no port: on the
    host's ``::1`` it also receives what daemons of any other run there (another suite, a soak) send, and theirs
    this test's, which they answer (a foreign PBA rejected an attach, a foreign MAG refused a global BRI)."""
    with _own_loopback(f"privlo{os.getpid()}"):
        yield


@pytest.fixture(scope="module")
def private_loopback_module() -> Iterator[None]:
    """:func:`private_loopback` for a whole module, its module-scoped fixtures (daemons started once) included: name
    it in the module's ``pytestmark`` (``usefixtures``), which pytest sets up before the module's other fixtures."""
    with _own_loopback(f"privlomod{os.getpid()}"):
        yield
