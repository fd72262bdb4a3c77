"""A network namespace whose ``lo`` carries a few addresses: daemons and hostile hosts on one machine, apart from
the host's own ``::1`` and ``127.0.0.1`` (where others run daemons)."""

from __future__ import annotations

import contextlib
import os
import subprocess
from collections.abc import Iterator

from pmip6.lab.namespaces import NamespaceSet


@contextlib.contextmanager
def loopback_namespace(name: str, addresses: tuple[str, ...]) -> Iterator[str]:
    """The namespace ``<name><pid>-lo`` with ``addresses`` (/32 or /128) on ``lo``, removed afterwards."""
    with NamespaceSet(f"{name}{os.getpid()}") as spaces:
        spaces.create("lo")
        for address in addresses:
            subprocess.run(["ip", "-n", spaces.ns("lo"), "addr", "add", address, "dev", "lo"], check=True)
        yield spaces.ns("lo")
