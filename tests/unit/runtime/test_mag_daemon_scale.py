"""Walkthrough 9a finding 5: what a MAG's control commands cost must not grow with the MNs it holds. While any
``attach``/``detach``/``refresh`` waited, every outcome the daemon applied (each PBA, each timer) rebuilt a dict of
the whole Binding Update List, and ``detach`` scanned it too: 20,000 attaches through the control socket ran at 132
a second, the engine alone at 3,000-5,500. A ``revoke-all`` (and a stopping MAG) did the same per outcome and per
poll. Counted here, without sockets as in test_mag_daemon_results.py: how many BUL entries the daemon walks."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pmip6.core.bul import BindingUpdateListEntry
from pmip6.core.events import Outcome
from pmip6.core.mag_settings import AttachRequest
from pmip6.runtime.mag_daemon import MagDaemon
from pmip6.wire.messages import ProxyBindingUpdate
from test_mag_daemon_results import _answer, _daemon


class _Counted:
    """The daemon's MAG engine with its ``entries()`` counted (every entry handed out), and every PBU the daemon
    applies kept for the test to answer."""

    def __init__(self, daemon: MagDaemon) -> None:
        self.daemon, self.visited, self.sent = daemon, 0, list[ProxyBindingUpdate]()
        entries, apply = daemon.mag.entries, daemon.apply

        def counted_entries() -> Iterator[BindingUpdateListEntry]:
            for entry in entries():
                self.visited += 1
                yield entry

        def kept_apply(outcome: Outcome) -> None:
            self.sent += [send.message for send in outcome.sends if isinstance(send.message, ProxyBindingUpdate)]
            apply(outcome)

        daemon.mag.entries = counted_entries  # type: ignore[method-assign]
        daemon.apply = kept_apply  # type: ignore[method-assign]

    def answer_all(self) -> None:
        lma = self.daemon.config.settings.lma
        while self.sent:
            self.daemon.on_message(_answer(self.sent.pop(0)), lma, lma.address)


def _registered(tmp_path: Path, count: int) -> _Counted:
    """A MAG daemon holding ``count`` registered MNs (old0@opA, ...), counted from now on."""
    daemon = _daemon(tmp_path)
    lma = daemon.config.settings.lma
    for index in range(count):
        (send,) = daemon.mag.attach(AttachRequest(mn_id=f"old{index}@opA".encode(), att=4), time.time()).sends
        daemon.on_message(_answer(send.message), lma, lma.address)  # type: ignore[arg-type]
    return _Counted(daemon)


async def _commands(counted: _Counted, command: str, mn_ids: list[str]) -> list[dict[str, Any]]:
    """Run ``command`` for each MN, 32 waiting at a time, each answered by its PBA."""
    handler = counted.daemon.control_handlers()[command]
    arguments = {"att": 4} if command == "attach" else {}
    results: list[dict[str, Any]] = []
    for first in range(0, len(mn_ids), 32):
        tasks = [asyncio.ensure_future(handler({"command": command, "mn_id": mn_id, **arguments}))
                 for mn_id in mn_ids[first:first + 32]]
        await asyncio.sleep(0)
        counted.answer_all()
        results += await asyncio.gather(*tasks)
    return results


@pytest.mark.parametrize("held", [1_000, 5_000])
def test_attach_refresh_and_detach_commands_look_up_only_their_own_mns(tmp_path: Path, held: int) -> None:
    counted = _registered(tmp_path, held)
    new = [f"new{index}@opA" for index in range(100)]

    async def scenario() -> list[list[dict[str, Any]]]:
        return [await _commands(counted, "attach", new), await _commands(counted, "refresh", new),
                await _commands(counted, "detach", new)]

    attached, refreshed, detached = asyncio.run(scenario())
    assert {result["outcome"] for result in attached + refreshed} == {"registered"}
    assert {result["outcome"] for result in detached} == {"deregistered"}
    assert counted.visited == 0, f"{counted.visited} BUL entries walked for 300 commands with {held} MNs held"


@pytest.mark.parametrize("held", [300, 1_500])
def test_a_revoke_all_walks_the_binding_update_list_once(tmp_path: Path, held: int) -> None:
    """Once, for the entries it starts with; then each PBA costs a look-up of the MN it names."""
    counted = _registered(tmp_path, held)
    daemon = counted.daemon

    async def scenario() -> dict[str, Any]:
        revoke_all = asyncio.ensure_future(daemon.control_handlers()["revoke-all"]({"timeout": 10}))
        while not revoke_all.done():
            await asyncio.sleep(0)
            counted.answer_all()
            daemon.apply(daemon.timer_outcome(time.time()))  # the next de-registrations of the window (128)
            await asyncio.sleep(0.03)
        result: dict[str, Any] = revoke_all.result()
        return result

    result = asyncio.run(scenario())
    assert result == {"bindings": held, "left": 0, "revoked": 0, "deregistered": held, "unacknowledged": 0,
                      "global_revocation": False, "global_revocation_refused": False}
    assert counted.visited <= 2 * held, f"{counted.visited} BUL entries walked to revoke {held}"
