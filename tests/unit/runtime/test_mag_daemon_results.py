"""What the MAG daemon keeps per mobile node for its ``attach``/``refresh``/``detach`` results, driven without
sockets: the engine's PBUs are answered by hand and handed to ``MagDaemon.on_message`` as the socket would."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import textwrap
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from pmip6.core.events import Outcome
from pmip6.core.bul import BulState
from pmip6.core.mag_settings import AttachRequest
from pmip6.runtime.config import load_mag_config
from pmip6.runtime.daemon import DaemonOptions
from pmip6.runtime.mag_daemon import MagDaemon, build_mag_daemon
from pmip6.runtime.views import gre_mode_of
from pmip6.wire.messages import ProxyBindingAcknowledgement, ProxyBindingUpdate
from pmip6.wire.mobility import decode_message, encode_message
from pmip6.wire.numbers import BAFlags, HandoffIndicator, Status
from pmip6.wire.options import GREKeyOption, HandoffIndicatorOption, MNIdentifierOption, TimestampOption
from test_daemons_loopback import Lab, _mag_toml

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


def _answer(pbu: ProxyBindingUpdate, status: int = Status.ACCEPTED, *, with_mn_id: bool = True,
            lifetime: int | None = None) -> ProxyBindingAcknowledgement:
    """The LMA's PBA to ``pbu``: its sequence, its lifetime unless ``lifetime`` (4 s units) is given, the MN-ID echoed
    unless ``with_mn_id`` is false (RFC 5213 6.9.1.2 items 5 and 6), its Timestamp echoed (5.5 item 7)."""
    mn_id, timestamp = pbu.option(MNIdentifierOption), pbu.option(TimestampOption)
    options = (mn_id,) if with_mn_id and mn_id is not None else ()
    return ProxyBindingAcknowledgement(status=status, sequence=pbu.sequence, flags=BAFlags.P,
                                       lifetime=pbu.lifetime if lifetime is None else lifetime,
                                       options=options + ((timestamp,) if timestamp is not None else ()))


def _mn_ids_held(daemon: MagDaemon, mn_ids: set[bytes]) -> set[bytes]:
    """Which of ``mn_ids`` a container attribute of the daemon holds: as a key, an item, or an item's ``mn_id``."""
    held: set[object] = set()
    for value in vars(daemon).values():
        if isinstance(value, dict | list | set | tuple):
            held |= {getattr(item, "mn_id", item) for item in value}
    return {mn_id for mn_id in mn_ids if mn_id in held}


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


@contextlib.contextmanager
def _stub_lma(respond: Callable[[ProxyBindingUpdate], tuple[ProxyBindingAcknowledgement, bool]]) -> Iterator[int]:
    """A stub LMA on 127.0.0.1 (its port yielded) that answers each PBU with ``respond(pbu)``: the PBA, and whether
    it leaves from 127.0.0.2 instead, as a multi-homed LMA or one behind a virtual address might answer."""
    listening = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    listening.bind(("127.0.0.1", 0))
    listening.settimeout(0.05)
    answering = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    answering.bind(("127.0.0.2", 0))
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                data, mag = listening.recvfrom(65535)
            except TimeoutError:
                continue
            pbu = decode_message(data)
            if isinstance(pbu, ProxyBindingUpdate):
                pba, elsewhere = respond(pbu)
                (answering if elsewhere else listening).sendto(encode_message(pba), mag)

    thread = threading.Thread(target=serve)
    thread.start()
    try:
        yield listening.getsockname()[1]
    finally:
        stop.set()
        thread.join()
        listening.close()
        answering.close()


