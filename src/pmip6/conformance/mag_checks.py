"""The MAG-side checks (``pmip6 conformance --mag``): the tester is the LMA and watches how the MAG reacts.

The MAG under test is driven by the operator's own commands (``--attach``/``--detach`` templates with
``{mn_id}``), run in the background for a fresh MN-ID per check. Re-registration checks grant one
lifetime unit (4 s) so that the MAG refreshes within seconds. The tester's LMA grants each MN one uplink key
and returns it on every later PBA (GK-3.3.2-2: "the local mobility anchor MUST return the same uplink GRE
key"). The MAG's declared configuration
(:class:`MagPolicies`) says which checks apply. Status 3's consequence (GRE without UDP, GK-7.3-4) is a
data-plane behaviour and is not observable here.
"""

from __future__ import annotations

import random
import shlex
import subprocess
import tempfile
from dataclasses import dataclass, field
from enum import StrEnum
from typing import IO

from pmip6.conformance.checks import Check, Outcome, Verdict, failed, passed
from pmip6.conformance.lma_role import LmaResponder, ReceivedPBU
from pmip6.conformance.probe import NoAnswer, TargetSilent
from pmip6.wire.messages import LIFETIME_UNIT_SECONDS
from pmip6.wire.numbers import BUFlags, Status
from pmip6.wire.options import GREKeyOption

SHORT_LIFETIME = 1
"""Granted lifetime for re-registration checks: one unit, 4 s."""
_TRIGGER_GRACE = 5.0
_SILENT_TRIGGER_WAIT = 15.0
"""How long a MAG that sent nothing gets for its trigger command to end (``pmip6 mag attach`` waits 10 s for the
registration by default): its output is then the one clue there is."""
_OUTPUT_SHOWN = 400
"""The last characters of a trigger command's output a verdict quotes."""


class MagNeed(StrEnum):
    """What the operator declared about the MAG under test."""

    KEYS = "mag-gre-keys"
    """--mag-gre keys: the MAG asks for GRE with a downlink key."""
    GRE_ONLY = "mag-gre-only"
    """--mag-gre gre-only: the MAG asks for GRE encapsulation without keys."""
    TLV = "mag-tlv"
    """--mag-tlv: the MAG must use the TLV-header UDP format (it is reached over IPv4/UDP)."""
    DETACH = "detach"
    """--detach: a command that detaches an MN from the MAG."""
    GRE_OFF = "mag-gre-off"
    """--mag-gre off: the MAG does not use GRE. No check needs it: every MAG rule of RFC 5845 is about the GRE Key
    option a MAG sends when it asks for GRE encapsulation."""


@dataclass(frozen=True, slots=True)
class MagPolicies:
    gre: str | None = None
    tlv: bool = False
    detach: bool = False

    def satisfies(self, need: MagNeed) -> bool:
        return {MagNeed.KEYS: self.gre == "keys", MagNeed.GRE_ONLY: self.gre == "gre-only",
                MagNeed.TLV: self.tlv, MagNeed.DETACH: self.detach, MagNeed.GRE_OFF: self.gre == "off"}[need]


@dataclass(slots=True)
class Trigger:
    """One run of an ``--attach`` or ``--detach`` command (``option``), its output kept in a temporary file."""

    option: str
    argv: list[str]
    process: subprocess.Popen[bytes]
    output: IO[bytes]

    @classmethod
    def start(cls, option: str, argv: list[str]) -> Trigger:
        output = tempfile.TemporaryFile()
        try:
            return cls(option, argv, subprocess.Popen(argv, stdout=output, stderr=subprocess.STDOUT), output)
        except OSError:
            output.close()
            raise

    def outcome(self, wait: float) -> str:
        """How the command ended (waiting up to ``wait`` s for it) and the end of its output."""
        try:
            ended = f"exited with status {self.process.wait(timeout=wait)}"
        except subprocess.TimeoutExpired:
            ended = f"still running {wait:g} s later"
        self.output.seek(0)
        text = " / ".join(line.strip() for line in self.output.read().decode(errors="replace").splitlines()
                          if line.strip())
        shown = text if len(text) <= _OUTPUT_SHOWN else "..." + text[-_OUTPUT_SHOWN:]
        return f"{self.option} {shlex.join(self.argv)!r} {ended}, " + (f"output: {shown}" if shown else "no output")

    def end(self) -> None:
        """Reap the command (killed if it still runs after a grace period) and drop its output."""
        try:
            self.process.wait(timeout=_TRIGGER_GRACE)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.output.close()


