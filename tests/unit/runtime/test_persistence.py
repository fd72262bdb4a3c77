"""The LMA daemon's binding store follows every binding change and forgets expired bindings on start.

RFC 5845 3.3.2 keeps a session's keys for its life, so pmip6's LMA commits every binding change to its state
file before announcing it (runtime/lma_daemon.py). These tests drive the daemon's engine path without
sockets: PBUs built by a MAG engine go to ``LmaDaemon.on_message``; the PBAs the daemon would send are
collected instead of sent.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import re
import sqlite3
import textwrap
import time
from collections.abc import Iterator
from ipaddress import IPv4Address, IPv4Interface, IPv6Network
from pathlib import Path
from typing import Any

import pytest

from pmip6.core.bce import BceState, BindingCacheEntry
from pmip6.core.events import Outcome, Peer, SendMessage
from pmip6.core.keys import GreKeyAllocator
from pmip6.core.mag import MobileAccessGateway
from pmip6.core.mag_settings import AttachRequest, MagSettings
from pmip6.core.revocation_sender import RevocationTiming
from pmip6.runtime.config import load_lma_config
from pmip6.runtime.daemon import DaemonOptions
from pmip6.runtime.lma_daemon import LmaDaemon
from pmip6.runtime.store import BindingStore
from pmip6.wire.messages import (
    BindingRevocationAcknowledgement,
    BindingRevocationIndication,
    ProxyBindingAcknowledgement,
    ProxyBindingUpdate,
)
from pmip6.wire.numbers import AccessTechnologyType, BUFlags, HandoffIndicator, RevocationTrigger, Status
from pmip6.wire.options import TimestampOption

LMAA = IPv4Address("127.0.0.1")
MAG_A = IPv4Address("127.0.0.1")
MAG_B = IPv4Address("127.0.0.2")
PORT = 5436
MN = "mn1@opA"

_LMA_TOML = textwrap.dedent(f"""
    [lma]
    ipv4_address = "{LMAA}"
    udp_port = {PORT}
    state = "lma.db"
    control = "lma.sock"
    min_delay_before_bce_delete = 30
    [policy]
    gre = "optional"
    default_tenant = "opA"
    [[mag]]
    address = "{MAG_A}"
    [[mag]]
    address = "{MAG_B}"
    [[tenant]]
    name = "opA"
    ipv4_pool = "10.0.0.0/24"
    ipv6_prefix_pool = "2001:db8:a::/48"
""")


class StoreLab:
    """An LMA daemon with a state file (sockets never opened) and MAG engines that talk to it directly."""

    def __init__(self, directory: Path) -> None:
        (directory / "lma.toml").write_text(_LMA_TOML)
        self.config = load_lma_config(directory / "lma.toml")
        self.lma = LmaDaemon(self.config, DaemonOptions())
        self.sent: list[SendMessage] = []
        self.lma.send = self.sent.append  # type: ignore[method-assign]
        self.mags = {address: MobileAccessGateway(MagSettings(proxy_coa=address, lma=Peer(LMAA, PORT)),
                                                  GreKeyAllocator(seed)) for seed, address in enumerate((MAG_A, MAG_B))}

        self._last_now = 0.0

    def pbas(self) -> list[ProxyBindingAcknowledgement]:
        """What the LMA sent, each message a PBA."""
        pbas = []
        for send in self.sent:
            assert isinstance(send.message, ProxyBindingAcknowledgement), send
            pbas.append(send.message)
        return pbas

    def now(self) -> float:
        """The wall clock (the LMA checks timestamps against it), but 1 ms past the previous reading, so the
        second MAG's timestamps are later than the first's (RFC 5213 5.5) however fast the test runs."""
        self._last_now = max(time.time(), self._last_now + 0.001)
        return self._last_now

    def start(self) -> None:
        asyncio.run(self.lma.prepare())

    def store_before_start(self, records: dict[bytes, list[dict[str, Any]]],
                           restart_counter: int | None = None) -> None:
        """Put ``records`` in the state file, and the ``restart_counter`` when given, as an earlier run of the LMA
        would have left them."""
        assert self.config.state is not None
        store = BindingStore(self.config.state)
        store.save(records)
        if restart_counter is not None:
            assert store.restart_counter(restart_counter) == restart_counter
        store.close()

    def start_without_state_file(self) -> None:
        """Replace this lab's LMA by one with no state file and ``binding_revocation`` on, started, MAG_A attached."""
        config = dataclasses.replace(self.config, state=None,
                                     settings=dataclasses.replace(self.config.settings, binding_revocation=True))
        self.lma = LmaDaemon(config, DaemonOptions())
        self.lma.send = self.sent.append  # type: ignore[method-assign]
        self.start()
        self.attach(MAG_A)

    def restart(self) -> LmaDaemon:
        """Stop this LMA (its store closed) and start another on the same state file; the new one."""
        self.close()
        self.lma = LmaDaemon(self.config, DaemonOptions())
        self.start()
        return self.lma

    def exchange(self, mag_address: IPv4Address, outcome: Any, now: float) -> ProxyBindingAcknowledgement:
        """Hand the MAG's one PBU to the LMA daemon and its PBA back to the MAG; the PBA."""
        assert len(outcome.sends) == 1, outcome
        pbu = outcome.sends[0].message
        assert isinstance(pbu, ProxyBindingUpdate)
        self.sent.clear()
        self.lma.on_message(pbu, Peer(mag_address, PORT), LMAA)
        assert len(self.sent) == 1, self.sent
        pba = self.sent[0].message
        assert isinstance(pba, ProxyBindingAcknowledgement)
        self.mags[mag_address].receive(pba, Peer(LMAA, PORT), now)
        return pba

    def attach(self, mag_address: IPv4Address, hi: int = HandoffIndicator.NEW_INTERFACE) -> None:
        now = self.now()
        request = AttachRequest(mn_id=MN.encode(), att=AccessTechnologyType.IEEE_802_11, hi=hi)
        pba = self.exchange(mag_address, self.mags[mag_address].attach(request, now), now)
        assert pba.status == Status.ACCEPTED

    def stored(self) -> list[dict[str, Any]]:
        assert self.lma.store is not None
        return self.lma.store.load().records

    def close(self) -> None:
        if self.lma.store is not None:
            self.lma.store.close()


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[StoreLab]:
    store_lab = StoreLab(tmp_path)
    try:
        yield store_lab
    finally:
        store_lab.close()


