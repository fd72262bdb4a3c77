"""Each MAG check catches the MAG fault it is about: a small MAG on loopback, broken on purpose, that the tester
drives through real --attach/--detach commands (one UDP datagram to the MAG's control port each).

The counterpart of test_fault_detection.py for `pmip6 conformance --mag`: a check must report "fail" (or
"warn" for a SHOULD) against the broken MAG and "pass" against the same MAG unbroken.
"""

from __future__ import annotations

import random
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv6Address

import pytest
from conformance_processes import LoopbackServer, free_udp_port

from pmip6.conformance.checks import Check, Outcome, Verdict
from pmip6.conformance.mag_checks import MAG_CHECKS, MagPolicies
from pmip6.conformance.runner import MagConformanceSettings, run_mag_conformance
from pmip6.wire.errors import DecodeError
from pmip6.wire.messages import LIFETIME_UNIT_SECONDS, ProxyBindingAcknowledgement, ProxyBindingUpdate
from pmip6.wire.mobility import decode_message, encode_message
from pmip6.wire.numbers import AccessTechnologyType, BUFlags, HandoffIndicator, Status
from pmip6.wire.options import (
    AccessTechnologyTypeOption,
    GREKeyOption,
    HandoffIndicatorOption,
    HomeNetworkPrefixOption,
    MNIdentifierOption,
    TimestampOption,
)

pytestmark = pytest.mark.slow

LOOPBACK = IPv4Address("127.0.0.1")
REQUESTED_LIFETIME = 10
KEYS = MagPolicies(gre="keys", detach=True)


@dataclass(slots=True)
class Session:
    downlink: int = field(default_factory=lambda: random.randrange(1, 1 << 32))
    gre: bool = True
    """False after status 2 (GK-4.2-10)."""
    lma_lacks_gre: bool = False
    """Set after an accepted PBA without the option, when the MAG remembers it per session (the fault)."""
    refresh_at: float | None = None


class FakeMag(LoopbackServer):
    """A MAG over IPv4/UDP toward the tester's LMA at 127.0.0.1:``lma_port``, keys mode, GK-4.2 behaviour.

    It refreshes at half the granted lifetime, drops the option after status 2 (GK-4.2-10/11), leaves it out
    toward an LMA that accepted without it (GK-4.2-6/7) and resends with it after 163 (GK-4.2-8). Faults:
    ``never_gre`` never sends the option; ``lacks_gre_per_session`` forgets GK-4.2-7 when the session ends;
    ``key_in_deregistration`` puts the downlink key in every de-registration. ``pbas`` lists the PBAs per MN.
    """

    def __init__(self, lma_port: int, *, never_gre: bool = False, lacks_gre_per_session: bool = False,
                 key_in_deregistration: bool = False) -> None:
        super().__init__()
        self.lma = (str(LOOPBACK), lma_port)
        self.never_gre = never_gre
        self.lacks_gre_per_session = lacks_gre_per_session
        self.key_in_deregistration = key_in_deregistration
        self.control = self.udp_socket(0.02)
        self.signaling = self.udp_socket(0.02)
        self.sessions: dict[bytes, Session] = {}
        self.lma_lacks_gre = False
        self.pbas: dict[bytes, list[ProxyBindingAcknowledgement]] = {}
        self._sequence = random.randrange(1 << 16)
        self._outstanding: dict[int, tuple[bytes, ProxyBindingUpdate]] = {}

    def command(self, verb: str) -> str:
        """An --attach/--detach template: sends "VERB MN-ID" to the control port."""
        port = self.control.getsockname()[1]
        code = (f"import socket,sys; socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto("
                f"('{verb} ' + sys.argv[1]).encode(), ('{LOOPBACK}', {port}))")
        return f'{sys.executable} -c "{code}" {{mn_id}}'

    def _send(self, mn_id: bytes, hi: HandoffIndicator, lifetime: int, gre: GREKeyOption | None) -> None:
        self._sequence = (self._sequence + 1) & 0xFFFF
        options = (MNIdentifierOption(mn_id), HomeNetworkPrefixOption(IPv6Address(0), 0), HandoffIndicatorOption(hi),
                   AccessTechnologyTypeOption(AccessTechnologyType.VIRTUAL), TimestampOption.from_time(time.time()))
        pbu = ProxyBindingUpdate(self._sequence, BUFlags.A | BUFlags.P, lifetime,
                                 options + ((gre,) if gre is not None else ()))
        self._outstanding[self._sequence] = (mn_id, pbu)
        self.signaling.sendto(encode_message(pbu), self.lma)

    def _option(self, session: Session) -> GREKeyOption | None:
        if self.never_gre or not session.gre or self.lma_lacks_gre or session.lma_lacks_gre:
            return None
        return GREKeyOption(session.downlink)

    def _attach(self, mn_id: bytes) -> None:
        session = self.sessions[mn_id] = Session()
        self._send(mn_id, HandoffIndicator.NEW_INTERFACE, REQUESTED_LIFETIME, self._option(session))

    def _detach(self, mn_id: bytes) -> None:
        session = self.sessions.pop(mn_id, None)
        if session is not None:
            gre = GREKeyOption(session.downlink) if self.key_in_deregistration else None
            self._send(mn_id, HandoffIndicator.UNKNOWN, 0, gre)

    def _on_pba(self, pba: ProxyBindingAcknowledgement) -> None:
        if pba.sequence not in self._outstanding:
            return
        mn_id, pbu = self._outstanding.pop(pba.sequence)
        self.pbas.setdefault(mn_id, []).append(pba)
        session = self.sessions.get(mn_id)
        if session is None or pbu.lifetime == 0:
            return
        sent_option = pbu.option(GREKeyOption) is not None
        if pba.status == Status.GRE_KEY_OPTION_REQUIRED and not sent_option:
            self.lma_lacks_gre = session.lma_lacks_gre = False
            self._send(mn_id, HandoffIndicator.NEW_INTERFACE, REQUESTED_LIFETIME, GREKeyOption(session.downlink))
            return
        if pba.status >= 128:
            return
        if pba.status == Status.GRE_KEY_OPTION_NOT_REQUIRED:
            session.gre = False
        elif sent_option and pba.option(GREKeyOption) is None:
            if self.lacks_gre_per_session:
                session.lma_lacks_gre = True
            else:
                self.lma_lacks_gre = True
        session.refresh_at = time.monotonic() + pba.lifetime * LIFETIME_UNIT_SECONDS / 2

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                verb, name = self.control.recvfrom(1024)[0].decode().split(" ", 1)
                (self._attach if verb == "attach" else self._detach)(name.encode())
            except TimeoutError:
                pass
            try:
                message = decode_message(self.signaling.recvfrom(65535)[0])
                if isinstance(message, ProxyBindingAcknowledgement):
                    self._on_pba(message)
            except (TimeoutError, DecodeError):
                pass
            for mn_id, session in list(self.sessions.items()):
                if session.refresh_at is not None and time.monotonic() >= session.refresh_at:
                    session.refresh_at = None
                    self._send(mn_id, HandoffIndicator.NOT_CHANGED, REQUESTED_LIFETIME, self._option(session))


