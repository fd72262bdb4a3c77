"""The LMA-side checks: one per requirement of docs/requirements.md (plus the RFC 5213/5844 basics under them).

Each :class:`Check` names the requirement IDs it verifies, their level, and the LMA policy it needs
(:class:`Need`): the tester cannot know the LMA's configuration, so the operator declares it (e.g. "an
MN-ID for which GRE is required") and checks whose precondition is not declared are not applicable.
A check plays a MAG through a :class:`~pmip6.conformance.probe.Probe` and returns a :class:`Verdict`.
A SHOULD that is not followed is a warning, not a failure.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from pmip6.conformance.probe import ALL_ZERO_PREFIX, Probe, Registration
from pmip6.wire.messages import LIFETIME_UNIT_SECONDS, ProxyBindingAcknowledgement, ProxyBindingUpdate
from pmip6.wire.numbers import BAFlags, HandoffIndicator, OptionType, Status
from pmip6.wire.options import (
    AccessTechnologyTypeOption,
    GREKeyOption,
    HandoffIndicatorOption,
    MNIdentifierOption,
    TimestampOption,
)


class Outcome(StrEnum):
    PASS = "pass"
    FAIL = "fail"
    WARN = "warn"
    INCONCLUSIVE = "inconclusive"
    """The LMA did not try the check's request (status 130: no free address; 154: the tester's address is not an
    authorized MAG), so nothing was judged."""
    NOT_APPLICABLE = "not-applicable"


class Need(StrEnum):
    """An LMA policy or setup a check depends on, declared on the command line.

    A check needs the MN it can use for what it sends: a PBU with a downlink key is accepted for an MN with
    GRE optional or required, a PBU without the GRE Key option for an MN with GRE optional or not required."""

    MN = "mn"
    """--mn: an MN-ID the LMA serves with GRE optional (accepted with or without the GRE Key option)."""
    MN_WITH_KEY = "mn-with-key"
    """an MN-ID the LMA accepts with a downlink key: --mn, else --mn-keys, else --mn-gre-required."""
    SECOND_MN_WITH_KEY = "second-mn-with-key"
    """a second MN-ID accepted with a downlink key: two of --mn, --mn-keys and --mn-gre-required."""
    MN_WITHOUT_OPTION = "mn-without-option"
    """an MN-ID the LMA accepts without the GRE Key option: --mn, else --mn-gre-not-required."""
    MN_GRE_REQUIRED = "mn-gre-required"
    """--mn-gre-required: an MN-ID for which the LMA's policy requires GRE encapsulation and keys."""
    MN_GRE_NOT_REQUIRED = "mn-gre-not-required"
    """--mn-gre-not-required: an MN-ID for which the LMA's policy says GRE is not required."""
    OTHER_MAG = "other-mag"
    """--other-mag: a second local address the LMA also authorizes as a MAG (handoff checks)."""
    TLV_SUPPORTED = "tlv-supported"
    """--tlv-supported: the LMA supports the TLV-header UDP tunneling format."""
    UDP4 = "udp4"
    """--transport udp4 (RFC 5844 signaling)."""


@dataclass(frozen=True, slots=True)
class LmaPolicies:
    """What the operator declared about the LMA under test."""

    mns: tuple[bytes, ...] = ()
    mns_keys: tuple[bytes, ...] = ()
    """MNs accepted with a downlink key, whatever happens without one (e.g. of a tenant whose pool overlaps
    another's: RFC 5845 5.2); only the checks that register with a key use them."""
    mn_gre_required: bytes | None = None
    mn_gre_not_required: bytes | None = None
    other_mag: bool = False
    tlv_supported: bool = False
    udp4: bool = True

    @property
    def mns_with_key(self) -> tuple[bytes, ...]:
        """The MNs a PBU with a downlink key is accepted for (GRE optional first)."""
        return self.mns + self.mns_keys + tuple(mn for mn in (self.mn_gre_required,) if mn is not None)

    @property
    def key_pair(self) -> tuple[bytes, ...]:
        """The two MNs whose uplink keys GK-5.2-7 compares: two --mn-keys when given (docs/tools.md: MNs of two
        tenants with overlapping pools), else the first two accepted with a key."""
        return self.mns_keys[:2] if len(self.mns_keys) >= 2 else self.mns_with_key[:2]

    @property
    def mns_without_option(self) -> tuple[bytes, ...]:
        """The MNs a PBU without the GRE Key option is accepted for (GRE optional first)."""
        return self.mns + tuple(mn for mn in (self.mn_gre_not_required,) if mn is not None)

    def satisfies(self, need: Need) -> bool:
        return {
            Need.MN: len(self.mns) >= 1,
            Need.MN_WITH_KEY: len(self.mns_with_key) >= 1,
            Need.SECOND_MN_WITH_KEY: len(self.mns_with_key) >= 2,
            Need.MN_WITHOUT_OPTION: len(self.mns_without_option) >= 1,
            Need.MN_GRE_REQUIRED: self.mn_gre_required is not None,
            Need.MN_GRE_NOT_REQUIRED: self.mn_gre_not_required is not None,
            Need.OTHER_MAG: self.other_mag,
            Need.TLV_SUPPORTED: self.tlv_supported,
            Need.UDP4: self.udp4,
        }[need]


