"""The LMA's durable binding store: BCE records survive closing and reopening the database."""

from __future__ import annotations

import logging
import os
import re
import sqlite3
import stat
from ipaddress import IPv4Address, IPv4Interface, IPv6Address, IPv6Network
from pathlib import Path

import pytest

from pmip6.core.bce import BceState, BindingCacheEntry
from pmip6.core.events import Peer
from pmip6.core.owed_revocation import OwedRevocation
from pmip6.runtime.store import BindingStore, StateInUse
from pmip6.wire.numbers import RevocationTrigger


def _entry(mn_id: bytes, uplink_key: int) -> BindingCacheEntry:
    return BindingCacheEntry(
        mn_id=mn_id, tenant="opA", proxy_coa=Peer(IPv4Address("192.0.2.1"), 5436), lmaa=IPv4Address("192.0.2.9"),
        att=4, hi=1, lifetime=3600, expires_at=1e9 + 3600, last_sequence=7, last_timestamp=123456,
        home_network_prefixes=(IPv6Network("2001:db8:a:1::/64"),), ipv4_home_address=IPv4Interface("10.0.0.2/24"),
        ipv4_default_router=IPv4Address("10.0.0.1"), gre_enabled=True, downlink_key=0x1111, uplink_key=uplink_key,
        tlv_header=True, state=BceState.ACTIVE)


