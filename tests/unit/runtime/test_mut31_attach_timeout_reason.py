"""mut31: the reason of an attach whose wait ended while every PBA that came was ignored (b0ae3bf,
``mag_daemon._timed_out``): how many came, and the first one's reason, however many there were. Driven without
sockets or clocks: the PBAs go to ``MagDaemon.on_message`` by hand and the timeout's result is asked for."""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path

import pytest
from test_mag_daemon_results import _answer, _daemon, _pbu

from pmip6.core.mag_settings import AttachRequest
from pmip6.runtime.mag_daemon import _timed_out, _Waiter
from pmip6.wire.numbers import Status

MN = b"mn1@example.org"


@pytest.mark.parametrize("ignored", [1, 3])
def test_a_timeout_after_ignored_pbas_counts_them_and_names_the_first_reason(tmp_path: Path, ignored: int) -> None:
    """One ignored PBA is no silence either ("1 PBA ..., all ignored"), and three are counted as three; the reason
    is the first one's (the answers to sequence numbers this MAG never sent, here)."""
    daemon = _daemon(tmp_path)
    lma = daemon.config.settings.lma

    async def scenario() -> dict[str, object]:
        waiter = _Waiter(MN, attach=True)
        daemon._waiters.append(waiter)  # noqa: SLF001 (what _await_outcome does before it waits)
        pbu = _pbu(daemon.mag.attach(AttachRequest(mn_id=MN, att=4), 0.0))
        for offset in range(ignored):
            stray = dataclasses.replace(_answer(pbu, Status.ADMINISTRATIVELY_PROHIBITED),
                                        sequence=(pbu.sequence + 100 + offset) % 0x10000)
            daemon.on_message(stray, lma, lma.address)
        return _timed_out(waiter, lma.address, 2.0)

    result = asyncio.run(scenario())
    assert result["outcome"] == "timeout"
    reason = str(result["reason"])
    counted = "1 PBA" if ignored == 1 else f"{ignored} PBAs"
    assert reason.startswith(f"{counted} from the LMA at {lma.address} within 2 s, all ignored, the first: "), reason