@dataclass(frozen=True, slots=True)
class Verdict:
    outcome: Outcome
    detail: str
    advice: str = ""
    """For an inconclusive verdict: what to change before running again."""
    tests_nothing: bool = False
    """For an inconclusive verdict: the run as declared can test none of the GRE Key rules (exit status 2)."""


@dataclass(frozen=True, slots=True)
class Check:
    """``run(context, policies)`` returns FAIL for a violated requirement; the runner reports it as WARN when
    ``level`` is a SHOULD. ``needs`` are :class:`Need` (LMA checks) or MAG needs, which ``policies`` satisfies."""

    requirements: tuple[str, ...]
    level: str
    title: str
    needs: tuple[StrEnum, ...]
    run: Callable[[Any, Any], Verdict]


def passed(detail: str) -> Verdict:
    return Verdict(Outcome.PASS, detail)


def failed(detail: str) -> Verdict:
    return Verdict(Outcome.FAIL, detail)


def status_text(status: int) -> str:
    name = Status(status).name if status in Status._value2member_map_ else "unassigned"
    return f"{status} ({name})"


def _key_text(key: int | None) -> str:
    return "no key (Length 2)" if key is None else f"0x{key:08x}"


def _rejected(pba: ProxyBindingAcknowledgement) -> Verdict | None:
    if pba.status >= 128:
        return failed(f"PBU rejected with status {status_text(pba.status)}")
    return None


def _keyed_registration(probe: Probe, mn_id: bytes, *, tlv: bool = False) -> Registration:
    return probe.register(mn_id, GREKeyOption(probe.downlink_key()), tlv=tlv)


def _uplink_key_problem(pba: ProxyBindingAcknowledgement) -> Verdict | None:
    """GK-3.3.1-3: a successful PBA to a keyed request carries the GRE Key option with the uplink key."""
    if (rejected := _rejected(pba)) is not None:
        return rejected
    if pba.status == Status.GRE_KEY_OPTION_NOT_REQUIRED:
        return failed("status 2: GRE declined for an MN whose declared policy accepts it")
    option = pba.option(GREKeyOption)
    if option is None:
        return failed(f"status {status_text(pba.status)} without the GRE Key option")
    if option.key is None:
        return failed("the GRE Key option carries no GRE Key Identifier (Length 2)")
    return None


# --- RFC 5213 / RFC 5844 basics ---------------------------------------------------------------------


def _echo_problems(pba: ProxyBindingAcknowledgement, pbu: ProxyBindingUpdate) -> list[str]:
    """RFC 5213 5.3.6, for every PBA, accepting or not: P set, and "The Mobile Node Identifier option ... MUST be
    present ... If the option was not present in the request, the identifier in the option MUST be set to a zero
    length identifier"; HI and ATT copied from the request; the Timestamp option copied when the request had it."""
    problems = [] if pba.flags & BAFlags.P else ["P flag clear"]
    expected_mn_id = pbu.option(MNIdentifierOption) or MNIdentifierOption(b"")
    if pba.option(MNIdentifierOption) != expected_mn_id:
        problems.append(f"MNIdentifierOption {pba.option(MNIdentifierOption)} instead of {expected_mn_id}")
    for option_class in (HandoffIndicatorOption, AccessTechnologyTypeOption, TimestampOption):
        if pba.option(option_class) != pbu.option(option_class):
            problems.append(f"{option_class.__name__} {pba.option(option_class)} instead of {pbu.option(option_class)}")
    return problems


