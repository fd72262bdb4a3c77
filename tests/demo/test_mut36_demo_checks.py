"""mut36: each of the demo's self-checks fails when the system breaks what its sentence says.

Each test monkeypatches one fault into the engines or the forwarders, as
``test_demo.py::test_demo_checks_fail_when_the_lma_ignores_the_tenant`` does, and runs ``pmip6 demo --json``.
The checks as they were passed every one of these faults, or the demo crashed on it with a traceback instead of
reporting (docs/mutation-survivors.md, "The demo's self-checks (mut36)").
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from demo_json import failed_checks

import pmip6.core.lma as lma_module
import pmip6.core.mag as mag_module
import pmip6.dataplane.formats as formats
from pmip6.cli import main
from pmip6.core.bce import BindingCacheEntry
from pmip6.core.bul import BindingUpdateListEntry, BulState
from pmip6.core.lma import LocalMobilityAnchor
from pmip6.core.lookup import BindingCache
from pmip6.core.mag import MobileAccessGateway
from pmip6.dataplane.forwarder import Forwarder, SessionRoute
from pmip6.dataplane.lma import LmaForwarder
from pmip6.dataplane.mag import MagForwarder
from pmip6.demo.figure1 import MAG_ADDRESSES
from pmip6.wire.gre import gre_prefix
from pmip6.wire.numbers import HandoffIndicator
from pmip6.wire.options import GREKeyOption

ECHOES = "every echo came back to the MN that sent it"
OVERLAP = "MN-1 (opA) and MN-3 (opB) share IPv4 home address"
REREGISTRATION = "re-registration kept every uplink and downlink key (GK-3.3.2-2)"
HANDOFF = "MN-2 kept its uplink key across the handoff to MAG-2 (GK-3.3.2-4)"
OLD_MAG = "MAG-1 holds no state for MN-2 any more"
AFTER_HANDOFF = "MN-2's traffic flows through MAG-2 with the same uplink key"
DRAIN = "MN-4's uplink key stayed reserved during MinDelayBeforeBCEDelete and was freed after it"
TUNNEL_KEYS = "every tunneled packet carried its session's GRE key"

Patch = Callable[[pytest.MonkeyPatch], None]


def _wrap(monkeypatch: pytest.MonkeyPatch, owner: Any, name: str, wrapper: Callable[..., Any]) -> None:
    """Replace ``owner.name`` by ``wrapper(original, *args)``."""
    original = getattr(owner, name)
    monkeypatch.setattr(owner, name, lambda *args, **kwargs: wrapper(original, *args, **kwargs))


def test_a_session_whose_echoes_never_return_fails_checks_instead_of_crashing_the_demo(
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """The LMA seals downlink packets with the uplink key: no reply reaches an MN. The demo crashed on MN-2's missing
    replies (``KeyError: 'MN-2'``, a traceback, no report); now it reports every check, the broken ones failed."""
    monkeypatch.setattr(LmaForwarder, "send_key", staticmethod(lambda session: session.uplink_key))
    status, failed, report = failed_checks(capsys)
    assert status == 1 and len(report["checks"]) == 11
    assert {ECHOES, AFTER_HANDOFF, TUNNEL_KEYS} <= failed


def _keys_swapped(monkeypatch: pytest.MonkeyPatch) -> None:
    uplink, downlink = staticmethod(lambda s: s.uplink_key), staticmethod(lambda s: s.downlink_key)
    monkeypatch.setattr(LmaForwarder, "receive_key", downlink)
    monkeypatch.setattr(MagForwarder, "send_key", downlink)
    monkeypatch.setattr(LmaForwarder, "send_key", uplink)
    monkeypatch.setattr(MagForwarder, "receive_key", uplink)


def _keys_shifted(monkeypatch: pytest.MonkeyPatch) -> None:
    uplink = staticmethod(lambda s: None if s.uplink_key is None else s.uplink_key ^ 1)
    downlink = staticmethod(lambda s: None if s.downlink_key is None else s.downlink_key ^ 1)
    for cls, sent, received in ((MagForwarder, uplink, downlink), (LmaForwarder, downlink, uplink)):
        monkeypatch.setattr(cls, "send_key", sent)
        monkeypatch.setattr(cls, "receive_key", received)


@pytest.mark.parametrize("fault", [_keys_swapped, _keys_shifted], ids=["swapped", "shifted"])
def test_GK_4_2_5_GK_5_2_3_packets_with_keys_both_ends_agree_on_but_nobody_registered_fail(
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, fault: Patch) -> None:
    """Both forwarders put the other direction's key (or every key shifted) in their packets and expect it back:
    traffic flows, but no packet carries its session's key. The check only asked that each carried some key."""
    fault(monkeypatch)
    status, failed, _ = failed_checks(capsys)
    assert status == 1 and TUNNEL_KEYS in failed


