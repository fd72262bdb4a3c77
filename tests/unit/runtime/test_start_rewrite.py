"""What a start leaves in the state file: the rows of the bindings it dropped deleted, the others as a rewrite of the
restored bindings would have written them (docs/operations.md "State file and restart"), read and pruned a chunk of
rows at a time."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import time
from ipaddress import IPv4Address
from pathlib import Path
from typing import Any

import pytest

from pmip6.core.bce import TEXT_PARSERS
from pmip6.runtime import store as store_module
from pmip6.runtime.store import BindingStore
from test_persistence import STORED_COUNTER, StoreLab, _record, lab  # noqa: F401  (the fixture)


def _rows(database: sqlite3.Connection) -> dict[bytes, tuple[int, str]]:
    """Each row's MN-ID: its rowid and text."""
    rows = database.execute("SELECT mn_id, rowid, records FROM bindings")
    return {mn_id: (rowid, text) for mn_id, rowid, text in rows}


def _file_rows(lab: StoreLab) -> dict[bytes, tuple[int, str]]:
    """The rows of the state file of ``lab``'s LMA, which holds it locked."""
    assert lab.lma.store is not None
    return _rows(lab.lma.store._db)  # noqa: SLF001


def test_a_start_deletes_exactly_the_rows_of_what_it_dropped_and_leaves_the_others_untouched(lab: StoreLab) -> None:
    """An expired binding, a live one in conflict, an unreadable row, and a row of two bindings of which one expired:
    their rows go or lose the dropped record; the rows of the restored bindings keep their text (and place)."""
    now = time.time()
    both = [_record(b"both@opA", now - 60, "10.0.0.6/24", "2001:db8:a:6::/64"),
            _record(b"both@opA", now + 3600, "10.0.0.7/24", "2001:db8:a:7::/64")]
    lab.store_before_start({
        b"live@opA": [_record(b"live@opA", now + 3600, "10.0.0.3/24", "2001:db8:a:2::/64")],
        b"old@opA": [_record(b"old@opA", now - 60, "10.0.0.2/24", "2001:db8:a:1::/64")],
        b"twin@opA": [_record(b"twin@opA", now + 3600, "10.0.0.5/24", "2001:db8:a:2::/64")],
        b"junk@opA": [_record(b"junk@opA", now + 3600, "10.0.0.4/24", "2001:db8:a:4::/64") | {"uplink_key": "x"}],
        b"both@opA": both,
    })
    assert lab.config.state is not None
    with sqlite3.connect(lab.config.state) as database:
        before = _rows(database)
    database.close()

    lab.start()

    after = _file_rows(lab)
    assert after[b"live@opA"] == before[b"live@opA"]
    assert set(after) == {b"live@opA", b"both@opA"}
    assert after[b"both@opA"][1] == json.dumps([both[1]], separators=(",", ":"))


def test_a_start_rewrites_a_row_that_a_rewrite_would_change(lab: StoreLab) -> None:
    """A record an earlier pmip6 wrote, without ``udp_encapsulation`` and ``signaling``, comes back as this one
    writes it: the row is rewritten, as it was when every row was."""
    record = _record(b"live@opA", time.time() + 3600, "10.0.0.3/24", "2001:db8:a:2::/64")
    older = {name: value for name, value in record.items() if name not in ("udp_encapsulation", "signaling",
                                                                           "signaling_port")}
    lab.store_before_start({b"live@opA": [older]})

    lab.start()

    ((_, text),) = _file_rows(lab).values()
    (entry,) = lab.lma.lma.bindings()
    assert json.loads(text) == [entry.to_record()] == [record]


@pytest.fixture
def small_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(store_module, "_CHUNK", 2)


@pytest.mark.usefixtures("small_chunks")
def test_records_are_read_by_mn_id_across_chunks_and_replace_all_prunes_every_chunk(tmp_path: Path) -> None:
    """Chunks of 2 rows: the records come in MN-ID order whatever the order they were written in, unreadable rows in
    their place; ``replace_all`` visits every row, deletes those not given, rewrites those whose text differs and
    adds those the file lacked."""
    store = BindingStore(tmp_path / "state.db")
    now = time.time()
    records = {f"mn{n}@opA".encode(): [_record(f"mn{n}@opA".encode(), now, f"10.0.0.{n + 2}/24",
                                               f"2001:db8:a:{n}::/64")] for n in (4, 1, 3, 0, 2)}
    store.save(records)
    store._db.execute("INSERT INTO bindings VALUES (?, ?)", (b"mn2x@opA", "not json"))  # noqa: SLF001
    store._db.commit()  # noqa: SLF001

    assert [(mn_id, None if record is None else record["mn_id"], problem and problem.split(":")[0])
            for mn_id, record, problem in store.records()] == [
        (b"mn0@opA", "mn0@opA", None), (b"mn1@opA", "mn1@opA", None), (b"mn2@opA", "mn2@opA", None),
        (b"mn2x@opA", None, "not JSON"), (b"mn3@opA", "mn3@opA", None), (b"mn4@opA", "mn4@opA", None)]

    changed = records[b"mn3@opA"][0] | {"uplink_key": 7}
    kept: dict[bytes, list[dict[str, Any]]] = {b"mn0@opA": records[b"mn0@opA"], b"mn3@opA": [changed],
                                               b"mn4@opA": records[b"mn4@opA"], b"new@opA": records[b"mn1@opA"]}
    store.replace_all(kept)
    assert [(mn_id, record) for mn_id, record, _ in store.records()] == [
        (b"mn0@opA", records[b"mn0@opA"][0]), (b"mn3@opA", changed), (b"mn4@opA", records[b"mn4@opA"][0]),
        (b"new@opA", records[b"mn1@opA"][0])]
    store.close()