@dataclass(slots=True)
class MagUnderTest:
    """The tester's LMA plus the commands that make the MAG attach and detach MNs."""

    lma: LmaResponder
    attach_command: str
    detach_command: str | None
    timeout: float
    _triggers: list[Trigger] = field(default_factory=list)
    _attached: list[bytes] = field(default_factory=list)
    _uplink_keys: dict[bytes, GREKeyOption] = field(default_factory=dict)

    def attach(self) -> tuple[bytes, ReceivedPBU]:
        """Attach a fresh MN and return its MN-ID and first PBU."""
        mn_id = f"conformance-{random.randrange(1 << 32):08x}@pmip6.invalid".encode()
        trigger = self._run("--attach", self.attach_command, mn_id)
        self._attached.append(mn_id)
        return mn_id, self.expect_pbu(mn_id, "attach", trigger=trigger)

    def detach(self, mn_id: bytes) -> Trigger:
        assert self.detach_command is not None
        trigger = self._run("--detach", self.detach_command, mn_id)
        self._attached.remove(mn_id)
        return trigger

    def deregister(self, mn_id: bytes) -> ReceivedPBU:
        """Detach ``mn_id``, answer the MAG's de-registration and return it."""
        received = self.expect_pbu(mn_id, "detach", trigger=self.detach(mn_id))
        self.lma.answer(received)
        return received

    def uplink_key(self, mn_id: bytes) -> GREKeyOption:
        """The uplink key granted to ``mn_id``: a random one the first time, the same one afterwards."""
        return self._uplink_keys.setdefault(mn_id, GREKeyOption(random.randrange(1, 1 << 32)))

    def expect_pbu(self, mn_id: bytes, what: str, timeout: float | None = None, *,
                   trigger: Trigger | None = None) -> ReceivedPBU:
        """The MAG's next PBU for ``mn_id``; without one, :class:`NoAnswer` quoting how ``trigger`` (the command
        that should have caused it) ended, or :class:`TargetSilent` if nothing came from the MAG at all yet."""
        wait = self.timeout if timeout is None else timeout
        received = self.lma.next_pbu(mn_id, wait)
        if received is not None:
            return received
        silent = not self.lma.heard
        ran = "" if trigger is None else f"; {trigger.outcome(_SILENT_TRIGGER_WAIT if silent else _TRIGGER_GRACE)}"
        if silent:
            raise TargetSilent(f"the MAG sent no PBU to the LMA at {self.lma.endpoint} within {wait:g} s of the "
                               f"{what}: check that the MAG's LMA address (lma in pmip6's mag.toml) is this "
                               f"--listen address, the attach command, and any firewall in between{ran}")
        raise NoAnswer(f"no PBU from the MAG after {what}{ran}")

    def cleanup(self) -> None:
        """Detach what is still attached (answering the de-registrations) and reap the trigger commands."""
        for mn_id in list(self._attached):
            if self.detach_command is None:
                break
            self.detach(mn_id)
            received = self.lma.next_pbu(mn_id, self.timeout)
            if received is not None:
                self.lma.answer(received)
        for trigger in self._triggers:
            trigger.end()
        self._triggers.clear()
        self._attached.clear()
        self._uplink_keys.clear()

    def _run(self, option: str, template: str, mn_id: bytes) -> Trigger:
        trigger = Trigger.start(option, [word.replace("{mn_id}", mn_id.decode()) for word in shlex.split(template)])
        self._triggers.append(trigger)
        return trigger


def _gre(received: ReceivedPBU) -> GREKeyOption | None:
    return received.pbu.option(GREKeyOption)


def _without_downlink_key(received: ReceivedPBU) -> Verdict | None:
    """The precondition of the checks that follow a keyed registration, which a MAG declared ``--mag-gre keys``
    must meet: an initial PBU with the downlink key. GK-3.3.2-1 starts "If the mobile access gateway has
    successfully negotiated and exchanged the initial GRE keys", GK-4.2-10 "If the mobile access gateway sent a
    Proxy Binding Update message with the GRE Key option and the downlink GRE key included", GK-4.2-6 "If the
    mobile access gateway includes the GRE Key option"."""
    option = _gre(received)
    if option is None or option.key is None:
        what = "no GRE Key option" if option is None else "the GRE Key option without a key"
        return failed(f"declared --mag-gre keys, but the initial PBU carries {what}: nothing to test")
    return None