def check_pba_echoes_the_pbu(probe: Probe, policies: LmaPolicies) -> Verdict:
    registration = probe.register(policies.mns_without_option[0])
    pba, pbu = registration.pba, probe.exchanges[-1].pbu
    if (rejected := _rejected(pba)) is not None:
        return rejected
    problems = _echo_problems(pba, pbu)
    if pba.lifetime > pbu.lifetime:
        problems.append(f"granted lifetime {pba.lifetime_seconds} s > requested {pbu.lifetime_seconds} s")
    if problems:
        return failed("; ".join(problems))
    return passed("sequence, P, MN-ID, HI, ATT and Timestamp echoed; "
                  f"lifetime {pba.lifetime * LIFETIME_UNIT_SECONDS} s")


def check_missing_mn_identifier(probe: Probe, policies: LmaPolicies) -> Verdict:
    """RFC 5213 5.3.1 item 4: "the local mobility anchor MUST reject the request and send a Proxy Binding
    Acknowledgement message with Status field set to MISSING_MN_IDENTIFIER_OPTION ... and the identifier in the
    Mobile Node Identifier option carried in the message MUST be set to a zero length identifier"."""
    pba = probe.send(probe.pbu([ALL_ZERO_PREFIX, HandoffIndicatorOption(HandoffIndicator.NEW_INTERFACE),
                                      AccessTechnologyTypeOption(probe.att)]))
    if pba.status != Status.MISSING_MN_IDENTIFIER_OPTION:
        return failed(f"status {status_text(pba.status)}, expected {status_text(Status.MISSING_MN_IDENTIFIER_OPTION)}")
    if problems := _echo_problems(pba, probe.exchanges[-1].pbu):
        return failed("rejected with 160, but " + "; ".join(problems))
    return passed("rejected with 160, zero-length MN-ID, HI, ATT and Timestamp echoed")


def check_deregistration(probe: Probe, policies: LmaPolicies) -> Verdict:
    registration = probe.register(policies.mns_without_option[0])
    if (rejected := _rejected(registration.pba)) is not None:
        return rejected
    pba = probe.deregister(registration)
    if pba.status != Status.ACCEPTED:
        return failed(f"de-registration answered with status {status_text(pba.status)}, expected 0")
    return passed("de-registration accepted with status 0")


def check_udp_mh_checksum_zero(probe: Probe, policies: LmaPolicies) -> Verdict:
    registration = probe.register(policies.mns_without_option[0])
    received = probe.exchanges[-1].received or b""
    checksum = int.from_bytes(received[4:6], "big")
    if checksum:
        return failed(f"PBA over UDP has MH checksum 0x{checksum:04x}")
    return passed(f"PBA (status {registration.pba.status}) over UDP carries MH checksum 0")


# --- RFC 5845: GRE key exchange -------------------------------------------------------------------


def check_initial_keys(probe: Probe, policies: LmaPolicies) -> Verdict:
    registration = _keyed_registration(probe, policies.mns_with_key[0])
    if (problem := _uplink_key_problem(registration.pba)) is not None:
        return problem
    return passed(f"uplink key {_key_text(registration.uplink_key)}")


def check_gre_mode_only(probe: Probe, policies: LmaPolicies) -> Verdict:
    pba = probe.register(policies.mns[0], GREKeyOption(None)).pba
    if (rejected := _rejected(pba)) is not None:
        return rejected
    option = pba.option(GREKeyOption)
    if option is None:
        return failed(f"status {status_text(pba.status)} without the GRE Key option")
    if option.key is not None:
        return failed(f"GRE Key Identifier {_key_text(option.key)} returned to a request that omitted it")
    return passed("GRE Key option without key returned")


def _gre_option_offset(mh: bytes) -> int | None:
    """Where the GRE Key option's Type octet sits in a PBU/PBA (options start at MH offset 12)."""
    offset = 12
    while offset + 4 <= len(mh):
        if mh[offset] == OptionType.GRE_KEY:
            return offset
        offset += 1 if mh[offset] == OptionType.PAD1 else 2 + mh[offset + 1]
    return None


def _set_gre_reserved(mh: bytes) -> bytes:
    """The PBU with the GRE Key option's Reserved field (RFC 5845 section 6.1) set to 0xffff."""
    offset = _gre_option_offset(mh)
    if offset is None:
        raise ValueError("no GRE Key option to tamper with")
    return mh[:offset + 2] + b"\xff\xff" + mh[offset + 4:]