@pytest.mark.parametrize("with_mn_id", [True, False], ids=["by MN-ID", "by sequence number"])
def test_an_attach_whose_pbas_were_all_ignored_says_why_and_the_first_is_logged_as_a_warning(
        tmp_path: Path, caplog: pytest.LogCaptureFixture, with_mn_id: bool) -> None:
    """Walkthrough 4, finding 7: PBAs from an address that is not the MAG's LMA are ignored (RFC 5213 6.9.1.2
    item 5), which attach reported only as "no usable PBA"; the counters count them, as every PBA received."""
    lab = Lab(tmp_path)
    with _stub_lma(lambda pbu: (_answer(pbu, with_mn_id=with_mn_id), True)) as port:
        (tmp_path / "mag.toml").write_text(_mag_toml(port) + textwrap.dedent("""
            initial_bindack_timeout = 0.05
            max_bindack_timeout = 0.2
            max_retransmissions = 2
        """))

        async def scenario() -> tuple[dict[str, Any], dict[str, Any]]:
            async with lab.mag_alone():
                outcome = await lab.control("mag", {"command": "attach", "mn_id": "mn1@opA", "att": 4})
                return outcome, await lab.control("mag", {"command": "stats"})

        with caplog.at_level(logging.DEBUG, logger="pmip6.mag"):
            outcome, stats = asyncio.run(scenario())
    assert outcome == {"outcome": "failed", "reason": (
        "no usable PBA from the LMA after 2 retransmissions: 3 PBAs ignored, the first: ProxyBindingAcknowledgement "
        "from 127.0.0.2, not from the LMA (this MAG's LMA is 127.0.0.1)")}
    warnings = [record.getMessage() for record in caplog.records
                if record.levelno == logging.WARNING and "ignored a PBA" in record.getMessage()]
    assert warnings == ["ignored a PBA for mn1@opA: ProxyBindingAcknowledgement from 127.0.0.2, not from the LMA "
                        "(this MAG's LMA is 127.0.0.1); further ones for this registration are logged at debug level"]
    assert stats["received"]["pba"] == stats["pba_received"]["ACCEPTED"] == stats["events"]["MessageIgnored"] == 3


def test_RFC5213_6_9_1_2_item_9_an_attach_whose_first_pbu_drew_156_is_registered_by_its_retransmission(
        tmp_path: Path) -> None:
    """Walkthrough 7b: a PBU that waited in a busy LMA's queue got 156 and the attach failed at once; now its
    retransmission, with a fresh timestamp, registers the MN, and the attach reports it registered."""
    lab = Lab(tmp_path)
    answers = iter([Status.TIMESTAMP_MISMATCH])
    with _stub_lma(lambda pbu: (_answer(pbu, next(answers, Status.ACCEPTED)), False)) as port:
        (tmp_path / "mag.toml").write_text(_mag_toml(port, gre="off") + "initial_bindack_timeout = 0.05\n")

        async def scenario() -> dict[str, Any]:
            async with lab.mag_alone():
                return await lab.control("mag", {"command": "attach", "mn_id": "mn1@opA", "att": 4})

        outcome = asyncio.run(scenario())
    assert outcome["outcome"] == "registered", outcome


def test_RFC5213_6_9_1_2_item_9_an_attach_answered_156_every_time_fails_naming_the_156(tmp_path: Path) -> None:
    lab = Lab(tmp_path)
    with _stub_lma(lambda pbu: (_answer(pbu, Status.TIMESTAMP_MISMATCH), False)) as port:
        (tmp_path / "mag.toml").write_text(_mag_toml(port, gre="off") + textwrap.dedent("""
            initial_bindack_timeout = 0.05
            max_bindack_timeout = 0.2
            max_retransmissions = 2
        """))

        async def scenario() -> dict[str, Any]:
            async with lab.mag_alone():
                return await lab.control("mag", {"command": "attach", "mn_id": "mn1@opA", "att": 4})

        outcome = asyncio.run(scenario())
    assert outcome == {"outcome": "failed", "reason": (
        "no usable PBA from the LMA after 2 retransmissions; the LMA answered the last one with 156 "
        "(TIMESTAMP_MISMATCH): are this MAG's and the LMA's clocks synchronized? (RFC 5213 5.5)")}


def test_RFC5213_6_9_1_2_item_9_an_attach_that_times_out_after_a_156_names_the_156(tmp_path: Path) -> None:
    """Review 11 B4: the 156 is retried on the back-off schedule (about a minute with the defaults), beyond the
    attach's wait: the timeout says what the LMA answered last, as the failure would, instead of a bare timeout."""
    lab = Lab(tmp_path)
    with _stub_lma(lambda pbu: (_answer(pbu, Status.TIMESTAMP_MISMATCH), False)) as port:
        (tmp_path / "mag.toml").write_text(_mag_toml(port, gre="off"))  # the default retransmission schedule

        async def scenario() -> dict[str, Any]:
            async with lab.mag_alone():
                return await lab.control("mag", {"command": "attach", "mn_id": "mn1@opA", "att": 4, "timeout": 2})

        outcome = asyncio.run(scenario())
    assert outcome == {"outcome": "timeout", "last_answer": {"status": 156, "status_name": "TIMESTAMP_MISMATCH"}}