def _registered_with_keys(mag: MagUnderTest, lifetime: int | None = None) -> tuple[bytes, ReceivedPBU] | Verdict:
    """Attach an MN and grant its downlink key an uplink key; the verdict when the PBU carries no downlink key."""
    mn_id, received = mag.attach()
    if (problem := _without_downlink_key(received)) is not None:
        mag.lma.answer(received)
        return problem
    mag.lma.answer(received, gre=mag.uplink_key(mn_id), lifetime=lifetime)
    return mn_id, received


def _refresh(mag: MagUnderTest, mn_id: bytes) -> ReceivedPBU:
    return mag.expect_pbu(mn_id, "a 4 s lifetime", SHORT_LIFETIME * LIFETIME_UNIT_SECONDS + mag.timeout)


def check_initial_pbu_carries_downlink_key(mag: MagUnderTest, policies: MagPolicies) -> Verdict:
    mn_id, received = mag.attach()
    option = _gre(received)
    mag.lma.answer(received, gre=mag.uplink_key(mn_id) if option else None)
    if option is None:
        return failed("initial PBU without the GRE Key option")
    if option.key is None:
        return failed("initial PBU's GRE Key option has no key")
    return passed(f"downlink key 0x{option.key:08x}")


def check_gre_mode_only_request(mag: MagUnderTest, policies: MagPolicies) -> Verdict:
    _, received = mag.attach()
    option = _gre(received)
    mag.lma.answer(received, gre=GREKeyOption(None) if option else None)
    if option is None:
        return failed("initial PBU without the GRE Key option")
    if option.key is not None:
        return failed(f"GRE Key Identifier 0x{option.key:08x} sent in GRE-mode-only")
    return passed("GRE Key option without key")


def check_reregistration_carries_downlink_key(mag: MagUnderTest, policies: MagPolicies) -> Verdict:
    """GK-3.3.2-1: "If the mobile access gateway has successfully negotiated and exchanged the initial GRE keys
    ... the mobile access gateway MUST include the GRE Key option with the downlink GRE key in the Proxy Binding
    Update which is used for requesting a Binding Lifetime Extension"."""
    registered = _registered_with_keys(mag, SHORT_LIFETIME)
    if isinstance(registered, Verdict):
        return registered
    mn_id, first = registered
    refresh = _refresh(mag, mn_id)
    mag.lma.answer(refresh, gre=mag.uplink_key(mn_id) if _gre(refresh) else None)
    if _gre(refresh) != _gre(first):
        return failed(f"re-registration carries {_gre(refresh)} instead of {_gre(first)}")
    return passed("re-registration carries the same downlink key")


def check_deregistration_without_option(mag: MagUnderTest, policies: MagPolicies) -> Verdict:
    registered = _registered_with_keys(mag)
    if isinstance(registered, Verdict):
        return registered
    deregistration = mag.deregister(registered[0])
    if deregistration.pbu.lifetime != 0:
        return failed(f"PBU after detach has lifetime {deregistration.pbu.lifetime}, not 0")
    if _gre(deregistration) is not None:
        return failed("de-registration carries the GRE Key option")
    return passed("de-registration without the GRE Key option")


def _no_option_on_refresh(mag: MagUnderTest, status: Status, after: str) -> tuple[bytes, Verdict]:
    """Answer the initial PBU (which must carry the downlink key) with ``status`` and no GRE Key option; the
    re-registration must not carry the option. The MN-ID and the verdict."""
    mn_id, received = mag.attach()
    if (problem := _without_downlink_key(received)) is not None:
        mag.lma.answer(received)
        return mn_id, problem
    mag.lma.answer(received, status, lifetime=SHORT_LIFETIME)
    refresh = _refresh(mag, mn_id)
    mag.lma.answer(refresh)
    if _gre(refresh) is not None:
        return mn_id, failed(f"GRE Key option sent again after {after}")
    return mn_id, passed(f"no GRE Key option in the re-registration after {after}")


def check_no_option_after_status_2(mag: MagUnderTest, policies: MagPolicies) -> Verdict:
    """GK-4.2-11: after status 2 the MAG "MUST NOT include the GRE Key option in any subsequent Proxy Binding
    Update message that is sent to the local mobility anchor for this mobility session": the re-registration
    and, with --detach, the de-registration too (there a MUST NOT, not GK-4.2-12's SHOULD NOT)."""
    mn_id, verdict = _no_option_on_refresh(mag, Status.GRE_KEY_OPTION_NOT_REQUIRED, "status 2")
    if verdict.outcome is not Outcome.PASS:
        return verdict
    if not policies.detach:
        return passed(f"{verdict.detail} (the de-registration is checked with --detach)")
    if _gre(mag.deregister(mn_id)) is not None:
        return failed("the de-registration after status 2 carries the GRE Key option")
    return passed(f"{verdict.detail} nor in the de-registration")


