"""mut37: the state file's rows as the LMA daemon's module functions name them (``take_changed_rows``,
``live_not_restored``), moved out of the daemon so that fuzz/state_file.py models the same writes."""

from __future__ import annotations

from ipaddress import IPv4Address
from types import SimpleNamespace
from typing import Any

import pytest

from pmip6.core.bce import BceState
from pmip6.core.events import Outcome, Peer, SendMessage
from pmip6.runtime.lma_daemon import live_not_restored, take_changed_rows
from pmip6.wire.messages import ProxyBindingAcknowledgement
from pmip6.wire.numbers import Status
from pmip6.wire.options import MNIdentifierOption

MN = b"mn1@example.org"
MAG = Peer(IPv4Address("192.0.2.1"), 5436)
NOW = 1_800_000_000.0


def _no_record_changes() -> Any:
    """An engine whose ``take_record_changes`` names no MN."""
    return SimpleNamespace(take_record_changes=set)


@pytest.mark.parametrize(("status", "changed"), [
    (Status.ACCEPTED, {MN}),
    (Status.REASON_UNSPECIFIED, set()),
    (Status.NOT_AUTHORIZED_FOR_IPV4_HOME_ADDRESS, set()),
], ids=["0", "128", "171"])
def test_only_an_accepting_pba_names_its_mns_row(status: int, changed: set[bytes]) -> None:
    """An accepting PBA moved its BCE's Sequence Number and Timestamp; a rejection changed nothing stored (RFC 5213
    5.3.2's rejections leave the BCE as it was): a flood of rejected PBUs writes nothing (mut37 R05)."""
    pba = ProxyBindingAcknowledgement(status, 7, options=(MNIdentifierOption(MN),))

    assert take_changed_rows(_no_record_changes(), Outcome(sends=[SendMessage(pba, MAG)])) == changed


def test_a_binding_dropped_beside_one_of_its_mn_restored_is_lost_state() -> None:
    """RFC 5847 3.2: the Restart Counter stays only "if the recovery happens without losing state"; a stored live
    binding that the restore dropped is lost though another binding of its MN came back (mut37 R08: any binding of
    the MN restored counted for all of them)."""
    entries: list[Any] = [SimpleNamespace(mn_id=MN, state=BceState.ACTIVE, expires_at=expires)
                          for expires in (NOW + 60, NOW + 60, NOW - 1)]
    kept, dropped, over = entries
    engine: Any = SimpleNamespace(bindings_of=lambda mn_id: [kept] if mn_id == MN else [])

    assert live_not_restored(engine, [kept, dropped, over], NOW) == [dropped]