def test_deregistration_is_persisted_as_deregistering(lab: StoreLab) -> None:
    """RFC 5213 5.3.5: a de-registered entry drains (MinDelayBeforeBCEDelete) and is then deleted; the store
    must say so at once, or an LMA restarted meanwhile would bring the binding back live."""
    lab.start()
    lab.attach(MAG_A)
    assert [record["state"] for record in lab.stored()] == ["active"]

    now = lab.now()
    pba = lab.exchange(MAG_A, lab.mags[MAG_A].detach(MN.encode(), now), now)
    assert pba.status == Status.ACCEPTED and pba.lifetime == 0

    records = lab.stored()
    assert [(record["mn_id"], record["state"]) for record in records] == [(MN, str(BceState.DEREGISTERING))]


def test_a_repeated_deregistration_of_a_draining_entry_is_persisted_before_its_pba(lab: StoreLab) -> None:
    """RFC 5213 5.5: a second accepted de-registration (e.g. the MAG's resend after status 135) moves the draining
    BCE's Sequence Number and Timestamp on. The store must follow before the PBA leaves, or an LMA restarted
    within MinDelayBeforeBCEDelete would accept PBUs this one had already outdated."""
    lab.start()
    lab.attach(MAG_A)
    now = lab.now()
    deregistration = lab.mags[MAG_A].detach(MN.encode(), now).sends[0].message
    assert isinstance(deregistration, ProxyBindingUpdate)
    lab.exchange(MAG_A, Outcome(sends=[SendMessage(deregistration, Peer(LMAA, PORT))]), now)
    later = TimestampOption.from_time(lab.now())
    again = dataclasses.replace(deregistration, sequence=(deregistration.sequence + 1) & 0xFFFF, options=tuple(
        later if isinstance(option, TimestampOption) else option for option in deregistration.options))
    lab.sent.clear()
    lab.lma.on_message(again, Peer(MAG_A, PORT), LMAA)
    assert [pba.status for pba in lab.pbas()] == [Status.ACCEPTED]

    (entry,) = lab.lma.lma.bindings()
    (stored,) = lab.stored()
    assert (stored["last_sequence"], stored["last_timestamp"]) == (entry.last_sequence, entry.last_timestamp)
    assert stored["last_timestamp"] == later.ticks and stored["state"] == str(BceState.DEREGISTERING)


def test_RFC5213_5_3_5_a_repeated_deregistration_without_the_a_flag_is_persisted_and_answered(lab: StoreLab) -> None:
    """The same as above from a MAG that clears the A flag: accepted, it gets its PBA all the same (RFC 5213 5.3.5
    item 2: "it MUST send the Proxy Binding Acknowledgement"), and the store follows the moved Sequence Number and
    Timestamp."""
    lab.start()
    lab.attach(MAG_A)
    now = lab.now()
    deregistration = lab.mags[MAG_A].detach(MN.encode(), now).sends[0].message
    assert isinstance(deregistration, ProxyBindingUpdate)
    lab.exchange(MAG_A, Outcome(sends=[SendMessage(deregistration, Peer(LMAA, PORT))]), now)
    later = TimestampOption.from_time(lab.now())
    again = dataclasses.replace(deregistration, sequence=(deregistration.sequence + 1) & 0xFFFF,
                                flags=deregistration.flags & ~BUFlags.A, options=tuple(
        later if isinstance(option, TimestampOption) else option for option in deregistration.options))
    lab.sent.clear()
    lab.lma.on_message(again, Peer(MAG_A, PORT), LMAA)
    (pba,) = [send.message for send in lab.sent if isinstance(send.message, ProxyBindingAcknowledgement)]
    assert pba.status == Status.ACCEPTED and pba.sequence == again.sequence

    (entry,) = lab.lma.lma.bindings()
    (stored,) = lab.stored()
    assert (stored["last_sequence"], stored["last_timestamp"]) == (entry.last_sequence, entry.last_timestamp)
    assert stored["last_timestamp"] == later.ticks


def test_handoff_is_persisted_with_the_new_proxy_coa(lab: StoreLab) -> None:
    """RFC 5213 5.3.2 / 5.4.1 (handoff, HI 3 from another MAG): the BCE's Proxy-CoA becomes the new MAG's;
    the stored record must follow the BindingUpdated, or a restart would tunnel to the old MAG."""
    lab.start()
    lab.attach(MAG_A)
    (before,) = lab.stored()
    assert before["proxy_coa"] == str(MAG_A)

    lab.attach(MAG_B, hi=HandoffIndicator.HANDOFF_BETWEEN_MAGS)

    (after,) = lab.stored()
    assert after["mn_id"] == MN and after["state"] == str(BceState.ACTIVE)
    assert after["proxy_coa"] == str(MAG_B)
    assert after["downlink_key"] != before["downlink_key"]  # GK-3.3.2-3: the new MAG's own downlink key
    assert after["last_timestamp"] != before["last_timestamp"]


def test_a_failed_write_sends_no_pba_is_counted_and_rewritten_by_the_next_write(
        lab: StoreLab, caplog: pytest.LogCaptureFixture) -> None:
    """docs/operations.md "State file": the PBA announces only what is on disk. When the write fails (disk full,
    I/O error) the PBA is not sent, the failure is logged at error level with the MN-ID and counted
    (``store_errors``); the next successful write also rewrites the rows the failed one left stale."""
    lab.start()
    lab.attach(MAG_A)
    assert lab.lma.store is not None
    real_save = lab.lma.store.save

    def failing_save(changes: Any, revocations: Any = None) -> None:
        raise sqlite3.OperationalError("disk I/O error")

    lab.lma.store.save = failing_save  # type: ignore[method-assign]
    now = lab.now()
    lab.sent.clear()
    with caplog.at_level(logging.ERROR, logger="pmip6.lma"):
        lab.lma.on_message(lab.mags[MAG_A].detach(MN.encode(), now).sends[0].message, Peer(MAG_A, PORT), LMAA)
    assert lab.sent == [], "no PBA announces a change that is not on disk"
    assert lab.lma.statistics.store_errors == 1
    assert (f"state file {lab.config.state}: writing the bindings of {MN} failed, nothing sent: disk I/O error"
            in caplog.messages)

    lab.lma.store.save = real_save  # type: ignore[method-assign]
    now = lab.now()
    request = AttachRequest(mn_id=b"mn2@opA", att=AccessTechnologyType.IEEE_802_11)
    assert lab.exchange(MAG_B, lab.mags[MAG_B].attach(request, now), now).status == Status.ACCEPTED
    assert {(record["mn_id"], record["state"]) for record in lab.stored()} == {
        (MN, str(BceState.DEREGISTERING)), ("mn2@opA", str(BceState.ACTIVE))}