def test_the_overlap_check_compares_the_address_the_mag_gives_its_mn(
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """The MAG takes the address after the PBA's: the MNs do not share the address the LMA holds for them. The check
    read only the BCEs (and the demo's MNs sent from the BCE's address, not from the one their MAG had)."""
    def shifted(original: Callable[..., None], entry: BindingUpdateListEntry, *args: Any) -> None:
        original(entry, *args)
        if entry.ipv4_home_address is not None:
            entry.ipv4_home_address += 1

    _wrap(monkeypatch, mag_module, "_apply_addresses", shifted)
    status, failed, _ = failed_checks(capsys)
    assert status == 1 and any(name.startswith(OVERLAP) for name in failed)


def _refresh_answered_with_another_uplink_key(monkeypatch: pytest.MonkeyPatch) -> None:
    def answer(original: Callable[..., Any], pbu: Any, received: Any, *args: Any, extra_options: Any = (),
               **kwargs: Any) -> Any:
        if received.handoff_indicator.value == HandoffIndicator.NOT_CHANGED:
            extra_options = [GREKeyOption(option.key ^ 1) if isinstance(option, GREKeyOption) and option.key
                             else option for option in extra_options]
        return original(pbu, received, *args, extra_options=extra_options, **kwargs)

    _wrap(monkeypatch, lma_module, "acceptance", answer)


def _downlink_key_changed_after_the_refresh(monkeypatch: pytest.MonkeyPatch) -> None:
    def accepted(original: Callable[..., Any], mag: MobileAccessGateway, entry: BindingUpdateListEntry,
                 *args: Any) -> Any:
        refreshing = entry.state is BulState.REGISTERED
        outcome = original(mag, entry, *args)
        if refreshing and entry.downlink_key is not None:
            mag._keys.release(entry.downlink_key)
            entry.downlink_key = mag._keys.allocate()
        return outcome

    _wrap(monkeypatch, MobileAccessGateway, "_accepted", accepted)


def _only_mn1_refreshed(monkeypatch: pytest.MonkeyPatch) -> None:
    def accepted(original: Callable[..., Any], mag: MobileAccessGateway, entry: BindingUpdateListEntry,
                 *args: Any) -> Any:
        outcome = original(mag, entry, *args)
        if not entry.mn_id.startswith(b"mn1"):
            entry.refresh_at = entry.expires_at
        return outcome

    _wrap(monkeypatch, MobileAccessGateway, "_accepted", accepted)


@pytest.mark.parametrize("fault", [_refresh_answered_with_another_uplink_key, _downlink_key_changed_after_the_refresh,
                                   _only_mn1_refreshed], ids=["lma-pba", "mag-bul", "one-refresh"])
def test_GK_3_3_2_2_the_reregistration_check_looks_at_both_ends_and_every_mn(
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, fault: Patch) -> None:
    """The LMA's refresh PBA names another uplink key than its BCE keeps; the MAG changes its downlink key after the
    refresh without telling the LMA; only MN-1 is re-registered. The check compared the BCEs only, and took any packet
    on the wire for a re-registration of every MN."""
    fault(monkeypatch)
    status, failed, _ = failed_checks(capsys)
    assert status == 1 and REREGISTRATION in failed


def _downlink_keys_never_released(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(MobileAccessGateway, "_release_downlink_key",
                        lambda self, entry: setattr(entry, "downlink_key", None))


def _key_table_keeps_the_route(monkeypatch: pytest.MonkeyPatch) -> None:
    def unroute(original: Callable[..., None], forwarder: Forwarder, route: SessionRoute) -> None:
        original(forwarder, route)
        if route.receive_key is not None:
            forwarder._by_key.setdefault(route.receive_key, route)

    _wrap(monkeypatch, Forwarder, "_unroute", unroute)


@pytest.mark.parametrize("fault", [_downlink_keys_never_released, _key_table_keeps_the_route],
                         ids=["allocator", "key-table"])
def test_the_old_mag_holds_neither_the_downlink_key_nor_a_key_table_entry(
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, fault: Patch) -> None:
    """MAG-1 keeps MN-2's downlink key reserved, or its forwarder still finds MN-2's route by that key: state it
    holds for MN-2. The check looked at the BUL and the forwarder's access interfaces only."""
    fault(monkeypatch)
    status, failed, _ = failed_checks(capsys)
    assert status == 1 and OLD_MAG in failed


def test_the_downlink_after_the_handoff_must_reach_mag_2(capsys: pytest.CaptureFixture[str],
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """The LMA sends every downlink packet to MAG-1. The demo handed each reply to the sending MN's MAG whatever
    address the LMA put on it, so MN-2's replies "flowed through MAG-2" from MAG-1's tunnel."""
    def to_mag1(original: Callable[..., Any], forwarder: LmaForwarder, *args: Any) -> Any:
        sealed = original(forwarder, *args)
        return (str(MAG_ADDRESSES["MAG-1"]), *sealed[1:]) if isinstance(sealed, tuple) else sealed

    _wrap(monkeypatch, LmaForwarder, "from_tenant", to_mag1)
    status, failed, _ = failed_checks(capsys)
    assert status == 1 and AFTER_HANDOFF in failed


def _uplink_key_kept_after_the_delete(monkeypatch: pytest.MonkeyPatch) -> None:
    def forget(original: Callable[..., Any], lma: LocalMobilityAnchor, entry: BindingCacheEntry, *args: Any) -> Any:
        entry.reserved_uplink_key = None  # so it is not released
        return original(lma, entry, *args)

    _wrap(monkeypatch, LocalMobilityAnchor, "_forget", forget)


def _uplink_key_released_when_the_drain_starts(monkeypatch: pytest.MonkeyPatch) -> None:
    def drain(original: Callable[..., Any], lma: LocalMobilityAnchor, entry: BindingCacheEntry, *args: Any) -> Any:
        if entry.reserved_uplink_key is not None:
            lma._keys.release(entry.reserved_uplink_key)
            entry.reserved_uplink_key = None
        return original(lma, entry, *args)

    _wrap(monkeypatch, LocalMobilityAnchor, "_drain", drain)


@pytest.mark.parametrize(("fault", "state"), [(_uplink_key_kept_after_the_delete, "detached, keys not freed"),
                                              (_uplink_key_released_when_the_drain_starts, "detached, keys freed")],
                         ids=["leaked", "released-early"])
def test_RFC5213_5_3_5_the_drain_check_asks_the_lmas_key_allocator(
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, fault: Patch, state: str) -> None:
    """The uplink key is never released, or released as the drain starts while the BCE still names it. The check
    looked at the BCE only; the table said "keys freed" whatever happened."""
    fault(monkeypatch)
    status, failed, report = failed_checks(capsys)
    assert status == 1 and DRAIN in failed
    assert {row["mn"]: row["state"] for row in report["bindings"]}["MN-4"] == state


def test_the_table_shows_the_mag_the_bce_names(capsys: pytest.CaptureFixture[str],
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """The LMA keeps MN-2's old Proxy-CoA on the handoff: the table said MAG-2 (where the demo had attached MN-2),
    the BCE says MAG-1."""
    def set_mag(original: Callable[..., None], cache: BindingCache, entry: BindingCacheEntry, proxy_coa: Any,
                *args: Any) -> None:
        if entry.proxy_coa.address == proxy_coa.address:
            original(cache, entry, proxy_coa, *args)

    _wrap(monkeypatch, BindingCache, "set_mag", set_mag)
    status, failed, report = failed_checks(capsys)
    assert status == 1 and HANDOFF in failed
    assert {row["mn"]: row["mag"] for row in report["bindings"]}["MN-2"] == "MAG-1"


def test_packets_without_a_key_are_not_counted_as_keyed(capsys: pytest.CaptureFixture[str],
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """Every GRE header without the K bit: the text report said "12 keyed GRE packets crossed the MAG-LMA link"."""
    monkeypatch.setattr(formats, "gre_prefix", lambda key, protocol: gre_prefix(None, protocol))
    assert main(["demo"]) == 1
    out = capsys.readouterr().out
    assert "keyed GRE packets" not in out
    assert re.search(r"^ +(\d+) tunneled packets, \1 without a GRE key, crossed the MAG-LMA link$", out, re.M)
    assert f"  FAIL  {TUNNEL_KEYS}" in out