def _check(requirement: str) -> Check:
    return next(check for check in MAG_CHECKS if requirement in check.requirements)


def _run(requirements: tuple[str, ...], policies: MagPolicies = KEYS,
         **faults: bool) -> tuple[FakeMag, dict[str, Verdict]]:
    port = free_udp_port()
    with FakeMag(port, **faults) as mag:
        settings = MagConformanceSettings((LOOPBACK, port), mag.command("attach"), mag.command("detach"), policies,
                                          timeout=2.0)
        results = run_mag_conformance(settings, tuple(_check(requirement) for requirement in requirements))
    return mag, {result.check.requirements[0]: result.verdict for result in results}


CHECKED = ("GK-3.3.2-1", "GK-4.2-12", "GK-4.2-10", "GK-4.2-6", "GK-4.2-8")


def test_the_unbroken_mag_passes() -> None:
    _, verdicts = _run(CHECKED)

    assert {requirement: verdict.outcome for requirement, verdict in verdicts.items()} == dict.fromkeys(
        CHECKED, Outcome.PASS), verdicts


@pytest.mark.parametrize("requirement", ["GK-3.3.2-1", "GK-4.2-10", "GK-4.2-6"])
def test_a_keys_mag_that_never_sends_the_gre_key_option_does_not_pass(requirement: str) -> None:
    """GK-3.3.2-1 ("If the mobile access gateway has successfully negotiated and exchanged the initial GRE
    keys"), GK-4.2-10 ("sent a Proxy Binding Update message with the GRE Key option and the downlink GRE key
    included") and GK-4.2-6 ("includes the GRE Key option") cannot pass a MAG declared --mag-gre keys whose
    PBUs never carry the option: there is nothing they test."""
    _, verdicts = _run((requirement,), never_gre=True)

    assert verdicts[requirement].outcome is not Outcome.PASS, verdicts[requirement].detail
    assert "initial PBU carries no GRE Key option" in verdicts[requirement].detail


def test_GK_4_2_11_gre_key_option_in_the_deregistration_after_status_2_fails() -> None:
    """GK-4.2-11: after status 2 the MAG "MUST NOT include the GRE Key option in any subsequent Proxy Binding
    Update message ... for this mobility session"; this MAG leaves it out of refreshes, not out of the
    de-registration."""
    _, verdicts = _run(("GK-4.2-10",), key_in_deregistration=True)

    assert verdicts["GK-4.2-10"].outcome is Outcome.FAIL, verdicts["GK-4.2-10"].detail


def test_GK_4_2_11_without_detach_the_deregistration_is_not_inspected() -> None:
    _, verdicts = _run(("GK-4.2-10",), MagPolicies(gre="keys"), key_in_deregistration=True)

    assert verdicts["GK-4.2-10"].outcome is Outcome.PASS
    assert "checked with --detach" in verdicts["GK-4.2-10"].detail


def test_GK_4_2_7_option_sent_again_to_the_same_lma_in_a_new_session_warns() -> None:
    """GK-4.2-7: the MAG "SHOULD NOT include the GRE Key option in any subsequent Proxy Binding Update message
    that is sent to that local mobility anchor", not only in this session's; this MAG forgets it."""
    _, verdicts = _run(("GK-4.2-6",), lacks_gre_per_session=True)

    assert verdicts["GK-4.2-6"].outcome is Outcome.WARN, verdicts["GK-4.2-6"].detail


def test_the_tester_returns_the_uplink_key_it_granted_on_reregistration() -> None:
    """As LMA the tester follows GK-3.3.2-2: "the local mobility anchor MUST return the same uplink GRE key"."""
    mag, verdicts = _run(("GK-3.3.2-1",))

    assert verdicts["GK-3.3.2-1"].outcome is Outcome.PASS
    [pbas] = mag.pbas.values()
    uplink_keys = [option.key for pba in pbas if (option := pba.option(GREKeyOption)) is not None]
    assert len(uplink_keys) == 2 and len(set(uplink_keys)) == 1, uplink_keys


@pytest.fixture(autouse=True)
def _no_leaked_threads() -> Iterator[None]:
    before = set(threading.enumerate())
    yield
    assert not set(threading.enumerate()) - before