def _record(mn_id: bytes, expires_at: float, ipv4: str, prefix: str) -> dict[str, Any]:
    return BindingCacheEntry(
        mn_id=mn_id, tenant="opA", proxy_coa=Peer(MAG_A, PORT), lmaa=LMAA, att=4, hi=1, lifetime=3600,
        expires_at=expires_at, last_sequence=7, last_timestamp=123456,
        home_network_prefixes=(IPv6Network(prefix),), ipv4_home_address=IPv4Interface(ipv4),
        ipv4_default_router=IPv4Address("10.0.0.1"), gre_enabled=True, downlink_key=0x1111 + len(mn_id),
        uplink_key=0xA000 + len(mn_id), tlv_header=False, state=BceState.ACTIVE,
    ).to_record()


def test_start_prunes_expired_bindings_from_the_store(lab: StoreLab) -> None:
    """RFC 5213 5.3.5 (an entry is deleted when its lifetime ends): a binding that expired while the LMA was
    down is not restored, and it must leave the state file too, not linger there for ever."""
    now = time.time()
    lab.store_before_start({
        b"old@opA": [_record(b"old@opA", now - 60, "10.0.0.2/24", "2001:db8:a:1::/64")],
        b"live@opA": [_record(b"live@opA", now + 3600, "10.0.0.3/24", "2001:db8:a:2::/64")],
    })

    lab.start()

    assert [entry.mn_id for entry in lab.lma.lma.bindings()] == [b"live@opA"]
    assert [record["mn_id"] for record in lab.stored()] == ["live@opA"]


def test_the_restore_log_says_why_stored_bindings_were_dropped(lab: StoreLab, caplog: pytest.LogCaptureFixture) -> None:
    """One expired, one live, one holding the live one's home network prefix and one that is no binding record:
    "restored 1 of 4" alone would not say what became of the other three."""
    now = time.time()
    lab.store_before_start({
        b"old@opA": [_record(b"old@opA", now - 60, "10.0.0.2/24", "2001:db8:a:1::/64")],
        b"live@opA": [_record(b"live@opA", now + 3600, "10.0.0.3/24", "2001:db8:a:2::/64")],
        b"twin@opA": [_record(b"twin@opA", now + 3600, "10.0.0.4/24", "2001:db8:a:2::/64")],
        b"junk@opA": [{"record_version": -1}],
    })

    with caplog.at_level(logging.INFO, logger="pmip6.lma"):
        lab.start()

    assert len(list(lab.lma.lma.bindings())) == 1
    assert (f"restored 1 of 4 stored bindings from {lab.lma.config.state}; dropped 1 expired, 1 in conflict, "
            "1 unreadable") in caplog.messages


def test_a_dual_stack_binding_whose_ipv4_home_address_another_holds_is_restored_without_it(
        lab: StoreLab, caplog: pytest.LogCaptureFixture) -> None:
    """Its IPv4 home address alone conflicts (held by a binding restored before it): restored with its HNP, without
    the address, which its MAG's refreshes are refused (docs/operations.md, "State file and restart"); counted apart
    in the log, not as dropped, and no session lost (the same Restart Counter)."""
    now = time.time()
    lab.store_before_start({
        b"live@opA": [_record(b"live@opA", now + 3600, "10.0.0.3/24", "2001:db8:a:2::/64")],
        b"twin@opA": [_record(b"twin@opA", now + 3600, "10.0.0.3/24", "2001:db8:a:3::/64")],
    })

    with caplog.at_level(logging.INFO, logger="pmip6.lma"):
        lab.start()

    entries = {entry.mn_id: entry for entry in lab.lma.lma.bindings()}
    assert sorted(entries) == [b"live@opA", b"twin@opA"]
    held, without = sorted(entries.values(), key=lambda entry: entry.ipv4_home_address is None)
    assert held.ipv4_home_address == IPv4Interface("10.0.0.3/24") and held.ipv4_withdrawn is None
    assert without.ipv4_home_address is None and without.ipv4_withdrawn == IPv4Address("10.0.0.3")
    assert without.home_network_prefixes
    assert (f"restored 2 of 2 stored bindings from {lab.lma.config.state}; dropped 0 expired, 0 in conflict, "
            "0 unreadable") in caplog.messages
    assert ("restored without their IPv4 home address (an alarm each says why): 1 binding (their "
            "home network prefixes kept)") in caplog.messages
    assert not any(message.startswith("stored sessions lost at restart") for message in caplog.messages)


def test_unreadable_rows_are_skipped_with_a_warning_and_counted(lab: StoreLab,
                                                                 caplog: pytest.LogCaptureFixture) -> None:
    """docs/operations.md "State file": unreadable records are skipped with a warning and counted in the
    restore line; a damaged row (not JSON, or a record that is not a JSON object) must not stop the LMA."""
    now = time.time()
    lab.store_before_start({b"live@opA": [_record(b"live@opA", now + 3600, "10.0.0.3/24", "2001:db8:a:2::/64")],
                            b"num@opA": [1]})  # type: ignore[list-item]
    assert lab.config.state is not None
    store = BindingStore(lab.config.state)
    store._db.execute("INSERT INTO bindings VALUES (?, ?)", (b"text@opA", "not json"))  # noqa: SLF001
    store._db.commit()  # noqa: SLF001
    store.close()

    with caplog.at_level(logging.INFO, logger="pmip6.lma"):
        lab.start()

    assert [entry.mn_id for entry in lab.lma.lma.bindings()] == [b"live@opA"]
    assert "skipping a stored binding of num@opA: a binding record is a JSON object, not int" in caplog.messages
    assert any(message.startswith("skipping the stored bindings of text@opA: not JSON") for message in caplog.messages)
    assert (f"restored 1 of 3 stored bindings from {lab.config.state}; dropped 0 expired, 0 in conflict, "
            "2 unreadable") in caplog.messages