def check_reserved_fields(probe: Probe, policies: LmaPolicies) -> Verdict:
    registration = probe.register(policies.mns_with_key[0], GREKeyOption(probe.downlink_key()),
                                  tamper=_set_gre_reserved)
    if (problem := _uplink_key_problem(registration.pba)) is not None:
        return Verdict(problem.outcome, f"with Reserved = 0xffff in the PBU: {problem.detail}")
    received = probe.exchanges[-1].received or b""
    offset = _gre_option_offset(received)
    reserved = 0 if offset is None else int.from_bytes(received[offset + 2:offset + 4], "big")
    if reserved:
        return failed(f"the PBA's GRE Key option has Reserved = 0x{reserved:04x}")
    return passed("non-zero Reserved ignored; the PBA's Reserved is 0")


def _uplink_key_kept(probe: Probe, mn_id: bytes, what: str,
                     update: Callable[[Registration, GREKeyOption], ProxyBindingAcknowledgement]) -> Verdict:
    """Register with a downlink key, ``update`` the session, and compare the two uplink keys."""
    downlink = GREKeyOption(probe.downlink_key())
    registration = probe.register(mn_id, downlink)
    if (problem := _uplink_key_problem(registration.pba)) is not None:
        return problem
    first = registration.uplink_key
    pba = update(registration, downlink)
    if (problem := _uplink_key_problem(pba)) is not None:
        return Verdict(problem.outcome, f"{what}: {problem.detail}")
    second = pba.option(GREKeyOption).key  # type: ignore[union-attr]
    if second != first:
        return failed(f"uplink key changed on {what}: {_key_text(first)} -> {_key_text(second)}")
    return passed(f"uplink key {_key_text(first)} kept across the {what}")


def check_reregistration_keeps_uplink_key(probe: Probe, policies: LmaPolicies) -> Verdict:
    return _uplink_key_kept(probe, policies.mns_with_key[0], "re-registration", probe.reregister)


def check_handoff_keeps_uplink_key(probe: Probe, policies: LmaPolicies) -> Verdict:
    """The new MAG picks its own downlink key (GK-3.3.2-3)."""
    return _uplink_key_kept(probe, policies.mns_with_key[0], "handoff",
                            lambda registration, _: probe.handoff(registration, GREKeyOption(probe.downlink_key())))


def _shared_home_addresses(first: Registration, second: Registration) -> list[str]:
    """The home addresses two sessions were both assigned (an inner source address they have in common)."""
    shared = [f"home network prefix {prefix.prefix}/{prefix.prefix_length}"
              for prefix in first.prefixes if prefix in second.prefixes]
    if first.ipv4_home is not None and second.ipv4_home is not None \
            and first.ipv4_home.address == second.ipv4_home.address:
        shared.append(f"IPv4 home address {first.ipv4_home.address}")
    return shared


def check_distinct_uplink_keys(probe: Probe, policies: LmaPolicies) -> Verdict:
    """GK-5.2-7: "the local mobility anchor MUST use the GRE Key in the GRE extension header as an additional
    identifier to determine which mobility session this packet belongs to."

    That MUST is about the data plane, and no MUST of RFC 5845 (or draft-07) requires two sessions to get
    different uplink keys: the key is an *additional* identifier, next to the outer and inner addresses;
    section 3.1 asks to "distinguish flows belonging to different operators", and its Figure 1 labels
    Operator-A's traffic, the flows of MN-1 and MN-2, with one "Key-1". So two
    sessions from one MAG that share an uplink key are a warning (section 3.1: the keys are exchanged "to be
    used for identifying the flows belonging to each mobile node", which a shared key cannot do). It is a
    failure only when they also share a home address: then nothing in an uplink packet tells the two sessions
    apart, and the LMA cannot determine which one it belongs to."""
    registrations = [_keyed_registration(probe, mn_id) for mn_id in policies.key_pair]
    for registration in registrations:
        if (problem := _uplink_key_problem(registration.pba)) is not None:
            return problem
    first, second = registrations
    if first.uplink_key != second.uplink_key:
        return passed(f"uplink keys {_key_text(first.uplink_key)} and {_key_text(second.uplink_key)}")
    if shared := _shared_home_addresses(first, second):
        return failed(f"two sessions share the uplink key {_key_text(first.uplink_key)} and the "
                      f"{', '.join(shared)}: their uplink packets cannot be told apart")
    return Verdict(Outcome.WARN, f"two sessions share the uplink key {_key_text(first.uplink_key)}: it cannot "
                                 "identify the flows of each mobile node (RFC 5845 3.1); no MUST broken, their "
                                 "home addresses differ")


