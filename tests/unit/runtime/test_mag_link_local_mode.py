"""Which FixedMAGLinkLocalAddressOnAllAccessLinks (RFC 5213 6.8) the MAG daemon gives its engine: the data plane's
``access_link_local``, else ALL_ZERO (None: the PBUs ask the LMA, 6.9.1.1 item 9), also without a data plane; read at
the start only, as the ``[dataplane]`` table is."""

from __future__ import annotations

from ipaddress import IPv6Address
from pathlib import Path

import pytest

from pmip6.runtime.config import load_mag_config
from pmip6.runtime.daemon import DaemonOptions
from pmip6.runtime.mag_daemon import MagDaemon

MAG = '[mag]\nipv4_address = "127.0.0.66"\nlma = "127.0.0.65:5436"\ncontrol = "{control}"\n'


def _daemon(tmp_path: Path, dataplane: str) -> MagDaemon:
    (tmp_path / "mag.toml").write_text(MAG.format(control=tmp_path / "mag.sock") + dataplane)
    return MagDaemon(load_mag_config(tmp_path / "mag.toml"), DaemonOptions())


@pytest.mark.parametrize(("dataplane", "fixed"), [
    ('[dataplane]\naccess_link_local = "fe80::1"\n', IPv6Address("fe80::1")),
    ("[dataplane]\n", None),
    ("", None),
    ('[dataplane]\nenabled = false\naccess_link_local = "fe80::1"\n', None),
], ids=["fixed", "from-the-lma", "no-dataplane", "dataplane-off"])
def test_RFC5213_6_8_the_engines_fixed_link_local_address_is_the_data_planes_access_link_local(
        tmp_path: Path, dataplane: str, fixed: IPv6Address | None) -> None:
    assert _daemon(tmp_path, dataplane).mag.settings.fixed_link_local == fixed


def test_a_reload_leaves_the_mode_to_the_next_restart(tmp_path: Path) -> None:
    daemon = _daemon(tmp_path, '[dataplane]\naccess_link_local = "fe80::1"\n')
    (tmp_path / "mag.toml").write_text(MAG.format(control=tmp_path / "mag.sock") + "[dataplane]\n")
    _outcome, restart_needed = daemon.reconfigure()
    assert restart_needed == ["dataplane"]
    assert daemon.mag.settings.fixed_link_local == IPv6Address("fe80::1")