def test_records_with_fields_of_the_wrong_type_are_skipped_with_a_warning_and_counted(
        lab: StoreLab, caplog: pytest.LogCaptureFixture) -> None:
    """Valid JSON with a key that is not an integer, a deletion time that is not a number, an infinite expiry:
    the LMA once died at start with a traceback on the first two and restored the third, after which every
    `show bindings` failed; docs/operations.md "State file": skipped with a warning and counted as unreadable."""
    now = time.time()
    live = _record(b"live@opA", now + 3600, "10.0.0.3/24", "2001:db8:a:2::/64")
    lab.store_before_start({
        b"live@opA": [live],
        b"key@opA": [_record(b"key@opA", now + 3600, "10.0.0.4/24", "2001:db8:a:3::/64")
                     | {"uplink_key": "nope", "reserved_uplink_key": "nope"}],
        b"soon@opA": [_record(b"soon@opA", now + 3600, "10.0.0.5/24", "2001:db8:a:4::/64")
                      | {"state": "deregistering", "delete_at": "soon"}],
        b"ever@opA": [_record(b"ever@opA", now + 3600, "10.0.0.6/24", "2001:db8:a:5::/64")
                      | {"expires_at": float("inf")}],
    })

    with caplog.at_level(logging.INFO, logger="pmip6.lma"):
        lab.start()

    assert [entry.mn_id for entry in lab.lma.lma.bindings()] == [b"live@opA"]
    assert [message for message in caplog.messages if message.startswith("skipping")] == [
        "skipping the stored bindings of ever@opA: record 1 of 1: expires_at: expected a finite number, got Infinity",
        'skipping the stored bindings of key@opA: record 1 of 1: uplink_key: expected an integer from 0 to '
        '4294967295, or null, got "nope"',
        'skipping the stored bindings of soon@opA: record 1 of 1: delete_at: expected a finite number or null, '
        'got "soon"']
    assert (f"restored 1 of 4 stored bindings from {lab.config.state}; dropped 0 expired, 0 in conflict, "
            "3 unreadable") in caplog.messages


def test_records_whose_fields_do_not_parse_are_skipped_with_a_warning_naming_the_mn_and_the_field(
        lab: StoreLab, caplog: pytest.LogCaptureFixture) -> None:
    """A field of the right type that BindingCacheEntry.from_record cannot parse (an address "x", hexadecimal "zz",
    a prefix with host bits set) was logged as 'skipping a stored binding: At least 3 parts expected in 'x'',
    naming neither the MN nor the field (walkthrough 2); it is unreadable like a field of the wrong type."""
    now = time.time()
    lab.store_before_start({
        b"live@opA": [_record(b"live@opA", now + 3600, "10.0.0.3/24", "2001:db8:a:2::/64")],
        b"ll@opA": [_record(b"ll@opA", now + 3600, "10.0.0.4/24", "2001:db8:a:3::/64") | {"link_local_address": "x"}],
        b"hnp@opA": [_record(b"hnp@opA", now + 3600, "10.0.0.5/24", "2001:db8:a:4::/64")
                     | {"home_network_prefixes": ["2001:db8:a::/0"]}],
    })

    with caplog.at_level(logging.INFO, logger="pmip6.lma"):
        lab.start()

    assert [entry.mn_id for entry in lab.lma.lma.bindings()] == [b"live@opA"]
    assert [message for message in caplog.messages if message.startswith("skipping")] == [
        'skipping the stored bindings of hnp@opA: record 1 of 1: home_network_prefixes: expected a list of IPv6 '
        'prefixes, got ["2001:db8:a::/0"] (2001:db8:a::/0 has host bits set)',
        "skipping the stored bindings of ll@opA: record 1 of 1: link_local_address: expected an IPv6 address or null, "
        "got \"x\" (At least 3 parts expected in 'x')"]
    assert (f"restored 1 of 3 stored bindings from {lab.config.state}; dropped 0 expired, 0 in conflict, "
            "2 unreadable") in caplog.messages


STORED_COUNTER = 1_764_000_000


def test_RFC5847_3_2_a_restart_that_lost_stored_sessions_changes_the_restart_counter(
        lab: StoreLab, caplog: pytest.LogCaptureFixture) -> None:
    """Two live bindings of a MAG were stored and one record is damaged, so the LMA comes back without b@opA.
    RFC 5847 3.2: the counter "is incremented every time the node reboots and loses PMIPv6 session state": the MAG
    must see a new counter and register b@opA again within one heartbeat interval; with the stored counter kept
    (review finding 1), the MAG believes the LMA holds b@opA until its next refresh, up to 0.8 of a lifetime of up
    to 72 hours, and b@opA's traffic goes nowhere. The damaged row leaves the file: kept, it would give the LMA a
    new counter at every later start."""
    now = time.time()
    lab.store_before_start({
        b"a@opA": [_record(b"a@opA", now + 3600, "10.0.0.2/24", "2001:db8:a:1::/64")],
        b"b@opA": [_record(b"b@opA", now + 3600, "10.0.0.3/24", "2001:db8:a:2::/64") | {"expires_at": "soon"}],
    }, restart_counter=STORED_COUNTER)

    with caplog.at_level(logging.WARNING, logger="pmip6.lma"):
        lab.start()

    assert [entry.mn_id for entry in lab.lma.lma.bindings()] == [b"a@opA"]
    counter = lab.lma.lma.heartbeat.restart_counter
    assert counter > STORED_COUNTER
    assert (f"stored sessions lost at restart: 1 unreadable, 0 live in conflict; new Restart Counter {counter}, so "
            "that their MAGs register their bindings again (RFC 5847 3.2)") in caplog.messages
    assert [record["mn_id"] for record in lab.stored()] == ["a@opA"]
    assert lab.restart().lma.heartbeat.restart_counter == counter  # nothing lost this time