# --- RFC 5845: the policy check ------------------------------------------------------------------


def check_gre_required_rejects(probe: Probe, policies: LmaPolicies) -> Verdict:
    pba = probe.register(policies.mn_gre_required).pba  # type: ignore[arg-type]
    if pba.status != Status.GRE_KEY_OPTION_REQUIRED:
        return failed(f"status {status_text(pba.status)}, expected {status_text(Status.GRE_KEY_OPTION_REQUIRED)}")
    return passed("rejected with 163")


def _handoff_without_option(probe: Probe, mn_id: bytes) -> ProxyBindingAcknowledgement | Verdict:
    """A BCE using GRE keys (registered with a downlink key), then a handoff-triggered lifetime extension from
    the other MAG without the GRE Key option: its PBA, or the verdict when the keyed registration failed."""
    registration = _keyed_registration(probe, mn_id)
    if (problem := _uplink_key_problem(registration.pba)) is not None:
        return Verdict(problem.outcome, f"keyed registration before the handoff: {problem.detail}")
    return probe.handoff(registration)


def check_handoff_without_option_gre_required(probe: Probe, policies: LmaPolicies) -> Verdict:
    """GK-3.3.2-5: "If the local mobility anchor receives a handoff-triggered Binding Lifetime Extension Proxy
    Binding Update message without the GRE Key option for a Binding Cache Entry (BCE) that is using GRE keys
    and GRE encapsulation ... If, according to the policy check, GRE encapsulation and GRE Keys exchange are
    required, the local mobility anchor MUST reject the Proxy Binding Update by sending a Proxy Binding
    Acknowledgement message with the status field is set to <GRE KEY OPTION REQUIRED>"."""
    pba = _handoff_without_option(probe, policies.mn_gre_required)  # type: ignore[arg-type]
    if isinstance(pba, Verdict):
        return pba
    if pba.status != Status.GRE_KEY_OPTION_REQUIRED:
        return failed(f"handoff without the option answered with status {status_text(pba.status)}, "
                      f"expected {status_text(Status.GRE_KEY_OPTION_REQUIRED)}")
    return passed("handoff without the option rejected with 163")


def check_handoff_without_option_gre_optional(probe: Probe, policies: LmaPolicies) -> Verdict:
    """GK-3.3.2-6, the "Otherwise" of GK-3.3.2-5 (a handoff without the GRE Key option for a BCE using GRE keys,
    GRE not required): "the local mobility anchor SHOULD accept the Proxy Binding Update and if it is processed
    successfully, the local mobility anchor MUST return a successful Proxy Binding Acknowledgement without
    including the GRE Key option". A rejection is a warning (SHOULD), the option in a success a failure (MUST)."""
    pba = _handoff_without_option(probe, policies.mns[0])
    if isinstance(pba, Verdict):
        return pba
    if pba.status >= 128:
        return Verdict(Outcome.WARN, f"SHOULD accept the handoff without the option, rejected with status "
                                     f"{status_text(pba.status)}")
    if pba.option(GREKeyOption) is not None:
        return failed(f"successful PBA (status {status_text(pba.status)}) to a handoff without the option carries "
                      f"the GRE Key option ({_key_text(pba.option(GREKeyOption).key)})")  # type: ignore[union-attr]
    return passed(f"handoff without the option accepted with status {status_text(pba.status)}, no GRE Key option")


def check_not_required_status(probe: Probe, policies: LmaPolicies) -> Verdict:
    pba = _keyed_registration(probe, policies.mn_gre_not_required).pba  # type: ignore[arg-type]
    if pba.status != Status.GRE_KEY_OPTION_NOT_REQUIRED:
        return failed(f"status {status_text(pba.status)}, "
                     f"expected {status_text(Status.GRE_KEY_OPTION_NOT_REQUIRED)}")
    return passed("accepted with 2")


