"""The tester playing a MAG (RFC 5213 section 6.9) toward the LMA under test, one check at a time.

A :class:`Probe` builds the PBUs a MAG would send: initial registration (HI 1, ALL_ZERO HNP and/or an
IPv4 Home Address Request for 0.0.0.0), re-registration (HI 5, the assigned addresses), handoff from a
second MAG address (HI 3) and de-registration (lifetime 0, HI 4, no GRE Key option: GK-4.2-12). Each
PBU carries a Timestamp (RFC 5213 section 5.5) and a fresh sequence number. Whatever a check registers
is de-registered by :meth:`Probe.cleanup`, so the tester leaves the LMA as it found it.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from enum import StrEnum
from ipaddress import IPv4Address, IPv6Address

from pmip6.conformance.signaling import Exchange, PacketRecord, Signaling, Tamper
from pmip6.wire.messages import ProxyBindingAcknowledgement, ProxyBindingUpdate
from pmip6.wire.numbers import AccessTechnologyType, BUFlags, HandoffIndicator, Status
from pmip6.wire.options import (
    AccessTechnologyTypeOption,
    GREKeyOption,
    HandoffIndicatorOption,
    HomeNetworkPrefixOption,
    IPv4HomeAddressReplyOption,
    IPv4HomeAddressRequestOption,
    MNIdentifierOption,
    MobilityOption,
    TimestampOption,
)

LIFETIME_UNITS = 75
"""Requested lifetime: 75 units of 4 s = 300 s; every binding is de-registered long before."""
ALL_ZERO_PREFIX = HomeNetworkPrefixOption(IPv6Address(0), 0)


class HomeAddressKind(StrEnum):
    """Which home addresses the simulated MN asks for (RFC 5213 HNP, RFC 5844 IPv4 HoA)."""

    DUAL = "dual"
    IPV6 = "ipv6"
    IPV4 = "ipv4"


class NoAnswer(Exception):
    """The LMA did not answer a PBU with a decodable PBA of the same sequence number."""


class TargetSilent(Exception):
    """The target never answered: no reply to any PBU sent so far (the tester as MAG), or no PBU at all after the
    first attach (the tester as LMA). Every check would fail for that one reason, so the run stops."""


class Inconclusive(Exception):
    """The LMA answered a status that says it did not try the request, so the check cannot judge it; ``advice``
    says what to change before running again; ``tests_nothing``: the run cannot test the GRE Key rules at all until
    then (the tester's own MAG address refused)."""

    def __init__(self, detail: str, advice: str, tests_nothing: bool = False) -> None:
        super().__init__(detail)
        self.advice = advice
        self.tests_nothing = tests_nothing


class ShortOfResources(Inconclusive):
    """The LMA answered status 130 (Insufficient resources, RFC 5213 8.9): it has no room for the tester's
    mobile node, e.g. its pools are full of sessions still draining."""

    def __init__(self) -> None:
        super().__init__("the LMA answered status 130 (INSUFFICIENT_RESOURCES): no room in its pools for the "
                         "tester's mobile node (docs/tools.md: the room a run needs)",
                         "the LMA answered status 130 (no free address): give its pools more room, or wait for the "
                         "sessions of an earlier run to drain, and run again")


class NotAuthorized(Inconclusive):
    """The LMA answered status 154 (MAG_NOT_AUTHORIZED_FOR_PROXY_REG, RFC 5213 5.3.1 item 7): it does not take
    ``source`` for a MAG, so the operator's declaration (``option``) is wrong, not a GRE Key rule broken.

    ``unanswered`` (the exchange's note) is a later PBU from ``source`` that drew no PBA: an LMA may limit its
    answers to addresses it does not authorize (pmip6's: ``unauthorized_answer_rate``), so that silence is no
    verdict on the check either. A refused ``--local`` leaves the run no check of a GRE Key rule it can judge."""

    def __init__(self, source: str, option: str, unanswered: str | None = None) -> None:
        super().__init__(f"the LMA answered status 154 (MAG_NOT_AUTHORIZED_FOR_PROXY_REG) to the PBU from {source} "
                         f"({option}): it does not authorize that address as a MAG" if unanswered is None else
                         f"{unanswered} to the PBU from {source} ({option}), which the LMA refused with status 154 "
                         "before: it may limit its answers to addresses it does not authorize as MAGs",
                         f"the LMA refused {source} ({option}) as a MAG with status 154: add it to the LMA's MAG "
                         f"list ([[mag]] in pmip6's lma.toml), or give {option} an address it authorizes",
                         tests_nothing=option == "--local")


@dataclass(slots=True)
class Registration:
    """One mobility session as the tester's MAG holds it: the last PBA and the addresses it assigned."""

    mn_id: bytes
    att: int
    pba: ProxyBindingAcknowledgement
    signaling: Signaling
    prefixes: tuple[HomeNetworkPrefixOption, ...] = ()
    ipv4_home: IPv4HomeAddressReplyOption | None = None
    deregistered: bool = False

    @property
    def uplink_key(self) -> int | None:
        option = self.pba.option(GREKeyOption)
        return None if option is None else option.key


@dataclass(slots=True)
class Probe:
    """A MAG at ``signaling`` (and, for handoffs, a second MAG at ``other``) talking to one LMA."""

    signaling: Signaling
    clock: Callable[[], float]
    other: Signaling | None = None
    home: HomeAddressKind = HomeAddressKind.DUAL
    att: int = AccessTechnologyType.VIRTUAL
    exchanges: list[Exchange] = field(default_factory=list)
    answered: bool = False
    """Whether the LMA has replied to any PBU of this probe (:class:`TargetSilent` until it has)."""
    refused: set[str] = field(default_factory=set)
    """The local addresses the LMA answered with status 154: a PBU from one that draws no PBA is inconclusive."""
    _sequence: int = field(default_factory=lambda: random.randrange(1 << 16))
    _last_ticks: int = 0
    _registrations: list[Registration] = field(default_factory=list)

    def downlink_key(self) -> int:
        """A fresh downlink GRE key, as a MAG allocates it (GK-3.3.1-2)."""
        return random.randrange(1, 1 << 32)

    def register(self, mn_id: bytes, gre: GREKeyOption | None = None, *, tlv: bool = False,
                 tamper: Tamper | None = None) -> Registration:
        """Initial registration (RFC 5213 section 6.9.1.1): HI 1, ask the LMA for addresses."""
        options: list[MobilityOption] = [MNIdentifierOption(mn_id)]
        if self.home is not HomeAddressKind.IPV4:
            options.append(ALL_ZERO_PREFIX)
        options += self._common(HandoffIndicator.NEW_INTERFACE)
        if self.home is not HomeAddressKind.IPV6:
            options.append(IPv4HomeAddressRequestOption(IPv4Address(0)))
        pba = self.send(self._pbu(options, gre, tlv), tamper=tamper)
        registration = Registration(mn_id, self.att, pba, self.signaling)
        self._remember(registration, pba)
        return registration

    def reregister(self, registration: Registration, gre: GREKeyOption | None = None, *,
                   tlv: bool = False) -> ProxyBindingAcknowledgement:
        """Binding lifetime extension from the same MAG (RFC 5213 section 6.9.1.3): HI 5, assigned addresses."""
        return self._update(registration, registration.signaling, HandoffIndicator.NOT_CHANGED, gre, tlv)

    def handoff(self, registration: Registration, gre: GREKeyOption | None = None) -> ProxyBindingAcknowledgement:
        """Extension after handoff, sent by the second MAG (RFC 5213 section 5.3.4): HI 3, assigned addresses."""
        if self.other is None:
            raise ValueError("a handoff needs a second MAG address")
        return self._update(registration, self.other, HandoffIndicator.HANDOFF_BETWEEN_MAGS, gre, False)

    def deregister(self, registration: Registration) -> ProxyBindingAcknowledgement:
        """De-registration (RFC 5213 section 6.9.1.4): lifetime 0, HI 4, no GRE Key option (GK-4.2-12)."""
        options = self._addresses(registration, HandoffIndicator.UNKNOWN)
        pba = self.send(self._pbu(options, None, False, lifetime=0), via=registration.signaling)
        registration.deregistered = True
        return pba

    def send(self, pbu: ProxyBindingUpdate, *, via: Signaling | None = None,
             tamper: Tamper | None = None) -> ProxyBindingAcknowledgement:
        """Send any PBU and return the PBA; raises :class:`NoAnswer` when none comes (:class:`TargetSilent` when
        the LMA never replied yet, :class:`NotAuthorized` when it refused this address before), :class:`Inconclusive`
        when the PBA says 130 or 154."""
        signaling = via or self.signaling
        exchange = signaling.transact(pbu, tamper)
        self.exchanges.append(exchange)
        self.answered = self.answered or exchange.received is not None
        local, option = str(signaling.local_address), "--other-mag" if signaling is self.other else "--local"
        if exchange.pba is None:
            if not self.answered:
                raise TargetSilent(f"the LMA at {exchange.remote} did not answer a PBU from {local} within "
                                   f"{signaling.timeout:g} s: check its address and port, that it lists {local} as a "
                                   "MAG ([[mag]] in pmip6's lma.toml), and any firewall in between")
            if local in self.refused:
                raise NotAuthorized(local, option, exchange.note)
            raise NoAnswer(exchange.note)
        if exchange.pba.status == Status.INSUFFICIENT_RESOURCES:
            raise ShortOfResources()
        if exchange.pba.status == Status.MAG_NOT_AUTHORIZED_FOR_PROXY_REG:
            self.refused.add(local)
            raise NotAuthorized(local, option)
        return exchange.pba

    def pbu(self, options: list[MobilityOption]) -> ProxyBindingUpdate:
        """A PBU with exactly ``options`` plus a Timestamp, for checks that build malformed requests."""
        return self._pbu(options + [self._timestamp()], None, False)

    def take_packets(self) -> tuple[PacketRecord, ...]:
        """The packets of the exchanges since the last call (one check's packets)."""
        taken = tuple(record for exchange in self.exchanges for record in exchange.records())
        self.exchanges.clear()
        return taken

    def cleanup(self) -> None:
        """De-register every session this probe left registered; answers (or their absence) do not matter."""
        for registration in self._registrations:
            if not registration.deregistered:
                try:
                    self.deregister(registration)
                except (NoAnswer, Inconclusive):
                    pass
        self._registrations.clear()

    def _update(self, registration: Registration, via: Signaling, hi: HandoffIndicator,
                gre: GREKeyOption | None, tlv: bool) -> ProxyBindingAcknowledgement:
        options = self._addresses(registration, hi)
        pba = self.send(self._pbu(options, gre, tlv), via=via)
        if pba.status < 128:
            registration.pba, registration.signaling = pba, via
        return pba

    def _addresses(self, registration: Registration, hi: HandoffIndicator) -> list[MobilityOption]:
        options: list[MobilityOption] = [MNIdentifierOption(registration.mn_id), *registration.prefixes]
        options += self._common(hi)
        if registration.ipv4_home is not None:
            options.append(IPv4HomeAddressRequestOption(registration.ipv4_home.address,
                                                        registration.ipv4_home.prefix_length))
        return options

    def _common(self, hi: HandoffIndicator) -> list[MobilityOption]:
        return [HandoffIndicatorOption(hi), AccessTechnologyTypeOption(self.att), self._timestamp()]

    def _pbu(self, options: list[MobilityOption], gre: GREKeyOption | None, tlv: bool,
             lifetime: int = LIFETIME_UNITS) -> ProxyBindingUpdate:
        self._sequence = (self._sequence + 1) & 0xFFFF
        flags = BUFlags.A | BUFlags.P | (BUFlags.T if tlv else BUFlags(0))
        all_options = tuple(options) + ((gre,) if gre is not None else ())
        return ProxyBindingUpdate(sequence=self._sequence, flags=flags, lifetime=lifetime, options=all_options)

    def _timestamp(self) -> TimestampOption:
        """The current time, strictly later than the last one sent (RFC 5213 section 5.5)."""
        timestamp = TimestampOption.from_time(self.clock())
        if timestamp.ticks <= self._last_ticks:
            ticks = self._last_ticks + 1
            timestamp = replace(timestamp, seconds=ticks >> 16, fraction=ticks & 0xFFFF)
        self._last_ticks = timestamp.ticks
        return timestamp

    def _remember(self, registration: Registration, pba: ProxyBindingAcknowledgement) -> None:
        if pba.status >= 128:
            return
        registration.prefixes = tuple(option for option in pba.options_of(HomeNetworkPrefixOption)
                                      if option != ALL_ZERO_PREFIX)
        reply = pba.option(IPv4HomeAddressReplyOption)
        if reply is not None and reply.status < 128 and reply.address != IPv4Address(0):
            registration.ipv4_home = reply
        self._registrations.append(registration)