def test_RFC5847_3_2_a_live_binding_dropped_in_conflict_changes_the_restart_counter(
        lab: StoreLab, caplog: pytest.LogCaptureFixture) -> None:
    """A live binding restore() drops (here: it holds the home network prefix of one restored before it) is a lost
    session its MAG still holds, like an unreadable one; the warning names it. (One whose IPv4 home address alone
    conflicts is restored without it: no loss, ``test_a_dual_stack_binding_whose_ipv4_home_address_...``.)"""
    now = time.time()
    lab.store_before_start({
        b"live@opA": [_record(b"live@opA", now + 3600, "10.0.0.3/24", "2001:db8:a:2::/64")],
        b"twin@opA": [_record(b"twin@opA", now + 3600, "10.0.0.4/24", "2001:db8:a:2::/64")],
    }, restart_counter=STORED_COUNTER)

    with caplog.at_level(logging.WARNING, logger="pmip6.lma"):
        lab.start()

    counter = lab.lma.lma.heartbeat.restart_counter
    assert [entry.mn_id for entry in lab.lma.lma.bindings()] == [b"live@opA"] and counter > STORED_COUNTER
    assert (f"stored sessions lost at restart: 0 unreadable, 1 live in conflict (twin@opA); new Restart Counter "
            f"{counter}, so that their MAGs register their bindings again (RFC 5847 3.2)") in caplog.messages


def test_RFC5847_3_2_bindings_that_expired_or_were_draining_are_no_lost_session_state(
        lab: StoreLab, caplog: pytest.LogCaptureFixture) -> None:
    """RFC 5847 3.2: "MUST NOT be incremented if the recovery happens without losing state for the PMIPv6 sessions
    active at the time of failure". A binding whose lifetime ended while the LMA was down ended at its MAG too (the
    same granted lifetime), and a draining one is held by no MAG: neither needs a MAG to register again, so
    dropping them keeps the counter (a new one would have every MAG register all its bindings again for nothing)."""
    now = time.time()
    lab.store_before_start({
        b"live@opA": [_record(b"live@opA", now + 3600, "10.0.0.3/24", "2001:db8:a:2::/64")],
        b"old@opA": [_record(b"old@opA", now - 60, "10.0.0.4/24", "2001:db8:a:3::/64")],
        b"twin@opA": [_record(b"twin@opA", now + 3600, "10.0.0.3/24", "2001:db8:a:4::/64")
                      | {"state": str(BceState.DEREGISTERING), "delete_at": now + 30}],
    }, restart_counter=STORED_COUNTER)

    with caplog.at_level(logging.INFO, logger="pmip6.lma"):
        lab.start()

    assert [entry.mn_id for entry in lab.lma.lma.bindings()] == [b"live@opA"]
    assert (f"restored 1 of 3 stored bindings from {lab.config.state}; dropped 1 expired, 1 in conflict, "
            "0 unreadable") in caplog.messages
    assert lab.lma.lma.heartbeat.restart_counter == STORED_COUNTER
    assert not any(message.startswith("stored sessions lost") for message in caplog.messages)


@pytest.mark.parametrize("schema", ["CREATE TABLE bindings (a, b, c)", "CREATE TABLE node (x)"])
def test_a_foreign_sqlite_state_file_is_named_in_the_error(lab: StoreLab, schema: str) -> None:
    """docs/operations.md "Running": a start that fails on its state file names it, also when the file is SQLite
    but not pmip6's (another program's database, an unrelated ``bindings`` table): "state file ...: no such column:
    mn_id", not the bare SQLite message (walkthrough 7b, finding 6)."""
    assert lab.config.state is not None
    database = sqlite3.connect(lab.config.state)
    database.execute(schema)
    database.commit()
    database.close()
    with pytest.raises(sqlite3.Error, match=f"^state file {re.escape(str(lab.config.state))}: no such column: "):
        lab.start()


def _with_binding_revocation(lab: StoreLab, **settings: Any) -> None:
    """The lab's LMA, with ``binding_revocation`` (RFC 5846) and the other ``settings`` given, before its start."""
    lab.close()
    lab.lma.config = dataclasses.replace(
        lab.config, settings=dataclasses.replace(lab.config.settings, binding_revocation=True, **settings))
    lab.config = lab.lma.config
    lab.lma = LmaDaemon(lab.config, DaemonOptions())
    lab.lma.send = lab.sent.append  # type: ignore[method-assign]


def _open_sockets(daemon: LmaDaemon) -> list[SendMessage]:
    """Open ``daemon``'s transports without a socket: what it sends then (the BRIs a start resumed). No event loop
    runs afterwards, so the state file's writes stay inline, on the test's thread, as before the sockets open
    (the writer thread, :mod:`pmip6.runtime.store_writer`, is not started)."""
    sent: list[SendMessage] = []
    daemon.send = sent.append  # type: ignore[method-assign]
    if daemon.writer is not None:
        daemon.writer.start = lambda: None  # type: ignore[method-assign]

    async def no_socket(*arguments: Any, **keywords: Any) -> None:
        pass

    daemon.open_udp = no_socket  # type: ignore[method-assign]
    asyncio.run(daemon.open_transports())
    return sent


def test_RFC5846_8_1_a_handover_is_committed_with_the_revocation_it_owes_and_a_restart_sends_it(
        lab: StoreLab, caplog: pytest.LogCaptureFixture) -> None:
    """Walkthrough 7b, finding 2: kill -9 after the handover's commit and before its BRI left must not lose the
    BRI. The move and the revocation owed to the previous MAG are one transaction; the restarted LMA sends the BRI
    once its sockets are open, and forgets it (in the file too) at the MAG's acknowledgement."""
    _with_binding_revocation(lab)
    lab.start()
    lab.attach(MAG_A)
    assert lab.lma.store is not None
    saves: list[tuple[Any, ...]] = []
    real_save = lab.lma.store.save
    lab.lma.store.save = lambda *arguments: (saves.append(arguments), real_save(*arguments))  # type: ignore
    request = AttachRequest(mn_id=MN.encode(), att=AccessTechnologyType.IEEE_802_11,
                            hi=HandoffIndicator.HANDOFF_BETWEEN_MAGS)
    lab.sent.clear()
    lab.lma.on_message(lab.mags[MAG_B].attach(request, lab.now()).sends[0].message, Peer(MAG_B, PORT), LMAA)
    assert [type(send.message) for send in lab.sent] == [ProxyBindingAcknowledgement, BindingRevocationIndication]
    ((changes, owed),) = saves  # both decided before either left; the process "dies" here
    assert [record["proxy_coa"] for record in changes[MN.encode()]] == [str(MAG_B)]
    assert [(record["mag"], record["mn_id_hex"]) for records in owed.values() for record in records] == [
        (str(MAG_A), MN.encode().hex())]

    with caplog.at_level(logging.INFO, logger="pmip6.lma"):
        restarted = lab.restart()  # as after kill -9: the file is all that is left
    assert ("sending again 1 Binding Revocation Indication owed when the LMA stopped (RFC 5846 8.1)"
            in caplog.messages)
    (send,) = _open_sockets(restarted)
    bri = send.message
    assert isinstance(bri, BindingRevocationIndication) and send.destination == Peer(MAG_A, PORT)
    assert bri.trigger == RevocationTrigger.INTER_MAG_HANDOVER_SAME_ACCESS_TYPE
    assert restarted.store is not None and len(restarted.store.owed_revocations()) == 1

    restarted.on_message(BindingRevocationAcknowledgement(0, bri.sequence), Peer(MAG_A, PORT), LMAA)
    assert restarted.store.owed_revocations() == []