def check_not_required_no_option(probe: Probe, policies: LmaPolicies) -> Verdict:
    pba = _keyed_registration(probe, policies.mn_gre_not_required).pba  # type: ignore[arg-type]
    if (rejected := _rejected(pba)) is not None:
        return Verdict(Outcome.NOT_APPLICABLE, rejected.detail)
    if pba.status == Status.GRE_KEY_OPTION_NOT_REQUIRED and pba.option(GREKeyOption) is not None:
        return failed("status 2 with the GRE Key option")
    return passed(f"status {status_text(pba.status)}, "
                 + ("no GRE Key option" if pba.option(GREKeyOption) is None else "GRE negotiated anyway"))


# --- RFC 5845: the TLV-header format (T flag) -----------------------------------------------------
# T asks for the TLV-header UDP format, so it means something only in a PBU over IPv4/UDP (7.4: "encapsulated
# in UDP"); the checks that set it need the udp4 transport.


def check_t_flag_only_if_requested(probe: Probe, policies: LmaPolicies) -> Verdict:
    """GK-7.2-5: "Any Proxy Binding Update message triggered by a handoff ... may renegotiate the tunneling
    format. Therefore, in order to avoid interoperability issues, the local mobility anchor MUST NOT set the
    TLV-header Format (T) flag unless it was set in the Proxy Binding Update received from the mobile access
    gateway." An initial PBU with T clear; over udp4 then a new session registered with T, and its
    re-registration and (with --other-mag) handoff without T: keeping the session's T there is the bug that
    matters (docs/requirements.md: GK-7.2-5 outranks GK-7.2-4's SHOULD NOT)."""
    mn_id = policies.mns_with_key[0]
    initial = _keyed_registration(probe, mn_id)
    if (rejected := _rejected(initial.pba)) is not None:
        return rejected
    if initial.pba.flags & BAFlags.T:
        return failed("T set in the PBA although the initial PBU had T clear")
    if not policies.udp4:
        return passed("T clear (sessions with T not tried: T needs udp4)")
    probe.deregister(initial)
    downlink = GREKeyOption(probe.downlink_key())
    registration = probe.register(mn_id, downlink, tlv=True)
    if (rejected := _rejected(registration.pba)) is not None:
        return Verdict(rejected.outcome, f"registration with T: {rejected.detail}")
    with_t = "with T" if registration.pba.flags & BAFlags.T else "T requested (not granted)"
    updates = [("re-registration", probe.reregister(registration, downlink))]
    if probe.other is not None:
        updates.append(("handoff", probe.handoff(registration, GREKeyOption(probe.downlink_key()))))
    for what, update in updates:
        if update.flags & BAFlags.T:
            return failed(f"T set in the PBA to a {what} without T of a session {with_t}")
    return passed(f"T clear on the initial PBU and on the {' and '.join(what for what, _ in updates)} without T "
                  f"of a session {with_t}")


def check_tlv_not_supported_status(probe: Probe, policies: LmaPolicies) -> Verdict:
    pba = _keyed_registration(probe, policies.mns_with_key[0], tlv=True).pba
    if (problem := _uplink_key_problem(pba)) is not None:
        return problem
    if pba.flags & BAFlags.T:
        if pba.status == Status.GRE_TUNNELING_BUT_TLV_HEADER_NOT_SUPPORTED:
            return failed("T set together with status 3 (TLV header not supported)")
        return passed("TLV header supported: T set")
    if pba.status != Status.GRE_TUNNELING_BUT_TLV_HEADER_NOT_SUPPORTED:
        return failed(f"T clear (TLV header not supported) but status {status_text(pba.status)}, expected 3")
    return passed("TLV header not supported: status 3 with the uplink key")


def check_tlv_supported_sets_t(probe: Probe, policies: LmaPolicies) -> Verdict:
    pba = _keyed_registration(probe, policies.mns_with_key[0], tlv=True).pba
    if (rejected := _rejected(pba)) is not None:
        return rejected
    if not pba.flags & BAFlags.T:
        return failed(f"T clear (status {status_text(pba.status)}) although the LMA supports the TLV header")
    return passed("T set")


def check_t_flag_stable_on_reregistration(probe: Probe, policies: LmaPolicies) -> Verdict:
    downlink = GREKeyOption(probe.downlink_key())
    registration = probe.register(policies.mns_with_key[0], downlink, tlv=True)
    if (rejected := _rejected(registration.pba)) is not None:
        return rejected
    first = bool(registration.pba.flags & BAFlags.T)
    pba = probe.reregister(registration, downlink, tlv=True)
    if (rejected := _rejected(pba)) is not None:
        return rejected
    if bool(pba.flags & BAFlags.T) != first:
        return failed(f"T changed on re-registration: {int(first)} -> {int(not first)}")
    return passed(f"T stayed {int(first)}")