def check_t_flag_requested(mag: MagUnderTest, policies: MagPolicies) -> Verdict:
    mn_id, received = mag.attach()
    mag.lma.answer(received, gre=mag.uplink_key(mn_id), tlv=True)
    if not received.pbu.flags & BUFlags.T:
        return failed("T clear in the PBU of a MAG configured for the TLV-header format")
    return passed("T set")


def check_no_option_to_an_lma_without_support(mag: MagUnderTest, policies: MagPolicies) -> Verdict:
    """GK-4.2-6 and GK-4.2-7: after an accepted PBA without the option the MAG "SHOULD NOT include the GRE Key
    option in any subsequent Proxy Binding Update message that is sent to that local mobility anchor": not in
    the session's re-registration, nor in the initial PBU of the next MN it attaches."""
    _, verdict = _no_option_on_refresh(mag, Status.ACCEPTED, "an accepted PBA without it")
    if verdict.outcome is not Outcome.PASS:
        return verdict
    _, received = mag.attach()
    mag.lma.answer(received)
    if _gre(received) is not None:
        return failed("GRE Key option sent again to the same LMA, in the initial PBU of the next MN")
    return passed(f"{verdict.detail} nor in the initial PBU of the next MN")


def check_resend_with_option_after_163(mag: MagUnderTest, policies: MagPolicies) -> Verdict:
    """Needs a PBU without the option: a keys-mode MAG sends one after an LMA answered without it (GK-4.2-7)."""
    mn_id, received = mag.attach()
    if _gre(received) is not None:
        mag.lma.answer(received)
        mn_id, received = mag.attach()
        if _gre(received) is not None:
            mag.lma.answer(received, gre=mag.uplink_key(mn_id))
            return Verdict(Outcome.NOT_APPLICABLE, "the MAG always sends the GRE Key option")
    mag.lma.answer(received, Status.GRE_KEY_OPTION_REQUIRED)
    retry = mag.lma.next_pbu(mn_id, mag.timeout + 1)
    if retry is None:
        return failed("no PBU after status 163")
    mag.lma.answer(retry, gre=mag.uplink_key(mn_id) if _gre(retry) else None)
    if _gre(retry) is None:
        return failed("PBU sent again after 163 still without the GRE Key option")
    return passed("PBU sent again with the GRE Key option")


MAG_CHECKS: tuple[Check, ...] = (
    Check(("GK-3.3.1-1", "GK-3.3.1-2", "GK-4.2-2"), "MUST", "the initial PBU carries the GRE Key option with a key",
          (MagNeed.KEYS,), check_initial_pbu_carries_downlink_key),
    Check(("GK-3.2-1", "GK-4.2-1"), "MUST", "GRE-mode-only: the option without key",
          (MagNeed.GRE_ONLY,), check_gre_mode_only_request),
    Check(("GK-3.3.2-1",), "MUST", "a re-registration carries the same downlink key",
          (MagNeed.KEYS,), check_reregistration_carries_downlink_key),
    Check(("GK-4.2-12",), "SHOULD NOT", "a de-registration carries no GRE Key option",
          (MagNeed.KEYS, MagNeed.DETACH), check_deregistration_without_option),
    Check(("GK-4.2-10", "GK-4.2-11"), "MUST NOT", "after status 2, later PBUs carry no GRE Key option",
          (MagNeed.KEYS,), check_no_option_after_status_2),
    Check(("GK-7.2-1", "GK-7.3-1"), "MUST", "a MAG using the TLV-header format sets T",
          (MagNeed.KEYS, MagNeed.TLV), check_t_flag_requested),
    Check(("GK-4.2-6", "GK-4.2-7"), "SHOULD NOT", "no option again to an LMA that accepted without it",
          (MagNeed.KEYS,), check_no_option_to_an_lma_without_support),
    Check(("GK-4.2-8",), "SHOULD", "after 163 the PBU is sent again with the GRE Key option",
          (MagNeed.KEYS,), check_resend_with_option_after_163),
)
"""The MAG checks, in order: GK-4.2-7 teaches the MAG that this LMA lacks GRE support; GK-4.2-8 undoes it."""