def test_a_state_file_from_before_the_revocations_table_loads(lab: StoreLab) -> None:
    """A file an earlier pmip6 wrote (bindings and node tables only) starts as before, and gets the table."""
    assert lab.config.state is not None
    database = sqlite3.connect(lab.config.state)
    database.execute("CREATE TABLE bindings (mn_id BLOB PRIMARY KEY, records TEXT NOT NULL)")
    database.execute("CREATE TABLE node (name TEXT PRIMARY KEY, value INTEGER NOT NULL)")
    record = _record(b"live@opA", time.time() + 3600, "10.0.0.3/24", "2001:db8:a:2::/64")
    database.execute("INSERT INTO bindings VALUES (?, ?)", (b"live@opA", json.dumps([record])))
    database.commit()
    database.close()

    lab.start()

    assert [entry.mn_id for entry in lab.lma.lma.bindings()] == [b"live@opA"]
    assert lab.lma.store is not None and lab.lma.store.owed_revocations() == []


def test_a_stored_revocation_that_is_no_revocation_record_is_skipped_with_a_warning(
        lab: StoreLab, caplog: pytest.LogCaptureFixture) -> None:
    _with_binding_revocation(lab)
    assert lab.config.state is not None
    store = BindingStore(lab.config.state)
    store.save({}, {1: [{"record_version": 1, "mag": "not an address"}], 2: [{"record_version": 7}]})
    store.close()
    with caplog.at_level(logging.WARNING, logger="pmip6.lma"):
        lab.start()
    assert "skipping a stored revocation: revocation record without 'mag_port'" in caplog.messages
    assert "skipping a stored revocation: unsupported revocation record version 7" in caplog.messages
    assert lab.lma.store is not None and lab.lma.store.owed_revocations() == []


def test_RFC5846_8_1_a_failed_write_of_a_handover_sends_neither_its_pba_nor_its_bri_and_the_next_write_stores_both(
        lab: StoreLab) -> None:
    """docs/operations.md "State file": nothing is announced that is not on disk, the BRI a handover owes included;
    the engine retransmits that BRI, and the next write that succeeds (here another MN's registration) stores it
    with the binding change the failed write left."""
    _with_binding_revocation(lab)
    lab.start()
    lab.attach(MAG_A)
    assert lab.lma.store is not None
    real_save = lab.lma.store.save

    def failing_save(*arguments: Any) -> None:
        raise sqlite3.OperationalError("disk I/O error")

    lab.lma.store.save = failing_save  # type: ignore[method-assign]
    request = AttachRequest(mn_id=MN.encode(), att=AccessTechnologyType.IEEE_802_11,
                            hi=HandoffIndicator.HANDOFF_BETWEEN_MAGS)
    pbu = lab.mags[MAG_B].attach(request, lab.now()).sends[0].message
    lab.sent.clear()
    lab.lma.on_message(pbu, Peer(MAG_B, PORT), LMAA)
    assert lab.sent == [] and lab.lma.statistics.store_errors == 1
    assert lab.lma.store.owed_revocations() == []

    lab.lma.store.save = real_save  # type: ignore[method-assign]
    now = lab.now()
    other = AttachRequest(mn_id=b"mn2@opA", att=AccessTechnologyType.IEEE_802_11)
    assert lab.exchange(MAG_B, lab.mags[MAG_B].attach(other, now), now).status == Status.ACCEPTED
    assert [record["mag"] for record in lab.lma.store.owed_revocations()] == [str(MAG_A)]
    assert [record["proxy_coa"] for record in lab.stored() if record["mn_id"] == MN] == [str(MAG_B)]


def _failing_save(*arguments: Any) -> None:
    raise sqlite3.OperationalError("database or disk is full")


def _handover_to_mag_b(lab: StoreLab) -> None:
    """The MN, at MAG_A, moves to MAG_B: the LMA decides the move and the BRI it owes MAG_A."""
    request = AttachRequest(mn_id=MN.encode(), att=AccessTechnologyType.IEEE_802_11,
                            hi=HandoffIndicator.HANDOFF_BETWEEN_MAGS)
    pbu = lab.mags[MAG_B].attach(request, lab.now()).sends[0].message
    lab.sent.clear()
    lab.lma.on_message(pbu, Peer(MAG_B, PORT), LMAA)


def test_RFC5846_6_3_a_bri_retransmission_waits_for_the_failed_write_of_the_handover_that_owes_it(
        lab: StoreLab) -> None:
    """Review 10, C1: after a failed write of a handover, the BRI's retransmission timer (RFC 5846 6.3) must not
    send it while the handover and its row are still not on disk (the previous MAG would drop a session the file
    still gives it); the timer's outcome writes again first, and its BRI leaves once that write succeeds."""
    _with_binding_revocation(lab, revocation_timing=RevocationTiming(max_retries=2))
    lab.start()
    lab.attach(MAG_A)
    assert lab.lma.store is not None
    real_save = lab.lma.store.save
    lab.lma.store.save = _failing_save  # type: ignore[method-assign]
    _handover_to_mag_b(lab)
    assert lab.sent == [] and lab.lma.statistics.store_errors == 1

    deadline = lab.lma.lma.next_deadline()
    assert deadline is not None
    lab.lma.apply(lab.lma.timer_outcome(deadline + 0.001))  # the disk is still full
    assert lab.sent == [] and lab.lma.statistics.store_errors == 2

    lab.lma.store.save = real_save  # type: ignore[method-assign]
    deadline = lab.lma.lma.next_deadline()
    assert deadline is not None
    lab.lma.apply(lab.lma.timer_outcome(deadline + 0.001))
    (send,) = lab.sent
    assert isinstance(send.message, BindingRevocationIndication) and send.destination == Peer(MAG_A, PORT)
    assert [record["proxy_coa"] for record in lab.stored() if record["mn_id"] == MN] == [str(MAG_B)]
    assert [record["mag"] for record in lab.lma.store.owed_revocations()] == [str(MAG_A)]