def test_records_round_trip_through_a_reopened_store(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    store = BindingStore(path)
    first, second = _entry(b"mn1@opA", 0xA1), _entry(b"mn2@opA", 0xA2)
    second.ipv4_home_address, second.ipv4_withdrawn = None, IPv4Address("10.0.0.2")  # a reload withdrew it
    store.save({b"mn1@opA": [first.to_record()], b"mn2@opA": [second.to_record()]})
    store.close()
    reopened = BindingStore(path)
    restored = [BindingCacheEntry.from_record(record) for record in reopened.load().records]
    assert [entry.to_record() for entry in restored] == [first.to_record(), second.to_record()]
    assert restored[1].uplink_key == 0xA2 and restored[0].downlink_key == 0x1111
    assert (restored[0].ipv4_withdrawn, restored[1].ipv4_withdrawn) == (None, IPv4Address("10.0.0.2"))
    reopened.close()


def test_saving_no_records_deletes_the_mobile_node(tmp_path: Path) -> None:
    store = BindingStore(tmp_path / "state.db")
    store.save({b"mn1@opA": [_entry(b"mn1@opA", 1).to_record()], b"mn2@opA": [_entry(b"mn2@opA", 2).to_record()]})
    store.save({b"mn1@opA": []})
    assert [record["mn_id"] for record in store.load().records] == ["mn2@opA"]
    store.close()


def test_store_runs_in_wal_mode_with_full_sync(tmp_path: Path) -> None:
    store = BindingStore(tmp_path / "state.db")
    assert store._db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert store._db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    store.close()


def test_a_new_state_file_and_its_wal_are_0600_and_an_existing_one_keeps_its_mode(tmp_path: Path) -> None:
    """walk7a 6: the records hold every session's MN-ID, addresses and GRE keys (docs/operations.md, "State file
    and restart"); the mode of a file the operator made is the operator's."""
    new, existing = tmp_path / "new.db", tmp_path / "existing.db"
    existing.touch(mode=0o640)
    existing.chmod(0o640)
    for path in (new, existing):
        store = BindingStore(path)
        store.save({b"mn1@opA": [_entry(b"mn1@opA", 1).to_record()]})
        modes = {file.name: stat.S_IMODE(file.stat().st_mode) for file in tmp_path.glob(path.name + "*")}
        store.close()
        assert modes == {name: 0o600 if path is new else 0o640 for name in (path.name, path.name + "-wal")}


def test_a_state_file_reached_through_a_symlink_is_created_0600_and_an_existing_target_keeps_its_mode(
        tmp_path: Path) -> None:
    """Review 10, B1: /etc/pmip6/lma.db -> /var/lib/pmip6/lma.db, not created yet. O_EXCL does not follow the
    symlink; SQLite would, creating the target (and its -wal) with the umask's mode, world-readable under 022."""
    data = tmp_path / "data"
    data.mkdir()
    dangling, existing = tmp_path / "lma.db", tmp_path / "other.db"
    dangling.symlink_to(data / "lma.db")
    (data / "other.db").touch(mode=0o640)
    (data / "other.db").chmod(0o640)
    existing.symlink_to(data / "other.db")
    old_umask = os.umask(0o022)
    try:
        for link in (dangling, existing):
            store = BindingStore(link)
            store.save({b"mn1@opA": [_entry(b"mn1@opA", 1).to_record()]})
            modes = {file.name: stat.S_IMODE(file.stat().st_mode) for file in data.glob(link.name + "*")}
            store.close()
            mode = 0o600 if link is dangling else 0o640
            assert modes == {link.name: mode, link.name + "-wal": mode}, link
    finally:
        os.umask(old_umask)


def test_a_second_store_on_the_same_file_is_refused_until_the_first_closes(tmp_path: Path) -> None:
    """Two LMAs must not share a state file: the second would restore, and rewrite, the first's bindings."""
    path = tmp_path / "state.db"
    first = BindingStore(path)
    first.save({b"mn1@opA": [_entry(b"mn1@opA", 1).to_record()]})
    with pytest.raises(StateInUse, match="is in use by another process"):
        BindingStore(path)
    first.save({b"mn2@opA": [_entry(b"mn2@opA", 2).to_record()]})  # the first one is unaffected
    first.close()
    second = BindingStore(path)
    assert [record["mn_id"] for record in second.load().records] == ["mn1@opA", "mn2@opA"]
    second.close()


@pytest.mark.parametrize(("name", "content", "problem"), [
    ("missing/state.db", None, "unable to open database file"),
    ("state.db", b"not SQLite " * 512, "file is not a database"),
])
def test_a_state_file_that_cannot_be_opened_is_named_in_the_error(tmp_path: Path, name: str, content: bytes | None,
                                                                   problem: str) -> None:
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(sqlite3.DatabaseError) as error:
        BindingStore(path)
    assert str(error.value) == f"state file {path}: {problem}"


def test_rows_that_hold_no_list_of_records_are_reported_not_raised(tmp_path: Path) -> None:
    """docs/operations.md "State file": unreadable records are skipped with a warning, so load() must not
    stop at the first row that is not JSON, or is JSON but not a list of records."""
    store = BindingStore(tmp_path / "state.db")
    store.save({b"mn1@opA": [_entry(b"mn1@opA", 1).to_record()]})
    for mn_id, text in ((b"bad1@opA", "not json"), (b"bad2@opA", '{"mn_id": "x"}')):
        store._db.execute("INSERT INTO bindings VALUES (?, ?)", (mn_id, text))  # noqa: SLF001 (a damaged file)
    store._db.commit()  # noqa: SLF001
    stored = store.load()
    store.close()
    assert [record["mn_id"] for record in stored.records] == ["mn1@opA"]
    assert [(mn_id, reason.split(":")[0]) for mn_id, reason in stored.unreadable] == [
        (b"bad1@opA", "not JSON"), (b"bad2@opA", "a JSON dict, not a list of records")]


def test_RFC5847_3_2_the_restart_counter_is_kept_with_the_bindings(tmp_path: Path) -> None:
    """A new file takes the counter it is given (the start time) and keeps it across reopenings: restoring the
    sessions must not increment it; a new file (state lost) starts from the new start time, which is larger."""
    path = tmp_path / "state.db"
    store = BindingStore(path)
    assert store.restart_counter(1_764_000_000) == 1_764_000_000
    store.close()
    reopened = BindingStore(path)
    assert reopened.restart_counter(1_764_000_500) == 1_764_000_000
    reopened.close()
    path.unlink()
    assert BindingStore(path).restart_counter(1_764_000_900) == 1_764_000_900


@pytest.mark.parametrize("stored", [-5, 1 << 32, 1 << 40, "soon", 1.5, b"\x01"])
def test_RFC5847_3_a_stored_restart_counter_no_heartbeat_can_carry_is_replaced_with_a_warning(
        tmp_path: Path, caplog: pytest.LogCaptureFixture, stored: object) -> None:
    """The Restart Counter option carries 32 bits (RFC 5847 3.4): a damaged file holding -5 or 2**40 once left the
    LMA unable to send any Heartbeat Response ("MUST respond", 3), so its MAGs reported it unreachable. Such a value
    is treated as missing: a fresh counter, written durably, and a warning naming the file and the value."""
    path = tmp_path / "state.db"
    BindingStore(path).close()
    with sqlite3.connect(path) as db:
        db.execute("INSERT OR REPLACE INTO node VALUES ('restart_counter', ?)", (stored,))
    db.close()
    store = BindingStore(path)
    assert store.restart_counter(1_764_000_000) == 1_764_000_000
    store.close()
    assert BindingStore(path).restart_counter(1_764_000_500) == 1_764_000_000, "written"
    (warning,) = [record for record in caplog.records if record.levelno == logging.WARNING]
    assert warning.getMessage() == (f"state file {path}: the stored Restart Counter {stored!r} is not an integer from "
                                    f"0 to 4294967295; using a new one, 1764000000 (its MAGs will see a restart and "
                                    f"register their bindings again)")


@pytest.mark.parametrize(("fresh", "expected"), [
    (1_764_000_500, 1_764_000_500),  # the start time: the counter is the time the session state began
    (1_764_000_000, 1_764_000_001),  # a start in the second the stored counter was written
    (1_700_000_000, 1_764_000_001),  # a clock set back (e.g. a box without a battery-backed clock)
])
def test_RFC5847_3_2_a_restart_that_lost_sessions_writes_a_larger_restart_counter(tmp_path: Path, fresh: int,
                                                                                 expected: int) -> None:
    """RFC 5847 3.2: "a monotonically increasing Restart Counter that is incremented every time the node reboots and
    loses PMIPv6 session state": after a loss the file's counter gives way to a larger one, written durably, which
    the next start without a loss keeps."""
    path = tmp_path / "state.db"
    store = BindingStore(path)
    assert store.restart_counter(1_764_000_000) == 1_764_000_000
    store.close()
    reopened = BindingStore(path)
    assert reopened.restart_counter(fresh, sessions_lost=True) == expected
    reopened.close()
    assert BindingStore(path).restart_counter(1_764_000_900) == expected


def test_replace_all_leaves_only_the_bindings_given_unreadable_rows_included(tmp_path: Path) -> None:
    """After a restore the file holds what the LMA restored: a damaged row left behind would count as a lost session
    at every later start, and give the LMA a new Restart Counter each time (docs/operations.md, "State file")."""
    store = BindingStore(tmp_path / "state.db")
    store.save({b"mn1@opA": [_entry(b"mn1@opA", 1).to_record()], b"mn2@opA": [_entry(b"mn2@opA", 2).to_record()]})
    store._db.execute("INSERT INTO bindings VALUES (?, ?)", (b"bad@opA", "not json"))  # noqa: SLF001 (a damaged file)
    store._db.commit()  # noqa: SLF001
    store.replace_all({b"mn2@opA": [_entry(b"mn2@opA", 3).to_record()]})
    stored = store.load()
    store.close()
    assert [(record["mn_id"], record["uplink_key"]) for record in stored.records] == [("mn2@opA", 3)]
    assert stored.unreadable == []


def _owed(mn_id: bytes, trigger: RevocationTrigger = RevocationTrigger.INTER_MAG_HANDOVER_SAME_ACCESS_TYPE
          ) -> dict[str, object]:
    return OwedRevocation(_entry(mn_id, 1).session(), trigger).to_record()


def test_RFC5846_8_1_the_revocations_owed_are_saved_with_the_bindings_and_survive_reopening(tmp_path: Path) -> None:
    """The BRIs owed are written in the bindings' transaction, a row per BRI by its sequence number (no records:
    it ended); rows not given are kept; a restart reads them back as the records they were, a BRI's in turn."""
    path = tmp_path / "state.db"
    store = BindingStore(path)
    store.save({b"mn1@opA": [_entry(b"mn1@opA", 1).to_record()]}, {7: [_owed(b"mn1@opA")], 3: [_owed(b"mn2@opA")]})
    store.save({b"mn2@opA": [_entry(b"mn2@opA", 2).to_record()]})
    store.close()
    reopened = BindingStore(path)
    assert reopened.owed_revocations() == [_owed(b"mn2@opA"), _owed(b"mn1@opA")]
    session, stored = _entry(b"mn1@opA", 1).session(), OwedRevocation.from_record(reopened.owed_revocations()[1])
    assert stored.session == session  # its GRE mode, keys and formats too (walkthrough 8)
    reopened.save({}, {7: [], 3: [_owed(b"mn2@opA", RevocationTrigger.ADMINISTRATIVE_REASON)]})
    assert reopened.owed_revocations() == [_owed(b"mn2@opA", RevocationTrigger.ADMINISTRATIVE_REASON)]
    reopened.replace_all({})
    assert reopened.owed_revocations() == []
    reopened.close()


def test_a_stored_revocation_row_that_is_no_json_list_is_read_as_none(tmp_path: Path) -> None:
    store = BindingStore(tmp_path / "state.db")
    store._db.executemany("INSERT INTO revocations VALUES (?, ?)",  # noqa: SLF001 (a damaged file)
                          [(1, "not json"), (2, "{}"), (3, '[{"a": 1}]')])
    store._db.commit()  # noqa: SLF001
    assert store.owed_revocations() == [None, None, {"a": 1}]
    with pytest.raises(ValueError, match="a revocation record is a JSON object, not NoneType"):
        OwedRevocation.from_record(None)
    store.close()


@pytest.mark.parametrize("schema", ["CREATE TABLE bindings (a, b, c)", "CREATE TABLE node (x)",
                                    "CREATE TABLE revocations (x)"])
def test_every_error_reading_a_foreign_sqlite_file_names_it(tmp_path: Path, schema: str) -> None:
    """docs/operations.md "Running": the start stops with a message naming the file, as for one that is not SQLite."""
    path = tmp_path / "state.db"
    database = sqlite3.connect(path)
    database.execute(schema)
    database.commit()
    database.close()
    store = BindingStore(path)
    with pytest.raises(sqlite3.Error, match=f"^state file {re.escape(str(path))}: "):
        store.load()
        store.restart_counter(1)
        store.owed_revocations()
    store.close()


_WRONG_FIELDS: list[tuple[dict[str, object], str]] = [
    # the first five: a Python traceback at start, or every `show bindings` failing, before
    ({"uplink_key": "nope", "reserved_uplink_key": "nope"}, 'uplink_key: expected an integer from 0 to 4294967295, '
                                                            'or null, got "nope"'),
    ({"state": "deregistering", "delete_at": "soon"}, 'delete_at: expected a finite number or null, got "soon"'),
    ({"expires_at": float("inf")}, "expires_at: expected a finite number, got Infinity"),
    ({"downlink_key": 2 ** 40}, "downlink_key: expected an integer from 0 to 4294967295, or null, got 1099511627776"),
    ({"last_timestamp": "x"}, 'last_timestamp: expected an integer from 0 to 2**64-1, or null, got "x"'),
    ({"expires_at": float("nan")}, "expires_at: expected a finite number, got NaN"),
    ({"expires_at": "2030-01-01"}, 'expires_at: expected a finite number, got "2030-01-01"'),
    ({"delete_at": float("-inf")}, "delete_at: expected a finite number or null, got -Infinity"),
    ({"state": "gone"}, 'state: expected "active" or "deregistering", got "gone"'),
    ({"state": ["active"]}, 'state: expected "active" or "deregistering", got ["active"]'),
    ({"reserved_uplink_key": -1}, "reserved_uplink_key: expected an integer from 0 to 4294967295, or null, got -1"),
    ({"uplink_key": 1.5}, "uplink_key: expected an integer from 0 to 4294967295, or null, got 1.5"),
    ({"downlink_key": True}, "downlink_key: expected an integer from 0 to 4294967295, or null, got true"),
    ({"last_sequence": 65536}, "last_sequence: expected an integer from 0 to 65535, got 65536"),
    ({"last_timestamp": 1 << 64}, "last_timestamp: expected an integer from 0 to 2**64-1, or null, got "
                                  "18446744073709551616"),
    ({"att": 256}, "att: expected an integer from 0 to 255, got 256"),
    ({"hi": "1"}, 'hi: expected an integer from 0 to 255, got "1"'),
    ({"lifetime": 10 ** 9}, "lifetime: expected an integer from 0 to 262140, got 1000000000"),
    ({"proxy_coa_port": 0}, "proxy_coa_port: expected a port from 1 to 65535, or null, got 0"),
    ({"proxy_coa": 3221225985}, "proxy_coa: expected a string, got 3221225985"),
    ({"lmaa": None}, "lmaa: expected a string, got null"),
    ({"mn_id_hex": 7}, "mn_id_hex: expected a string, got 7"),
    ({"tenant": ["opA"]}, 'tenant: expected a string, got ["opA"]'),
    ({"home_network_prefixes": "2001:db8:a:1::/64"}, 'home_network_prefixes: expected a list of strings, got '
                                                     '"2001:db8:a:1::/64"'),
    ({"home_network_prefixes": [5]}, "home_network_prefixes: expected a list of strings, got [5]"),
    ({"ipv4_home_address": 167772162}, "ipv4_home_address: expected a string or null, got 167772162"),
    ({"ipv4_default_router": {}}, "ipv4_default_router: expected a string or null, got {}"),
    ({"mn_ll_id": 1}, "mn_ll_id: expected a string or null, got 1"),
    ({"link_local_address": 1}, "link_local_address: expected a string or null, got 1"),
    ({"gre_enabled": "no"}, 'gre_enabled: expected true or false, got "no"'),
    ({"tlv_header": 0}, "tlv_header: expected true or false, got 0"),
    ({"udp_encapsulation": None}, "udp_encapsulation: expected true or false, got null"),
    ({"signaling": 5}, "signaling: expected a string or null, got 5"),
    ({"signaling": "2001:db8:1::1", "signaling_port": 0},
     "signaling_port: expected a port from 1 to 65535, or null, got 0"),
    # the right type, a value from_record cannot parse (walkthrough 2: logged without the MN or the field)
    ({"link_local_address": "x"}, "link_local_address: expected an IPv6 address or null, got \"x\" (At least 3 "
                                  "parts expected in 'x')"),
    ({"mn_ll_id": "zz"}, 'mn_ll_id: expected hexadecimal digits or null, got "zz" (non-hexadecimal number found in '
                         'fromhex() arg at position 0)'),
    ({"home_network_prefixes": ["2001:db8:a::/0"]}, 'home_network_prefixes: expected a list of IPv6 prefixes, got '
                                                    '["2001:db8:a::/0"] (2001:db8:a::/0 has host bits set)'),
    ({"mn_id_hex": "6d6"}, 'mn_id_hex: expected hexadecimal digits, got "6d6" (non-hexadecimal number found in '
                           'fromhex() arg at position 3)'),
    ({"proxy_coa": "192.0.2.999"}, "proxy_coa: expected an IPv4 or IPv6 address, got \"192.0.2.999\" ('192.0.2.999' "
                                   "does not appear to be an IPv4 or IPv6 address)"),
    ({"lmaa": ""}, "lmaa: expected an IPv4 or IPv6 address, got \"\" ('' does not appear to be an IPv4 or IPv6 "
                   "address)"),
    ({"signaling": "x"}, "signaling: expected an IPv4 or IPv6 address or null, got \"x\" ('x' does not appear to be "
                         "an IPv4 or IPv6 address)"),
    ({"ipv4_home_address": "10.0.0.2/33"}, 'ipv4_home_address: expected an IPv4 address with its prefix length, or '
                                           "null, got \"10.0.0.2/33\" ('33' is not a valid netmask)"),
    ({"ipv4_default_router": "2001:db8::1"}, 'ipv4_default_router: expected an IPv4 address or null, got '
                                             "\"2001:db8::1\" (Expected 4 octets in '2001:db8::1')"),
    ({"ipv4_withdrawn": 167772162}, "ipv4_withdrawn: expected a string or null, got 167772162"),
    ({"ipv4_withdrawn": "10.0.0.2/24"}, 'ipv4_withdrawn: expected an IPv4 address or null, got "10.0.0.2/24" '
                                        "(Unexpected '/' in '10.0.0.2/24')"),
]


@pytest.mark.parametrize(("changes", "problem"), _WRONG_FIELDS, ids=[next(iter(c)) + f"-{n}" for n, (c, _) in
                                                                        enumerate(_WRONG_FIELDS)])
def test_a_record_with_a_field_of_the_wrong_type_or_range_is_unreadable_naming_the_field(
        tmp_path: Path, changes: dict[str, object], problem: str) -> None:
    """docs/operations.md "State file": such records are skipped and counted as unreadable, like a row that is not
    JSON; the other records of the row, and of other rows, are read as usual."""
    store = BindingStore(tmp_path / "state.db")
    store.save({b"mn1@opA": [_entry(b"mn1@opA", 1).to_record(), _entry(b"mn1@opA", 2).to_record() | changes],
                b"mn2@opA": [_entry(b"mn2@opA", 3).to_record()]})
    stored = store.load()
    store.close()
    assert [record["uplink_key"] for record in stored.records] == [1, 3]
    assert stored.unreadable == [(b"mn1@opA", f"record 2 of 2: {problem}")]


def test_every_field_a_binding_record_can_hold_is_readable(tmp_path: Path) -> None:
    """No false alarm: nulls where to_record writes them, a draining entry, an IPv6 Proxy-CoA without a port, a
    timestamp of 64 bits and the largest key, sequence number and lifetime."""
    entry = _entry(b"mn1@opA", 0xFFFF_FFFF)
    entry.proxy_coa, entry.lifetime, entry.last_sequence = Peer(IPv6Address("2001:db8::1")), 262140, 0xFFFF
    entry.last_timestamp, entry.state, entry.delete_at = (1 << 64) - 1, BceState.DEREGISTERING, 1e9
    entry.ipv4_withdrawn = IPv4Address("10.0.0.3")
    bare = BindingCacheEntry(mn_id=b"\xff", tenant="opA", proxy_coa=Peer(IPv4Address("192.0.2.1"), 5436),
                             lmaa=IPv4Address("192.0.2.9"), att=0, hi=0, lifetime=0, expires_at=1, last_sequence=0)
    store = BindingStore(tmp_path / "state.db")
    store.save({b"mn1@opA": [entry.to_record()], b"\xff": [bare.to_record()]})
    stored = store.load()
    store.close()
    assert stored.unreadable == [] and len(stored.records) == 2


def test_RFC5847_3_2_the_counters_the_peers_reported_are_saved_with_the_bindings_and_survive_reopening(
        tmp_path: Path) -> None:
    path = tmp_path / "lma.db"
    store = BindingStore(path)
    store.save_peers({IPv4Address("192.0.2.1"): (100, 1_800_000_000.5), IPv6Address("2001:db8::2"): (7, 1.0)})
    store.save_peers({IPv6Address("2001:db8::2"): None})  # forgotten
    store.close()
    assert BindingStore(path).peer_counters() == {IPv4Address("192.0.2.1"): (100, 1_800_000_000.5)}


def test_a_stored_peer_counter_that_does_not_read_is_skipped_with_a_warning(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "lma.db"
    BindingStore(path).close()
    db = sqlite3.connect(path)
    with db:
        db.executemany("INSERT INTO peers VALUES (?, ?, ?)", [("192.0.2.1", 5, 2.0), ("not an address", 5, 2.0),
                                                              ("192.0.2.3", 1 << 32, 2.0), ("192.0.2.4", 5, "soon")])
    db.close()
    with caplog.at_level(logging.WARNING):
        assert BindingStore(path).peer_counters() == {IPv4Address("192.0.2.1"): (5, 2.0)}
    assert len(caplog.messages) == 3 and "'not an address'" in caplog.messages[0]


def test_a_state_file_from_before_the_peers_table_gets_it_empty(tmp_path: Path) -> None:
    path = tmp_path / "lma.db"
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE bindings (mn_id BLOB PRIMARY KEY, records TEXT NOT NULL)")
    db.close()
    assert BindingStore(path).peer_counters() == {}
