"""What the MAG daemon keeps per mobile node for its ``attach``/``refresh``/``detach`` results, driven without
sockets: the engine's PBUs are answered by hand and handed to ``MagDaemon.on_message`` as the socket would."""

from __future__ import annotations

from pathlib import Path

from pmip6.core.events import Outcome
from pmip6.core.mag import AttachRequest
from pmip6.runtime.config import load_mag_config
from pmip6.runtime.daemon import DaemonOptions
from pmip6.runtime.mag_daemon import MagDaemon, build_mag_daemon
from pmip6.wire.messages import ProxyBindingAcknowledgement, ProxyBindingUpdate
from pmip6.wire.numbers import BAFlags, Status
from pmip6.wire.options import MNIdentifierOption

T0 = 1_800_000_000.0


def _daemon(tmp_path: Path) -> MagDaemon:
    (tmp_path / "mag.toml").write_text(
        '[mag]\nipv4_address = "127.0.0.66"\nlma = "127.0.0.65:5436"\n'
        f'control = "{tmp_path / "mag.sock"}"\n')
    return build_mag_daemon(load_mag_config(tmp_path / "mag.toml"), DaemonOptions())


def _pbu(outcome: Outcome) -> ProxyBindingUpdate:
    (send,) = outcome.sends
    assert isinstance(send.message, ProxyBindingUpdate)
    return send.message


def _answer(pbu: ProxyBindingUpdate, status: int = Status.ACCEPTED) -> ProxyBindingAcknowledgement:
    """The LMA's PBA to ``pbu``: its sequence and lifetime, the MN-ID echoed (RFC 5213 6.9.1.2 items 5 and 6)."""
    return ProxyBindingAcknowledgement(status=status, sequence=pbu.sequence, flags=BAFlags.P, lifetime=pbu.lifetime,
                                       options=(pbu.option(MNIdentifierOption),))


def _mn_ids_held(daemon: MagDaemon, mn_ids: set[bytes]) -> set[bytes]:
    """Which of ``mn_ids`` a container attribute of the daemon holds: as a key, an item, or an item's ``mn_id``."""
    held = set()
    for value in vars(daemon).values():
        if isinstance(value, dict | list | set | tuple):
            held |= {getattr(item, "mn_id", item) for item in value if not isinstance(item, str | int)}
    return held & mn_ids


def test_per_mn_memory_of_the_daemon_is_released_when_the_mn_goes(tmp_path: Path) -> None:
    """Walkthrough 4, finding 9: the status of each MN's accepting PBA and each rejection were kept for every
    MN-ID the MAG ever saw. They belong to the command waiting for them, and go with it."""
    daemon = _daemon(tmp_path)
    lma = daemon.config.settings.lma
    now, mn_ids = T0, set()
    for i in range(500):
        mn_id = f"mn{i}@example.org".encode()
        mn_ids.add(mn_id)
        pbu = _pbu(daemon.mag.attach(AttachRequest(mn_id=mn_id, att=4), now))
        daemon.on_message(_answer(pbu, Status.ACCEPTED if i % 2 else Status.ADMINISTRATIVELY_PROHIBITED), lma,
                          lma.address)
        if i % 2:
            daemon.on_message(_answer(_pbu(daemon.mag.detach(mn_id, now + 0.5))), lma, lma.address)
        else:
            daemon.apply(daemon.mag.detach(mn_id, now + 0.5))  # a failed entry: removed at once
        now += 1.0
    assert list(daemon.mag.entries()) == []
    assert _mn_ids_held(daemon, mn_ids) == set()