def test_a_detach_whose_pba_was_ignored_says_why_it_was_removed_at_this_mag_only(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    lab = Lab(tmp_path)
    with _stub_lma(lambda pbu: (_answer(pbu), pbu.lifetime == 0)) as port:
        (tmp_path / "mag.toml").write_text(_mag_toml(port, gre="off"))

        async def scenario() -> tuple[dict[str, Any], dict[str, Any]]:
            async with lab.mag_alone():
                attached = await lab.control("mag", {"command": "attach", "mn_id": "mn1@opA", "att": 4})
                return attached, await lab.control("mag", {"command": "detach", "mn_id": "mn1@opA"})

        with caplog.at_level(logging.WARNING, logger="pmip6.mag"):
            attached, detached = asyncio.run(scenario())
    assert attached["outcome"] == "registered"
    assert detached == {"outcome": "removed", "reason": (
        "no PBA acknowledged the de-registration: the binding was removed at this MAG only: 1 PBA ignored, the "
        "first: ProxyBindingAcknowledgement from 127.0.0.2, not from the LMA (this MAG's LMA is 127.0.0.1)")}
    assert "further ones for this detach are logged at debug level" in caplog.text


def test_an_attach_accepted_with_lifetime_0_is_reported_failed_as_the_binding_ends_at_once(tmp_path: Path) -> None:
    """Walkthrough 4, minor: a PBA of status 0 with lifetime 0 grants no time (RFC 6275 11.7.3: the lifetime counts
    from the PBU's transmission), so the MAG removes the binding at once ("expired"): attach said "registered"."""
    lab = Lab(tmp_path)
    with _stub_lma(lambda pbu: (_answer(pbu, lifetime=0), False)) as port:
        (tmp_path / "mag.toml").write_text(_mag_toml(port, gre="off"))

        async def scenario() -> tuple[dict[str, Any], list[dict[str, Any]]]:
            async with lab.mag_alone():
                outcome = await lab.control("mag", {"command": "attach", "mn_id": "mn1@opA", "att": 4})
                await asyncio.sleep(0.1)
                return outcome, await lab.control("mag", {"command": "bindings"})

        outcome, bindings = asyncio.run(scenario())
    assert outcome == {"outcome": "failed", "reason": "the LMA accepted with a lifetime of 0 s, over by the time its "
                                                      "PBA came: the binding is removed at once"}
    assert bindings == []


@pytest.mark.parametrize("status", [Status.ACCEPTED, Status.NOT_AUTHORIZED_FOR_HOME_NETWORK_PREFIX],
                         ids=["accepted", "rejected 155"])
def test_RFC5213_6_9_1_1_an_attach_of_a_registered_mn_reports_the_result_of_its_re_registration(
        tmp_path: Path, status: Status) -> None:
    """Walkthrough 6, finding 1: an attach for an MN the MAG still held as registered (it came back from another MAG,
    this one never told) printed "ignored ... already attached" and sent nothing. Now it re-registers the MN with
    the attach's Handoff Indicator and reports that exchange as a first attach would."""
    lab = Lab(tmp_path)
    handoff_indicators: list[int] = []

    def respond(pbu: ProxyBindingUpdate) -> tuple[ProxyBindingAcknowledgement, bool]:
        option = pbu.option(HandoffIndicatorOption)
        assert option is not None
        handoff_indicators.append(option.value)
        return _answer(pbu, Status.ACCEPTED if len(handoff_indicators) == 1 else status), False

    with _stub_lma(respond) as port:
        (tmp_path / "mag.toml").write_text(_mag_toml(port, gre="off"))

        async def scenario() -> tuple[dict[str, Any], dict[str, Any], list[dict[str, Any]]]:
            async with lab.mag_alone():
                first = await lab.control("mag", {"command": "attach", "mn_id": "mn1@opA", "att": 4})
                back = await lab.control("mag", {"command": "attach", "mn_id": "mn1@opA", "att": 4, "hi": 3})
                return first, back, await lab.control("mag", {"command": "bindings"})

        first, back, bindings = asyncio.run(scenario())
    assert first["outcome"] == "registered"
    assert handoff_indicators == [HandoffIndicator.NEW_INTERFACE, HandoffIndicator.HANDOFF_BETWEEN_MAGS]
    if status == Status.ACCEPTED:
        assert back["outcome"] == "registered" and back["status"] == 0 and back["binding"]["state"] == "registered"
        assert [binding["state"] for binding in bindings] == ["registered"]
    else:
        assert back == {"outcome": "rejected", "status": 155, "status_name": "NOT_AUTHORIZED_FOR_HOME_NETWORK_PREFIX"}
        assert [binding["state"] for binding in bindings] == ["failed"]


async def _until_deregistering(lab: Lab, mn_id: str) -> None:
    """Return once the MAG's bindings show ``mn_id`` de-registering (the revoke-all under way reached the MAG)."""
    deadline = time.monotonic() + 10
    while not [row for row in await lab.control("mag", {"command": "bindings"})
               if row["mn_id"] == mn_id and row["state"] == "deregistering"]:
        assert time.monotonic() < deadline, f"{mn_id} did not start de-registering in 10 s"
        await asyncio.sleep(0.01)


def test_RFC5846_9_2_revoke_all_settles_each_binding_it_started_with_by_how_it_left(tmp_path: Path) -> None:
    """Against a silent LMA: a binding still registering (its PBU may have been accepted, the PBA lost) and one that
    failed both end unacknowledged, and the MN attaching again while its de-registration awaits the PBA is neither
    counted as de-registered nor waited for: ``revoke-all`` counts the entries it started with, not the events
    (review7a F5)."""
    lab = Lab(tmp_path)
    mag_toml = tmp_path / "mag.toml"
    mag_toml.write_text(mag_toml.read_text().replace("[mag]\n", "[mag]\ninitial_bindack_timeout = 0.3\n"
                                                     "max_retransmissions = 1\n"))

    async def scenario() -> tuple[dict[str, Any], dict[str, Any], dict[str, Any], dict[str, Any], list[dict[str, Any]]]:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as silent:
            silent.bind(("127.0.0.1", lab.port))
            async with lab.mag_alone():
                failed = await lab.control("mag", {"command": "attach", "mn_id": "mn1@opA", "att": 4, "timeout": 5})
                registering = await lab.control("mag", {"command": "attach", "mn_id": "mn2@opA", "att": 4,
                                                        "timeout": 0.05})
                revoke_all = asyncio.create_task(lab.control("mag", {"command": "revoke-all", "timeout": 5}))
                await _until_deregistering(lab, "mn2@opA")  # its de-registration awaits its PBA (0.3 s)
                back = await lab.control("mag", {"command": "attach", "mn_id": "mn2@opA", "att": 4, "hi": 3,
                                                 "timeout": 0.05})
                result = await revoke_all
                return failed, registering, back, result, await lab.control("mag", {"command": "bindings"})

    failed, registering, back, result, bindings = asyncio.run(scenario())
    assert failed["outcome"] == "failed"
    assert registering == back == {"outcome": "timeout", "reason": "no PBA from the LMA at 127.0.0.1 within 0.05 s"}
    assert result == {"bindings": 2, "global_revocation": False, "left": 0, "global_revocation_refused": False,
                      "revoked": 0, "deregistered": 0, "unacknowledged": 2}
    assert [(row["mn_id"], row["state"]) for row in bindings] == [("mn2@opA", "registering")]


def test_RFC5846_9_2_revoke_all_counts_an_mn_attached_again_during_the_wait_as_not_acknowledged(
        tmp_path: Path) -> None:
    """The LMA accepts registrations, but its PBA to the de-registration comes from another address and is ignored
    (RFC 5213 6.9.1.2 item 5). The MN attaches again while its de-registration awaits that PBA: the entry revoke-all
    started with is replaced, not de-registered (no PBA acknowledged it), and the new one is not waited for."""
    lab = Lab(tmp_path)
    with _stub_lma(lambda pbu: (_answer(pbu), pbu.lifetime == 0)) as port:
        (tmp_path / "mag.toml").write_text(_mag_toml(port, gre="off") + "initial_bindack_timeout = 0.3\n")

        async def scenario() -> tuple[dict[str, Any], ...]:
            async with lab.mag_alone():
                attached = await lab.control("mag", {"command": "attach", "mn_id": "mn1@opA", "att": 4})
                revoke_all = asyncio.create_task(lab.control("mag", {"command": "revoke-all", "timeout": 5}))
                await _until_deregistering(lab, "mn1@opA")  # its de-registration awaits its PBA (0.3 s)
                back = await lab.control("mag", {"command": "attach", "mn_id": "mn1@opA", "att": 4, "hi": 3})
                return attached, back, await revoke_all

        attached, back, result = asyncio.run(scenario())
    assert attached["outcome"] == back["outcome"] == "registered"
    assert result == {"bindings": 1, "global_revocation": False, "left": 0, "global_revocation_refused": False,
                      "revoked": 0, "deregistered": 0, "unacknowledged": 1}


def test_an_ending_settles_the_entries_the_shutdown_itself_removed(tmp_path: Path) -> None:
    """A failed entry goes in the shutdown's own outcome, without a BindingRemoved: the _Ending must be registered
    before that outcome is applied, or revoke-all / the stop waits its whole timeout and reports it left."""
    daemon = _daemon(tmp_path)
    now = T0
    daemon.apply(daemon.mag.attach(AttachRequest(mn_id=b"mn1@opA", att=4), now))
    for _ in range(50):  # no PBA ever: the registration fails
        entry = daemon.mag.entry(b"mn1@opA")
        if entry is not None and entry.state is BulState.FAILED:
            break
        deadline = daemon.mag.next_deadline()
        assert deadline is not None
        now = deadline
        daemon.apply(daemon.mag.handle_timer(now))
    failed = daemon.mag.entry(b"mn1@opA")
    assert failed is not None and failed.state is BulState.FAILED

    started = time.monotonic()
    _, ending = asyncio.run(daemon._end_every_binding(3.0))  # noqa: SLF001
    assert time.monotonic() - started < 1.5, "waited for an entry already gone"
    assert ending.result() == {"bindings": 1, "left": 0, "revoked": 0, "deregistered": 0, "unacknowledged": 1}


def _stamped_156(offset: float) -> Callable[[ProxyBindingUpdate], tuple[ProxyBindingAcknowledgement, bool]]:
    """A stub LMA's answer to every PBU: 156 echoing its options but the Timestamp, which carries the LMA's clock
    (RFC 5213 5.5 item 9) ``offset`` seconds off the PBU's."""
    def respond(pbu: ProxyBindingUpdate) -> tuple[ProxyBindingAcknowledgement, bool]:
        options = tuple(TimestampOption.from_time(option.to_time() + offset) if isinstance(option, TimestampOption)
                        else option for option in pbu.options)
        return ProxyBindingAcknowledgement(status=Status.TIMESTAMP_MISMATCH, sequence=pbu.sequence, flags=BAFlags.P,
                                           lifetime=pbu.lifetime, options=options), False
    return respond


def test_an_attach_that_times_out_while_the_lmas_156s_are_ignored_does_not_say_that_no_pba_came(
        tmp_path: Path) -> None:
    """Walkthrough 22 (a MAG's clock stepped an hour ahead): the LMA answers every PBU 156 with its own clock
    (RFC 5213 5.5 item 9), which the MAG ignores as more than 60 s off its own (an old answer replayed, or clocks not
    synchronized: docs/operations.md, "A PBA answers a PBU in flight only when it matches it"). The attach whose wait
    ended first printed `timeout: no PBA from the LMA at 127.0.0.1 within 2 s`, sending the operator to look at the
    path to the LMA rather than at the clocks, though the LMA answered each PBU; the failure after the
    retransmissions, about 95 s later, names the ignored answers. The timeout says what came, as it does for a
    156 it did not ignore (the test before), with the first one's reason: the clock offset."""
    lab = Lab(tmp_path)
    with _stub_lma(_stamped_156(-3600.0)) as port:
        (tmp_path / "mag.toml").write_text(_mag_toml(port, gre="off"))  # the default retransmission schedule

        async def scenario() -> dict[str, Any]:
            async with lab.mag_alone():
                return await lab.control("mag", {"command": "attach", "mn_id": "mn1@opA", "att": 4, "timeout": 2})

        outcome = asyncio.run(scenario())
    assert outcome["outcome"] == "timeout"
    reason = outcome.get("reason", "")
    assert "no PBA from the LMA" not in reason \
        and "from the LMA at 127.0.0.1 within 2 s, all ignored" in reason, outcome
    assert "3600" in reason.split("the first: ")[1], outcome


def test_the_gre_mode_counts_take_a_keyless_sessions_offered_key_for_none_until_its_pba(tmp_path: Path) -> None:
    """``pmip6_bindings{gre}`` counts sessions: a GRE session without keys (the LMA answered without one, RFC 5845
    4.2) whose refresh offers a downlink key (`gre = "keys"`) is still ``gre-only`` until a PBA gives an uplink key
    for it (docs/reliability.md findings 31 and 35)."""
    daemon = _daemon(tmp_path)
    lma, mn_id = daemon.config.settings.lma, b"mn1@example.org"
    pbu = _pbu(daemon.mag.attach(AttachRequest(mn_id=mn_id, att=4), T0))
    keyless = _answer(pbu)
    daemon.on_message(ProxyBindingAcknowledgement(keyless.status, keyless.sequence, keyless.flags, keyless.lifetime,
                                                  keyless.options + (GREKeyOption(),)), lma, lma.address)
    assert list(daemon.gre_states()) == [(True, None, None)]

    offer = _pbu(daemon.mag.refresh(mn_id, T0 + 1)).option(GREKeyOption)

    assert offer is not None and offer.key is not None, "the refresh offers a key"
    assert [gre_mode_of(*state) for state in daemon.gre_states()] == ["gre-only"]
