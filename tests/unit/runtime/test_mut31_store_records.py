"""mut31: the stored records the LMA restores at its start (b7bf01d, docs/operations.md, "State file"): every field a
record of this version must hold is named when it is missing, the fields older versions did not write are not
required, and a failed write names the first five MNs it was writing in MN-ID order (a4c49ec)."""

from __future__ import annotations

import logging
import sqlite3
import time
from typing import Any

import pytest

from pmip6.core.events import Peer
from pmip6.core.mag_settings import AttachRequest
from pmip6.wire.numbers import AccessTechnologyType
from test_persistence import LMAA, MAG_A, PORT, StoreLab, _record, lab  # noqa: F401 (fixture)

_WRITTEN_LATER = ("udp_encapsulation", "signaling", "signaling_port", "ipv4_withdrawn")
"""The fields pmip6 added to binding records after their first version: records written before lack them."""
_NOT_READ = ("record_version", "mn_id")
"""The version, checked before any field, and the MN-ID as text, for a reader of the file: never required."""
_REQUIRED = tuple(name for name in _record(b"a@opA", 0.0, "10.0.0.2/24", "2001:db8:a:1::/64")
                  if name not in _WRITTEN_LATER + _NOT_READ)


@pytest.mark.parametrize("field", _REQUIRED)
def test_a_record_without_any_field_it_needs_is_skipped_naming_that_field(
        lab: StoreLab, caplog: pytest.LogCaptureFixture, field: str) -> None:  # noqa: F811 (fixture)
    """Each field from_record reads without a default, gone from a stored record (walkthrough 22: a key's name
    changed): the warning names the MN and the field, `... record 1 of 1: tenant: missing`, not a KeyError."""
    damaged = _record(b"a@opA", time.time() + 3600, "10.0.0.2/24", "2001:db8:a:1::/64")
    del damaged[field]
    lab.store_before_start({b"a@opA": [damaged]})
    with caplog.at_level(logging.WARNING):
        lab.start()
    assert list(lab.lma.lma.bindings()) == []
    (skipping,) = [message for message in caplog.messages if message.startswith("skipping")]
    assert skipping == f"skipping the stored bindings of a@opA: record 1 of 1: {field}: missing", skipping


def test_a_record_without_two_fields_names_the_first_of_them(
        lab: StoreLab, caplog: pytest.LogCaptureFixture) -> None:  # noqa: F811 (fixture)
    """``_field_problem`` names the first field missing in the order records are written (tenant before uplink_key),
    one line per record: the operator sees the same name whatever else is damaged further on."""
    damaged = _record(b"a@opA", time.time() + 3600, "10.0.0.2/24", "2001:db8:a:1::/64")
    del damaged["uplink_key"], damaged["tenant"]
    lab.store_before_start({b"a@opA": [damaged]})
    with caplog.at_level(logging.WARNING):
        lab.start()
    assert "skipping the stored bindings of a@opA: record 1 of 1: tenant: missing" in caplog.messages


@pytest.mark.parametrize("absent", [*[(field,) for field in _WRITTEN_LATER], _WRITTEN_LATER])
def test_a_record_an_older_version_wrote_without_the_later_fields_is_restored(
        lab: StoreLab, caplog: pytest.LogCaptureFixture, absent: tuple[str, ...]) -> None:  # noqa: F811 (fixture)
    """A record written before IPv4-UDP mode (``udp_encapsulation``), the Alternate Care-of Address
    (``signaling``, ``signaling_port``) or the IPv4 home address a reload withdrew (``ipv4_withdrawn``) is restored
    with their defaults, not skipped as missing a field."""
    older = _record(b"a@opA", time.time() + 3600, "10.0.0.2/24", "2001:db8:a:1::/64")
    for field in absent:
        del older[field]
    lab.store_before_start({b"a@opA": [older]})
    with caplog.at_level(logging.WARNING):
        lab.start()
    assert [entry.mn_id for entry in lab.lma.lma.bindings()] == [b"a@opA"]
    assert not [message for message in caplog.messages if message.startswith("skipping")], caplog.messages


def test_a_failed_write_names_the_first_five_mns_in_mn_id_order_and_counts_the_rest(
        lab: StoreLab, caplog: pytest.LogCaptureFixture) -> None:  # noqa: F811 (fixture)
    """Seven attaches during a disk-full outage: each failed write keeps the MNs unwritten, and the last names the
    five first by MN-ID, then "and 2 more", whatever order they came in (a set's order would change from run to
    run and from line to line)."""
    lab.start()
    assert lab.lma.store is not None

    def failing_save(*changes: Any) -> None:
        raise sqlite3.OperationalError("database or disk is full")

    lab.lma.store.save = failing_save  # type: ignore[method-assign]
    names = [f"mn{number}@opA" for number in (6, 2, 0, 5, 3, 1, 4)]
    with caplog.at_level(logging.ERROR, logger="pmip6.lma"):
        for name in names:
            now = lab.now()
            request = AttachRequest(mn_id=name.encode(), att=AccessTechnologyType.IEEE_802_11)
            (pbu,) = [send.message for send in lab.mags[MAG_A].attach(request, now).sends]
            lab.lma.on_message(pbu, Peer(MAG_A, PORT), LMAA)
    assert lab.sent == [] and lab.lma.statistics.store_errors == len(names)
    assert caplog.messages[-1] == (f"state file {lab.config.state}: writing the bindings of mn0@opA, mn1@opA, mn2@opA, "
                                   "mn3@opA, mn4@opA and 2 more failed, nothing sent: database or disk is full")