def test_RFC5846_8_1_a_revocation_row_left_by_a_downgrade_does_not_revoke_the_live_session_registered_since(
        lab: StoreLab, caplog: pytest.LogCaptureFixture) -> None:
    """Review 10, C2: an older pmip6 keeps the bindings table but neither sends nor deletes the revocations rows.
    Cleared here, stopped before the BRA, rolled back (the MN attaches at MAG_A again under the old release) and
    upgraded again, the LMA must not send the stale administrative BRI to the MAG holding the MN's live session: it
    raises an alarm instead, and the row leaves the file."""
    _with_binding_revocation(lab)
    lab.start()
    lab.attach(MAG_A)
    (live_record,) = [record for record in lab.stored() if record["mn_id"] == MN]
    lab.lma.apply(lab.lma.lma.clear(lab.now(), mn_id=MN.encode()))
    assert lab.lma.store is not None and len(lab.lma.store.owed_revocations()) == 1
    lab.close()

    assert lab.config.state is not None
    database = sqlite3.connect(lab.config.state)  # the previous release writes the bindings table only
    database.execute("INSERT OR REPLACE INTO bindings VALUES (?, ?)",
                     (MN.encode(), json.dumps([{**live_record, "expires_at": time.time() + 3600}])))
    database.commit()
    database.close()

    with caplog.at_level(logging.WARNING):
        restarted = lab.restart()
        sent = _open_sockets(restarted)
    assert [entry.mn_id for entry in restarted.lma.bindings()] == [MN.encode()]
    assert not [send for send in sent if isinstance(send.message, BindingRevocationIndication)]
    assert restarted.store is not None and restarted.store.owed_revocations() == []
    assert any(f"the revocation of mobile node {MN} at MAG {MAG_A}, owed when the LMA stopped, is not sent: the "
               "restored bindings hold a live session there, registered since by an older pmip6" in message
               for message in caplog.messages), caplog.messages


def test_a_cleared_binding_held_for_its_bra_is_not_counted_as_expired_at_a_restart(
        lab: StoreLab, caplog: pytest.LogCaptureFixture) -> None:
    """Walkthrough 8: ``pmip6 lma clear`` holds the session until the MAG's BRA (no deletion time); a restart before
    it does not restore that session and said "dropped 1 expired"; it says what it was."""
    _with_binding_revocation(lab)
    lab.start()
    lab.attach(MAG_A)
    lab.lma.apply(lab.lma.lma.clear(lab.now(), mn_id=MN.encode()))
    with caplog.at_level(logging.INFO, logger="pmip6.lma"):
        lab.restart()
    assert (f"restored 0 of 1 stored bindings from {lab.config.state}; dropped 0 expired, 0 in conflict, "
            "0 unreadable") in caplog.messages, caplog.messages
    assert "not restored: 1 binding an operator's clear held for its revocation's acknowledgement" in caplog.messages


def test_RFC5846_8_1_a_second_clear_keeps_the_revocation_and_its_row_until_the_bra(lab: StoreLab) -> None:
    """A second ``pmip6 lma clear`` removes the held session at once, but the MAG still holds it: the revocation goes
    on, so its row stays in the file (a restart sends it again) until the BRA ends it (finding 17)."""
    _with_binding_revocation(lab)
    lab.start()
    lab.attach(MAG_A)
    assert lab.lma.store is not None
    cleared = lab.lma.lma.clear(lab.now(), mn_id=MN.encode())
    (bri,) = [send.message for send in cleared.sends]
    assert isinstance(bri, BindingRevocationIndication)
    lab.lma.apply(cleared)
    assert [record["mag"] for record in lab.lma.store.owed_revocations()] == [str(MAG_A)]
    lab.lma.apply(lab.lma.lma.clear(lab.now(), mn_id=MN.encode()))
    assert list(lab.lma.lma.bindings()) == []
    assert [record["mag"] for record in lab.lma.store.owed_revocations()] == [str(MAG_A)]
    lab.lma.on_message(BindingRevocationAcknowledgement(0, bri.sequence, bri.flags), Peer(MAG_A, PORT), LMAA)
    assert lab.lma.store.owed_revocations() == []


def test_RFC5846_8_1_a_bri_given_up_while_writes_fail_is_not_stored_by_the_next_write(lab: StoreLab) -> None:
    """The BRI's row and its end both wait for a write that succeeds: the end, decided later, wins, so the next
    write does not store the BRI, and a restart does not send it again."""
    _with_binding_revocation(lab)
    lab.start()
    lab.attach(MAG_A)
    assert lab.lma.store is not None
    real_save = lab.lma.store.save
    lab.lma.store.save = _failing_save  # type: ignore[method-assign]
    _handover_to_mag_b(lab)
    while lab.lma.lma.waiting().revocations:  # the retransmission, then the give-up
        deadline = lab.lma.lma.next_deadline()
        assert deadline is not None
        lab.lma.apply(lab.lma.timer_outcome(deadline + 0.001))
    assert lab.sent == [] and lab.lma.statistics.store_errors == 3

    lab.lma.store.save = real_save  # type: ignore[method-assign]
    now = lab.now()
    other = AttachRequest(mn_id=b"mn2@opA", att=AccessTechnologyType.IEEE_802_11)
    assert lab.exchange(MAG_B, lab.mags[MAG_B].attach(other, now), now).status == Status.ACCEPTED
    assert [record["proxy_coa"] for record in lab.stored() if record["mn_id"] == MN] == [str(MAG_B)]
    assert lab.lma.store.owed_revocations() == []
    assert _open_sockets(lab.restart()) == []