def _parts(parsed: object) -> tuple[object, ...]:
    """The objects a parser made: a prefix list's prefixes, or the one object."""
    return parsed if isinstance(parsed, tuple) else (parsed,)


def test_the_record_parsers_give_a_text_parsed_before_back_and_fail_as_the_parsing_does() -> None:
    """A start checks a record's fields, then ``BindingCacheEntry.from_record`` rebuilds it with the same parsers
    (``TEXT_PARSERS``): the second reading of a text is the first's result, not a second parse; a text that does not
    parse fails each time with the parser's own error, and what is no text goes to the parser as it is."""
    for name, text in (("proxy_coa", "192.0.2.1"), ("home_network_prefixes", ["2001:db8:a:1::/64"]),
                       ("ipv4_home_address", "10.0.0.2/24"), ("ipv4_default_router", "10.0.0.1"),
                       ("link_local_address", "fe80::1")):
        first, second = _parts(TEXT_PARSERS[name](text)), _parts(TEXT_PARSERS[name](text))
        assert all(made is again for made, again in zip(first, second, strict=True)), name
    for _ in range(2):
        with pytest.raises(ValueError, match="At least 3 parts expected in 'x'"):
            TEXT_PARSERS["link_local_address"]("x")
    assert TEXT_PARSERS["proxy_coa"](3221225985) == IPv4Address("192.0.2.1")
    with pytest.raises(TypeError):
        TEXT_PARSERS["home_network_prefixes"](None)


_KILLED_START = """
import asyncio, os, signal, sys
from pathlib import Path
from pmip6.runtime import store
from pmip6.runtime.config import load_lma_config
from pmip6.runtime.daemon import DaemonOptions
from pmip6.runtime.lma_daemon import LmaDaemon

store._CHUNK = 2
text_of, calls = store._text_of, []


def killed_at(records):
    calls.append(records)
    if len(calls) == int(sys.argv[2]):
        os.kill(os.getpid(), signal.SIGKILL)
    return text_of(records)


store._text_of = killed_at
asyncio.run(LmaDaemon(load_lma_config(Path(sys.argv[1])), DaemonOptions()).prepare())
"""


@pytest.mark.parametrize("killed_at", [1, 3, 4])
def test_a_start_killed_with_9_while_it_prunes_the_file_leaves_one_the_next_start_restores(
        lab: StoreLab, tmp_path: Path, killed_at: int) -> None:
    """docs/operations.md "State file and restart": the pruning is one transaction, its rows visited 2 at a time
    here (in the order written: expired, 4 live of which the second in an older format, unreadable). A start killed
    with 9 in the first chunk after deleting the expired row, in the second after rewriting the older one, or in the
    third, leaves the file as it was, with the larger Restart Counter the lost unreadable row made it write first
    (RFC 5847 3.2); the next start restores the same bindings, writes a larger counter again and prunes the file."""
    now = time.time()
    live = {f"mn{n}@opA".encode(): [_record(f"mn{n}@opA".encode(), now + 3600, f"10.0.0.{n + 2}/24",
                                            f"2001:db8:a:{n}::/64")] for n in range(4)}
    older = {name: value for name, value in live[b"mn1@opA"][0].items() if name != "udp_encapsulation"}
    lab.store_before_start({b"mn0x@opA": [_record(b"mn0x@opA", now - 60, "10.0.0.9/24", "2001:db8:a:9::/64")],
                            **live, b"mn1@opA": [older],
                            b"mn2x@opA": [_record(b"mn2x@opA", now + 3600, "10.0.0.8/24", "2001:db8:a:8::/64")
                                          | {"expires_at": "soon"}]}, restart_counter=STORED_COUNTER)
    assert lab.config.state is not None
    with sqlite3.connect(lab.config.state) as database:
        before = _rows(database)
    database.close()
    script = tmp_path / "killed_start.py"
    script.write_text(_KILLED_START)
    killed = subprocess.run([sys.executable, str(script), str(lab.config.path), str(killed_at)], capture_output=True,
                            text=True, timeout=60)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    with sqlite3.connect(lab.config.state) as database:
        assert _rows(database) == before, "the pruning transaction never committed"
        (counter,), = database.execute("SELECT value FROM node")
    database.close()
    assert counter > STORED_COUNTER, "written before the pruning"

    lab.start()

    assert sorted(entry.mn_id for entry in lab.lma.lma.bindings()) == sorted(live)
    assert lab.lma.lma.heartbeat.restart_counter > counter
    assert {mn_id: json.loads(text) for mn_id, (_, text) in _file_rows(lab).items()} == live
