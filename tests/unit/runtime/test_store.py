"""The LMA's durable binding store: BCE records survive closing and reopening the database."""

from __future__ import annotations

import sqlite3
from ipaddress import IPv4Address, IPv4Interface, IPv6Network
from pathlib import Path

import pytest

from pmip6.core.bce import BceState, BindingCacheEntry
from pmip6.core.events import Peer
from pmip6.runtime.store import BindingStore, StateInUse


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
    store.save({b"mn1@opA": [first.to_record()], b"mn2@opA": [second.to_record()]})
    store.close()
    reopened = BindingStore(path)
    restored = [BindingCacheEntry.from_record(record) for record in reopened.load().records]
    assert [entry.to_record() for entry in restored] == [first.to_record(), second.to_record()]
    assert restored[1].uplink_key == 0xA2 and restored[0].downlink_key == 0x1111
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