def test_RFC5846_8_1_a_revocation_owed_survives_two_restarts_in_a_row(lab: StoreLab,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """A start rewrites the file with the owed BRIs it resumed (new sequence numbers) in its one transaction
    (``replace_all``): killed right after it, before any other write succeeded (here: the disk filled up), it leaves
    them to the next start, which sends them; and so does the one after that."""
    _with_binding_revocation(lab)
    lab.start()
    lab.attach(MAG_A)
    _handover_to_mag_b(lab)
    assert [type(send.message) for send in lab.sent] == [ProxyBindingAcknowledgement, BindingRevocationIndication]

    with monkeypatch.context() as disk_full:
        disk_full.setattr(BindingStore, "save", _failing_save)
        lab.restart()  # killed before its sockets opened
    first = _open_sockets(lab.restart())
    second = _open_sockets(lab.restart())

    for sent in (first, second):
        (send,) = sent
        assert isinstance(send.message, BindingRevocationIndication) and send.destination == Peer(MAG_A, PORT)
    assert lab.lma.store is not None
    assert [record["mag"] for record in lab.lma.store.owed_revocations()] == [str(MAG_A)]


def test_a_record_missing_a_field_is_skipped_with_a_warning_naming_the_mn_and_the_field(
        lab: StoreLab, caplog: pytest.LogCaptureFixture) -> None:
    """Walkthrough 22 (one byte of a state file's JSON changed, a key's name): docs/operations.md, "State file",
    names the MN and the field of every unreadable record ("skipping the stored bindings of a@opA: record 1 of 1:
    expires_at: ..."), as a field of the wrong type or one that does not parse is; a record without the field was
    logged as "skipping a stored binding: malformed binding record: KeyError('uplink_key')": the operator cannot
    tell whose session was lost."""
    now = time.time()
    damaged = _record(b"a@opA", now + 3600, "10.0.0.2/24", "2001:db8:a:1::/64")
    del damaged["uplink_key"]
    lab.store_before_start({b"a@opA": [damaged]})
    with caplog.at_level(logging.WARNING):
        lab.start()
    (skipping,) = [message for message in caplog.messages if message.startswith("skipping")]
    assert skipping.startswith("skipping the stored bindings of a@opA: record 1 of 1: uplink_key"), skipping


def test_unreadable_rows_are_warned_before_malformed_records_whatever_their_mn_ids(
        lab: StoreLab, caplog: pytest.LogCaptureFixture) -> None:
    """docs/operations.md: the same warnings in the same order as before f5858ac, which read every row first:
    the unreadable rows (in MN-ID order), then the records from_record refuses. Here the refused record's MN-ID
    sorts first, so a prepare() that logs as it reads would put it first."""
    now = time.time()
    malformed = _record(b"a@opA", now + 3600, "10.0.0.2/24", "2001:db8:a:1::/64") | {"record_version": 99}
    lab.store_before_start({b"a@opA": [malformed],
                            b"z@opA": [_record(b"z@opA", now + 3600, "10.0.0.3/24", "2001:db8:a:2::/64")
                                       | {"uplink_key": "x"}]})
    with caplog.at_level(logging.WARNING):
        lab.start()
    skipping = [record.getMessage() for record in caplog.records if record.getMessage().startswith("skipping")]
    assert [message.split(":")[0] for message in skipping] == ["skipping the stored bindings of z@opA",
                                                               "skipping a stored binding of a@opA"], skipping


def test_RFC5213_5_4_a_start_de_registers_the_older_of_two_stored_live_sessions_of_one_interface_and_revokes_it(
        lab: StoreLab, caplog: pytest.LogCaptureFixture) -> None:
    """An older pmip6 could store two live bindings of one interface (MN-ID, ATT, MN-LL-ID), at MAG_A and, registered
    later, at MAG_B. The start de-registers the one at MAG_A (core/lma.py restore), stores it so, and with binding
    revocation tells MAG_A once the sockets are open (RFC 5846 8.1), a BRI it owes across a restart too."""
    _with_binding_revocation(lab)
    now = time.time()
    older = {**_record(MN.encode(), now + 3000, "10.0.0.2/24", "2001:db8:a:1::/64"), "mn_ll_id": "020000000001"}
    later = {**_record(MN.encode(), now + 3600, "10.0.0.3/24", "2001:db8:a:2::/64"), "mn_ll_id": "020000000001",
             "proxy_coa": str(MAG_B), "uplink_key": 0xB000, "downlink_key": 0xB001}
    lab.store_before_start({MN.encode(): [older, later]})

    with caplog.at_level(logging.INFO, logger="pmip6.lma"):
        lab.start()
    sent = _open_sockets(lab.lma)

    assert ("de-registered 1 stored live session whose interface has a later one (one session per interface, "
            "RFC 5213 5.4; an older pmip6 stored both)") in caplog.messages
    assert sorted((record["proxy_coa"], record["state"]) for record in lab.stored()) == [
        (str(MAG_A), str(BceState.DEREGISTERING)), (str(MAG_B), str(BceState.ACTIVE))]
    (send,) = sent
    assert isinstance(send.message, BindingRevocationIndication) and send.destination == Peer(MAG_A, PORT)
    assert send.message.trigger == RevocationTrigger.INTER_MAG_HANDOVER_SAME_ACCESS_TYPE
    assert lab.lma.store is not None and [record["mag"] for record in lab.lma.store.owed_revocations()] == [str(MAG_A)]
    assert lab.lma.statistics.send_errors == 0


@pytest.mark.parametrize("empty", [True, False])
def test_a_state_file_found_empty_at_a_start_is_warned_about(lab: StoreLab, caplog: pytest.LogCaptureFixture,
                                                             empty: bool) -> None:
    """Walkthrough 22: a state file of 0 octets (truncated: ext4 left one after a journal abort) reads as a new
    database, so the LMA started with no bindings and said nothing; a file pmip6 wrote always holds its tables. A
    start without a file (a new one) warns of nothing."""
    assert lab.config.state is not None
    if empty:
        lab.config.state.touch()
    with caplog.at_level(logging.WARNING, logger="pmip6.lma"):
        lab.start()
    warned = [message for message in caplog.messages if "is empty (0 octets)" in message]
    assert warned == ([f"state file {lab.config.state} is empty (0 octets): no stored bindings to restore; if it "
                       "held some, they are lost (truncated?)"] if empty else [])
    assert lab.config.state.stat().st_size > 0