CHECKS: tuple[Check, ...] = (
    Check(("RFC5213-5.3.6",), "MUST", "a PBA echoes sequence, P flag, MN-ID, HI, ATT and Timestamp",
          (Need.MN_WITHOUT_OPTION,), check_pba_echoes_the_pbu),
    Check(("RFC5213-5.3.1",), "MUST", "a PBU without MN-Identifier option is rejected with 160 and a zero-length MN-ID",
          (), check_missing_mn_identifier),
    Check(("RFC5213-5.3.5",), "MUST", "a de-registration is accepted with status 0",
          (Need.MN_WITHOUT_OPTION,), check_deregistration),
    Check(("RFC5844-4.1.3.2",), "MUST", "over IPv4/UDP the PBA's MH checksum is 0",
          (Need.MN_WITHOUT_OPTION, Need.UDP4), check_udp_mh_checksum_zero),
    Check(("GK-3.3.1-3", "GK-5.2-2"), "MUST", "a downlink key in the PBU draws an uplink key in the PBA",
          (Need.MN_WITH_KEY,), check_initial_keys),
    Check(("GK-5.2-1",), "MUST", "GRE-mode-only (no key) is answered with the GRE Key option without key",
          (Need.MN,), check_gre_mode_only),
    Check(("GK-6.1-1",), "MUST", "the GRE Key option's Reserved is ignored on receipt and 0 when sent",
          (Need.MN_WITH_KEY,), check_reserved_fields),
    Check(("GK-3.3.2-2", "RFC5845-3.3.2-a", "GK-5.1-1"), "MUST",
          "a re-registration gets the same uplink key", (Need.MN_WITH_KEY,), check_reregistration_keeps_uplink_key),
    Check(("GK-3.3.2-4",), "MUST", "a handoff to another MAG gets the same uplink key",
          (Need.MN_WITH_KEY, Need.OTHER_MAG), check_handoff_keeps_uplink_key),
    Check(("GK-5.2-7",), "MUST", "two sessions' uplink keys tell them apart (shared key: warn; "
                                 "shared key and home address: fail)",
          (Need.MN_WITH_KEY, Need.SECOND_MN_WITH_KEY), check_distinct_uplink_keys),
    Check(("GK-5.2-4",), "MUST", "GRE required by policy: a PBU without the option gets 163",
          (Need.MN_GRE_REQUIRED,), check_gre_required_rejects),
    Check(("GK-3.3.2-5",), "MUST", "GRE required by policy: a handoff without the option for a keyed BCE gets 163",
          (Need.MN_GRE_REQUIRED, Need.OTHER_MAG), check_handoff_without_option_gre_required),
    Check(("GK-5.2-5",), "SHOULD", "GRE not required by policy: a PBU with the option gets status 2",
          (Need.MN_GRE_NOT_REQUIRED,), check_not_required_status),
    Check(("GK-5.2-6",), "MUST NOT", "a PBA with status 2 carries no GRE Key option",
          (Need.MN_GRE_NOT_REQUIRED,), check_not_required_no_option),
    Check(("GK-3.3.2-6",), "SHOULD/MUST", "GRE optional: a handoff without the option for a keyed BCE is accepted "
                                          "without it",
          (Need.MN, Need.OTHER_MAG), check_handoff_without_option_gre_optional),
    Check(("GK-7.2-5", "GK-7.4-2"), "MUST NOT", "the PBA's T flag is clear when the PBU's was, also for a session "
                                                "with T",
          (Need.MN_WITH_KEY,), check_t_flag_only_if_requested),
    Check(("GK-7.4-5",), "MUST", "T requested: either T set, or status 3 with the uplink key",
          (Need.MN_WITH_KEY, Need.UDP4), check_tlv_not_supported_status),
    Check(("GK-7.2-2", "GK-7.4-1"), "SHOULD", "an LMA that supports the TLV header sets T when asked",
          (Need.MN_WITH_KEY, Need.TLV_SUPPORTED, Need.UDP4), check_tlv_supported_sets_t),
    Check(("GK-7.2-4",), "SHOULD NOT", "the T flag does not change on re-registration from the same MAG",
          (Need.MN_WITH_KEY, Need.UDP4), check_t_flag_stable_on_reregistration),
)
"""Every check, in the order they run."""
